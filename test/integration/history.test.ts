/**
 * The journal against DynamoDB Local, through the tracker's handler and the ledger's repairs:
 * every distinct change kept in sequencer order whatever the delivery, who made it, and a
 * history that says where it starts once its beginning has expired.
 */
import { readFileSync } from "node:fs";
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, Ledger, normalizeSequencer } from "../../ledger/index.js";
import { createTrackerHandler } from "../../tracker/handler.js";
import type { ObjectLookup } from "../../s3/object-lookup.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { del, put, sqsEventOf, sqsRecord, type S3EventSpec } from "../support/events.js";

let dynamodb: TestDynamoDb;
beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamodb?.stop();
});

const noLookup: ObjectLookup = { head: () => Promise.reject(new Error("no S3 lookups expected in this test")) };

function trackerFor(ledger: Ledger) {
  return createTrackerHandler({ ledger, lookup: noLookup, logger: new Logger({ serviceName: "history-test", logLevel: "SILENT" }), concurrency: 4 });
}

async function deliver(ledger: Ledger, specs: S3EventSpec[]) {
  const handler = trackerFor(ledger);
  for (const spec of specs) expect((await handler(sqsEventOf(spec))).batchItemFailures).toEqual([]);
}

const sequencers = (entries: { sequencer?: string }[]) => entries.map((entry) => entry.sequencer);
const seq = (...raw: string[]) => raw.map(normalizeSequencer);

