/**
 * S3 Versioning in the local S3, driven with the AWS SDK over real HTTP: versioning states,
 * version ids on every write, delete markers, reads and copies of a version, version deletes,
 * ListObjectVersions page by page, the notifications S3 sends for each, versions kept across a
 * restart, and the tracker (the whole local stack) ending with the key's current version after
 * a delete marker and version deletes.
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
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeS3Key } from "../../aws/s3-key.js";
import { notificationEvents } from "../../events/subscriptions.js";
import { parseMessageBody, type ObjectEvent } from "../../events/parse.js";
import { compareSequencers } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { S3Notifier } from "../../local/s3-notifier.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";
import { LocalStack } from "../../local/stack.js";
import { compareLedgerWithBucket } from "../../local/verify.js";

let directory: string;
let emulator: S3SqsEmulator;
let s3: S3Client;
let sqs: SQSClient;
let queueUrl: string;
let notifier: S3Notifier;
const bucket = "versioned";

const clientConfig = () => ({ region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint });

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "bucket-ledger-versions-"));
  emulator = await startS3SqsEmulator({ region: LOCAL_REGION, s3Directory: directory });
  s3 = new S3Client({ ...clientConfig(), forcePathStyle: true });
  sqs = new SQSClient(clientConfig());
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "version-events" }))).QueueUrl!;
  for (const name of [bucket, "plain", "suspended", "paged"]) await s3.send(new CreateBucketCommand({ Bucket: name }));
  for (const name of [bucket, "suspended", "paged"]) await enable(name);
  notifier = new S3Notifier({ sqs, region: LOCAL_REGION, destinations: new Map([[bucket, queueUrl]]), events: notificationEvents([]) });
  emulator.onCommit(notifier.notify);
});

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  await emulator?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

const enable = (name: string, Status: "Enabled" | "Suspended" = "Enabled") =>
  s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status } }));

const put = async (key: string, body: string, name = bucket) => s3.send(new PutObjectCommand({ Bucket: name, Key: key, Body: body }));

async function bodyOf(key: string, versionId?: string, name = bucket): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: name, Key: key, ...(versionId && { VersionId: versionId }) }));
  return response.Body!.transformToString();
}

interface Failure {
  status: number | undefined;
  name: string;
  headers: Record<string, string>;
}

async function failure(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (error) {
    const failed = error as { name: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
    return { status: failed.$metadata?.httpStatusCode, name: failed.name, headers: failed.$response?.headers ?? {} };
  }
  throw new Error("expected the request to fail");
}

/**
 * Every version of `prefix`, as "key versionId true|false" ("marker:" before a delete marker's
 * id), page by page, in the document's own order (the SDK splits versions from markers), keys
 * URL-encoded on the wire and decoded here.
 */
async function allVersions(name: string, prefix = "", maxKeys?: number): Promise<{ rows: string[]; pages: number }> {
  const rows: string[] = [];
  let pages = 0;
  let markers = "";
  const field = (text: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text)?.[1];
  for (;;) {
    const query = `versions&encoding-type=url&prefix=${encodeURIComponent(prefix)}${maxKeys !== undefined ? `&max-keys=${maxKeys}` : ""}${markers}`;
    const response = await fetch(`${emulator.endpoint}/${name}?${query}`);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    pages++;
    for (const [, kind, entry] of text.matchAll(/<(Version|DeleteMarker)>(.*?)<\/\1>/g)) {
      rows.push(`${decodeS3Key(field(entry!, "Key")!)} ${kind === "DeleteMarker" ? "marker:" : ""}${field(entry!, "VersionId")} ${field(entry!, "IsLatest")}`);
    }
    if (field(text, "IsTruncated") !== "true") return { rows, pages };
    const nextKey = field(text, "NextKeyMarker")!;
    const nextVersion = field(text, "NextVersionIdMarker");
    markers = `&key-marker=${encodeURIComponent(decodeS3Key(nextKey))}${nextVersion !== undefined ? `&version-id-marker=${encodeURIComponent(nextVersion)}` : ""}`;
  }
}

