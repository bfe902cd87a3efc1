/**
 * Object metadata (`enrich`) through the local stack: the tracker HEADs each create and keeps
 * what was asked for; a HEAD that finds the object gone or replaced enriches nothing; without
 * `enrich` nothing is asked. And `ls --content-type` over what was kept.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, DeleteObjectTaggingCommand, PutObjectCommand, PutObjectTaggingCommand } from "@aws-sdk/client-s3";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient, Ledger, partitionKeyOf } from "../../ledger/index.js";
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDevFile } from "../../local/dev-file.js";
import { LocalStack } from "../../local/stack.js";
import type { EnrichmentField } from "../../events/enrichment-fields.js";
import { s3ObjectDescriber } from "../../s3/object-details.js";
import type { TrackerCounts } from "../../tracker/counts.js";
import { s3ObjectLookup } from "../../s3/object-lookup.js";
import { createTrackerHandler } from "../../tracker/handler.js";
import { detailsFor } from "../../tracker/apply-event.js";
import type { ObjectEvent } from "../../events/parse.js";
import { ndjson, runCli, runCliOnTerminal } from "../support/cli.js";
import { put, sqsEventOf, tagged } from "../support/events.js";

const bucket = "enriched";
let stack: LocalStack;
let workdir: string;

beforeAll(async () => {
  stack = await LocalStack.start({
    buckets: [bucket, "plain"],
    logLevel: "SILENT",
    enrich: ["contentType", "userMetadata", "tags", "encryption", "storageClass", "checksum"],
    historyDays: 30,
    // The history test reads the source IP too, which the default origin setting does not keep.
    tracker: { origin: "full" },
  });
  workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-enrich-"));
  await writeDevFile(stack.info, join(workdir, ".bucket-ledger", "dev.json"));
});

afterAll(async () => {
  await stack?.stop();
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

const s3 = () => stack.clients.s3;

/** The tracker handler as the stack builds it, describing `fields`. */
const trackerDescribing = (fields: EnrichmentField[], onBatchComplete?: (counts: TrackerCounts) => void) =>
  createTrackerHandler({
    ledger: stack.ledger,
    lookup: s3ObjectLookup(s3()),
    describer: s3ObjectDescriber(s3(), fields),
    logger: new Logger({ serviceName: "enrich-test", logLevel: "SILENT" }),
    concurrency: 4,
    ...(onBatchComplete && { onBatchComplete }),
  });

describe("enrichment", () => {
  it("keeps the content type, user metadata, encryption and storage class HEAD reports for each create", async () => {
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "photos/cat.png", Body: "png", ContentType: "image/png", Metadata: { owner: "alice" } }));
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "docs/a.txt", Body: "text", ContentType: "text/plain; charset=utf-8" }));
    await stack.waitForIdle();
    expect(await stack.ledger.get(bucket, "photos/cat.png", { consistentRead: true })).toMatchObject({
      contentType: "image/png",
      userMetadata: { owner: "alice" },
      encryption: { algorithm: "AES256" },
      storageClass: "STANDARD",
    });
    expect(await stack.ledger.get(bucket, "docs/a.txt", { consistentRead: true })).toMatchObject({
      contentType: "text/plain; charset=utf-8",
      userMetadata: {},
    });
  });

  it("enriches nothing when the object is gone or replaced by the time of the HEAD, and fails nothing", async () => {
    const handler = trackerDescribing(["contentType"]);
    // A create whose object was deleted before the tracker saw it.
    expect((await handler(sqsEventOf(put("gone.txt", "0A", 3, "etag-gone", bucket)))).batchItemFailures).toEqual([]);
    expect(await stack.ledger.get(bucket, "gone.txt", { consistentRead: true })).toMatchObject({ deleted: false, size: 3 });
    expect(await stack.ledger.get(bucket, "gone.txt", { consistentRead: true })).not.toHaveProperty("contentType");
    // A create whose object has been overwritten since: the HEAD sees another ETag, so it does
    // not describe this version.
    const { ETag } = await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "replaced.txt", Body: "newer", ContentType: "text/csv" }));
    const describer = s3ObjectDescriber(s3(), ["contentType"]);
    const event = (etag: string): ObjectEvent => ({
      action: "upsert",
      bucket,
      key: "replaced.txt",
      eventName: "ObjectCreated:Put",
      eventTime: new Date().toISOString(),
      eventTimeResolutionMs: 1,
      origin: {},
      sequencer: "01",
      size: 5,
      etag,
    });
    expect(await detailsFor(event("etag-of-an-older-version"), describer)).toBeUndefined();
    expect(await detailsFor(event(ETag!.replaceAll('"', "")), describer)).toEqual({ contentType: "text/csv", describedAt: expect.any(String) });
  });

  it("lists by content type with ls --content-type, the media type matched without its parameters", async () => {
    const images = await runCli(["ls", bucket, "--local", "--content-type", "image/*"], { cwd: workdir });
    expect(images.code, images.stderr).toBe(0);
    expect(ndjson(images.stdout).map((record) => record.key)).toEqual(["photos/cat.png"]);
    const text = await runCli(["ls", bucket, "--local", "--content-type", "TEXT/PLAIN"], { cwd: workdir });
    expect(ndjson(text.stdout).map((record) => record.key)).toEqual(["docs/a.txt"]);
    const bad = await runCli(["ls", bucket, "--local", "--content-type", "images"], { cwd: workdir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--content-type takes a media type/);
  });
});

