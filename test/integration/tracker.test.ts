/**
 * The tracker handler against DynamoDB Local (real HTTP, real SDK clients): ordering,
 * duplicates, resurrection, tricky keys, bad messages, a table that stops answering, and
 * metadata events about a version that is not the current one.
 */
import { readFileSync } from "node:fs";
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ledger, LedgerRecord } from "../../ledger/index.js";
import { normalizeSequencer } from "../../ledger/index.js";
import { FaultInjectingProxy } from "../../local/fault-proxy.js";
import { emptyCounts, addCounts, type TrackerCounts } from "../../tracker/counts.js";
import { createTrackerHandler } from "../../tracker/handler.js";
import type { ObjectLookup } from "../../s3/object-lookup.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { del, put, s3EventRecord, sqsEventOf, sqsRecord, tagged, type S3EventSpec } from "../support/events.js";
import type { ObjectDescriber } from "../../s3/object-details.js";

let dynamodb: TestDynamoDb;
beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamodb?.stop();
});

const noLookup: ObjectLookup = {
  head: () => Promise.reject(new Error("no S3 lookups expected in this test")),
};

function trackerFor(ledger: Ledger, lookup: ObjectLookup = noLookup) {
  const totals = emptyCounts();
  const handler = createTrackerHandler({
    ledger,
    lookup,
    logger: new Logger({ serviceName: "tracker-test", logLevel: "SILENT" }),
    concurrency: 8,
    onBatchComplete: (counts: TrackerCounts) => addCounts(totals, counts),
  });
  return { handler, totals };
}

/** Delivers each spec as its own batch, in the given order. */
async function deliverInOrder(handler: ReturnType<typeof trackerFor>["handler"], specs: S3EventSpec[]) {
  for (const spec of specs) {
    const response = await handler(sqsEventOf(spec));
    expect(response.batchItemFailures).toEqual([]);
  }
}

async function current(ledger: Ledger, key: string, bucket = "photos"): Promise<LedgerRecord | undefined> {
  return ledger.get(bucket, key, { consistentRead: true });
}

describe("tracker: ordering under invariant 1", () => {
  it("applies a duplicate once and counts the redelivery", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler, totals } = trackerFor(ledger);
    await deliverInOrder(handler, [put("a.txt", "0A", 10), put("a.txt", "0A", 10), put("a.txt", "0A", 10)]);
    expect(totals).toMatchObject({ applied: 1, duplicates: 2, skippedOlder: 0 });
    expect(await current(ledger, "a.txt")).toMatchObject({ deleted: false, size: 10, sequencer: normalizeSequencer("0A") });
  });

  it("keeps a delete that arrives before the older create it follows", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler, totals } = trackerFor(ledger);
    await deliverInOrder(handler, [del("b.txt", "0B"), put("b.txt", "0A")]);
    expect(totals).toMatchObject({ applied: 1, skippedOlder: 1 });
    expect(await current(ledger, "b.txt")).toMatchObject({ deleted: true, sequencer: normalizeSequencer("0B") });
  });

  it("lets a re-create win over an older delete that arrives after it", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler } = trackerFor(ledger);
    await deliverInOrder(handler, [put("c.txt", "01", 1), put("c.txt", "03", 3), del("c.txt", "02")]);
    expect(await current(ledger, "c.txt")).toMatchObject({ deleted: false, size: 3 });
  });

  it("never resurrects a deleted object from a replayed create", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler, totals } = trackerFor(ledger);
    await deliverInOrder(handler, [put("d.txt", "01"), del("d.txt", "02"), put("d.txt", "01"), put("d.txt", "0100")]);
    // The replays are older than the tombstone they meet ("0100" pads to the same value as "01").
    expect(totals).toMatchObject({ applied: 2, duplicates: 0, skippedOlder: 2 });
    const record = await current(ledger, "d.txt");
    expect(record).toMatchObject({ deleted: true });
    expect(record?.deleted && record.expiresAt).toBeGreaterThan(Date.now() / 1000 + 29 * 86_400);
  });

  it("ends an overwrite chain delivered in any order at the newest version, once in the change feed", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler, totals } = trackerFor(ledger);
    const since = new Date(Date.now() - 1000);
    const chain = [1, 2, 3, 4, 5].map((n) => put("chain.txt", `00${n}0`, n * 100, `etag-${n}`));
    // All five in one batch, written concurrently: which write lands first is up to the race.
    const response = await handler(sqsEventOf(...[...chain].reverse()));
    expect(response.batchItemFailures).toEqual([]);
    expect(totals.applied + totals.skippedOlder).toBe(5);
    expect(totals.applied).toBeGreaterThanOrEqual(1);
    expect(await current(ledger, "chain.txt")).toMatchObject({ size: 500, etag: "etag-5" });
    const changes = [];
    for await (const change of ledger.changes({ bucket: "photos", since })) changes.push(change.key);
    expect(changes).toEqual(["chain.txt"]);
  });

  it("ends at the newest state for every key when many keys' events arrive shuffled in one batch", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler } = trackerFor(ledger);
    const specs: S3EventSpec[] = [];
    for (let k = 0; k < 40; k++) {
      specs.push(put(`many/${k}`, "01", 1), put(`many/${k}`, "02", 2));
      if (k % 3 === 0) specs.push(del(`many/${k}`, "03"));
    }
    const shuffled = specs
      .map((spec, i) => ({ spec, order: (i * 7919) % specs.length }))
      .sort((a, b) => a.order - b.order)
      .map(({ spec }) => spec);
    expect((await handler(sqsEventOf(...shuffled))).batchItemFailures).toEqual([]);
    const live = [];
    for await (const record of ledger.list({ bucket: "photos", prefix: "many/" })) live.push(record);
    expect(live).toHaveLength(40 - 14);
    expect(live.every((record) => record.size === 2)).toBe(true);
  });
});

