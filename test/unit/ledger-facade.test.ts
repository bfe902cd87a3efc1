/**
 * The ledger's facade (ledger/ledger.ts, reader.ts, writer.ts) and its whole-bucket reads
 * (stats.ts, ingestions.ts) over an in-memory table: the settings it refuses and derives, the
 * change feed's horizon, page sizes, registration once per bucket, origin expiry, exact counts.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { changesCursorAfter } from "../../ledger/cursor.js";
import { ChangeHorizonError } from "../../ledger/errors.js";
import { ingestionItem, getIngestion, listIngestions, type IngestionRecord } from "../../ledger/ingestions.js";
import { partitionKeyOf } from "../../ledger/keys.js";
import { createDocumentClient, DEFAULT_CHANGE_SHARDS, DEFAULT_HISTORY_DAYS, DEFAULT_RETENTION_DAYS, Ledger } from "../../ledger/ledger.js";
import { toItem, type LedgerRecord } from "../../ledger/record.js";
import { bucketStats } from "../../ledger/stats.js";
import { LedgerWriter } from "../../ledger/writer.js";
import { fakeLedgerTable, type Item, type Sent } from "./fake-ledger-table.js";

const NOW = new Date("2026-11-21T12:00:00.000Z");
const DAY = 86_400_000;

const live = (key: string, size: number, recordedAt = "2026-11-21T10:00:00.000Z", origin?: LedgerRecord["origin"]): LedgerRecord => ({
  bucket: "b",
  key,
  cause: "ObjectCreated:Put",
  source: "event",
  observedAt: recordedAt,
  recordedAt,
  deleted: false,
  size,
  etag: "e",
  lastModified: recordedAt,
  ...(origin && { origin }),
});
const tombstone = (key: string): LedgerRecord => ({
  bucket: "b",
  key,
  cause: "ObjectRemoved:Delete",
  source: "event",
  observedAt: "t",
  recordedAt: "2026-11-21T09:00:00.000Z",
  deleted: true,
  expiresAt: 1,
});

function ledgerOver(items: Item[], options: { onSend?: (sent: Sent) => unknown; historyDays?: number; retentionDays?: number } = {}) {
  const fake = fakeLedgerTable(items, options.onSend ? { onSend: options.onSend } : {});
  const ledger = new Ledger({
    tableName: "ledger",
    documentClient: fake.client,
    now: () => NOW,
    ...(options.historyDays !== undefined && { historyDays: options.historyDays }),
    ...(options.retentionDays !== undefined && { retentionDays: options.retentionDays }),
  });
  return { ...fake, ledger };
}

describe("Ledger settings", () => {
  it("defaults to 30 days of tombstones, 90 of history when on, and sized change shards", () => {
    expect([DEFAULT_RETENTION_DAYS, DEFAULT_HISTORY_DAYS, DEFAULT_CHANGE_SHARDS]).toEqual([30, 90, "auto"]);
    const { ledger } = ledgerOver([]);
    expect(ledger.retentionDays).toBe(30);
    expect(ledger.changeShards).toBe("auto");
    expect(ledger.originDays).toBeUndefined();
    expect(ledger.tableName).toBe("ledger");
    expect(ledgerOver([], { historyDays: 0, retentionDays: 7 }).ledger.originDays).toBe(7);
    expect(ledgerOver([], { historyDays: 45 }).ledger.originDays).toBe(45);
    expect(new Ledger({ tableName: "t", documentClient: createDocumentClient(), changeShards: 4 }).changeShards).toBe(4);
  });

  it("refuses a change-shard count that is not auto or 1 to 32", () => {
    const fake = fakeLedgerTable([]);
    const writer = (changeShards: number | "auto") =>
      new LedgerWriter(
        { tableName: "t", documentClient: fake.client, shardCount: 16 },
        { tableName: "t", documentClient: fake.client, retentionDays: 1, changeShards, now: () => NOW },
      );
    for (const count of [0, 33, 2.5])
      expect(() => writer(count)).toThrow(new RangeError(`changeShards must be "auto" or an integer from 1 to 32, got ${count}`));
    expect(writer(1).changeShards).toBe(1);
    expect(writer(32).changeShards).toBe(32);
  });

  it("keeps undefined attributes out of items with its own client", async () => {
    const client = createDocumentClient();
    expect(client.config.translateConfig?.marshallOptions?.removeUndefinedValues).toBe(true);
  });
});

describe("LedgerReader", () => {
  afterEach(() => vi.useRealTimers());

  it("refuses a feed since before the retention window, and a cursor from before it", async () => {
    const { ledger } = ledgerOver([]);
    expect(ledger.changeHorizon()).toStrictEqual(new Date(NOW.getTime() - 30 * DAY));
    const horizon = new Date(NOW.getTime() - 30 * DAY);
    expect(() => ledger.changes({ bucket: "b", since: new Date(horizon.getTime() - 1) })).toThrow(ChangeHorizonError);
    expect(() => ledger.changes({ bucket: "b", since: horizon })).not.toThrow();
    expect(() => ledger.changes({ bucket: "b", since: new Date(0), cursor: changesCursorAfter("b", "2026-10-01") })).toThrow(/cursor expired/);
    expect(() => ledger.changes({ bucket: "b", since: new Date(0), cursor: changesCursorAfter("b", "2026-11-20") })).not.toThrow();
  });

  it("pages a listing and the feed with page sizes fitted to the limit", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
    const items = ["a", "b", "c"].map((key) => toItem(live(key, 1)));
    const { ledger, queries } = ledgerOver(items);
    const page = await ledger.listPage({ bucket: "b", limit: 2 });
    expect(page.items.map(({ key }) => key)).toEqual(["a", "b"]);
    expect(page.cursor).toBeDefined();
    expect(queries()[0]!.Limit).toBe(5);
    expect((await ledger.listPage({ bucket: "b", limit: 2, pageSize: 9 })).items).toHaveLength(2);
    expect(queries().at(-1)!.Limit).toBe(9);
    const changes = await ledger.changesPage({ bucket: "b", since: new Date("2026-11-21T00:00:00.000Z"), limit: 2 });
    expect(changes.items).toHaveLength(2);
    expect(queries().at(-1)!.Limit).toBe(3);
  });

  it("has seen a bucket it registered, or one it holds any item for, tombstones included", async () => {
    const registered = ledgerOver([{ pk: "registry#buckets", sk: "b" }]);
    expect(await registered.ledger.hasSeen("b")).toBe(true);
    expect(registered.queries()).toEqual([]);
    const held = ledgerOver([{ ...toItem(tombstone("k")), pk: partitionKeyOf("b", "k") }]);
    expect(await held.ledger.hasSeen("b")).toBe(true);
    expect(held.queries()[0]).toMatchObject({ Limit: 1 });
    expect(held.queries()[0]).not.toHaveProperty("FilterExpression");
    expect(await ledgerOver([]).ledger.hasSeen("b")).toBe(false);
  });

  it("looks back the retention for the newest change, and counts the change shards in force now", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
    const epochs = [
      { from: "2026-11-01T00:00:00.000Z", count: 2 },
      { from: "2026-11-21T12:00:00.001Z", count: 4 },
    ];
    const { ledger, queries } = ledgerOver([{ pk: "registry#buckets", sk: "b", changeShards: epochs }], { retentionDays: 3 });
    expect(await ledger.newestChange("b")).toBeUndefined();
    // Today and 3 days back, 2 partitions each, and today's later epoch with 4.
    expect(queries()).toHaveLength(4 * 2 + 4);
    expect(await ledger.changeShardEpochs("b")).toStrictEqual(epochs);
    expect(await ledger.changeShardsNow("b")).toBe(2);
  });

  it("reads a key's history as of its clock", async () => {
    const { ledger } = ledgerOver([]);
    expect(await ledger.history("b", "k")).toStrictEqual({ bucket: "b", key: "k", entries: [], complete: false });
  });
});

describe("LedgerWriter through the ledger", () => {
  it("registers a bucket once per instance, and again after a failure", async () => {
    const answers: unknown[] = [new Error("down")];
    const { ledger, sent } = ledgerOver([], {
      onSend: () => {
        const answer = answers.shift();
        return answer ? Promise.reject(answer) : {};
      },
    });
    await expect(ledger.register("b")).rejects.toThrow("down");
    await ledger.register("b");
    await ledger.register("b");
    await ledger.register("c");
    expect(sent.map(({ input }) => (input.Item as Item).sk)).toEqual(["b", "b", "c"]);
  });

  it("expires origin recorded the journal's days ago or more, only if the item still holds that change", async () => {
    const origin = { requester: "P" };
    const { ledger, sent } = ledgerOver([], { historyDays: 10, onSend: () => ({}) });
    const old = live("k", 1, new Date(NOW.getTime() - 10 * DAY).toISOString(), origin);
    const recent = live("k", 1, new Date(NOW.getTime() - 10 * DAY + 1).toISOString(), origin);
    expect(ledger.originExpired(old)).toBe(true);
    expect(ledger.originExpired(recent)).toBe(false);
    expect(ledger.originExpired(live("k", 1, old.recordedAt))).toBe(false);
    expect(await ledger.expireOrigin(recent)).toBe(false);
    expect(sent).toEqual([]);
    expect(await ledger.expireOrigin(old)).toBe(true);
    expect(sent[0]!.input).toMatchObject({
      Key: { pk: partitionKeyOf("b", "k"), sk: "k" },
      ConditionExpression: "#recordedAt = :recordedAt",
      ExpressionAttributeValues: { ":recordedAt": old.recordedAt },
    });
    const changed = ledgerOver([], {
      historyDays: 10,
      onSend: () => Promise.reject(new ConditionalCheckFailedException({ message: "changed", $metadata: {} })),
    });
    expect(await changed.ledger.expireOrigin(old)).toBe(false);
    expect(ledgerOver([]).ledger.originExpired(old)).toBe(false);
  });

  it("resizes from the day before its clock", async () => {
    const { ledger, queries } = ledgerOver([]);
    expect(await ledger.resizeChangeShards("b")).toBe(1);
    expect(queries()[0]!.ExpressionAttributeValues).toStrictEqual({ ":pk": "rate#b", ":since": "2026-11-20T12:00" });
  });

  it("resolves apply, describe and repair once journaled, and reads and records the watermark", async () => {
    const { ledger, sent } = ledgerOver([], { historyDays: 1 });
    const mutation = {
      kind: "upsert" as const,
      bucket: "b",
      key: "k",
      sequencer: "0A",
      eventTime: NOW.toISOString(),
      eventName: "ObjectCreated:Put",
      state: { size: 1, etag: "e", lastModified: NOW.toISOString() },
    };
    expect(await ledger.apply(mutation)).toBe("applied");
    expect(sent.map(({ command }) => command)).toEqual(["GetCommand", "PutCommand", "BatchWriteCommand"]);
    expect(await ledger.repair({ kind: "orphaned", bucket: "b", key: "k", snapshotTime: NOW })).toBe("repaired");
    expect(sent.at(-1)!.command).toBe("BatchWriteCommand");
    const described = await ledger.describe({
      bucket: "b",
      key: "k",
      state: { size: 1, etag: "e", lastModified: "t", describedAt: "t" },
      replaces: [],
      eventName: "x",
      eventTime: NOW.toISOString(),
    });
    expect(described.outcome).toBe("applied");
    expect(sent.at(-1)!.command).toBe("BatchWriteCommand");
    expect(await ledger.reconciledThrough("b")).toBeUndefined();
    await ledger.recordReconciled("b", NOW);
    expect(sent.at(-1)!.input).toMatchObject({ Key: { pk: "reconcile#b", sk: "watermark" } });
    const batch = ledger.batch();
    expect((await batch.apply({ ...mutation, sequencer: "0B" })).outcome).toBe("applied");
  });
});

describe("bucketStats", () => {
  it("counts live objects, their bytes and tombstones over every shard, projecting only size and the flag", async () => {
    const items = [live("a", 5), live("b", 7), tombstone("c"), { ...live("d", 0), size: undefined }].map((record) => ({
      ...toItem(record as LedgerRecord),
      pk: partitionKeyOf("b", record.key, 2),
    }));
    const fake = fakeLedgerTable(items);
    const progress: number[] = [];
    const stats = await bucketStats({ tableName: "ledger", documentClient: fake.client, shardCount: 2 }, "b", {
      lookBackDays: 0,
      onProgress: (read) => progress.push(read),
    });
    expect(stats).toStrictEqual({ bucket: "b", objects: 3, totalBytes: 12, tombstones: 1 });
    expect(progress.sort((x, y) => x - y).at(-1)).toBe(4);
    expect(fake.queries()[0]).toStrictEqual({
      TableName: "ledger",
      KeyConditionExpression: "#pk = :pk",
      ProjectionExpression: "#size, #deleted",
      ExpressionAttributeNames: { "#pk": "pk", "#size": "size", "#deleted": "deleted" },
      ExpressionAttributeValues: { ":pk": "b#00" },
      Limit: 5000,
    });
  });

  it("adds the newest change when there is one", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
    const fake = fakeLedgerTable([toItem(live("a", 1, "2026-11-21T11:00:00.000Z"))]);
    const stats = await bucketStats({ tableName: "ledger", documentClient: fake.client, shardCount: 16 }, "b", { lookBackDays: 0 });
    vi.useRealTimers();
    expect(stats.newestChange).toStrictEqual({ key: "a", recordedAt: "2026-11-21T11:00:00.000Z", deleted: false });
  });
});

describe("ingestion records", () => {
  const record = (key: string, status: IngestionRecord["status"]): IngestionRecord => ({
    bucket: "b",
    key,
    rule: "r",
    version: "v",
    status,
    retryable: false,
    attempts: 1,
    startedAt: "s",
    updatedAt: "u",
    durationMs: 1,
    rowsRead: 1,
    rowsWritten: 1,
    rowsRejected: 0,
    rowsUnprocessed: 0,
    rowsDeleted: 0,
  });

  it("round-trips through its item under the bucket's ingestion partition", async () => {
    const item = ingestionItem(record("data/a.csv", "succeeded"));
    expect(item).toMatchObject({ pk: "ingest#b", sk: "data/a.csv", bucket: "b" });
    const fake = fakeLedgerTable([item]);
    const ctx = { tableName: "ledger", documentClient: fake.client, shardCount: 16 };
    expect(await getIngestion(ctx, "b", "data/a.csv")).toStrictEqual(record("data/a.csv", "succeeded"));
    expect(await getIngestion(ctx, "b", "other")).toBeUndefined();
    expect(fake.sent[0]!.input).toStrictEqual({ TableName: "ledger", Key: { pk: "ingest#b", sk: "data/a.csv" }, ConsistentRead: true });
  });

  it("lists a bucket's, a prefix's or one key's, and only the failed or partial when asked", async () => {
    const items = [record("a/1", "succeeded"), record("a/2", "failed"), record("a/3", "partial"), record("b/1", "running")].map(ingestionItem);
    const fake = fakeLedgerTable([], {
      onSend: ({ input }) => {
        const values = input.ExpressionAttributeValues as Record<string, string>;
        return {
          Items: items.filter((item) => (values[":key"] === undefined || item.sk === values[":key"]) && String(item.sk).startsWith(values[":prefix"] ?? "")),
        };
      },
    });
    const ctx = { tableName: "ledger", documentClient: fake.client, shardCount: 16 };
    const keys = async (query: Parameters<typeof listIngestions>[1]) => {
      const found: string[] = [];
      for await (const { key } of listIngestions(ctx, query)) found.push(key);
      return found;
    };
    expect(await keys({ bucket: "b" })).toEqual(["a/1", "a/2", "a/3", "b/1"]);
    expect(await keys({ bucket: "b", failed: true })).toEqual(["a/2", "a/3"]);
    expect(await keys({ bucket: "b", prefix: "b/" })).toEqual(["b/1"]);
    expect(await keys({ bucket: "b", key: "a/2", prefix: "b/" })).toEqual(["a/2"]);
    expect(fake.sent.map(({ input }) => [input.KeyConditionExpression, input.ExpressionAttributeNames, input.ExpressionAttributeValues])).toStrictEqual([
      ["#pk = :pk", { "#pk": "pk" }, { ":pk": "ingest#b" }],
      ["#pk = :pk", { "#pk": "pk" }, { ":pk": "ingest#b" }],
      ["#pk = :pk AND begins_with(#sk, :prefix)", { "#pk": "pk", "#sk": "sk" }, { ":pk": "ingest#b", ":prefix": "b/" }],
      ["#pk = :pk AND #sk = :key", { "#pk": "pk", "#sk": "sk" }, { ":pk": "ingest#b", ":key": "a/2" }],
    ]);
  });
});