describe("metadata events: tagging, transitions, restores", () => {
  const handler = () => trackerDescribing(["contentType", "tags", "storageClass"]);
  const get = (key: string) => stack.ledger.get(bucket, key, { consistentRead: true });

  it("keeps the tags of each create, then follows PutObjectTagging and DeleteObjectTagging, each in the key's history", async () => {
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "tags/report.csv", Body: "a,b", Tagging: "team=data&pii=no" }));
    await stack.waitForIdle();
    expect(await get("tags/report.csv")).toMatchObject({ tags: { team: "data", pii: "no" }, cause: "ObjectCreated:Put" });

    await s3().send(new PutObjectTaggingCommand({ Bucket: bucket, Key: "tags/report.csv", Tagging: { TagSet: [{ Key: "team", Value: "ops" }] } }));
    await stack.waitForIdle();
    const retagged = await get("tags/report.csv");
    // Details only: the content change, its sequencer and its place in the change feed stay.
    expect(retagged).toMatchObject({ tags: { team: "ops" }, cause: "ObjectCreated:Put", source: "event" });

    await s3().send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: "tags/report.csv" }));
    await stack.waitForIdle();
    expect(await get("tags/report.csv")).toMatchObject({ tags: {}, recordedAt: retagged!.recordedAt });

    const history = await stack.ledger.history(bucket, "tags/report.csv");
    expect(history.entries.map((entry) => [entry.cause, entry.deleted ? undefined : entry.tags])).toEqual([
      ["ObjectCreated:Put", { team: "data", pii: "no" }],
      ["ObjectTagging:Put", { team: "ops" }],
      ["ObjectTagging:Delete", {}],
    ]);
    expect(history.entries[1]!.origin).toMatchObject({ requester: "AWS:LOCAL", sourceIp: "127.0.0.1" });
    expect(history.complete).toBe(true);
  });

  it("follows a lifecycle transition's storage class", async () => {
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "logs/2025.gz", Body: "old" }));
    await stack.waitForIdle();
    expect(await get("logs/2025.gz")).toMatchObject({ storageClass: "STANDARD" });
    await stack.transition(bucket, "logs/2025.gz", "GLACIER");
    await stack.waitForIdle();
    expect(await get("logs/2025.gz")).toMatchObject({ storageClass: "GLACIER", cause: "ObjectCreated:Put" });
  });

  it("applies a tagging event older than the create it arrives after as what S3 holds now, never the older version's tags", async () => {
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "tags/late.txt", Body: "v1", Tagging: "v=1" }));
    const { ETag } = await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "tags/late.txt", Body: "v2", Tagging: "v=2" }));
    await stack.waitForIdle();
    // The first version's tagging event, delivered late.
    const late = { ...tagged("tags/late.txt", "etag-of-v1", bucket), eventTime: "2026-01-01T00:00:00.000Z" };
    expect((await handler()(sqsEventOf(late))).batchItemFailures).toEqual([]);
    expect(await get("tags/late.txt")).toMatchObject({ etag: ETag!.replaceAll('"', ""), tags: { v: "2" } });
  });

  it("keeps the later description of two written out of order", async () => {
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "tags/race.txt", Body: "r", Tagging: "n=0" }));
    await stack.waitForIdle();
    const held = await get("tags/race.txt");
    if (!held || held.deleted) throw new Error("expected the object");
    const state = (describedAt: string, n: string) => ({ size: held.size, etag: held.etag, lastModified: held.lastModified, tags: { n }, describedAt });
    const update = (describedAt: string, n: string) => ({
      bucket,
      key: "tags/race.txt",
      state: state(describedAt, n),
      replaces: ["tags" as const],
      eventName: "ObjectTagging:Put",
      eventTime: describedAt,
    });
    const later = new Date(Date.now() + 60_000).toISOString();
    const earlier = new Date(Date.now() + 30_000).toISOString();
    expect((await stack.ledger.describe(update(later, "2"))).outcome).toBe("applied");
    expect((await stack.ledger.describe(update(earlier, "1"))).outcome).toBe("superseded");
    // Only what the description covers is replaced: the content type and storage class stay.
    expect(await get("tags/race.txt")).toMatchObject({ tags: { n: "2" }, describedAt: later, contentType: expect.any(String), storageClass: "STANDARD" });
  });

  it("repairs a ledger that is behind S3 when a tagging event arrives first, and the pending create then changes nothing", async () => {
    const { ETag } = await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "tags/ahead.txt", Body: "current", Tagging: "k=v" }));
    await stack.waitForIdle();
    // The ledger holds an older version, as if the create of the current one were still queued.
    const { pk, sk } = { pk: partitionKeyOf(bucket, "tags/ahead.txt"), sk: "tags/ahead.txt" };
    await createDocumentClient(stack.clients.dynamodb).send(new DeleteCommand({ TableName: stack.info.tableName, Key: { pk, sk } }));
    const eventTime = new Date(Date.now() - 60_000).toISOString();
    await stack.ledger.apply({
      kind: "upsert",
      bucket,
      key: "tags/ahead.txt",
      sequencer: "01",
      eventTime,
      eventName: "ObjectCreated:Put",
      state: { size: 3, etag: "old", lastModified: eventTime },
    });

    expect((await handler()(sqsEventOf(tagged("tags/ahead.txt", ETag!.replaceAll('"', ""), bucket)))).batchItemFailures).toEqual([]);
    const repaired = await get("tags/ahead.txt");
    expect(repaired).toMatchObject({ etag: ETag!.replaceAll('"', ""), size: 7, tags: { k: "v" }, source: "reconcile", cause: "Reconcile:Stale" });

    // The queued create, made before the description: older than what the ledger holds now.
    const pending = { ...put("tags/ahead.txt", "02", 7, ETag!.replaceAll('"', ""), bucket), eventTime: new Date(Date.now() - 30_000).toISOString() };
    expect((await handler()(sqsEventOf(pending))).batchItemFailures).toEqual([]);
    expect(await get("tags/ahead.txt")).toMatchObject({ recordedAt: repaired!.recordedAt, tags: { k: "v" } });
  });

  it("takes a tagging event for an object deleted since as nothing to do, and fails nothing", async () => {
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "tags/gone.txt", Body: "g", Tagging: "a=b" }));
    await stack.waitForIdle();
    const before = await get("tags/gone.txt");
    await s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: "tags/gone.txt" }));
    expect((await handler()(sqsEventOf(tagged("tags/gone.txt", "any", bucket)))).batchItemFailures).toEqual([]);
    await stack.waitForIdle();
    expect(await get("tags/gone.txt")).toMatchObject({ deleted: true });
    expect(before).toMatchObject({ tags: { a: "b" } });
  });

  it("filters ls by tags (key=value, or key alone, every one required), and get shows them", async () => {
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "filter/a.csv", Body: "a", ContentType: "text/csv", Tagging: "team=data&tier=gold" }));
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "filter/b.csv", Body: "b", ContentType: "text/csv", Tagging: "team=ops" }));
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "filter/c.png", Body: "c", ContentType: "image/png", Tagging: "team=data" }));
    await stack.waitForIdle();
    const ls = async (...args: string[]) => {
      const result = await runCli(["ls", bucket, "--local", "--prefix", "filter/", ...args], { cwd: workdir });
      expect(result.code, result.stderr).toBe(0);
      return ndjson(result.stdout).map((record) => record.key);
    };
    expect(await ls("--tag", "team=data")).toEqual(["filter/a.csv", "filter/c.png"]);
    expect(await ls("--tag", "team=data", "--tag", "tier")).toEqual(["filter/a.csv"]);
    expect(await ls("--tag", "team=data", "--content-type", "text/*")).toEqual(["filter/a.csv"]);
    expect(await ls("--tag", "nobody")).toEqual([]);
    const bad = await runCli(["ls", bucket, "--local", "--tag", "=x"], { cwd: workdir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--tag takes key=value or key/);

    const get = await runCliOnTerminal(["get", bucket, "filter/a.csv", "--local"], { cwd: workdir, env: { NO_COLOR: "1" } });
    expect(get.code, get.stdout).toBe(0);
    expect(get.stdout).toMatch(/tags\s+team=data, tier=gold/);
    expect(get.stdout).toMatch(/content type\s+text\/csv/);
  });

  it("ignores metadata events for fields it does not keep", async () => {
    let ignored = 0;
    const contentOnly = trackerDescribing(["contentType"], (counts) => (ignored += counts.ignored));
    expect((await contentOnly(sqsEventOf(tagged("tags/report.csv", "x", bucket)))).batchItemFailures).toEqual([]);
    expect(ignored).toBe(1);
    expect(await get("tags/report.csv")).toMatchObject({ tags: {} });
  });
});