describe("tracker: keys and envelopes", () => {
  it("stores tricky keys exactly as S3 names them, and lists them in S3 (UTF-8) order", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler } = trackerFor(ledger);
    const keys = ["a b.txt", "a+b.txt", "100%.txt", "q?x=1&y=2", "日本語.txt", "😀.txt", "\uFF61.txt", "k".repeat(1024), "zero"];
    const response = await handler(sqsEventOf(...keys.map((key, i) => put(key, `0${i + 1}`, key === "zero" ? 0 : i))));
    expect(response.batchItemFailures).toEqual([]);
    const listed = [];
    for await (const record of ledger.list({ bucket: "photos" })) listed.push(record.key);
    expect(listed).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(await current(ledger, "zero")).toMatchObject({ size: 0 });
  });

  it("acknowledges s3:TestEvent and writes nothing", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler, totals } = trackerFor(ledger);
    const testEvent = readFileSync(new URL("../fixtures/aws/s3-test-event.json", import.meta.url), "utf8");
    expect(await handler({ Records: [sqsRecord(testEvent)] })).toEqual({ batchItemFailures: [] });
    expect(totals).toMatchObject({ testEvents: 1, applied: 0 });
    const listed = await ledger.listPage({ bucket: "amzn-s3-demo-bucket", limit: 10 });
    expect(listed.items).toEqual([]);
  });

  it("applies EventBridge Object Created and Object Deleted events", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler } = trackerFor(ledger);
    const created = readFileSync(new URL("../fixtures/aws/eventbridge-object-created.json", import.meta.url), "utf8");
    const deleted = readFileSync(new URL("../fixtures/aws/eventbridge-object-deleted.json", import.meta.url), "utf8");
    await handler({ Records: [sqsRecord(created)] });
    expect(await current(ledger, "example-key", "amzn-s3-demo-bucket1")).toMatchObject({ deleted: false, size: 5 });
    await handler({ Records: [sqsRecord(deleted)] });
    expect(await current(ledger, "example-key", "amzn-s3-demo-bucket1")).toMatchObject({ deleted: true, cause: "ObjectRemoved:DeleteMarkerCreated" });
  });
});

