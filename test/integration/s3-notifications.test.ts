/**
 * The local S3 endpoint emits S3 event notifications in AWS's format: one message per
 * committed write or delete, URL-encoded keys, per-key increasing sequencers.
 */
import { notificationEvents } from "../../events/subscriptions.js";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectTaggingCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectTaggingCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseMessageBody, type ObjectEvent } from "../../events/parse.js";
import { compareSequencers } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { S3Notifier } from "../../local/s3-notifier.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";

let emulator: S3SqsEmulator;
let s3: S3Client;
let sqs: SQSClient;
let queueUrl: string;
let notifier: S3Notifier;
const bucket = "notify-me";

beforeAll(async () => {
  emulator = await startS3SqsEmulator({ region: LOCAL_REGION });
  const config = { region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint };
  s3 = new S3Client({ ...config, forcePathStyle: true });
  sqs = new SQSClient(config);
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "events" }))).QueueUrl!;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new CreateBucketCommand({ Bucket: "not-tracked" }));
  notifier = new S3Notifier({ sqs, region: LOCAL_REGION, destinations: new Map([[bucket, queueUrl]]), events: notificationEvents(["tags"]) });
  emulator.onCommit(notifier.notify);
});

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  await emulator?.stop();
});

async function drain(): Promise<{ raw: Record<string, unknown>; event: ObjectEvent }[]> {
  await notifier.flush();
  const received = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) return received;
    for (const message of Messages) {
      const raw = JSON.parse(message.Body!);
      const parsed = parseMessageBody(message.Body!);
      if (parsed.kind !== "events") throw new Error("expected events");
      expect(raw.Records).toHaveLength(1);
      received.push({ raw: raw.Records[0], event: parsed.events[0]! });
    }
  }
}

it("notifies every kind of write and delete, with S3's event names, encoding and sequencers", async () => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "docs/a b+c.txt", Body: "one" }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "docs/a b+c.txt", Body: "two!" }));
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy/😀.txt", CopySource: `${bucket}/${encodeURIComponent("docs/a b+c.txt")}` }));
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "big.bin" }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "big.bin", UploadId, PartNumber: 1, Body: "only part" }));
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "big.bin", UploadId, MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] } }),
  );
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "big.bin" }));
  await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: "docs/a b+c.txt" }, { Key: "copy/😀.txt" }] } }));
  await s3.send(new PutObjectCommand({ Bucket: "not-tracked", Key: "ignored", Body: "x" }));

  const received = await drain();
  const summary = received.map(({ event }) => [event.eventName, event.key]).sort();
  expect(summary).toEqual(
    [
      ["ObjectCreated:Put", "docs/a b+c.txt"],
      ["ObjectCreated:Put", "docs/a b+c.txt"],
      ["ObjectCreated:Copy", "copy/😀.txt"],
      ["ObjectCreated:CompleteMultipartUpload", "big.bin"],
      ["ObjectRemoved:Delete", "big.bin"],
      // DeleteObjects: one ObjectRemoved:Delete per key, as S3 sends.
      ["ObjectRemoved:Delete", "docs/a b+c.txt"],
      ["ObjectRemoved:Delete", "copy/😀.txt"],
    ].sort(),
  );

  const first = received.find(({ event }) => event.key === "docs/a b+c.txt")!.raw as {
    s3: { object: { key: string; size: number; eTag: string } };
    eventSource: string;
  };
  expect(first.eventSource).toBe("aws:s3");
  expect(first.s3.object.key).toBe("docs/a+b%2Bc.txt");
  expect(first.s3.object.eTag).toMatch(/^[0-9a-f]{32}$/);

  // Per key, sequencers increase in commit order: put, put, delete.
  const sameKey = received.filter(({ event }) => event.key === "docs/a b+c.txt").map(({ event }) => ("sequencer" in event ? event.sequencer : ""));
  const ordered = [...sameKey].sort(compareSequencers);
  expect(new Set(sameKey).size).toBe(3);
  const kinds = ordered.map((sequencer) => received.find(({ event }) => "sequencer" in event && event.sequencer === sequencer)!.event);
  expect(kinds.map((event) => (event.action === "upsert" ? event.size : "deleted"))).toEqual([3, 4, "deleted"]);
});

it("notifies tagging as S3 does (no size, no sequencer), and only the event types the configuration names", async () => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "tagged.txt", Body: "t", Tagging: "team=data" }));
  await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: "tagged.txt", Tagging: { TagSet: [{ Key: "team", Value: "ops" }] } }));
  await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: "tagged.txt" }));
  // Not in this configuration (tags only): never delivered.
  await emulator.transition(bucket, "tagged.txt", "GLACIER");

  const received = await drain();
  expect(received.map(({ event }) => event.eventName)).toEqual(["ObjectCreated:Put", "ObjectTagging:Put", "ObjectTagging:Delete"]);
  const tagging = received[1]!.raw as { s3: { object: Record<string, unknown> } };
  expect(tagging.s3.object).not.toHaveProperty("sequencer");
  expect(tagging.s3.object).not.toHaveProperty("size");
  expect(tagging.s3.object.eTag).toMatch(/^[0-9a-f]{32}$/);
  expect(received[1]!.event).toMatchObject({ action: "describe", field: "tags", key: "tagged.txt" });

  const { TagSet } = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: "tagged.txt" }));
  expect(TagSet).toEqual([]);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "tagged.txt" }));
  expect(head.StorageClass).toBe("GLACIER");
});