describe("reconciliation with enrichment", () => {
  it("describes what it repairs", async () => {
    await s3().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "missed.json",
        Body: "{}",
        ContentType: "application/json",
        Metadata: { team: "data" },
        Tagging: "tier=gold",
      }),
    );
    await stack.waitForIdle();
    // The event is lost: the ledger never heard of the object.
    const { pk, sk } = { pk: partitionKeyOf(bucket, "missed.json"), sk: "missed.json" };
    await createDocumentClient(stack.clients.dynamodb).send(new DeleteCommand({ TableName: stack.info.tableName, Key: { pk, sk } }));
    // Forced: the earlier test left a ledger item (gone.txt) whose object never existed, an
    // orphan above the delete guard's share of this small bucket.
    const [run] = (await stack.reconcileAll({ force: true })).filter((summary) => summary.bucket === bucket);
    expect(run).toMatchObject({ status: "succeeded", missing: 1 });
    expect(await stack.ledger.get(bucket, "missed.json", { consistentRead: true })).toMatchObject({
      source: "reconcile",
      contentType: "application/json",
      userMetadata: { team: "data" },
      tags: { tier: "gold" },
    });
  });
});

describe("without enrichment", () => {
  it("asks S3 nothing and keeps no metadata", async () => {
    const plain = await LocalStack.start({ buckets: ["plain-only"], logLevel: "SILENT" });
    try {
      await plain.clients.s3.send(new PutObjectCommand({ Bucket: "plain-only", Key: "a.png", Body: "x", ContentType: "image/png" }));
      await plain.waitForIdle();
      const record = await plain.ledger.get("plain-only", "a.png", { consistentRead: true });
      expect(record).toMatchObject({ deleted: false, size: 1 });
      expect(record && !record.deleted && [record.contentType, record.userMetadata, record.storageClass]).toEqual([undefined, undefined, undefined]);
    } finally {
      await plain.stop();
    }
  });
});

