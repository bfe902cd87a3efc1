/**
 * Conditional writes and deletes in the local S3, driven with the AWS SDK over real HTTP:
 * If-None-Match: * and If-Match on PutObject, CopyObject (the destination) and
 * CompleteMultipartUpload, If-Match on DeleteObject (an ETag per object in DeleteObjects), in a versioned bucket (evaluated against the
 * current version, a delete marker counting as none) and in one never versioned. A refused
 * request answers 412 (404 NoSuchKey for If-Match on a key with no current object), writes
 * nothing and sends no notification; one that holds does what it would without the condition.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notificationEvents } from "../../events/subscriptions.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { S3Notifier } from "../../local/s3-notifier.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";

let directory: string;
let emulator: S3SqsEmulator;
let s3: S3Client;
let sqs: SQSClient;
let queueUrl: string;
let notifier: S3Notifier;
const VERSIONED = "conditional";
const PLAIN = "conditional-plain";

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "bucket-ledger-conditional-"));
  emulator = await startS3SqsEmulator({ region: LOCAL_REGION, s3Directory: directory });
  const config = { region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint };
  s3 = new S3Client({ ...config, forcePathStyle: true });
  sqs = new SQSClient(config);
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "conditional-events" }))).QueueUrl!;
  for (const name of [VERSIONED, PLAIN]) await s3.send(new CreateBucketCommand({ Bucket: name }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: VERSIONED, VersioningConfiguration: { Status: "Enabled" } }));
  notifier = new S3Notifier({
    sqs,
    region: LOCAL_REGION,
    destinations: new Map([
      [VERSIONED, queueUrl],
      [PLAIN, queueUrl],
    ]),
    events: notificationEvents([]),
  });
  emulator.onCommit(notifier.notify);
});

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  await emulator?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

const put = (bucket: string, key: string, body: string, condition: { IfMatch?: string; IfNoneMatch?: string } = {}) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...condition }));

const bodyOf = async (bucket: string, key: string) => (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();

async function failure(promise: Promise<unknown>): Promise<{ status: number | undefined; name: string }> {
  try {
    await promise;
  } catch (error) {
    const failed = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { status: failed.$metadata?.httpStatusCode, name: failed.name };
  }
  throw new Error("expected the request to fail");
}

const PRECONDITION_FAILED = { status: 412, name: "PreconditionFailed" };
const NO_SUCH_KEY = { status: 404, name: "NoSuchKey" };

/** Every entry of the key: "v" for a version, "m" for a delete marker, newest first. */
async function entries(bucket: string, key: string): Promise<string[]> {
  const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return [
    ...(page.Versions ?? []).filter((entry) => entry.Key === key).map((entry) => ({ kind: "v", at: entry.LastModified!, id: entry.VersionId! })),
    ...(page.DeleteMarkers ?? []).filter((entry) => entry.Key === key).map((entry) => ({ kind: "m", at: entry.LastModified!, id: entry.VersionId! })),
  ]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((entry) => entry.kind);
}

/** The notifications sent since the last call, as "eventName key". */
async function notifications(): Promise<string[]> {
  await notifier.flush();
  const received: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) return received;
    for (const message of Messages) {
      const record = (JSON.parse(message.Body!) as { Records?: { eventName: string; s3: { object: { key: string } } }[] }).Records?.[0];
      if (record) received.push(`${record.eventName} ${decodeURIComponent(record.s3.object.key)}`);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
    }
  }
}

