/**
 * Turns committed S3 writes into S3 event notifications in AWS's JSON format and delivers
 * them to the bucket's queue, one record per message, as S3 does for SQS destinations.
 */
import { randomUUID } from "node:crypto";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { encodeS3Key } from "../aws/s3-key.js";
import { isSubscribed } from "../events/subscriptions.js";
import type { DeliveryFaults } from "./delivery-faults.js";
import type { S3Commit } from "./s3-sqs-emulator.js";

export function s3NotificationBody(commit: S3Commit, region: string): string {
  const isCreate = commit.eventName.startsWith("ObjectCreated:");
  // S3's sequencer is "only used with PUTs and DELETEs"; tagging and transitions carry the ETag
  // alone (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
  const isContentChange = isCreate || commit.eventName.startsWith("ObjectRemoved:");
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: region,
        eventTime: commit.time.toISOString(),
        eventName: commit.eventName,
        userIdentity: { principalId: "AWS:LOCAL" },
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        responseElements: { "x-amz-request-id": randomUUID().replace(/-/g, "").slice(0, 16).toUpperCase(), "x-amz-id-2": randomUUID() },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "bucket-ledger",
          bucket: { name: commit.bucket, ownerIdentity: { principalId: "LOCAL" }, arn: `arn:aws:s3:::${commit.bucket}` },
          object: {
            key: encodeS3Key(commit.key),
            ...(isCreate && { size: commit.size }),
            ...(commit.etag !== undefined && { eTag: commit.etag.replace(/"/g, "") }),
            // The version written, made a delete marker or deleted; none in a bucket never versioned.
            ...(commit.versionId !== undefined && { versionId: commit.versionId }),
            ...(isContentChange && { sequencer: commit.sequencer }),
          },
        },
      },
    ],
  });
}

export interface S3NotifierOptions {
  sqs: SQSClient;
  region: string;
  /** Buckets with a notification configuration, and the queue each delivers to. */
  destinations: ReadonlyMap<string, string>;
  /** The configuration's event types (events/subscriptions.ts): only these are delivered. */
  events: readonly string[];
  onDeliveryError?: (error: unknown, commit: S3Commit) => void;
  /** Lose, duplicate and delay deliveries (chaos mode); exact delivery without. */
  faults?: DeliveryFaults;
}

export class S3Notifier {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: S3NotifierOptions) {}

  /** Called synchronously at commit; delivery is asynchronous, as in S3. */
  readonly notify = (commit: S3Commit): void => {
    const queueUrl = this.options.destinations.get(commit.bucket);
    if (queueUrl === undefined || !isSubscribed(this.options.events, commit.eventName)) return;
    // The body is built now: a late or repeated delivery carries the commit's own time and sequencer.
    const body = s3NotificationBody(commit, this.options.region);
    for (const delayMs of this.options.faults?.plan() ?? [0]) {
      const delivery = (delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, delayMs)) : Promise.resolve())
        .then(() => this.options.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body })))
        .then(
          () => undefined,
          (error: unknown) => this.options.onDeliveryError?.(error, commit),
        )
        .finally(() => this.inFlight.delete(delivery));
      this.inFlight.add(delivery);
    }
  };

  get pending(): number {
    return this.inFlight.size;
  }

  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