describe("tracker: what AWS sends that the emulators do not", () => {
  const eventBridgeCreate = (key: string, time: string, sequencer: string) => {
    const event = JSON.parse(readFileSync(new URL("../fixtures/aws/eventbridge-object-created.json", import.meta.url), "utf8"));
    event.time = time;
    event.detail.bucket.name = "photos";
    event.detail.object = { ...event.detail.object, key, sequencer };
    return sqsRecord(JSON.stringify(event));
  };

  it("keeps an EventBridge create stated in the same second as the reconciled-through watermark (EventBridge time has whole seconds)", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler, totals } = trackerFor(ledger);
    // The run's listing began at .500; the object was created at .700, after the listing passed it.
    await ledger.recordReconciled("photos", new Date("2026-11-21T10:00:00.500Z"));
    expect(await handler({ Records: [eventBridgeCreate("same-second.txt", "2026-11-21T10:00:00Z", "0100")] })).toEqual({ batchItemFailures: [] });
    expect(await current(ledger, "same-second.txt")).toMatchObject({ deleted: false });
    // A create a whole second before the watermark is still stale: that run listed past it.
    await handler({ Records: [eventBridgeCreate("second-before.txt", "2026-11-21T09:59:59Z", "0101")] });
    expect(await current(ledger, "second-before.txt")).toBeUndefined();
    expect(totals).toMatchObject({ applied: 1, skippedOlder: 1 });
  });

  it("stores EventBridge keys decoded, like notification keys", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler } = trackerFor(ledger);
    await handler({ Records: [eventBridgeCreate("my+photos/a%2Bb.jpg", "2026-11-21T10:00:00Z", "0100")] });
    expect(await current(ledger, "my photos/a+b.jpg")).toMatchObject({ deleted: false });
  });

  it("asks S3 what is current after version null is deleted (versioning suspended), rather than writing a tombstone", async () => {
    const ledger = await dynamodb.createLedger();
    const heads: string[] = [];
    const lookup: ObjectLookup = {
      head: async (_bucket, key) => {
        heads.push(key);
        return { size: 7, etag: "older-version", lastModified: "2026-11-20T00:00:00.000Z", versionId: "v-older" };
      },
    };
    const { handler } = trackerFor(ledger, lookup);
    await deliverInOrder(handler, [put("suspended.txt", "0A", 3), { ...del("suspended.txt", "0B"), versionId: "null" }]);
    expect(heads).toEqual(["suspended.txt"]);
    expect(await current(ledger, "suspended.txt")).toMatchObject({ deleted: false, etag: "older-version", versionId: "v-older" });
  });
});

describe("tracker: every message body AWS documents", () => {
  const fixture = (name: string) => readFileSync(new URL(`../fixtures/aws/events/${name}`, import.meta.url), "utf8");
  const { cases } = JSON.parse(fixture("index.json")) as { cases: { file: string; expect: { action: string; key?: string } }[] };

  it("applies creates and deletes, asks S3 after a version delete, and acknowledges the rest without writing", async () => {
    const ledger = await dynamodb.createLedger();
    const heads: string[] = [];
    // After a version delete S3 answers that nothing is left (the 404 case; the local-stack and Node 22 tests HEAD a real emulator).
    const lookup: ObjectLookup = { head: async (_bucket, key) => void heads.push(key) };
    const { handler, totals } = trackerFor(ledger, lookup);
    for (const entry of cases) {
      const response = await handler({ Records: [sqsRecord(fixture(entry.file))] });
      expect(response.batchItemFailures, entry.file).toEqual([]);
    }
    const count = (action: string) => cases.filter((entry) => entry.expect.action === action).length;
    expect(totals.testEvents).toBe(count("test"));
    // Without enrichment, metadata events (tagging, transitions, restores) are ignored too.
    expect(totals.ignored).toBe(count("ignore") + count("describe"));
    expect(heads.length).toBe(count("version-deleted"));
    expect(totals.applied + totals.skippedOlder + totals.duplicates).toBe(count("upsert") + count("delete") + count("version-deleted"));
    for (const bucket of ["amzn-s3-demo-bucket", "amzn-s3-demo-bucket1"]) {
      for await (const record of ledger.list({ bucket, includeDeleted: true })) {
        expect(
          cases.some((entry) => entry.expect.key === record.key && entry.expect.action !== "ignore"),
          record.key,
        ).toBe(true);
      }
    }
    expect(await current(ledger, "photos/my summer+2026.jpg", "amzn-s3-demo-bucket")).toMatchObject({ deleted: false, size: 1024 });
    expect(await current(ledger, "logs/old.gz", "amzn-s3-demo-bucket")).toMatchObject({ deleted: true });
  });
});