describe("PutObject", () => {
  it("If-None-Match: * creates a key that has no current object, and is refused with 412 where one is, writing and notifying nothing", async () => {
    await put(VERSIONED, "create-only", "first", { IfNoneMatch: "*" });
    await notifications();
    expect(await failure(put(VERSIONED, "create-only", "second", { IfNoneMatch: "*" }))).toEqual(PRECONDITION_FAILED);
    expect(await bodyOf(VERSIONED, "create-only")).toBe("first");
    expect(await entries(VERSIONED, "create-only")).toEqual(["v"]);
    expect(await notifications()).toEqual([]);
  });

  it("If-None-Match: * holds over a current delete marker (only the current version counts)", async () => {
    await put(VERSIONED, "marked", "before");
    await s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: "marked" }));
    await notifications();
    await put(VERSIONED, "marked", "after", { IfNoneMatch: "*" });
    expect(await bodyOf(VERSIONED, "marked")).toBe("after");
    expect(await entries(VERSIONED, "marked")).toEqual(["v", "m", "v"]);
    expect(await notifications()).toEqual(["ObjectCreated:Put marked"]);
  });

  it("If-Match writes over the current version with that ETag; another ETag, a noncurrent version's included, is 412 and changes nothing", async () => {
    const first = await put(VERSIONED, "swap", "one");
    const second = await put(VERSIONED, "swap", "two");
    await notifications();
    expect(await failure(put(VERSIONED, "swap", "stale", { IfMatch: first.ETag! }))).toEqual(PRECONDITION_FAILED);
    expect(await failure(put(VERSIONED, "swap", "stale", { IfMatch: '"00000000000000000000000000000000"' }))).toEqual(PRECONDITION_FAILED);
    expect(await entries(VERSIONED, "swap")).toEqual(["v", "v"]);
    expect(await notifications()).toEqual([]);
    await put(VERSIONED, "swap", "three", { IfMatch: second.ETag! });
    expect(await bodyOf(VERSIONED, "swap")).toBe("three");
    expect(await entries(VERSIONED, "swap")).toEqual(["v", "v", "v"]);
    expect(await notifications()).toEqual(["ObjectCreated:Put swap"]);
  });

  it("If-Match on a key with no current object is 404 NoSuchKey: never written, or a delete marker current", async () => {
    expect(await failure(put(VERSIONED, "never", "x", { IfMatch: "*" }))).toEqual(NO_SUCH_KEY);
    const gone = await put(VERSIONED, "gone", "x");
    await s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: "gone" }));
    await notifications();
    expect(await failure(put(VERSIONED, "gone", "y", { IfMatch: gone.ETag! }))).toEqual(NO_SUCH_KEY);
    expect(await entries(VERSIONED, "never")).toEqual([]);
    expect(await entries(VERSIONED, "gone")).toEqual(["m", "v"]);
    expect(await notifications()).toEqual([]);
  });

  it("in a bucket never versioned: If-Match replaces the object only with its ETag", async () => {
    const original = await put(PLAIN, "plain", "one");
    await notifications();
    expect(await failure(put(PLAIN, "plain", "two", { IfMatch: '"ffffffffffffffffffffffffffffffff"' }))).toEqual(PRECONDITION_FAILED);
    expect(await bodyOf(PLAIN, "plain")).toBe("one");
    expect(await notifications()).toEqual([]);
    await put(PLAIN, "plain", "two", { IfMatch: original.ETag! });
    expect(await bodyOf(PLAIN, "plain")).toBe("two");
  });

  it("of two concurrent If-None-Match: * writes, exactly one is written", async () => {
    await notifications();
    const outcomes = await Promise.allSettled([put(VERSIONED, "race", "left", { IfNoneMatch: "*" }), put(VERSIONED, "race", "right", { IfNoneMatch: "*" })]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(["fulfilled", "rejected"]);
    const refused = outcomes.find((outcome) => outcome.status === "rejected")!;
    expect((refused.reason as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(412);
    expect(await entries(VERSIONED, "race")).toEqual(["v"]);
    expect(await notifications()).toEqual(["ObjectCreated:Put race"]);
  });

  it("If-None-Match with anything but * is refused as not implemented, writing nothing", async () => {
    expect(await failure(put(VERSIONED, "etag-none-match", "x", { IfNoneMatch: '"abc"' }))).toEqual({ status: 501, name: "NotImplemented" });
    expect(await entries(VERSIONED, "etag-none-match")).toEqual([]);
  });
});

describe("CopyObject", () => {
  it("If-Match and If-None-Match: * are about the destination: refused with 412 (nothing written), written when they hold", async () => {
    await put(VERSIONED, "copy/source", "source");
    const destination = await put(VERSIONED, "copy/destination", "destination");
    await notifications();
    const copy = (condition: { IfMatch?: string; IfNoneMatch?: string }) =>
      s3.send(new CopyObjectCommand({ Bucket: VERSIONED, Key: "copy/destination", CopySource: `${VERSIONED}/copy/source`, ...condition }));
    expect(await failure(copy({ IfNoneMatch: "*" }))).toEqual(PRECONDITION_FAILED);
    expect(await failure(copy({ IfMatch: '"00000000000000000000000000000000"' }))).toEqual(PRECONDITION_FAILED);
    expect(await bodyOf(VERSIONED, "copy/destination")).toBe("destination");
    expect(await entries(VERSIONED, "copy/destination")).toEqual(["v"]);
    expect(await notifications()).toEqual([]);
    await copy({ IfMatch: destination.ETag! });
    expect(await bodyOf(VERSIONED, "copy/destination")).toBe("source");
    expect(await notifications()).toEqual(["ObjectCreated:Copy copy/destination"]);
    expect(await failure(copy({ IfMatch: destination.ETag! }))).toEqual(PRECONDITION_FAILED);
  });
});

describe("CompleteMultipartUpload", () => {
  it("a refused condition leaves the key and the upload as they were; the same upload completes once it holds", async () => {
    const existing = await put(VERSIONED, "multipart", "existing");
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: VERSIONED, Key: "multipart" }));
    const part = await s3.send(new UploadPartCommand({ Bucket: VERSIONED, Key: "multipart", UploadId, PartNumber: 1, Body: "joined" }));
    await notifications();
    const complete = (condition: { IfMatch?: string; IfNoneMatch?: string }) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: VERSIONED,
          Key: "multipart",
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] },
          ...condition,
        }),
      );
    expect(await failure(complete({ IfNoneMatch: "*" }))).toEqual(PRECONDITION_FAILED);
    expect(await failure(complete({ IfMatch: '"00000000000000000000000000000000"' }))).toEqual(PRECONDITION_FAILED);
    expect(await bodyOf(VERSIONED, "multipart")).toBe("existing");
    expect(await entries(VERSIONED, "multipart")).toEqual(["v"]);
    expect(await notifications()).toEqual([]);
    expect((await s3.send(new ListPartsCommand({ Bucket: VERSIONED, Key: "multipart", UploadId }))).Parts?.map((listed) => listed.PartNumber)).toEqual([1]);
    await complete({ IfMatch: existing.ETag! });
    expect(await bodyOf(VERSIONED, "multipart")).toBe("joined");
    expect(await notifications()).toEqual(["ObjectCreated:CompleteMultipartUpload multipart"]);
  });
});

