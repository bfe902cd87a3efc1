/**
 * Reconciliation against the S3 emulator and DynamoDB Local: each drift kind is found and
 * repaired, a second run is clean, newer state survives a run, and nothing is deleted when
 * the source fails or the run would delete too much.
 */
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { CreateBucketCommand, DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ledger } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";
import { compareLedgerWithBucket } from "../../local/verify.js";
import { reconcileBucket } from "../../reconcile/in-process.js";
import { MaxDeleteExceededError, SourceOrderError } from "../../reconcile/errors.js";
import { listObjectsSource, type ObjectSource, type SourceObject } from "../../reconcile/source.js";
import { InventoryError } from "../../reconcile/errors.js";
import { inventorySource } from "../../reconcile/inventory-source.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { writeInventoryReport, type InventoryEntry } from "../support/inventory.js";
import type { EnrichmentField } from "../../events/enrichment-fields.js";
import { s3ObjectDescriber, type ObjectDescriber } from "../../s3/object-details.js";

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

const TRICKY = ["a b.txt", "a+b.txt", "100%.txt", "日本語.txt", "😀.txt", "\uFF61.txt", "Upper.txt", "lower.txt", "k".repeat(1024)];

async function newBucket(keys: string[]): Promise<string> {
  const bucket = `reconcile-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await Promise.all(keys.map((key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }))));
  return bucket;
}

/** Treated as an unordered store (as some S3-compatible ones are): the scan sorts on disk. */
const source = (bucket: string) => listObjectsSource({ s3, bucket, ordered: false });

async function put(ledger: Ledger, bucket: string, key: string, size: number, sequencer = "01") {
  await ledger.apply({
    kind: "upsert",
    bucket,
    key,
    sequencer,
    eventTime: new Date(Date.now() - 60_000).toISOString(),
    eventName: "ObjectCreated:Put",
    state: { size, etag: "stale-etag", lastModified: new Date().toISOString() },
  });
}

describe("reconciliation", () => {
  it("finds and repairs missing, stale and orphaned objects with tricky keys; a second run is clean", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await newBucket(TRICKY);
    await put(ledger, bucket, "a b.txt", 1); // stale: wrong size and etag
    await put(ledger, bucket, "gone/orphan 1.txt", 5); // orphaned
    for (let i = 0; i < 20; i++) await put(ledger, bucket, `filler/${i}`, 1); // keeps orphans under 10%
    await Promise.all(Array.from({ length: 20 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `filler/${i}`, Body: "x" }))));

    const first = await reconcileBucket({ ledger, bucket, source: source(bucket) });
    expect(first).toMatchObject({ missing: TRICKY.length - 1, orphaned: 1, scanned: TRICKY.length + 20, repaired: TRICKY.length + 1 + 20, newerStateKept: 0 });
    // The filler objects were indexed with a wrong etag: stale too.
    expect(first.stale).toBe(21);
    expect((await compareLedgerWithBucket(ledger, s3, bucket)).matches).toBe(true);
    expect(await ledger.get(bucket, "gone/orphan 1.txt")).toMatchObject({ deleted: true, cause: "Reconcile:Orphaned", source: "reconcile" });

    const second = await reconcileBucket({ ledger, bucket, source: source(bucket) });
    expect(second).toMatchObject({ missing: 0, stale: 0, orphaned: 0, repaired: 0 });
  });

  it("lists keys holding CR, LF, TAB and other control characters exactly (URL-encoded listing), and tombstones none of them", async () => {
    const controlKeys = [
      "cr\rkey.txt",
      "lf\nkey.txt",
      "crlf\r\nkey.txt",
      "tab\tkey.txt",
      "bell\u0007key.txt",
      "escape\u001bkey.txt",
      "del\u007fkey.txt",
      "plus+and space.txt",
      "pct%41.txt",
    ];
    const ledger = await dynamodb.createLedger();
    const bucket = await newBucket(controlKeys);
    // The ledger already knows every object, as the tracker would have recorded it.
    for (const key of controlKeys)
      await ledger.repair({
        kind: "missing",
        bucket,
        key,
        state: { size: `body of ${key}`.length, etag: "unknown", lastModified: new Date().toISOString() },
        snapshotTime: new Date(Date.now() - 60_000),
      });
    const summary = await reconcileBucket({ ledger, bucket, source: source(bucket), force: true });
    expect(summary).toMatchObject({ scanned: controlKeys.length, missing: 0, orphaned: 0, stale: controlKeys.length });
    for (const key of controlKeys) expect(await ledger.get(bucket, key), JSON.stringify(key)).toMatchObject({ deleted: false, size: `body of ${key}`.length });
  });

  it("names orphans that are the URL-encoded or decoded form of a bucket key, dry run or not", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await newBucket(["my photos/a+b.jpg", "100%.txt", "plain.txt"]);
    for (const key of ["my photos/a+b.jpg", "100%.txt", "plain.txt"])
      await ledger.repair({
        kind: "missing",
        bucket,
        key,
        state: { size: `body of ${key}`.length, etag: "e", lastModified: new Date().toISOString() },
        snapshotTime: new Date(Date.now() - 60_000),
      });
    // Left by a tracker that stored one key still encoded, and decoded another twice.
    await put(ledger, bucket, "my+photos/a%2Bb.jpg", 1);
    await put(ledger, bucket, "100%25.txt", 1);
    await put(ledger, bucket, "gone for real.txt", 1);
    for (const dryRun of [true, false]) {
      const summary = await reconcileBucket({ ledger, bucket, source: source(bucket), dryRun, force: true });
      expect(summary).toMatchObject({ orphaned: 3, encodingMismatches: 2 });
      expect(summary.encodingMismatchSample).toEqual(
        expect.arrayContaining([
          { ledgerKey: "my+photos/a%2Bb.jpg", bucketKey: "my photos/a+b.jpg" },
          { ledgerKey: "100%25.txt", bucketKey: "100%.txt" },
        ]),
      );
    }
  });

  it("reports without writing in dry-run mode", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await newBucket(["only-in-s3.txt"]);
    const summary = await reconcileBucket({ ledger, bucket, source: source(bucket), dryRun: true });
    expect(summary).toMatchObject({ dryRun: true, missing: 1, repaired: 0 });
    expect(await ledger.get(bucket, "only-in-s3.txt")).toBeUndefined();
  });

  it("never overwrites state written after the snapshot began", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await newBucket(["keep.txt"]);
    for (let i = 0; i < 20; i++) await put(ledger, bucket, `live/${i}`, 1);
    await Promise.all(Array.from({ length: 20 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `live/${i}`, Body: "x" }))));
    await put(ledger, bucket, "recreated.txt", 3); // not in S3 when listed: an orphan
    const listing = source(bucket);
    // Deterministic interleaving: right after the listing starts, an event re-creates the
    // orphan and another rewrites keep.txt. Both are newer than the snapshot.
    const interleaved: ObjectSource = {
      ...listing,
      async *objects() {
        let first = true;
        for await (const object of listing.objects()) {
          if (first) {
            first = false;
            await ledger.apply({
              kind: "upsert",
              bucket,
              key: "recreated.txt",
              sequencer: "02",
              eventTime: new Date().toISOString(),
              eventName: "ObjectCreated:Put",
              state: { size: 9, etag: "new", lastModified: new Date().toISOString() },
            });
            await ledger.apply({
              kind: "upsert",
              bucket,
              key: "keep.txt",
              sequencer: "05",
              eventTime: new Date().toISOString(),
              eventName: "ObjectCreated:Put",
              state: { size: 7, etag: "event-etag", lastModified: new Date().toISOString() },
            });
          }
          yield object;
        }
      },
    };
    const summary = await reconcileBucket({ ledger, bucket, source: interleaved });
    expect(summary.newerStateKept).toBeGreaterThanOrEqual(2);
    expect(await ledger.get(bucket, "recreated.txt")).toMatchObject({ deleted: false, size: 9 });
    expect(await ledger.get(bucket, "keep.txt")).toMatchObject({ deleted: false, etag: "event-etag" });
  });

  it("deletes nothing when the listing fails halfway", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await newBucket(["a", "b", "c"]);
    await put(ledger, bucket, "orphan", 1);
    const listing = source(bucket);
    const failing: ObjectSource = {
      ...listing,
      async *objects(): AsyncGenerator<SourceObject> {
        let n = 0;
        for await (const object of listing.objects()) {
          if (++n === 2) throw new Error("connection reset while listing");
          yield object;
        }
      },
    };
    await expect(reconcileBucket({ ledger, bucket, source: failing, maxDeleteFraction: 1 })).rejects.toThrow(/connection reset/);
    expect(await ledger.get(bucket, "orphan")).toMatchObject({ deleted: false });
  });

  it("refuses a run that would tombstone more than the allowed fraction, unless forced", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await newBucket(["still-here"]);
    for (let i = 0; i < 4; i++) await put(ledger, bucket, `vanished/${i}`, 1);
    await expect(reconcileBucket({ ledger, bucket, source: source(bucket) })).rejects.toThrow(MaxDeleteExceededError);
    expect(await ledger.get(bucket, "vanished/0")).toMatchObject({ deleted: false });
    const forced = await reconcileBucket({ ledger, bucket, source: source(bucket), force: true });
    expect(forced.orphaned).toBe(4);
    expect(await ledger.get(bucket, "vanished/0")).toMatchObject({ deleted: true });
  });

  it("detects a source that is not in the byte order it claims", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await newBucket(["B-upper", "a-lower"]);
    const listed = listObjectsSource({ s3, bucket, ordered: true });
    // A store that lists in locale order (as some S3-compatible ones do) while claiming S3's.
    const misordered: ObjectSource = {
      ...listed,
      async *objects(range) {
        const all: SourceObject[] = [];
        for await (const object of listed.objects(range)) all.push(object);
        yield* all.sort((a, b) => a.key.localeCompare(b.key));
      },
    };
    await expect(reconcileBucket({ ledger, bucket, source: misordered })).rejects.toThrow(SourceOrderError);
  });
});

describe("reconciliation in parallel key ranges", () => {
  it("splits an ordered listing by directory and reaches the same result as one sorted pass", async () => {
    const keys = ["alpha/a1", "alpha/a2", "beta/b1", "beta/deep/b2", "gamma/g1", "rootfile", "zeta/z1"];
    const bucket = await newBucket(keys);
    const ranged = await dynamodb.createLedger();
    const single = await dynamodb.createLedger();
    for (const ledger of [ranged, single]) {
      await put(ledger, bucket, "beta/b1", 99); // stale
      await put(ledger, bucket, "beta/gone", 1); // orphan
      for (let i = 0; i < 10; i++) await put(ledger, bucket, `omega/${i}`, 1); // orphans too
    }
    const source = listObjectsSource({ s3, bucket, ordered: true });
    const ranges = await source.planRanges!(8);
    expect(ranges.length).toBeGreaterThan(3);
    const parallel = await reconcileBucket({ ledger: ranged, bucket, source, rangeConcurrency: 4, force: true });
    const sequential = await reconcileBucket({ ledger: single, bucket, source: listObjectsSource({ s3, bucket, ordered: false }), force: true });
    const counts = ({ scanned, indexed, missing, stale, orphaned, repaired }: typeof parallel) => ({ scanned, indexed, missing, stale, orphaned, repaired });
    expect(counts(parallel)).toEqual(counts(sequential));
    expect(parallel).toMatchObject({ scanned: keys.length, missing: keys.length - 1, stale: 1, orphaned: 11 });
    expect((await compareLedgerWithBucket(ranged, s3, bucket)).matches).toBe(true);
  });
});

describe("reconciliation from S3 Inventory", () => {
  const location = (bucket: string) => ({ bucket, prefix: "inventory", configurationId: "bucket-ledger" });

  /** What a report lists for these objects of the bucket: their real size and ETag, as S3 Inventory would. */
  async function entriesOf(bucket: string, keys: string[]): Promise<InventoryEntry[]> {
    return Promise.all(
      keys.map(async (key) => {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { key, size: head.ContentLength!, etag: head.ETag!.replace(/"/g, "") };
      }),
    );
  }

  /** A source bucket holding TRICKY, and a report of it (in a destination bucket of its own). */
  async function inventoryFixture(
    format: "CSV" | "Parquet",
    overrides: Partial<Parameters<typeof writeInventoryReport>[1]> = {},
    objects: { keys?: string[]; shape?: (entries: InventoryEntry[]) => InventoryEntry[] } = {},
  ) {
    const keys = objects.keys ?? TRICKY;
    const [destination, sourceBucket] = await Promise.all([newBucket([]), newBucket(keys)]);
    const entries = (objects.shape ?? ((listed) => listed))(await entriesOf(sourceBucket, keys));
    const createdAt = new Date("2026-11-21T01:00:00Z");
    await writeInventoryReport(s3, {
      destinationBucket: destination,
      prefix: "inventory",
      sourceBucket,
      configurationId: "bucket-ledger",
      createdAt,
      format,
      entries,
      files: 2,
      ...overrides,
    });
    return { destination, sourceBucket, createdAt, entries };
  }

  async function liveKeys(ledger: Ledger, bucket: string) {
    const out: Record<string, [number, string]> = {};
    for await (const record of ledger.list({ bucket })) out[record.key] = [record.size, record.etag];
    return out;
  }
  const asExpected = (entries: InventoryEntry[]) => Object.fromEntries(entries.map((entry) => [entry.key, [entry.size, entry.etag]]));

  it.each(["CSV", "Parquet"] as const)("repairs the ledger from a %s report, URL-encoded keys included; a second run is clean", async (format) => {
    const { destination, sourceBucket, createdAt, entries } = await inventoryFixture(format);
    const ledger = await dynamodb.createLedger();
    const source = await inventorySource({ s3, sourceBucket, location: location(destination) });
    expect(source.snapshotTime).toEqual(createdAt);
    const first = await reconcileBucket({ ledger, bucket: sourceBucket, source });
    expect(first).toMatchObject({
      source: "inventory",
      missing: entries.length,
      scanned: entries.length,
      snapshotTime: createdAt.toISOString(),
      unconfirmed: 0,
    });
    // Keys the ledger never saw are written from the report: no HEAD per object on a first backfill.
    expect(await liveKeys(ledger, sourceBucket)).toEqual(asExpected(entries));
    const second = await reconcileBucket({
      ledger,
      bucket: sourceBucket,
      source: await inventorySource({ s3, sourceBucket, location: location(destination) }),
    });
    expect(second).toMatchObject({ missing: 0, stale: 0, orphaned: 0 });
  });

  it.each(["CSV", "Parquet"] as const)(
    "takes storage class, encryption and checksum from a %s report's optional fields, without a HEAD, and HEADs only for the rest",
    async (format) => {
      const { destination, sourceBucket } = await inventoryFixture(
        format,
        { detailColumns: true },
        {
          keys: ["a.txt", "b.txt"],
          shape: (entries) =>
            entries.map((entry, index) => ({
              ...entry,
              encryptionStatus: index === 0 ? "SSE-KMS" : "SSE-S3",
              ...(index === 0 && { checksumAlgorithm: "CRC32" }),
            })),
        },
      );
      const described: string[] = [];
      const counting = (fields: EnrichmentField[]): ObjectDescriber => {
        const real = s3ObjectDescriber(s3, fields);
        return { fields, describe: (bucket, key) => (described.push(key), real.describe(bucket, key)) };
      };

      const ledger = await dynamodb.createLedger();
      const source = () => inventorySource({ s3, sourceBucket, location: location(destination) });
      await reconcileBucket({ ledger, bucket: sourceBucket, source: await source(), describer: counting(["storageClass", "encryption"]) });
      expect(described).toEqual([]);
      expect(await ledger.get(sourceBucket, "a.txt")).toMatchObject({
        storageClass: "STANDARD",
        encryption: { algorithm: "aws:kms" },
        checksum: { algorithm: "CRC32" },
      });
      expect(await ledger.get(sourceBucket, "b.txt")).toMatchObject({ encryption: { algorithm: "AES256" } });
      expect(await ledger.get(sourceBucket, "b.txt")).not.toHaveProperty("checksum");

      // The content type is in no report: each object repaired is described.
      const second = await dynamodb.createLedger();
      await reconcileBucket({ ledger: second, bucket: sourceBucket, source: await source(), describer: counting(["contentType", "encryption"]) });
      expect(described.sort()).toEqual(["a.txt", "b.txt"]);
      expect(await second.get(sourceBucket, "a.txt")).toMatchObject({ contentType: expect.any(String) });
    },
  );

  it("uses the newest complete report, skipping one still being written", async () => {
    const { destination, sourceBucket, createdAt } = await inventoryFixture("CSV");
    await writeInventoryReport(s3, {
      destinationBucket: destination,
      prefix: "inventory",
      sourceBucket,
      configurationId: "bucket-ledger",
      createdAt: new Date("2026-11-22T01:00:00Z"),
      format: "CSV",
      entries: [],
      incomplete: true,
    });
    const source = await inventorySource({ s3, sourceBucket, location: location(destination) });
    expect(source.snapshotTime).toEqual(createdAt);
  });

  it("reduces an all-versions report to the current, non-delete-marker version of each key", async () => {
    const [destination, sourceBucket] = await Promise.all([newBucket([]), newBucket(["kept.txt"])]);
    const [current] = await entriesOf(sourceBucket, ["kept.txt"]);
    await writeInventoryReport(s3, {
      destinationBucket: destination,
      prefix: "inventory",
      sourceBucket,
      configurationId: "bucket-ledger",
      createdAt: new Date("2026-11-21T01:00:00Z"),
      format: "CSV",
      allVersions: true,
      entries: [
        { key: "kept.txt", size: 1, etag: "old", versionId: "v1", isLatest: false },
        { ...current!, versionId: "v2", isLatest: true },
        { key: "deleted.txt", size: 3, etag: "gone", versionId: "v1", isLatest: false },
        { key: "deleted.txt", size: 0, etag: "", versionId: "marker", isLatest: true, isDeleteMarker: true },
      ],
    });
    const ledger = await dynamodb.createLedger();
    await reconcileBucket({ ledger, bucket: sourceBucket, source: await inventorySource({ s3, sourceBucket, location: location(destination) }) });
    expect(await liveKeys(ledger, sourceBucket)).toEqual(asExpected([current!]));
  });

  it("refuses a report whose manifest does not match its checksum", async () => {
    const { destination, sourceBucket } = await inventoryFixture("CSV", { badManifestChecksum: true });
    await expect(inventorySource({ s3, sourceBucket, location: location(destination) })).rejects.toThrow(/does not match manifest.checksum/);
  });

  it("deletes nothing when a data file does not match its MD5", async () => {
    const { destination, sourceBucket } = await inventoryFixture("CSV", { badDataChecksum: true });
    const ledger = await dynamodb.createLedger();
    await put(ledger, sourceBucket, "orphan-candidate", 1);
    const source = await inventorySource({ s3, sourceBucket, location: location(destination) });
    await expect(reconcileBucket({ ledger, bucket: sourceBucket, source, maxDeleteFraction: 1 })).rejects.toThrow(InventoryError);
    expect(await ledger.get(sourceBucket, "orphan-candidate")).toMatchObject({ deleted: false });
    // Unordered sources are sorted in full before the diff: no row of a bad report was used.
    expect(await liveKeys(ledger, sourceBucket)).toEqual({ "orphan-candidate": [1, "stale-etag"] });
  });

  it("deletes nothing when a data file is larger than its manifest says, and writes no more than that to scratch", async () => {
    const { destination, sourceBucket } = await inventoryFixture("CSV", { understatedSize: true });
    const ledger = await dynamodb.createLedger();
    await put(ledger, sourceBucket, "orphan-candidate", 1);
    const source = await inventorySource({ s3, sourceBucket, location: location(destination) });
    await expect(reconcileBucket({ ledger, bucket: sourceBucket, source, maxDeleteFraction: 1 })).rejects.toThrow(
      /larger than the \d+ bytes its manifest gives; nothing was deleted/,
    );
    expect(await ledger.get(sourceBucket, "orphan-candidate")).toMatchObject({ deleted: false });
  });

  it("never tombstones an object the report missed, nor resurrects one deleted before the report was taken (the report lags the bucket)", async () => {
    // The scan behind the report started a minute from now, so the ledger's writes below precede it.
    const createdAt = new Date(Date.now() + 60_000);
    const [destination, sourceBucket] = await Promise.all([
      newBucket([]),
      newBucket(["listed.txt", "added late.txt", "deleted-late.txt", ...Array.from({ length: 20 }, (_, i) => `f/${i}`)]),
    ]);
    const ledger = await dynamodb.createLedger();
    const listed = await entriesOf(sourceBucket, ["listed.txt", "deleted-late.txt", ...Array.from({ length: 20 }, (_, i) => `f/${i}`)]);
    for (const entry of listed)
      await ledger.repair({
        kind: "missing",
        bucket: sourceBucket,
        key: entry.key,
        state: { ...entry, lastModified: new Date().toISOString() },
        snapshotTime: new Date(),
      });
    // Created just before the report's scan: the tracker recorded it, the report does not list it.
    await ledger.repair({
      kind: "missing",
      bucket: sourceBucket,
      key: "added late.txt",
      state: { size: 1, etag: "e", lastModified: new Date().toISOString() },
      snapshotTime: new Date(),
    });
    // Deleted just before the report's scan: the tracker recorded the tombstone, the report still lists it.
    await s3.send(new DeleteObjectCommand({ Bucket: sourceBucket, Key: "deleted-late.txt" }));
    await ledger.apply({
      kind: "delete",
      bucket: sourceBucket,
      key: "deleted-late.txt",
      sequencer: "05",
      eventTime: new Date().toISOString(),
      eventName: "ObjectRemoved:Delete",
    });
    await writeInventoryReport(s3, {
      destinationBucket: destination,
      prefix: "inventory",
      sourceBucket,
      configurationId: "bucket-ledger",
      createdAt,
      format: "CSV",
      entries: listed,
    });

    const summary = await reconcileBucket({
      ledger,
      bucket: sourceBucket,
      source: await inventorySource({ s3, sourceBucket, location: location(destination) }),
      force: true,
    });
    expect(summary).toMatchObject({ orphaned: 1, missing: 1, unconfirmed: 2 });
    expect(await ledger.get(sourceBucket, "added late.txt")).toMatchObject({ deleted: false });
    expect(await ledger.get(sourceBucket, "deleted-late.txt")).toMatchObject({ deleted: true, cause: "ObjectRemoved:Delete" });
  });

  it("writes the state S3 holds now, not the report's older one, for an object the ledger knows", async () => {
    // The report's scan began after the ledger's write below.
    const { destination, sourceBucket, entries } = await inventoryFixture("CSV", { createdAt: new Date(Date.now() + 60_000) });
    await s3.send(new PutObjectCommand({ Bucket: sourceBucket, Key: "a b.txt", Body: "rewritten after the report" }));
    const ledger = await dynamodb.createLedger();
    await put(ledger, sourceBucket, "a b.txt", 1); // stale against the report, and against S3
    await reconcileBucket({ ledger, bucket: sourceBucket, source: await inventorySource({ s3, sourceBucket, location: location(destination) }) });
    const [now] = await entriesOf(sourceBucket, ["a b.txt"]);
    expect(now!.etag).not.toBe(entries.find((entry) => entry.key === "a b.txt")!.etag);
    expect((await liveKeys(ledger, sourceBucket))["a b.txt"]).toEqual([now!.size, now!.etag]);
  });

  it("reads the manifest S3 documents, byte for byte (S3 user guide, 'Locating your inventory list')", async () => {
    // test/fixtures/aws/inventory-manifest-csv.json is the guide's example, spacing and all:
    // the checksum is over those exact bytes.
    const manifest = readFileSync(new URL("../fixtures/aws/inventory-manifest-csv.json", import.meta.url), "utf8");
    const destination = await newBucket([]);
    const folder = "inventory/example-source-bucket/bucket-ledger/2018-01-03T02-00Z/";
    await s3.send(new PutObjectCommand({ Bucket: destination, Key: `${folder}manifest.json`, Body: manifest }));
    await s3.send(new PutObjectCommand({ Bucket: destination, Key: `${folder}manifest.checksum`, Body: createHash("md5").update(manifest).digest("hex") }));
    const source = await inventorySource({ s3, sourceBucket: "example-source-bucket", location: location(destination) });
    expect(source).toMatchObject({ kind: "inventory", reportFolder: folder, lagsBucket: true });
    expect(source.snapshotTime.toISOString()).toBe(new Date(1514944800000).toISOString());
  });

  it("says so when there is no report at all", async () => {
    const destination = await newBucket([]);
    await expect(inventorySource({ s3, sourceBucket: "nothing-here", location: location(destination) })).rejects.toThrow(
      /no complete inventory report for nothing-here/,
    );
  });
});
