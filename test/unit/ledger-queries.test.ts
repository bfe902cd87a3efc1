/**
 * The ledger's read paths (ledger/queries.ts) over an in-memory table: the exact queries sent,
 * the merge of shards in UTF-8 order, ranges and cursors, and where a read stopped by its budget
 * resumes (nothing lost, nothing repeated).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { listCursorAfter, changesCursorAfter, decodeCursor } from "../../ledger/cursor.js";
import { partitionKeyOf, shardOf } from "../../ledger/keys.js";
import { changesPageSizeForLimit, getRecord, listChanges, listObjects, pageSizeForLimit, type Stopped } from "../../ledger/queries.js";
import { toItem, type LedgerRecord } from "../../ledger/record.js";
import { fakeLedgerTable, type Item } from "./fake-ledger-table.js";

const SHARDS = 2;
const NOW = new Date("2026-11-21T12:00:00.000Z");

function record(key: string, recordedAt: string, deleted = false): LedgerRecord {
  const base = { bucket: "b", key, cause: "ObjectCreated:Put", source: "event" as const, observedAt: recordedAt, recordedAt };
  return deleted ? { ...base, deleted: true, expiresAt: 1 } : { ...base, deleted: false, size: key.length, etag: `e-${key}`, lastModified: recordedAt };
}

function itemOf(rec: LedgerRecord): Item {
  return { ...toItem(rec), pk: partitionKeyOf("b", rec.key, SHARDS) };
}

async function drain<T, R>(generator: AsyncGenerator<T, R>): Promise<{ items: T[]; returned: R }> {
  const items: T[] = [];
  for (;;) {
    const next = await generator.next();
    if (next.done) return { items, returned: next.value };
    items.push(next.value);
  }
}

// Keys chosen to land in both shards, with UTF-8 order differing from UTF-16 order (U+FFFF < U+1F600 in UTF-8).
const KEYS = ["a", "b/1", "b/2", "b/3", "c", "\uffff", "😀"];
const records = KEYS.map((key, index) => record(key, `2026-11-21T10:00:0${index}.000Z`, key === "c"));

function table(extra: Item[] = []) {
  const fake = fakeLedgerTable([...records.map(itemOf), ...extra]);
  return { ...fake, ctx: { tableName: "ledger", documentClient: fake.client, shardCount: SHARDS } };
}

describe("page sizes", () => {
  it("reads little more than the limit over the shards, at least 5 and at most 250 per shard", () => {
    expect(pageSizeForLimit(10, 4)).toBe(5);
    expect(pageSizeForLimit(11, 4)).toBe(5);
    expect(pageSizeForLimit(12, 4)).toBe(6);
    expect(pageSizeForLimit(100, 4)).toBe(28);
    expect(pageSizeForLimit(0, 1)).toBe(5);
    expect(pageSizeForLimit(2, 1)).toBe(5);
    expect(pageSizeForLimit(3, 1)).toBe(6);
    expect(pageSizeForLimit(247, 1)).toBe(250);
    expect(pageSizeForLimit(248, 1)).toBe(250);
    expect(pageSizeForLimit(10_000, 16)).toBe(250);
    expect(pageSizeForLimit(100)).toBe(pageSizeForLimit(100, 16));
  });

  it("asks the change feed for one more than the limit, at most 1,000", () => {
    expect(changesPageSizeForLimit(1)).toBe(2);
    expect(changesPageSizeForLimit(999)).toBe(1000);
    expect(changesPageSizeForLimit(1000)).toBe(1000);
  });
});

describe("getRecord", () => {
  it("reads the key's item from its shard, eventually consistent unless asked", async () => {
    const { ctx, sent } = table();
    expect(await getRecord(ctx, "b", "b/1")).toStrictEqual(records[1]);
    expect(await getRecord(ctx, "b", "nothing", { consistentRead: true })).toBeUndefined();
    expect(sent.map(({ input }) => input)).toStrictEqual([
      { TableName: "ledger", Key: { pk: partitionKeyOf("b", "b/1", SHARDS), sk: "b/1" }, ConsistentRead: false },
      { TableName: "ledger", Key: { pk: partitionKeyOf("b", "nothing", SHARDS), sk: "nothing" }, ConsistentRead: true },
    ]);
  });

  it("refuses an invalid key without reading", async () => {
    const { ctx, sent } = table();
    await expect(getRecord(ctx, "b", "")).rejects.toThrow();
    expect(sent).toEqual([]);
  });
});

describe("listObjects", () => {
  it("lands the keys in both shards (the fixture's premise)", () => {
    expect(new Set(KEYS.map((key) => shardOf(key, SHARDS))).size).toBe(2);
  });

  it("merges every shard's live objects in UTF-8 order, querying each with the tombstone filter", async () => {
    const { ctx, queries } = table();
    const { items, returned } = await drain(listObjects(ctx, { bucket: "b" }));
    expect(items.map(({ key }) => key)).toEqual(["a", "b/1", "b/2", "b/3", "\uffff", "😀"]);
    expect(items[0]).toStrictEqual(records[0]);
    expect(returned).toBeUndefined();
    expect(queries()).toStrictEqual(
      [0, 1].map((shard) => ({
        TableName: "ledger",
        KeyConditionExpression: "#pk = :pk",
        FilterExpression: "#deleted = :false",
        ExpressionAttributeNames: { "#pk": "pk", "#deleted": "deleted" },
        ExpressionAttributeValues: { ":pk": `b#${String(shard).padStart(2, "0")}`, ":false": false },
        Limit: 250,
      })),
    );
  });

  it("includes tombstones when asked, under a prefix, with the page size asked", async () => {
    const { ctx, queries } = table();
    const { items } = await drain(listObjects(ctx, { bucket: "b", includeDeleted: true, prefix: "b/", pageSize: 7 }));
    expect(items.map(({ key }) => key)).toEqual(["b/1", "b/2", "b/3"]);
    expect(queries()[0]).toStrictEqual({
      TableName: "ledger",
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
      ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
      ExpressionAttributeValues: { ":pk": "b#00", ":prefix": "b/" },
      Limit: 7,
    });
    const all = await drain(listObjects(ctx, { bucket: "b", includeDeleted: true }));
    expect(all.items.map(({ key }) => key)).toContain("c");
  });

  it("reads the range after one key through another, in UTF-8 order", async () => {
    const { ctx, queries } = table();
    const { items } = await drain(listObjects(ctx, { bucket: "b", after: "b/1", through: "\uffff" }));
    expect(items.map(({ key }) => key)).toEqual(["b/2", "b/3", "\uffff"]);
    expect(queries()[0]!.ExclusiveStartKey).toStrictEqual({ pk: "b#00", sk: "b/1" });
    const through = await drain(listObjects(ctx, { bucket: "b", through: "b/2" }));
    expect(through.items.map(({ key }) => key)).toEqual(["a", "b/1", "b/2"]);
  });

  it("resumes after the later of its cursor and its range start", async () => {
    const { ctx } = table();
    const cursor = listCursorAfter("b", undefined, "b/2");
    const later = await drain(listObjects(ctx, { bucket: "b", cursor, after: "a" }));
    expect(later.items.map(({ key }) => key)).toEqual(["b/3", "\uffff", "😀"]);
    const earlier = await drain(listObjects(ctx, { bucket: "b", cursor: listCursorAfter("b", undefined, "a"), after: "b/3" }));
    expect(earlier.items.map(({ key }) => key)).toEqual(["\uffff", "😀"]);
    const onlyCursor = await drain(listObjects(ctx, { bucket: "b", cursor }));
    expect(onlyCursor.items.map(({ key }) => key)).toEqual(["b/3", "\uffff", "😀"]);
    // UTF-8 order decides which is later: U+FFFF sorts before an astral character.
    const astral = await drain(listObjects(ctx, { bucket: "b", cursor: listCursorAfter("b", undefined, "😀"), after: "\uffff" }));
    expect(astral.items).toEqual([]);
  });

  it("stops on its query budget at the lowest key a cut shard examined, and resumes there exactly", async () => {
    const { ctx } = table();
    const seen: string[] = [];
    let cursor: string | undefined;
    let reads = 0;
    do {
      const { items, returned } = await drain(listObjects(ctx, { bucket: "b", pageSize: 1, budget: { maxQueries: 2 }, ...(cursor && { cursor }) }));
      seen.push(...items.map(({ key }) => key));
      cursor = (returned as Stopped | undefined)?.cursor;
      reads++;
    } while (cursor !== undefined && reads < 20);
    expect(seen).toEqual(["a", "b/1", "b/2", "b/3", "\uffff", "😀"]);
    expect(reads).toBeGreaterThan(1);
  });

  it("names the cut in its cursor: the first read of one-item pages stops after the first shard page's key", async () => {
    const { ctx } = table();
    const first = await drain(listObjects(ctx, { bucket: "b", pageSize: 1, budget: { maxQueries: 2 } }));
    const firsts = [0, 1].map((shard) => KEYS.find((key) => shardOf(key, SHARDS) === shard)!);
    const cut = firsts.sort()[0]!;
    expect(first.items.map(({ key }) => key)).toEqual([cut]);
    expect(first.returned).toStrictEqual({ cursor: listCursorAfter("b", undefined, cut) });
  });

  it("reads every shard's first page whatever the budget, and then stops", async () => {
    const { ctx, queries } = table();
    const { returned } = await drain(listObjects(ctx, { bucket: "b", pageSize: 1, budget: { maxQueries: 0 } }));
    expect(queries()).toHaveLength(2);
    expect(returned).toBeDefined();
    const spentByTime = table();
    await drain(listObjects(spentByTime.ctx, { bucket: "b", pageSize: 1, budget: { deadline: 0 } }));
    expect(spentByTime.queries()).toHaveLength(2);
    const unspent = table();
    const whole = await drain(listObjects(unspent.ctx, { bucket: "b", pageSize: 1, budget: { maxQueries: 100, deadline: Date.now() + 60_000 } }));
    expect(whole.items).toHaveLength(6);
    expect(whole.returned).toBeUndefined();
  });

  it("stops before the record that would exceed its byte budget, always returning the first", async () => {
    const { ctx } = table();
    const sizeOf = () => 10;
    const { items, returned } = await drain(listObjects(ctx, { bucket: "b", budget: { maxBytes: 25, sizeOf } }));
    expect(items.map(({ key }) => key)).toEqual(["a", "b/1"]);
    expect(returned).toStrictEqual({ cursor: listCursorAfter("b", undefined, "b/1") });
    const exact = await drain(listObjects(ctx, { bucket: "b", budget: { maxBytes: 30, sizeOf } }));
    expect(exact.items).toHaveLength(3);
    const tiny = await drain(listObjects(ctx, { bucket: "b", budget: { maxBytes: 1, sizeOf } }));
    expect(tiny.items.map(({ key }) => key)).toEqual(["a"]);
    const unsized = await drain(listObjects(ctx, { bucket: "b", budget: { maxBytes: 1 } }));
    expect(unsized.items).toHaveLength(6);
  });

  it("names its prefix in the cursor it stops with", async () => {
    const { ctx } = table();
    const { returned } = await drain(listObjects(ctx, { bucket: "b", prefix: "b/", budget: { maxBytes: 1, sizeOf: () => 1 } }));
    expect(decodeCursor((returned as Stopped).cursor)).toStrictEqual({ v: 1, q: "list", b: "b", p: "b/", after: "b/1" });
  });
});

describe("listChanges", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  const change = (key: string, recordedAt: string, deleted = false) => toItem(record(key, recordedAt, deleted));
  const changes = [
    change("x", "2026-11-19T23:00:00.000Z"),
    change("y", "2026-11-20T08:00:00.000Z", true),
    change("z", "2026-11-20T09:00:00.000Z"),
    change("w", "2026-11-21T11:59:00.000Z"),
    // Recorded past the read-ahead cut (now + 30 s): a writer may have used shards not yet read.
    change("late", "2026-11-21T12:00:30.000Z"),
  ];
  const feed = () => {
    const fake = fakeLedgerTable(changes);
    return { ...fake, ctx: { tableName: "ledger", documentClient: fake.client, shardCount: SHARDS } };
  };

  it("reads each day's partition from the day of `since` through today, tombstones included, up to the read-ahead cut", async () => {
    const { ctx, sent, queries } = feed();
    const { items, returned } = await drain(listChanges(ctx, { bucket: "b", since: new Date("2026-11-20T00:00:00.000Z") }));
    expect(items.map(({ key }) => key)).toEqual(["y", "z", "w"]);
    expect(items[0]!.deleted).toBe(true);
    expect(returned).toBeUndefined();
    expect(sent[0]).toStrictEqual({ command: "GetCommand", input: { TableName: "ledger", Key: { pk: "registry#buckets", sk: "b" }, ConsistentRead: true } });
    expect(queries()).toStrictEqual(
      ["2026-11-20", "2026-11-21"].map((day) => ({
        TableName: "ledger",
        IndexName: "changes",
        KeyConditionExpression: "#day = :day AND #token > :after",
        ExpressionAttributeNames: { "#day": "changeDay", "#token": "changeToken" },
        ExpressionAttributeValues: { ":day": `b#${day}`, ":after": "2026-11-20T00:00:00.000Z" },
      })),
    );
  });

  it("returns changes recorded at or after `since` only, and resumes after a cursor's token", async () => {
    const { ctx } = feed();
    const at = await drain(listChanges(ctx, { bucket: "b", since: new Date("2026-11-20T08:00:00.000Z") }));
    expect(at.items.map(({ key }) => key)).toEqual(["y", "z", "w"]);
    const after = await drain(listChanges(ctx, { bucket: "b", since: new Date("2026-11-20T08:00:00.001Z") }));
    expect(after.items.map(({ key }) => key)).toEqual(["z", "w"]);
    const token = changes[2]!.changeToken as string;
    const resumed = await drain(listChanges(ctx, { bucket: "b", since: new Date(0), cursor: changesCursorAfter("b", token), pageSize: 10 }));
    expect(resumed.items.map(({ key }) => key)).toEqual(["w"]);
  });

  it("goes on into a day that began during the read", async () => {
    const { client, queries } = fakeLedgerTable(changes.slice(0, 4));
    const generator = listChanges(
      { tableName: "ledger", documentClient: client, shardCount: SHARDS },
      { bucket: "b", since: new Date("2026-11-21T11:00:00.000Z") },
    );
    expect((await generator.next()).value).toMatchObject({ key: "w" });
    vi.setSystemTime(new Date("2026-11-23T00:00:00.000Z"));
    expect((await drain(generator)).items).toEqual([]);
    expect(queries().map((input) => (input.ExpressionAttributeValues as Record<string, string>)[":day"])).toEqual([
      "b#2026-11-21",
      "b#2026-11-22",
      "b#2026-11-23",
    ]);
  });

  it("looks past its own midnight by the clock skew a writer may have", async () => {
    vi.setSystemTime(new Date("2026-11-21T23:56:00.000Z"));
    const { ctx, queries } = feed();
    await drain(listChanges(ctx, { bucket: "b", since: new Date("2026-11-21T00:00:00.000Z") }));
    expect(queries().map((input) => (input.ExpressionAttributeValues as Record<string, string>)[":day"])).toEqual(["b#2026-11-21", "b#2026-11-22"]);
    vi.setSystemTime(new Date("2026-11-21T23:54:59.000Z"));
    const before = feed();
    await drain(listChanges(before.ctx, { bucket: "b", since: new Date("2026-11-21T00:00:00.000Z") }));
    expect(before.queries()).toHaveLength(1);
  });

  it("stops on its byte budget after the last change returned, and on its query budget between days at the day", async () => {
    const { ctx } = feed();
    const since = new Date("2026-11-20T00:00:00.000Z");
    const bytes = await drain(listChanges(ctx, { bucket: "b", since, budget: { maxBytes: 1, sizeOf: () => 1 } }));
    expect(bytes.items.map(({ key }) => key)).toEqual(["y"]);
    expect(bytes.returned).toStrictEqual({ cursor: changesCursorAfter("b", changes[1]!.changeToken as string) });
    const queriesSpent = await drain(listChanges(ctx, { bucket: "b", since, budget: { maxQueries: 1 } }));
    expect(queriesSpent.items.map(({ key }) => key)).toEqual(["y", "z"]);
    expect(queriesSpent.returned).toStrictEqual({ cursor: changesCursorAfter("b", "2026-11-21") });
    const empty = await drain(listChanges(ctx, { bucket: "b", since: new Date("2026-11-18T00:00:00.000Z"), budget: { maxQueries: 1 } }));
    expect(empty.items).toEqual([]);
    expect(empty.returned).toStrictEqual({ cursor: changesCursorAfter("b", "2026-11-19") });
  });

  it("stops within a day at the cut token when a page was cut", async () => {
    const { ctx } = feed();
    const { items, returned } = await drain(
      listChanges(ctx, { bucket: "b", since: new Date("2026-11-20T00:00:00.000Z"), pageSize: 1, budget: { maxQueries: 1 } }),
    );
    expect(items.map(({ key }) => key)).toEqual(["y"]);
    expect(returned).toStrictEqual({ cursor: changesCursorAfter("b", changes[1]!.changeToken as string) });
  });

  it("never resumes past the read-ahead cut, even where its next day has begun by the clock skew", async () => {
    vi.setSystemTime(new Date("2026-11-21T23:58:00.000Z"));
    const { ctx } = feed();
    const { items, returned } = await drain(listChanges(ctx, { bucket: "b", since: new Date("2026-11-21T00:00:00.000Z"), budget: { maxQueries: 1 } }));
    expect(items.map(({ key }) => key)).toEqual(["w", "late"]);
    expect(returned).toStrictEqual({ cursor: changesCursorAfter("b", "2026-11-21T23:58:30.000Z") });
  });

  it("returns nothing recorded at or after the cut", async () => {
    vi.setSystemTime(new Date("2026-11-21T11:59:00.000Z"));
    const { ctx } = feed();
    const { items, returned } = await drain(
      listChanges(ctx, { bucket: "b", since: new Date("2026-11-21T00:00:00.000Z"), budget: { maxBytes: 1, sizeOf: () => 1 } }),
    );
    expect(items.map(({ key }) => key)).toEqual(["w"]);
    expect(returned).toBeUndefined();
    const atCut = fakeLedgerTable([change("edge", "2026-11-21T11:59:30.000Z"), change("before", "2026-11-21T11:59:29.999Z")]);
    const edge = await drain(
      listChanges({ tableName: "ledger", documentClient: atCut.client, shardCount: SHARDS }, { bucket: "b", since: new Date("2026-11-21T00:00:00.000Z") }),
    );
    expect(edge.items.map(({ key }) => key)).toEqual(["before"]);
  });
});
