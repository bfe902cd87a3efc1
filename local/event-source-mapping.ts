/**
 * What Lambda's SQS event source mapping does, for the local stack: long-poll the queue,
 * gather up to `batchSize` messages (waiting at most the batching window), invoke the handler
 * with an SQSEvent shaped like Lambda's, delete the messages it did not report as failed, and
 * leave failed ones to reappear after the visibility timeout. The queue's redrive policy moves
 * a message to the DLQ after `maxReceiveCount` receives, as in AWS.
 */
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

export interface EventSourceMappingOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  /** Messages per invocation, 1-10,000 as in Lambda. */
  batchSize?: number;
  maximumBatchingWindowMs?: number;
  /** Concurrent pollers (Lambda's MaximumConcurrency). */
  concurrency?: number;
  onError?: (error: unknown) => void;
}

function toRecord(message: Message, options: EventSourceMappingOptions): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "LOCAL",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      // FIFO queues' records carry these (Lambda developer guide, "Using Lambda with Amazon SQS",
      // the FIFO example event); Powertools' FIFO processor groups by MessageGroupId.
      ...(attributes.MessageGroupId !== undefined && { MessageGroupId: attributes.MessageGroupId }),
      ...(attributes.MessageDeduplicationId !== undefined && { MessageDeduplicationId: attributes.MessageDeduplicationId }),
      ...(attributes.SequenceNumber !== undefined && { SequenceNumber: attributes.SequenceNumber }),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: options.queueArn,
    awsRegion: options.region,
  };
}

export class SqsEventSourceMapping {
  private running = false;
  private workers: Promise<void>[] = [];
  private busy = 0;

  constructor(private readonly options: EventSourceMappingOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const concurrency = this.options.concurrency ?? 2;
    // Lambda reads the queue's attributes with the function's role before it polls
    // (the execution role needs sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes:
    // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
    const attributes = this.options.sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: this.options.queueUrl, AttributeNames: ["VisibilityTimeout", "RedrivePolicy"] }))
      .catch((error: unknown) => this.options.onError?.(error));
    this.workers = Array.from({ length: concurrency }, () => attributes.then(() => this.poll()));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /** True while a batch is being handled or deleted. */
  get active(): boolean {
    return this.busy > 0;
  }

  private async receive(max: number, waitSeconds: number): Promise<Message[]> {
    const { Messages } = await this.options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    return Messages ?? [];
  }

  private async gatherBatch(): Promise<Message[]> {
    const batchSize = this.options.batchSize ?? 10;
    const windowEnds = Date.now() + (this.options.maximumBatchingWindowMs ?? 0);
    // Short long-polls so that stop() is honoured within about a second.
    const batch = await this.receive(batchSize, 1);
    while (batch.length > 0 && batch.length < batchSize && Date.now() < windowEnds && this.running) {
      const more = await this.receive(batchSize - batch.length, 0);
      if (more.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      batch.push(...more);
    }
    return batch;
  }

  private async invoke(batch: Message[]): Promise<void> {
    const records = batch.map((message) => toRecord(message, this.options));
    let failedIds: Set<string>;
    try {
      const response = await this.options.handler({ Records: records });
      failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      // A thrown error fails the whole batch, as in Lambda.
      this.options.onError?.(error);
      failedIds = new Set(records.map((record) => record.messageId));
    }
    const done = records.filter((record) => !failedIds.has(record.messageId));
    for (let i = 0; i < done.length; i += 10) {
      const chunk = done.slice(i, i + 10);
      await this.options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
    }
  }

  private async poll(): Promise<void> {
    while (this.running) {
      try {
        const batch = await this.gatherBatch();
        if (batch.length === 0) continue;
        this.busy++;
        try {
          await this.invoke(batch);
        } finally {
          this.busy--;
        }
      } catch (error) {
        if (!this.running) return;
        this.options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
}