async function drain(): Promise<{ raw: { eventName: string; s3: { object: Record<string, unknown> } }; event: ObjectEvent }[]> {
  await notifier.flush();
  const received = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) return received;
    for (const message of Messages) {
      const parsed = parseMessageBody(message.Body!);
      if (parsed.kind !== "events") continue;
      received.push({ raw: JSON.parse(message.Body!).Records[0], event: parsed.events[0]! });
    }
  }
}

describe("versioning states", () => {
  it("answers an empty configuration for a bucket never versioned, then Enabled and Suspended as put", async () => {
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "plain" }))).Status).toBeUndefined();
    await s3.send(new CreateBucketCommand({ Bucket: "toggled" }));
    await enable("toggled");
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "toggled" }))).Status).toBe("Enabled");
    await enable("toggled", "Suspended");
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "toggled" }))).Status).toBe("Suspended");
  });

  it("refuses MFA delete clearly rather than pretending to keep it, and a status S3 does not know", async () => {
    const mfa = await failure(
      s3.send(new PutBucketVersioningCommand({ Bucket: "plain", VersioningConfiguration: { Status: "Enabled", MFADelete: "Enabled" }, MFA: "serial 123456" })),
    );
    expect([mfa.status, mfa.name]).toEqual([501, "NotImplemented"]);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "plain" }))).Status).toBeUndefined();
    const odd = await failure(s3.send(new PutBucketVersioningCommand({ Bucket: "plain", VersioningConfiguration: { Status: "Disabled" as "Enabled" } })));
    expect([odd.status, odd.name]).toEqual([400, "MalformedXML"]);
  });

  it("names no version in a bucket never versioned, and lists its objects as version null", async () => {
    const written = await put("plain.txt", "plain", "plain");
    expect(written.VersionId).toBeUndefined();
    expect((await s3.send(new HeadObjectCommand({ Bucket: "plain", Key: "plain.txt" }))).VersionId).toBeUndefined();
    expect((await allVersions("plain")).rows).toEqual(["plain.txt null true"]);
  });
});