describe("metadata events in a versioned bucket", () => {
  // The local S3 keeps no versions: every object is the version S3 names "null" (the one a
  // bucket with versioning suspended writes). Events name versions as a versioned bucket's do.
  const get = (key: string) => stack.ledger.get(bucket, key, { consistentRead: true });
  function countingTracker() {
    const calls = { heads: 0, descriptions: 0 };
    const lookup = s3ObjectLookup(s3());
    const describer = s3ObjectDescriber(s3(), ["contentType", "tags", "storageClass"]);
    const handler = createTrackerHandler({
      // Journaling, as the stack's tracker does: a change it made would be in the key's history.
      ledger: new Ledger({ tableName: stack.info.tableName, historyDays: 30, documentClient: createDocumentClient(stack.clients.dynamodb) }),
      lookup: { head: (name, key) => (calls.heads++, lookup.head(name, key)) },
      describer: { fields: describer.fields, describe: (name, key) => (calls.descriptions++, describer.describe(name, key)) },
      logger: new Logger({ serviceName: "enrich-test", logLevel: "SILENT" }),
      concurrency: 4,
    });
    return { calls, handler };
  }

  it("writes nothing, and adds nothing to the key's history, for a tagging of a version that is not the current one", async () => {
    const { ETag } = await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "versions/report.csv", Body: "a,b", Tagging: "team=data" }));
    await stack.waitForIdle();
    const before = await get("versions/report.csv");
    const { calls, handler } = countingTracker();
    // An older version's tagging, made after the current one was written.
    const older = {
      ...tagged("versions/report.csv", ETag!.replaceAll('"', ""), bucket),
      versionId: "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
      eventTime: new Date().toISOString(),
    };
    expect((await handler(sqsEventOf(older))).batchItemFailures).toEqual([]);
    expect((await stack.ledger.history(bucket, "versions/report.csv")).entries.map((entry) => entry.cause)).toEqual(["ObjectCreated:Put"]);
    expect(await get("versions/report.csv")).toEqual(before);
    // One HEAD says which version is current; nothing is described.
    expect(calls).toEqual({ heads: 1, descriptions: 0 });
  });

  it("repairs a ledger behind S3 when the event names the version S3 holds now, though the ledger holds another", async () => {
    const { ETag } = await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "versions/behind.txt", Body: "current", Tagging: "k=v" }));
    await stack.waitForIdle();
    // The ledger holds an older version, as if the current one's create were still queued.
    const { pk, sk } = { pk: partitionKeyOf(bucket, "versions/behind.txt"), sk: "versions/behind.txt" };
    await createDocumentClient(stack.clients.dynamodb).send(new DeleteCommand({ TableName: stack.info.tableName, Key: { pk, sk } }));
    const eventTime = new Date(Date.now() - 60_000).toISOString();
    await stack.ledger.apply({
      kind: "upsert",
      bucket,
      key: "versions/behind.txt",
      sequencer: "01",
      eventTime,
      eventName: "ObjectCreated:Put",
      state: { size: 3, etag: "old", lastModified: eventTime, versionId: "v-older" },
    });
    const { calls, handler } = countingTracker();
    const current = { ...tagged("versions/behind.txt", ETag!.replaceAll('"', ""), bucket), versionId: "null", eventTime: new Date().toISOString() };
    expect((await handler(sqsEventOf(current))).batchItemFailures).toEqual([]);
    expect(calls).toEqual({ heads: 1, descriptions: 1 });
    expect(await get("versions/behind.txt")).toMatchObject({ etag: ETag!.replaceAll('"', ""), size: 7, tags: { k: "v" }, source: "reconcile" });
  });
});
