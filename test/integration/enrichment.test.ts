/**
 * Object metadata (`enrich`) through the local stack: the tracker HEADs each create and keeps
 * what was asked for; a HEAD that finds the object gone or replaced enriches nothing; without
 * `enrich` nothing is asked. And `ls --content-type` over what was kept.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient, partitionKeyOf } from "../../ledger/index.js";
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDevFile } from "../../local/dev-file.js";
import { LocalStack } from "../../local/stack.js";
import { s3ObjectDescriber } from "../../sdk/object-details.js";
import { s3ObjectLookup } from "../../sdk/object-lookup.js";
import { createTrackerHandler } from "../../tracker/handler.js";
import { detailsFor } from "../../tracker/apply-event.js";
import type { ObjectEvent } from "../../events/parse.js";
import { ndjson, runCli } from "../support/cli.js";
import { put, sqsEventOf } from "../support/events.js";

const bucket = "enriched";
let stack: LocalStack;
let workdir: string;

beforeAll(async () => {
  stack = await LocalStack.start({
    buckets: [bucket, "plain"],
    logLevel: "SILENT",
    enrich: ["contentType", "userMetadata", "encryption", "storageClass", "checksum"],
  });
  workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-enrich-"));
  await writeDevFile(stack.info, join(workdir, ".bucket-ledger", "dev.json"));
});

afterAll(async () => {
  await stack?.stop();
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

const s3 = () => stack.clients.s3;

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
    const handler = createTrackerHandler({
      ledger: stack.ledger,
      lookup: s3ObjectLookup(s3()),
      describer: s3ObjectDescriber(s3(), ["contentType"]),
      logger: new Logger({ serviceName: "enrich-test", logLevel: "SILENT" }),
      concurrency: 4,
    });
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
    expect(await detailsFor(event(ETag!.replaceAll('"', "")), describer)).toEqual({ contentType: "text/csv" });
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

describe("reconciliation with enrichment", () => {
  it("describes what it repairs", async () => {
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: "missed.json", Body: "{}", ContentType: "application/json", Metadata: { team: "data" } }));
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