describe("a versioning-enabled bucket", () => {
  it("keeps every version: ids on PUT, reads by version, the latest current, ListObjectsV2 showing it alone", async () => {
    const first = await put("doc.txt", "one");
    const second = await put("doc.txt", "two!");
    for (const id of [first.VersionId!, second.VersionId!]) expect(id).toMatch(/^[A-Za-z0-9_-]{30}$/);
    expect(first.VersionId).not.toBe(second.VersionId);
    expect(await bodyOf("doc.txt")).toBe("two!");
    expect(await bodyOf("doc.txt", first.VersionId)).toBe("one");
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "doc.txt", VersionId: first.VersionId }));
    expect([head.VersionId, head.ContentLength]).toEqual([first.VersionId, 3]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "doc.txt" }))).VersionId).toBe(second.VersionId);
    expect((await allVersions(bucket, "doc.txt")).rows).toEqual([`doc.txt ${second.VersionId} true`, `doc.txt ${first.VersionId} false`]);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "doc.txt" }))).Contents?.map((object) => object.Size)).toEqual([4]);
    const missing = await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "doc.txt", VersionId: "0000000000000aAAAAAAAAAAAAAAAA" })));
    expect([missing.status, missing.name]).toEqual([404, "NoSuchVersion"]);
  });

  it("hides a key behind a delete marker: 404 with x-amz-delete-marker, 405 naming the marker, removed from ListObjectsV2", async () => {
    const kept = await put("gone.txt", "kept");
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "gone.txt" }));
    expect(deleted.DeleteMarker).toBe(true);
    expect(deleted.VersionId).toMatch(/^[A-Za-z0-9_-]{30}$/);
    const get = await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "gone.txt" })));
    expect([get.status, get.name, get.headers["x-amz-delete-marker"], get.headers["x-amz-version-id"]]).toEqual([404, "NoSuchKey", "true", deleted.VersionId]);
    const head = await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "gone.txt" })));
    expect([head.status, head.headers["x-amz-delete-marker"]]).toEqual([404, "true"]);
    const named = await failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "gone.txt", VersionId: deleted.VersionId })));
    expect([named.status, named.name, named.headers["x-amz-delete-marker"]]).toEqual([405, "MethodNotAllowed", "true"]);
    expect(named.headers["last-modified"]).toBeDefined();
    const namedHead = await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "gone.txt", VersionId: deleted.VersionId })));
    expect(namedHead.status).toBe(405);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "gone.txt" }))).Contents).toBeUndefined();
    expect((await allVersions(bucket, "gone.txt")).rows).toEqual([`gone.txt marker:${deleted.VersionId} true`, `gone.txt ${kept.VersionId} false`]);
    // The old version is still there to read.
    expect(await bodyOf("gone.txt", kept.VersionId)).toBe("kept");
  });

  it("deletes a version for good: removing the marker brings the version under it back, removing the current one the next newest", async () => {
    const v1 = await put("restore.txt", "v1");
    const v2 = await put("restore.txt", "v2");
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "restore.txt" }));
    const unmarked = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "restore.txt", VersionId: marker.VersionId }));
    expect([unmarked.DeleteMarker, unmarked.VersionId]).toEqual([true, marker.VersionId]);
    expect(await bodyOf("restore.txt")).toBe("v2");
    const dropped = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "restore.txt", VersionId: v2.VersionId }));
    expect([dropped.DeleteMarker, dropped.VersionId]).toEqual([undefined, v2.VersionId]);
    expect(await bodyOf("restore.txt")).toBe("v1");
    expect((await allVersions(bucket, "restore.txt")).rows).toEqual([`restore.txt ${v1.VersionId} true`]);
    // A version that is not there (any more) changes nothing.
    const again = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "restore.txt", VersionId: v2.VersionId }));
    expect(again.VersionId).toBe(v2.VersionId);
    expect(await bodyOf("restore.txt")).toBe("v1");
  });

  it("copies from a named version, and never from a delete marker", async () => {
    const v1 = await put("source.txt", "old contents");
    await put("source.txt", "new contents");
    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "copied.txt", CopySource: `${bucket}/source.txt?versionId=${encodeURIComponent(v1.VersionId!)}` }),
    );
    expect(copied.CopySourceVersionId).toBe(v1.VersionId);
    expect(copied.VersionId).toMatch(/^[A-Za-z0-9_-]{30}$/);
    expect(await bodyOf("copied.txt")).toBe("old contents");
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "source.txt" }));
    const fromMarker = await failure(
      s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copied.txt", CopySource: `${bucket}/source.txt?versionId=${marker.VersionId}` })),
    );
    expect([fromMarker.status, fromMarker.name]).toEqual([400, "InvalidRequest"]);
    const fromCurrent = await failure(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copied.txt", CopySource: `${bucket}/source.txt` })));
    expect([fromCurrent.status, fromCurrent.name]).toEqual([404, "NoSuchKey"]);
  });

  it("gives a completed multipart upload a version id of its own", async () => {
    const before = await put("parts.bin", "small");
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "parts.bin" }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: "parts.bin", UploadId, PartNumber: 1, Body: "one part" }));
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "parts.bin", UploadId, MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] } }),
    );
    expect(completed.VersionId).toMatch(/^[A-Za-z0-9_-]{30}$/);
    expect((await allVersions(bucket, "parts.bin")).rows).toEqual([`parts.bin ${completed.VersionId} true`, `parts.bin ${before.VersionId} false`]);
  });

  it("deletes many at once, versions and markers named or made, each answered on its own", async () => {
    const a1 = await put("batch/a", "a1");
    await put("batch/a", "a2");
    const invalid = "../../escape";
    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: "batch/a", VersionId: a1.VersionId }, { Key: "batch/b" }, { Key: "batch/c", VersionId: invalid }] },
      }),
    );
    const byKey = new Map(result.Deleted?.map((deleted) => [deleted.Key, deleted]));
    expect(byKey.get("batch/a")).toMatchObject({ VersionId: a1.VersionId });
    expect(byKey.get("batch/a")?.DeleteMarker).toBeUndefined();
    expect(byKey.get("batch/b")).toMatchObject({ DeleteMarker: true, DeleteMarkerVersionId: expect.stringMatching(/^[A-Za-z0-9_-]{30}$/) });
    expect(result.Errors).toEqual([expect.objectContaining({ Key: "batch/c", VersionId: invalid, Code: "InvalidArgument" })]);
    expect((await allVersions(bucket, "batch/")).rows).toEqual([
      expect.stringMatching(/^batch\/a \S+ true$/),
      `batch/b marker:${byKey.get("batch/b")!.DeleteMarkerVersionId} true`,
    ]);
  });
});

