/**
 * Builders for SQS messages carrying S3 events, shaped exactly like AWS's documented
 * examples (S3 user guide "Event message structure", EventBridge "Amazon S3 events").
 */
import { randomUUID } from "node:crypto";
import type { Message } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { encodeS3Key } from "../../aws/s3-key.js";

export interface S3EventSpec {
  bucket?: string;
  key: string;
  eventName: string;
  /** Absent for the events S3 gives none (tagging, transitions, restores). */
  sequencer?: string;
  size?: number;
  eTag?: string;
  versionId?: string;
  eventTime?: string;
  /** `userIdentity.principalId`. */
  requester?: string;
  sourceIp?: string;
}

export function s3EventRecord(spec: S3EventSpec) {
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: "us-east-1",
    eventTime: spec.eventTime ?? "2026-11-21T10:00:00.000Z",
    eventName: spec.eventName,
    userIdentity: { principalId: spec.requester ?? "AWS:AIDAJDPLRKLG7UEXAMPLE" },
    requestParameters: { sourceIPAddress: spec.sourceIp ?? "127.0.0.1" },
    responseElements: { "x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD" },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: "testConfigRule",
      bucket: { name: spec.bucket ?? "photos", ownerIdentity: { principalId: "A3NL1KOZZKExample" }, arn: `arn:aws:s3:::${spec.bucket ?? "photos"}` },
      object: {
        key: encodeS3Key(spec.key),
        ...(spec.size !== undefined && { size: spec.size }),
        ...(spec.eTag !== undefined && { eTag: spec.eTag }),
        ...(spec.versionId !== undefined && { versionId: spec.versionId }),
        ...(spec.sequencer !== undefined && { sequencer: spec.sequencer }),
      },
    },
  };
}

export const put = (key: string, sequencer: string, size = 1, eTag = `etag-${sequencer}`, bucket?: string): S3EventSpec => ({
  key,
  sequencer,
  size,
  eTag,
  eventName: "ObjectCreated:Put",
  ...(bucket !== undefined && { bucket }),
});

/** A metadata event, as S3 sends it: the ETag, no size and no sequencer. */
export const tagged = (key: string, eTag: string, bucket?: string, eventName = "ObjectTagging:Put"): S3EventSpec => ({
  key,
  eTag,
  eventName,
  requester: "AWS:TAGGER",
  ...(bucket !== undefined && { bucket }),
});

export const del = (key: string, sequencer: string, bucket?: string): S3EventSpec => ({
  key,
  sequencer,
  eventName: "ObjectRemoved:Delete",
  ...(bucket !== undefined && { bucket }),
});

export function sqsRecord(body: string, messageId: string = randomUUID()): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: "1", SentTimestamp: "1700000000000", SenderId: "AIDAEXAMPLE", ApproximateFirstReceiveTimestamp: "1700000000000" },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:bucket-ledger-events",
    awsRegion: "us-east-1",
  };
}

/** A record of a FIFO queue: Lambda adds the group, deduplication ID and sequence number. */
export function fifoRecord(body: string, group: string, messageId: string = randomUUID()): SQSRecord {
  const record = sqsRecord(body, messageId);
  return { ...record, attributes: { ...record.attributes, MessageGroupId: group, MessageDeduplicationId: messageId, SequenceNumber: "1" } };
}

/** Messages received from a queue, as the event Lambda's event source mapping would build of them. */
export function sqsEventFromMessages(messages: Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((message) => {
      const record = sqsRecord(message.Body!, message.MessageId!);
      const attributes = message.Attributes ?? {};
      return {
        ...record,
        receiptHandle: message.ReceiptHandle!,
        md5OfBody: message.MD5OfBody!,
        eventSourceARN: queueArn,
        attributes: {
          ...record.attributes,
          ...(attributes.MessageGroupId !== undefined && { MessageGroupId: attributes.MessageGroupId }),
          ...(attributes.MessageDeduplicationId !== undefined && { MessageDeduplicationId: attributes.MessageDeduplicationId }),
          ...(attributes.SequenceNumber !== undefined && { SequenceNumber: attributes.SequenceNumber }),
        },
      };
    }),
  };
}

/** One SQS message per S3 event, as S3 delivers them. */
export function sqsEventOf(...specs: S3EventSpec[]): SQSEvent {
  return { Records: specs.map((spec) => sqsRecord(JSON.stringify({ Records: [s3EventRecord(spec)] }))) };
}