describe("the journal", () => {
  it("keeps every distinct event once, in sequencer order, through duplicates, reordering and a delete then a re-create", async () => {
    const ledger = await dynamodb.createLedger({ historyDays: 90 });
    await deliver(ledger, [put("a.txt", "01", 1), put("a.txt", "01", 1), del("a.txt", "03"), put("a.txt", "02", 2), put("a.txt", "04", 4), del("a.txt", "03")]);
    const history = await ledger.history("photos", "a.txt");
    expect(sequencers(history.entries)).toEqual(seq("01", "02", "03", "04"));
    expect(history.entries.map((entry) => entry.cause)).toEqual(["ObjectCreated:Put", "ObjectCreated:Put", "ObjectRemoved:Delete", "ObjectCreated:Put"]);
    expect(history.entries.map((entry) => entry.deleted)).toEqual([false, false, true, false]);
    // The late 02 never reached the current-state item, but it is in the history.
    expect(await ledger.get("photos", "a.txt", { consistentRead: true })).toMatchObject({ sequencer: normalizeSequencer("04"), size: 4 });
    expect(history.complete).toBe(true);
    expect(history.entries[0]).toMatchObject({ first: true, size: 1 });
  });

  it("is complete when the first event arrives after a later one", async () => {
    const ledger = await dynamodb.createLedger({ historyDays: 90 });
    await deliver(ledger, [del("b.txt", "02"), put("b.txt", "01")]);
    const history = await ledger.history("photos", "b.txt");
    expect(sequencers(history.entries)).toEqual(seq("01", "02"));
    expect(history.complete).toBe(true);
  });

  it("records who made each change and from where, and get and changes show it too", async () => {
    const ledger = await dynamodb.createLedger({ historyDays: 90 });
    await deliver(ledger, [
      { ...put("c.txt", "01"), requester: "AWS:AIDAALICE", sourceIp: "198.51.100.7" },
      { ...del("c.txt", "02"), requester: "AWS:AIDABOB", sourceIp: "203.0.113.9" },
    ]);
    const history = await ledger.history("photos", "c.txt");
    expect(history.entries.map((entry) => entry.origin)).toEqual([
      { requester: "AWS:AIDAALICE", sourceIp: "198.51.100.7", requestId: "C3D13FE58DE4C810" },
      { requester: "AWS:AIDABOB", sourceIp: "203.0.113.9", requestId: "C3D13FE58DE4C810" },
    ]);
    expect(await ledger.get("photos", "c.txt")).toMatchObject({ deleted: true, origin: { requester: "AWS:AIDABOB", sourceIp: "203.0.113.9" } });
    const changes = [];
    for await (const change of ledger.changes({ bucket: "photos", since: new Date(Date.now() - 60_000) })) changes.push(change);
    expect(changes.find((change) => change.key === "c.txt")).toMatchObject({ origin: { requester: "AWS:AIDABOB" } });
  });

  it("takes EventBridge's requester, source-ip-address and request-id (AWS's documented example)", async () => {
    const ledger = await dynamodb.createLedger({ historyDays: 90 });
    const body = readFileSync(new URL("../fixtures/aws/eventbridge-object-created.json", import.meta.url), "utf8");
    expect((await trackerFor(ledger)({ Records: [sqsRecord(body)] })).batchItemFailures).toEqual([]);
    const history = await ledger.history("amzn-s3-demo-bucket1", "example-key");
    expect(history.entries).toHaveLength(1);
    expect(history.entries[0]!.origin).toEqual({ requester: "123456789012", sourceIp: "1.2.3.4", requestId: "N4N7GDK58NMKJ12R" });
  });

  it("keeps repairs, says that reconciliation made them, and places them by their snapshot time", async () => {
    const ledger = await dynamodb.createLedger({ historyDays: 90 });
    await ledger.repair({
      kind: "missing",
      bucket: "photos",
      key: "d.txt",
      state: { size: 5, etag: "e5", lastModified: "2026-11-20T00:00:00.000Z" },
      snapshotTime: new Date(Date.now() - 1000),
    });
    await deliver(ledger, [{ ...del("d.txt", "05"), eventTime: new Date().toISOString() }]);
    const history = await ledger.history("photos", "d.txt");
    expect(history.entries.map((entry) => [entry.source, entry.cause])).toEqual([
      ["reconcile", "Reconcile:Missing"],
      ["event", "ObjectRemoved:Delete"],
    ]);
    expect(history.entries[0]).toMatchObject({ first: true, size: 5 });
    expect(history.entries[0]!.origin).toBeUndefined();
    expect(history.complete).toBe(true);
  });

  it("expires entries after historyDays, and then says the history is not complete", async () => {
    let now = new Date("2026-11-01T00:00:00.000Z");
    const writer = await dynamodb.createLedger({ historyDays: 7, now: () => now });
    await deliver(writer, [{ ...put("e.txt", "01"), eventTime: now.toISOString() }]);
    now = new Date("2026-11-05T00:00:00.000Z");
    await deliver(writer, [{ ...put("e.txt", "02"), eventTime: now.toISOString() }]);
    const entries = await writer.history("photos", "e.txt");
    expect(sequencers(entries.entries)).toEqual(seq("01", "02"));
    expect(entries.complete).toBe(true);
    // The TTL attribute each entry carries: its recording time plus historyDays.
    expect(entries.entries.map((entry) => entry.recordedAt)).toEqual(["2026-11-01T00:00:00.000Z", "2026-11-05T00:00:00.000Z"]);

    // Eight days on, the first entry is past its TTL (DynamoDB may not have deleted it yet).
    now = new Date("2026-11-09T00:00:00.000Z");
    const later = await writer.history("photos", "e.txt");
    expect(sequencers(later.entries)).toEqual(seq("02"));
    expect(later.complete).toBe(false);
  });

  it("is not complete for a key whose earlier changes predate the journal", async () => {
    const before = await dynamodb.createLedger();
    await deliver(before, [put("f.txt", "01")]);
    // The same table, the journal turned on afterwards.
    const after = new Ledger({ tableName: before.tableName, documentClient: createDocumentClient(dynamodb.client), historyDays: 90 });
    await deliver(after, [put("f.txt", "02")]);
    const history = await after.history("photos", "f.txt");
    expect(sequencers(history.entries)).toEqual(seq("02"));
    expect(history.entries[0]!.first).toBe(false);
    expect(history.complete).toBe(false);
  });

  it("writes nothing with the journal off", async () => {
    const ledger = await dynamodb.createLedger();
    await deliver(ledger, [put("g.txt", "01")]);
    expect((await ledger.history("photos", "g.txt")).entries).toEqual([]);
  });
});