describe("DeleteObject", () => {
  it("If-Match with another ETag is 412: no delete marker, no notification; with the current ETag the marker is made", async () => {
    const first = await put(VERSIONED, "delete/me", "one");
    const second = await put(VERSIONED, "delete/me", "two");
    await notifications();
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: "delete/me", IfMatch: first.ETag! })))).toEqual(PRECONDITION_FAILED);
    expect(await entries(VERSIONED, "delete/me")).toEqual(["v", "v"]);
    expect(await notifications()).toEqual([]);
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: "delete/me", IfMatch: second.ETag! }));
    expect(deleted.DeleteMarker).toBe(true);
    expect(await entries(VERSIONED, "delete/me")).toEqual(["m", "v", "v"]);
    expect(await notifications()).toEqual(["ObjectRemoved:DeleteMarkerCreated delete/me"]);
  });

  it("If-Match: * needs a current object: a current delete marker, or no key at all, is 404 NoSuchKey and nothing is made", async () => {
    await notifications();
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: "delete/me", IfMatch: "*" })))).toEqual(NO_SUCH_KEY);
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: "delete/nothing", IfMatch: "*" })))).toEqual(NO_SUCH_KEY);
    expect(await entries(VERSIONED, "delete/me")).toEqual(["m", "v", "v"]);
    expect(await entries(VERSIONED, "delete/nothing")).toEqual([]);
    expect(await notifications()).toEqual([]);
  });

  it("the condition is on the current version even when a version is named", async () => {
    const old = await put(VERSIONED, "delete/version", "old");
    await put(VERSIONED, "delete/version", "new");
    expect(
      await failure(s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: "delete/version", VersionId: old.VersionId!, IfMatch: old.ETag! }))),
    ).toEqual(PRECONDITION_FAILED);
    expect(await entries(VERSIONED, "delete/version")).toEqual(["v", "v"]);
  });

  it("in a bucket never versioned: the object goes only with its ETag", async () => {
    const object = await put(PLAIN, "delete/plain", "here");
    await notifications();
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: PLAIN, Key: "delete/plain", IfMatch: '"0"' })))).toEqual(PRECONDITION_FAILED);
    expect(await bodyOf(PLAIN, "delete/plain")).toBe("here");
    expect(await notifications()).toEqual([]);
    await s3.send(new DeleteObjectCommand({ Bucket: PLAIN, Key: "delete/plain", IfMatch: object.ETag! }));
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: PLAIN, Key: "delete/plain" })))).toEqual(NO_SUCH_KEY);
    expect(await notifications()).toEqual(["ObjectRemoved:Delete delete/plain"]);
  });

  it("x-amz-if-match-size and x-amz-if-match-last-modified-time (directory buckets only) are refused, deleting nothing", async () => {
    const object = await put(PLAIN, "delete/sized", "12345");
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: PLAIN, Key: "delete/sized", IfMatchSize: 5 })))).toEqual({
      status: 501,
      name: "NotImplemented",
    });
    expect(
      await failure(s3.send(new DeleteObjectCommand({ Bucket: PLAIN, Key: "delete/sized", IfMatch: object.ETag!, IfMatchLastModifiedTime: new Date() }))),
    ).toEqual({ status: 501, name: "NotImplemented" });
    expect(await bodyOf(PLAIN, "delete/sized")).toBe("12345");
  });

  it("DeleteObjects: an object whose ETag is not the current one's is its own PreconditionFailed error, the others deleted; LastModifiedTime is refused", async () => {
    const kept = await put(VERSIONED, "batch/kept", "kept");
    const gone = await put(VERSIONED, "batch/gone", "gone");
    await notifications();
    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket: VERSIONED,
        Delete: {
          Objects: [
            { Key: "batch/kept", ETag: '"00000000000000000000000000000000"' },
            { Key: "batch/gone", ETag: gone.ETag! },
          ],
        },
      }),
    );
    expect(result.Errors?.map((error) => [error.Key, error.Code])).toEqual([["batch/kept", "PreconditionFailed"]]);
    expect(result.Deleted?.map((deleted) => [deleted.Key, deleted.DeleteMarker])).toEqual([["batch/gone", true]]);
    expect(await entries(VERSIONED, "batch/kept")).toEqual(["v"]);
    expect(await notifications()).toEqual(["ObjectRemoved:DeleteMarkerCreated batch/gone"]);
    const dated = s3.send(
      new DeleteObjectsCommand({ Bucket: VERSIONED, Delete: { Objects: [{ Key: "batch/kept", ETag: kept.ETag!, LastModifiedTime: new Date() }] } }),
    );
    expect(await failure(dated)).toEqual({ status: 501, name: "NotImplemented" });
    expect(await bodyOf(VERSIONED, "batch/kept")).toBe("kept");
  });
});
