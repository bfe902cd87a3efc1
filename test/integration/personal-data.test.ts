/**
 * Personal data in the ledger, against DynamoDB Local (and the local S3 for reconciliation):
 * what origin the tracker writes under each `origin` setting, origin taken off items older than
 * the journal's retention by reconciliation, and `bucket-ledger erase` through the real CLI.
 */
import { randomUUID } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, journalPartitionKey, Ledger, partitionKeyOf, type LedgerOptions } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";
import { reconcileBucket } from "../../reconcile/in-process.js";
import { listObjectsSource } from "../../reconcile/source.js";
import { createTrackerHandler } from "../../tracker/handler.js";
import type { ObjectLookup } from "../../s3/object-lookup.js";
import { runCli } from "../support/cli.js";
import { createApiHandler } from "../../api/handler.js";
import { toHttpApiEvent } from "../../local/api-server.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { del, put, sqsEventOf, type S3EventSpec } from "../support/events.js";

let dynamodb: TestDynamoDb;
let emulator: S3SqsEmulator;
let s3: S3Client;
beforeAll(async () => {
  [dynamodb, emulator] = await Promise.all([startTestDynamoDb(), startS3SqsEmulator({ region: LOCAL_REGION })]);
  s3 = new S3Client({ region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint, forcePathStyle: true });
});
afterAll(async () => {
  s3?.destroy();
  await Promise.all([dynamodb?.stop(), emulator?.stop()]);
});

const noLookup: ObjectLookup = { head: () => Promise.reject(new Error("no S3 lookups expected in this test")) };
const DAY_MS = 86_400_000;

async function deliver(ledger: Ledger, specs: S3EventSpec[]) {
  const handler = createTrackerHandler({
    ledger,
    lookup: noLookup,
    logger: new Logger({ serviceName: "personal-data-test", logLevel: "SILENT" }),
    concurrency: 4,
  });
  for (const spec of specs) expect((await handler(sqsEventOf(spec))).batchItemFailures).toEqual([]);
}

/** The raw items, as DynamoDB holds them: what was written, not what a reader makes of it. */
async function rawItem(ledger: Ledger, bucket: string, key: string) {
  const { Item } = await createDocumentClient(dynamodb.client).send(
    new GetCommand({ TableName: ledger.tableName, Key: { pk: partitionKeyOf(bucket, key), sk: key }, ConsistentRead: true }),
  );
  return Item;
}

const ORIGIN_FIELDS = ["requester", "sourceIp", "requestId"];
const originOf = (item: Record<string, unknown> | undefined) =>
  Object.fromEntries(ORIGIN_FIELDS.filter((name) => item?.[name] !== undefined).map((name) => [name, item![name]]));

describe("the origin setting, applied when a change is captured", () => {
  const alice = { requester: "AWS:AIDAALICE", sourceIp: "198.51.100.7" };
  const capture = async (options: Partial<LedgerOptions>) => {
    const ledger = await dynamodb.createLedger({ historyDays: 90, ...options });
    await deliver(ledger, [
      { ...put("a.txt", "01"), ...alice },
      { ...del("b.txt", "02"), ...alice },
    ]);
    return ledger;
  };

  it("principal: the requester and request id on items, tombstones and history entries, never the source IP", async () => {
    const ledger = await capture({ origin: "principal" });
    const expected = { requester: "AWS:AIDAALICE", requestId: "C3D13FE58DE4C810" };
    expect(originOf(await rawItem(ledger, "photos", "a.txt"))).toEqual(expected);
    expect(originOf(await rawItem(ledger, "photos", "b.txt"))).toEqual(expected);
    expect((await ledger.history("photos", "a.txt")).entries.map((entry) => entry.origin)).toEqual([expected]);
    expect((await ledger.history("photos", "b.txt")).entries.map((entry) => entry.origin)).toEqual([expected]);
  });

  it("none: no origin anywhere", async () => {
    const ledger = await capture({ origin: "none" });
    expect(originOf(await rawItem(ledger, "photos", "a.txt"))).toEqual({});
    expect(originOf(await rawItem(ledger, "photos", "b.txt"))).toEqual({});
    const history = await ledger.history("photos", "a.txt");
    expect(history.entries).toHaveLength(1);
    expect(history.entries[0]!.origin).toBeUndefined();
  });

  it("full: the source IP too", async () => {
    const ledger = await capture({ origin: "full" });
    expect(originOf(await rawItem(ledger, "photos", "a.txt"))).toEqual({ ...alice, requestId: "C3D13FE58DE4C810" });
  });
});

/** A writer on the ledger's table whose clock says `at`. */
const sameTable = (ledger: Ledger, at: number) =>
  new Ledger({ tableName: ledger.tableName, documentClient: createDocumentClient(dynamodb.client), now: () => new Date(at) });

