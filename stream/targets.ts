/**
 * Where the change stream is delivered: an SNS FIFO topic (SQS FIFO queues subscribe to it), and
 * optionally an EventBridge bus. Each takes at most 10 messages a call, no two of one key (the
 * publisher groups them so), and answers which it refused and whether a retry may succeed.
 */
import { PublishBatchCommand, type SNSClient } from "@aws-sdk/client-sns";
import { PutEventsCommand, type EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { messageBody, messageGroupOf, type ChangeKind, type ChangeMessage } from "./message.js";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";

export interface TargetFailure {
  /** The message's id. */
  id: string;
  code: string;
  message: string;
  /** False when the same call would fail the same way (a refusal, a malformed entry). */
  retryable: boolean;
}

export interface ChangeTarget {
  /** In logs and failure reports: `sns`, `eventbridge`. */
  name: string;
  /** The messages refused; none when all were accepted. */
  publish(messages: readonly ChangeMessage[]): Promise<TargetFailure[]>;
}

/**
 * SNS FIFO's PublishBatch: up to 10 entries a call, entry ids up to 80 characters of letters,
 * digits, `-` and `_` (https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html,
 * API_PublishBatchRequestEntry.html). The message group is the key (one group per key keeps its
 * order, https://docs.aws.amazon.com/sns/latest/dg/fifo-message-grouping.html); the deduplication
 * id is the change's id, so a message published again within 5 minutes is accepted but not
 * delivered. `SenderFault` says whether the caller's entry was at fault: only the others are
 * retried.
 */
export function snsFifoTarget(client: SNSClient, topicArn: string): ChangeTarget {
  return {
    name: "sns",
    async publish(messages) {
      const batch = fifoBatch(messages);
      const { Failed = [] } = await client.send(
        new PublishBatchCommand({
          TopicArn: topicArn,
          PublishBatchRequestEntries: batch.entries.map(({ body, ...entry }) => ({ ...entry, Message: body })),
        }),
      );
      return batch.failures(Failed);
    },
  };
}

/** EventBridge's detail-type per change kind: rules route on it, and on `detail.bucket` and `detail.key` (prefix). */
export const DETAIL_TYPES: Record<ChangeKind, string> = {
  created: "Ledger Object Created",
  overwritten: "Ledger Object Overwritten",
  deleted: "Ledger Object Deleted",
  upserted: "Ledger Object Upserted",
};

/** The `source` of the stream's events: rules match it; `aws.` sources are AWS's own. */
export const EVENT_SOURCE = "bucket-ledger";

/**
 * EventBridge's PutEvents: up to 10 entries a call; each entry answered in request order, a
 * failed one with an ErrorCode, the others processed all the same
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html). Retryable codes:
 * `InternalFailure` and `ThrottlingException` (PutEventsResultEntry,
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html).
 * EventBridge keeps no order: consumers of the bus order by the deduplication rule alone.
 */
export function eventBridgeTarget(client: EventBridgeClient, eventBusName: string): ChangeTarget {
  return {
    name: "eventbridge",
    async publish(messages) {
      const { Entries = [] } = await client.send(
        new PutEventsCommand({
          Entries: messages.map((message) => ({
            EventBusName: eventBusName,
            Source: EVENT_SOURCE,
            DetailType: DETAIL_TYPES[message.change],
            Detail: messageBody(message),
          })),
        }),
      );
      const failures: TargetFailure[] = [];
      messages.forEach((message, index) => {
        const entry = Entries[index];
        // No answer for an entry is a failure too: nothing says it was put.
        if (entry?.EventId !== undefined && entry.ErrorCode === undefined) return;
        const code = entry?.ErrorCode ?? "NoResult";
        failures.push({
          id: message.id,
          code,
          message: entry?.ErrorMessage ?? "",
          retryable: code === "InternalFailure" || code === "ThrottlingException" || code === "NoResult",
        });
      });
      return failures;
    },
  };
}

/**
 * SendMessageBatch to a FIFO queue: up to 10 entries, ids of letters, digits, `-` and `_`, each
 * with its message group and deduplication id, answered per entry (`Failed`, with `SenderFault`)
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html,
 * API_SendMessageBatchRequestEntry.html). The same group and id as the topic's, so a queue
 * deduplicates a replayed change within its 5-minute interval as the topic does.
 */
export function sqsFifoTarget(client: SQSClient, queueUrl: string): ChangeTarget {
  return {
    name: "sqs",
    async publish(messages) {
      const batch = fifoBatch(messages);
      const { Failed = [] } = await client.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.entries.map(({ body, ...entry }) => ({ ...entry, MessageBody: body })) }),
      );
      return batch.failures(Failed);
    },
  };
}

/**
 * One call's entries to a FIFO topic or queue, which answer alike: entry ids, the key's message
 * group and the change's deduplication id, and per refused entry its `Id`, `Code`, `Message` and
 * `SenderFault` (SNS BatchResultErrorEntry, SQS BatchResultErrorEntry).
 */
function fifoBatch(messages: readonly ChangeMessage[]) {
  const byEntry = new Map(messages.map((message, index) => [`m${index}`, message]));
  return {
    entries: [...byEntry].map(([entryId, message]) => ({
      Id: entryId,
      body: messageBody(message),
      MessageGroupId: messageGroupOf(message.bucket, message.key),
      MessageDeduplicationId: message.id,
    })),
    failures: (failed: readonly { Id?: string | undefined; Code?: string | undefined; Message?: string | undefined; SenderFault?: boolean | undefined }[]) =>
      failed.map((entry) => ({
        id: byEntry.get(entry.Id ?? "")?.id ?? "",
        code: entry.Code ?? "Unknown",
        message: entry.Message ?? "",
        retryable: entry.SenderFault !== true,
      })),
  };
}