describe("a versioning-suspended bucket", () => {
  it("writes version null, replacing the null version there was, keeps the versions made before, and deletes with a null marker", async () => {
    const enabledVersion = await put("s.txt", "from when enabled", "suspended");
    await enable("suspended", "Suspended");
    const first = await put("s.txt", "null one", "suspended");
    expect(first.VersionId).toBe("null");
    await put("s.txt", "null two", "suspended");
    expect((await allVersions("suspended", "s.txt")).rows).toEqual(["s.txt null true", `s.txt ${enabledVersion.VersionId} false`]);
    expect(await bodyOf("s.txt", "null", "suspended")).toBe("null two");
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: "suspended", Key: "s.txt" }));
    expect([deleted.DeleteMarker, deleted.VersionId]).toEqual([true, "null"]);
    expect((await allVersions("suspended", "s.txt")).rows).toEqual(["s.txt marker:null true", `s.txt ${enabledVersion.VersionId} false`]);
    await s3.send(new DeleteObjectCommand({ Bucket: "suspended", Key: "s.txt", VersionId: "null" }));
    expect(await bodyOf("s.txt", undefined, "suspended")).toBe("from when enabled");
  });
});

describe("ListObjectVersions", () => {
  const keys = ["a", "b/1", "b/2", "é", "z", "ｚ", "😀"];

  beforeAll(async () => {
    for (const key of keys) for (let n = 0; n < 2; n++) await put(key, `${key} ${n}`, "paged");
    await s3.send(new DeleteObjectCommand({ Bucket: "paged", Key: "z" }));
  });

  it("lists keys in UTF-8 byte order and each key's versions newest first, the same whatever the page size", async () => {
    const whole = await allVersions("paged");
    expect(whole.pages).toBe(1);
    expect(whole.rows.map((row) => row.split(" ")[0])).toEqual(["a", "a", "b/1", "b/1", "b/2", "b/2", "z", "z", "z", "é", "é", "ｚ", "ｚ", "😀", "😀"]);
    expect(whole.rows.filter((row) => row.endsWith(" true"))).toHaveLength(keys.length);
    expect(whole.rows[6]).toMatch(/^z marker:\S+ true$/);
    for (const size of [1, 2, 3, 7]) {
      const paged = await allVersions("paged", "", size);
      expect(paged.rows, `max-keys ${size}`).toEqual(whole.rows);
      expect(paged.pages).toBe(Math.ceil(whole.rows.length / size));
    }
  });

  it("rolls keys up under a delimiter, a common prefix counting once", async () => {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: "paged", Delimiter: "/", MaxKeys: 3 }));
    expect(page.CommonPrefixes?.map((common) => common.Prefix)).toEqual(["b/"]);
    expect(page.Versions?.map((version) => version.Key)).toEqual(["a", "a"]);
    expect([page.IsTruncated, page.NextKeyMarker, page.NextVersionIdMarker]).toEqual([true, "b/", undefined]);
    const next = await s3.send(new ListObjectVersionsCommand({ Bucket: "paged", Delimiter: "/", KeyMarker: "b/", MaxKeys: 3 }));
    expect(next.CommonPrefixes).toBeUndefined();
    expect([...(next.Versions ?? []), ...(next.DeleteMarkers ?? [])].map((entry) => entry.Key)).toEqual(["z", "z", "z"]);
  });

  it("goes on after a marker version deleted between pages, from where that version was", async () => {
    const first = await s3.send(new ListObjectVersionsCommand({ Bucket: "paged", Prefix: "a", MaxKeys: 1 }));
    const newest = first.Versions![0]!;
    await s3.send(new DeleteObjectCommand({ Bucket: "paged", Key: "a", VersionId: newest.VersionId }));
    const rest = await s3.send(new ListObjectVersionsCommand({ Bucket: "paged", Prefix: "a", KeyMarker: "a", VersionIdMarker: first.NextVersionIdMarker! }));
    expect(rest.Versions?.map((version) => [version.Key, version.IsLatest])).toEqual([["a", true]]);
  });

  it("URL-encodes keys with encoding-type=url, which XML could not carry", async () => {
    const key = "ctl\u0001 line\r\nend";
    await put(key, "x", "paged");
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: "paged", Prefix: "ctl", EncodingType: "url" }));
    expect(page.Versions?.map((version) => decodeS3Key(version.Key!))).toEqual([key]);
  });
});