describe("origin retention: reconciliation takes origin off items older than the journal keeps changes", () => {
  async function bucketWith(keys: string[]) {
    const bucket = `origin-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));
    return bucket;
  }

  /** Records the key as S3 holds it (so reconciliation finds no drift), by a tracker whose clock says `at`. */
  async function recordAt(ledger: Ledger, bucket: string, key: string, at: Date, sequencer: string) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    await ledger.apply({
      kind: "upsert",
      bucket,
      key,
      sequencer,
      eventTime: at.toISOString(),
      eventName: "ObjectCreated:Put",
      origin: { requester: "AWS:AIDAALICE", requestId: "C3D13FE58DE4C810" },
      state: { size: head.ContentLength!, etag: head.ETag!.replace(/"/g, ""), lastModified: at.toISOString() },
    });
  }

  it("removes origin older than historyDays, keeps newer origin and leaves every item's state; a dry run removes nothing", async () => {
    const now = Date.now();
    const ledger = await dynamodb.createLedger({ historyDays: 90 });
    const bucket = await bucketWith(["old.txt", "recent.txt"]);
    // The same table, written by a tracker 100 days ago.
    const past = sameTable(ledger, now - 100 * DAY_MS);
    await recordAt(past, bucket, "old.txt", new Date(now - 100 * DAY_MS), "01");
    await recordAt(ledger, bucket, "recent.txt", new Date(now - 60_000), "02");
    const before = await rawItem(ledger, bucket, "old.txt");
    expect(before?.requester).toBe("AWS:AIDAALICE");

    const dry = await reconcileBucket({ ledger, bucket, source: listObjectsSource({ s3, bucket, ordered: false }), dryRun: true });
    expect(dry.missing + dry.stale + dry.orphaned).toBe(0);
    expect((await rawItem(ledger, bucket, "old.txt"))?.requester).toBe("AWS:AIDAALICE");

    const run = await reconcileBucket({ ledger, bucket, source: listObjectsSource({ s3, bucket, ordered: false }) });
    expect(run.missing + run.stale + run.orphaned).toBe(0);
    const after = await rawItem(ledger, bucket, "old.txt");
    expect(originOf(after)).toEqual({});
    // Only the origin: the state, the sequencer and the change time are the tracker's.
    const { requester: _r, requestId: _q, ...rest } = before!;
    expect(after).toEqual(rest);
    expect(originOf(await rawItem(ledger, bucket, "recent.txt"))).toEqual({ requester: "AWS:AIDAALICE", requestId: "C3D13FE58DE4C810" });
  });

  it("never clobbers a newer change: the removal is conditioned on the change time read", async () => {
    const now = Date.now();
    const ledger = await dynamodb.createLedger({ historyDays: 30 });
    const bucket = "photos";
    const past = sameTable(ledger, now - 40 * DAY_MS);
    await deliver(past, [{ ...put("k.txt", "01"), requester: "AWS:AIDAOLD" }]);
    const read = await ledger.get(bucket, "k.txt", { consistentRead: true });
    expect(ledger.originExpired(read!)).toBe(true);
    // A newer event lands between reconciliation's read and its write.
    await deliver(ledger, [{ ...put("k.txt", "02"), requester: "AWS:AIDANEW" }]);
    expect(await ledger.expireOrigin(read!)).toBe(false);
    expect((await rawItem(ledger, bucket, "k.txt"))?.requester).toBe("AWS:AIDANEW");
  });

  it("keeps origin as long as the change feed when the journal is off", async () => {
    const ledger = await dynamodb.createLedger({ historyDays: 0, retentionDays: 30 });
    expect(ledger.originDays).toBe(30);
    // A reader or a writer never told the journal's retention expires nothing.
    expect((await dynamodb.createLedger()).originDays).toBeUndefined();
  });
});

describe("bucket-ledger erase", () => {
  let env: Record<string, string>;
  beforeAll(() => {
    env = {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.emulator.endpoint,
    };
  });

  async function journalCount(ledger: Ledger, bucket: string, key: string) {
    const { Items } = await import("@aws-sdk/lib-dynamodb").then(({ QueryCommand }) =>
      createDocumentClient(dynamodb.client).send(
        new QueryCommand({
          TableName: ledger.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": journalPartitionKey(bucket, key) },
          ConsistentRead: true,
        }),
      ),
    );
    return (Items ?? []).filter((item) => item.objectKey === key).length;
  }

  async function seeded() {
    const ledger = await dynamodb.createLedger({ historyDays: 90, origin: "full" });
    await deliver(ledger, [
      { ...put("a b.txt", "01"), requester: "AWS:AIDAALICE" },
      { ...put("a b.txt", "02"), requester: "AWS:AIDABOB" },
      { ...put("c.txt", "03"), requester: "AWS:AIDAALICE" },
      { ...put("c.txt", "04"), requester: "AWS:AIDACAROL" },
      { ...del("d.txt", "05"), requester: "AWS:AIDAALICE" },
    ]);
    return ledger;
  }

  it("--key: a dry run by default; with --yes the key's history and its item's origin are gone, other keys untouched", async () => {
    const ledger = await seeded();
    const dry = await runCli(["erase", "--key", "s3://photos/a b.txt", "--table", ledger.tableName], { env });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ bucket: "photos", key: "a b.txt", dryRun: true, historyEntries: 3, itemOrigin: true, skipped: 0 });
    expect(dry.stderr).toContain("--yes");
    expect(await journalCount(ledger, "photos", "a b.txt")).toBe(3);

    const done = await runCli(["erase", "--key", "s3://photos/a b.txt", "--table", ledger.tableName, "--yes"], { env });
    expect(done.code).toBe(0);
    // Two entries and the key's start marker.
    expect(JSON.parse(done.stdout)).toMatchObject({ dryRun: false, historyEntries: 3, itemOrigin: true });
    expect(await journalCount(ledger, "photos", "a b.txt")).toBe(0);
    const item = await rawItem(ledger, "photos", "a b.txt");
    expect(originOf(item)).toEqual({});
    expect(item).toMatchObject({ etag: "etag-02", deleted: false });
    expect(await journalCount(ledger, "photos", "c.txt")).toBe(3);
    expect((await rawItem(ledger, "photos", "c.txt"))?.requester).toBe("AWS:AIDACAROL");
  });

  it("--requester: that requester's origin leaves every item and entry, nobody else's; a dry run counts the same and writes nothing", async () => {
    const ledger = await seeded();
    const args = ["erase", "--requester", "AWS:AIDAALICE", "--table", ledger.tableName, "--segments", "3"];
    const dry = await runCli(args, { env });
    expect(dry.code).toBe(0);
    // Entries of a b.txt (01), c.txt (03), d.txt (05), and d.txt's tombstone.
    expect(JSON.parse(dry.stdout)).toMatchObject({ requester: "AWS:AIDAALICE", dryRun: true, erased: 4, skipped: 0 });
    expect((await rawItem(ledger, "photos", "d.txt"))?.requester).toBe("AWS:AIDAALICE");

    const done = await runCli([...args, "--yes"], { env });
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ dryRun: false, erased: 4, skipped: 0 });
    expect(originOf(await rawItem(ledger, "photos", "d.txt"))).toEqual({});
    for (const key of ["a b.txt", "c.txt", "d.txt"]) {
      const requesters = (await ledger.history("photos", key)).entries.map((entry) => entry.origin?.requester);
      expect(requesters).not.toContain("AWS:AIDAALICE");
    }
    expect((await ledger.history("photos", "c.txt")).entries.map((entry) => entry.origin?.requester)).toEqual([undefined, "AWS:AIDACAROL"]);
    expect((await rawItem(ledger, "photos", "a b.txt"))?.requester).toBe("AWS:AIDABOB");
    const again = await runCli([...args, "--yes"], { env });
    expect(JSON.parse(again.stdout)).toMatchObject({ erased: 0 });
  });

  it("refuses what it cannot act on, with exit code 2", async () => {
    for (const args of [["erase"], ["erase", "--key", "photos/a.txt"], ["erase", "--key", "s3://photos/a", "--requester", "x"]]) {
      const result = await runCli([...args, "--table", "ledger-x"], { env });
      expect(result.code).toBe(2);
    }
  });
});

describe("a public query API (apiAuthorization none)", () => {
  const KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  async function served(publicView: boolean) {
    const ledger = await dynamodb.createLedger({ historyDays: 90, origin: "full" });
    await ledger.apply({
      kind: "upsert",
      bucket: "photos",
      key: "a.txt",
      sequencer: "01",
      eventTime: new Date(Date.now() - 60_000).toISOString(),
      eventName: "ObjectCreated:Put",
      origin: { requester: "AWS:AIDAALICE", sourceIp: "198.51.100.7", requestId: "C3D13FE58DE4C810" },
      state: {
        size: 1,
        etag: "etag-01",
        lastModified: new Date().toISOString(),
        contentType: "text/plain",
        userMetadata: { owner: "alice@example.com" },
        tags: { patient: "p-1234" },
        encryption: { algorithm: "aws:kms", kmsKeyId: KMS_KEY },
      },
    });
    const handler = createApiHandler({ ledger, buckets: ["photos"], publicView, cursorKey: async () => new Uint8Array(32).fill(7) });
    const get = async (path: string) => {
      const response = await handler(toHttpApiEvent("GET", new URL(`http://127.0.0.1${path}`), {}));
      expect(response.statusCode).toBe(200);
      return response.body!;
    };
    const since = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString());
    return Promise.all([
      get("/buckets/photos/object?key=a.txt"),
      get("/buckets/photos/objects"),
      get(`/buckets/photos/changes?since=${since}`),
      get("/buckets/photos/history?key=a.txt"),
    ]);
  }

  it("serves no origin, user metadata, tags or KMS key ARN on any route, and keeps the rest", async () => {
    for (const body of await served(true)) {
      for (const withheld of ["AIDAALICE", "198.51.100.7", "C3D13FE58DE4C810", "alice@example.com", "p-1234", KMS_KEY, "requester", "userMetadata", "tags"])
        expect(body).not.toContain(withheld);
      expect(body).toContain("etag-01");
      expect(body).toContain("aws:kms");
      expect(body).toContain("text/plain");
    }
  });

  it("behind IAM serves them all", async () => {
    for (const body of await served(false))
      for (const kept of ["AIDAALICE", "198.51.100.7", "alice@example.com", "p-1234", KMS_KEY]) expect(body).toContain(kept);
  });
});
