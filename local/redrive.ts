/** Moves every message from a DLQ back to its source queue, as SQS's redrive does in AWS. */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";

export async function redriveDeadLetters(sqs: SQSClient, deadLetterQueueUrl: string, queueUrl: string): Promise<number> {
  let moved = 0;
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }),
    );
    if (Messages.length === 0) return moved;
    const entries = Messages.map((message, index) => ({ Id: String(index), MessageBody: message.Body ?? "" }));
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    // Only what reached the source queue leaves the DLQ.
    const delivered = new Set((sent.Successful ?? []).map((entry) => entry.Id));
    const done = Messages.filter((_, index) => delivered.has(String(index)));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: deadLetterQueueUrl,
          Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
    moved += done.length;
    if (done.length < Messages.length) throw new Error(`redrive: ${Messages.length - done.length} messages could not be sent back to the queue`);
  }
}