describe("notifications", () => {
  it("name the version written, the marker made and the version deleted, with sequencers increasing per key", async () => {
    await drain();
    const v1 = await put("events.txt", "one");
    const v2 = await put("events.txt", "two");
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "events.txt" }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "events.txt", VersionId: marker.VersionId }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "events.txt", VersionId: v2.VersionId }));
    const received = (await drain()).filter(({ event }) => event.key === "events.txt");
    received.sort((a, b) => compareSequencers(String(a.raw.s3.object.sequencer), String(b.raw.s3.object.sequencer)));
    expect(received.map(({ raw }) => [raw.eventName, raw.s3.object.versionId])).toEqual([
      ["ObjectCreated:Put", v1.VersionId],
      ["ObjectCreated:Put", v2.VersionId],
      ["ObjectRemoved:DeleteMarkerCreated", marker.VersionId],
      ["ObjectRemoved:Delete", marker.VersionId],
      ["ObjectRemoved:Delete", v2.VersionId],
    ]);
    expect(received.map(({ event }) => event.action)).toEqual(["upsert", "upsert", "delete", "version-deleted", "version-deleted"]);
    const sequencers = received.map(({ raw }) => String(raw.s3.object.sequencer));
    expect(new Set(sequencers).size).toBe(sequencers.length);
  });
});

describe("a restart on the same directory", () => {
  it("finds every version, marker and versioning state as they were left", async () => {
    const before = await allVersions(bucket);
    const states = await Promise.all([bucket, "suspended", "plain"].map((name) => s3.send(new GetBucketVersioningCommand({ Bucket: name }))));
    await notifier.flush();
    await emulator.stop();
    s3.destroy();
    emulator = await startS3SqsEmulator({ region: LOCAL_REGION, s3Directory: directory });
    s3 = new S3Client({ ...clientConfig(), forcePathStyle: true });
    expect(await allVersions(bucket)).toEqual(before);
    const after = await Promise.all([bucket, "suspended", "plain"].map((name) => s3.send(new GetBucketVersioningCommand({ Bucket: name }))));
    expect(after.map((state) => state.Status)).toEqual(states.map((state) => state.Status));
    // New versions still sort newest first after the restart.
    const written = await put("doc.txt", "three");
    expect((await allVersions(bucket, "doc.txt")).rows[0]).toBe(`doc.txt ${written.VersionId} true`);
  });
});