describe("tracker: failures stay per message", () => {
  it("fails only the malformed message of a batch", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler, totals } = trackerFor(ledger);
    const good = sqsEventOf(put("ok-1", "01"), put("ok-2", "01"));
    const poison = sqsRecord("{not json", "poison-message");
    const badKey = sqsRecord(
      JSON.stringify({ Records: [s3EventRecord({ ...put("x", "01"), key: "x" })] }).replace('"key":"x"', '"key":"bad%E0%A4%A"'),
      "bad-key",
    );
    const response = await handler({ Records: [good.Records[0]!, poison, badKey, good.Records[1]!] });
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(["bad-key", "poison-message"]);
    expect(totals).toMatchObject({ applied: 2, failedMessages: 2 });
    expect(await current(ledger, "ok-1")).toBeDefined();
    expect(await current(ledger, "ok-2")).toBeDefined();
  });

  it("fails only the records whose writes cannot reach DynamoDB, and they succeed on retry", async () => {
    const proxy = await FaultInjectingProxy.start(dynamodb.emulator.endpoint);
    try {
      const ledger = await dynamodb.createLedger({ endpoint: proxy.endpoint, maxAttempts: 2 });
      const { handler, totals } = trackerFor(ledger);
      const batch = sqsEventOf(...["keep-1", "unreachable-1", "keep-2", "unreachable-2", "keep-3"].map((key) => put(key, "01")));
      // The table "goes away" for writes of two keys, mid-batch, whatever the retries.
      proxy.failWhen((body) => body.includes("unreachable-"));
      const first = await handler(batch);
      const failedIds = first.batchItemFailures.map((failure) => failure.itemIdentifier);
      const expectedFailed = batch.Records.filter((record) => record.body.includes("unreachable-")).map((record) => record.messageId);
      expect(failedIds.sort()).toEqual(expectedFailed.sort());
      expect(proxy.failedRequests).toBeGreaterThanOrEqual(4); // two keys x two attempts
      expect(totals).toMatchObject({ applied: 3, failedMessages: 2 });

      // SQS redelivers the failed messages once the table is back.
      proxy.failWhen(() => false);
      const retry = await handler({ Records: batch.Records.filter((record) => failedIds.includes(record.messageId)) });
      expect(retry.batchItemFailures).toEqual([]);
      const keys = [];
      for await (const record of ledger.list({ bucket: "photos" })) keys.push(record.key);
      expect(keys).toEqual(["keep-1", "keep-2", "keep-3", "unreachable-1", "unreachable-2"]);
    } finally {
      await proxy.stop();
    }
  });
});

describe("tracker: metadata events about a version that is not the current one", () => {
  // A versioned bucket's tagging events name their version. The ledger holds v2; S3's answers
  // stand in for a versioned bucket, which the local S3 does not have: a HEAD (when asked)
  // reports v2 as current, and a description must never be asked for.
  const created = (version: string, sequencer: string, eventTime: string): S3EventSpec => ({ ...put("doc.txt", sequencer, 3), versionId: version, eventTime });
  const taggedVersion = (versionId: string, eventTime: string): S3EventSpec => ({ ...tagged("doc.txt", "etag-01"), versionId, eventTime });
  const noDescriptions: ObjectDescriber = {
    fields: ["tags"],
    describe: () => Promise.reject(new Error("a metadata event about another version must not be described")),
  };

  async function versionedLedger() {
    const ledger = await dynamodb.createLedger({ historyDays: 30 });
    const heads: string[] = [];
    const lookup: ObjectLookup = {
      head: async (_bucket, key) => {
        heads.push(key);
        return { size: 3, etag: "etag-02", lastModified: "2026-11-21T10:00:00.000Z", versionId: "v2" };
      },
    };
    // The creates without enrichment: a create's own description is not what is tested here.
    await deliverInOrder(trackerFor(ledger).handler, [created("v1", "01", "2026-11-21T09:00:00.000Z"), created("v2", "02", "2026-11-21T10:00:00.000Z")]);
    const totals = emptyCounts();
    const handler = createTrackerHandler({
      ledger,
      lookup,
      describer: noDescriptions,
      logger: new Logger({ serviceName: "tracker-test", logLevel: "SILENT" }),
      concurrency: 8,
      onBatchComplete: (counts: TrackerCounts) => addCounts(totals, counts),
    });
    return { ledger, handler, heads, totals };
  }

  it("writes nothing and asks S3 nothing for a version tagged before the held one was written", async () => {
    const { ledger, handler, heads, totals } = await versionedLedger();
    const before = await current(ledger, "doc.txt");
    await deliverInOrder(handler, [taggedVersion("v1", "2026-11-21T09:30:00.000Z")]);
    expect(heads).toEqual([]);
    expect(totals).toMatchObject({ ignored: 1, applied: 0 });
    expect(await current(ledger, "doc.txt")).toEqual(before);
    expect((await ledger.history("photos", "doc.txt")).entries.map((entry) => entry.cause)).toEqual(["ObjectCreated:Put", "ObjectCreated:Put"]);
  });

  it("asks S3 which version is current (one HEAD, no description) when the event may be newer than the held one, and writes nothing when it is not", async () => {
    const { ledger, handler, heads, totals } = await versionedLedger();
    const before = await current(ledger, "doc.txt");
    // A noncurrent-version transition or a tagging of v1 made after v2 was written.
    await deliverInOrder(handler, [taggedVersion("v1", "2026-11-21T11:00:00.000Z")]);
    expect(heads).toEqual(["doc.txt"]);
    expect(totals).toMatchObject({ ignored: 1, applied: 0 });
    expect(await current(ledger, "doc.txt")).toEqual(before);
    expect((await ledger.history("photos", "doc.txt")).entries).toHaveLength(2);
  });
});