describe("the tracker on a versioned bucket (local stack, --versioned)", () => {
  let stack: LocalStack;
  const tracked = "tracked-versions";

  beforeAll(async () => {
    stack = await LocalStack.start({ buckets: [tracked], versioned: true, logLevel: "SILENT" });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("ends with the key's current version after a marker, the marker's removal and a version delete", async () => {
    const client = stack.clients.s3;
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: tracked }))).Status).toBe("Enabled");
    const key = "history/doc.txt";
    const step = async (name: string) => {
      await stack.waitForIdle();
      expect(await compareLedgerWithBucket(stack.ledger, client, tracked), name).toMatchObject({ matches: true });
      return stack.ledger.get(tracked, key);
    };
    const v1 = await client.send(new PutObjectCommand({ Bucket: tracked, Key: key, Body: "version one" }));
    expect(await step("put v1")).toMatchObject({ deleted: false, versionId: v1.VersionId, etag: v1.ETag!.replace(/"/g, "") });
    const v2 = await client.send(new PutObjectCommand({ Bucket: tracked, Key: key, Body: "version two!" }));
    expect(await step("put v2")).toMatchObject({ deleted: false, versionId: v2.VersionId, size: 12 });
    const marker = await client.send(new DeleteObjectCommand({ Bucket: tracked, Key: key }));
    expect(await step("delete marker")).toMatchObject({ deleted: true });
    await client.send(new DeleteObjectCommand({ Bucket: tracked, Key: key, VersionId: marker.VersionId }));
    // The marker's removal names no state: the tracker asks S3 (HeadObject) and finds v2 again.
    expect(await step("marker removed")).toMatchObject({ deleted: false, versionId: v2.VersionId, etag: v2.ETag!.replace(/"/g, ""), size: 12 });
    await client.send(new DeleteObjectCommand({ Bucket: tracked, Key: key, VersionId: v2.VersionId }));
    expect(await step("v2 deleted")).toMatchObject({ deleted: false, versionId: v1.VersionId, etag: v1.ETag!.replace(/"/g, ""), size: 11 });
  }, 60_000);

  it("follows a suspended bucket: null versions replacing each other, a null marker, and its removal bringing back the version under it", async () => {
    const client = stack.clients.s3;
    const key = "suspended/doc.txt";
    const step = async (name: string) => {
      await stack.waitForIdle();
      expect(await compareLedgerWithBucket(stack.ledger, client, tracked), name).toMatchObject({ matches: true });
      return stack.ledger.get(tracked, key);
    };
    const enabled = await client.send(new PutObjectCommand({ Bucket: tracked, Key: key, Body: "enabled" }));
    await client.send(new PutBucketVersioningCommand({ Bucket: tracked, VersioningConfiguration: { Status: "Suspended" } }));
    try {
      const nullVersion = await client.send(new PutObjectCommand({ Bucket: tracked, Key: key, Body: "null version" }));
      expect(nullVersion.VersionId).toBe("null");
      // The ledger keeps no version id for S3's "null" (aws/head-object.ts).
      const written = await step("null version");
      expect(written).toMatchObject({ deleted: false, size: 12 });
      expect(written?.versionId).toBeUndefined();
      await client.send(new PutObjectCommand({ Bucket: tracked, Key: key, Body: "null again" }));
      expect(await step("null version replaced")).toMatchObject({ deleted: false, size: 10 });
      const marker = await client.send(new DeleteObjectCommand({ Bucket: tracked, Key: key }));
      expect([marker.DeleteMarker, marker.VersionId]).toEqual([true, "null"]);
      expect(await step("null marker")).toMatchObject({ deleted: true });
      await client.send(new DeleteObjectCommand({ Bucket: tracked, Key: key, VersionId: "null" }));
      expect(await step("null marker removed")).toMatchObject({ deleted: false, versionId: enabled.VersionId, size: 7 });
    } finally {
      await client.send(new PutBucketVersioningCommand({ Bucket: tracked, VersioningConfiguration: { Status: "Enabled" } }));
    }
  }, 60_000);
});
