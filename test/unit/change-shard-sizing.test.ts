/**
 * The change index's I/O decisions (ledger/change-index: sizer, registry, rate, partitions) and
 * the bucket registry (ledger/buckets.ts) over a recording in-memory registry: when a writer
 * reads the epochs again, what it records and with which condition, when it reports its rate,
 * which writes count toward it, and the newest change a bucket has.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isRegistered, listKnownBuckets, registerBucket, registryItem } from "../../ledger/buckets.js";
import {
  addWriteUnits,
  ChangeShardSizer,
  changeWriteUnits,
  EPOCH_LEAD_MS,
  EPOCHS_FRESH_MS,
  peakChangeRate,
  RATE_REPORT_FLOOR,
  RATE_REPORT_INTERVAL_MS,
  readChangeShards,
  readNewestChange,
  recordChangeShards,
  type ChangeShardSetting,
} from "../../ledger/change-index/index.js";
import { toItem, type LedgerRecord } from "../../ledger/record.js";
import { fakeLedgerTable, type Item, type Sent } from "./fake-ledger-table.js";

const NOW = new Date("2026-11-21T12:00:30.000Z");
const AHEAD = new Date(NOW.getTime() + EPOCH_LEAD_MS).toISOString();
const refused = () => new ConditionalCheckFailedException({ message: "refused", $metadata: {} });

/** The registry item of bucket "b" in memory, with the rate's minute total. */
function registry(initial?: Item, options: { rateTotal?: number; failRate?: boolean; failPuts?: number } = {}) {
  let item = initial;
  let failPuts = options.failPuts ?? 0;
  const fake = fakeLedgerTable([], {
    onSend: ({ command, input }: Sent) => {
      if (command === "GetCommand") return { Item: item };
      if (command === "PutCommand") {
        if (failPuts-- > 0) return Promise.reject(refused());
        item = input.Item as Item;
        return {};
      }
      if (command === "UpdateCommand") {
        if (options.failRate) return Promise.reject(new Error("rate down"));
        return { Attributes: options.rateTotal === undefined ? {} : { writeUnits: options.rateTotal } };
      }
      return undefined;
    },
  });
  return { ...fake, ctx: { tableName: "ledger", documentClient: fake.client, shardCount: 16 }, item: () => item };
}

function sizer(setting: ChangeShardSetting, reg = registry()) {
  let clock = 0;
  const shards = new ChangeShardSizer(reg.ctx, { setting, now: () => NOW, retentionMs: 86_400_000, monotonic: () => clock });
  return { shards, reg, advance: (ms: number) => (clock += ms), commands: () => reg.sent.map(({ command }) => command) };
}

describe("ChangeShardSizer", () => {
  it("places a change at the writer's time under the count in force then, reading the epochs once while fresh", async () => {
    const { shards, advance, commands } = sizer("auto", registry({ changeShards: [{ from: "2026-11-21T00:00:00.000Z", count: 4 }] }));
    expect(await shards.placement("b")).toStrictEqual({ recordedAt: NOW, shards: 4 });
    advance(EPOCHS_FRESH_MS);
    await shards.placement("b");
    expect(commands()).toEqual(["GetCommand"]);
    advance(1);
    await shards.placement("b");
    expect(commands()).toEqual(["GetCommand", "GetCommand"]);
  });

  it("reads the epochs once for writes that wait on the same read", async () => {
    const { shards, commands } = sizer("auto");
    await Promise.all([shards.placement("b"), shards.placement("b"), shards.epochsFor("b")]);
    expect(commands()).toEqual(["GetCommand"]);
  });

  it("with a fixed setting, records it a lead ahead when the count then differs, and nothing when it is in force", async () => {
    const fixed = sizer(4);
    await fixed.shards.placement("b");
    expect(fixed.reg.item()).toMatchObject({
      changeShards: [
        { from: "0000-00-00", count: 1 },
        { from: AHEAD, count: 4 },
      ],
      changeShardsVersion: 1,
    });
    const held = sizer(4, registry({ changeShards: [{ from: "2026-11-20T00:00:00.000Z", count: 4 }] }));
    await held.shards.placement("b");
    expect(held.commands()).toEqual(["GetCommand"]);
    const one = sizer(1);
    expect(await one.shards.placement("b")).toStrictEqual({ recordedAt: NOW, shards: 1 });
    expect(one.commands()).toEqual(["GetCommand"]);
  });

  it("counts a write's units when admitted or throttled, not when refused for its condition", async () => {
    const { shards } = sizer("auto");
    await shards.placement("b");
    const item = { pk: "p", sk: "s", body: "x".repeat(1500) };
    expect(changeWriteUnits(item)).toBe(2);
    expect(await shards.attempt("b", item, async () => "written")).toBe("written");
    const throttled = Object.assign(new Error("slow down"), { name: "ProvisionedThroughputExceededException" });
    await expect(shards.attempt("b", item, () => Promise.reject(throttled))).rejects.toBe(throttled);
    for (const name of ["ThrottlingException", "RequestLimitExceeded"]) {
      await expect(shards.attempt("b", item, () => Promise.reject(Object.assign(new Error(name), { name })))).rejects.toThrow(name);
    }
    await expect(shards.attempt("b", item, () => Promise.reject(refused()))).rejects.toThrow("refused");
    await expect(shards.attempt("b", item, () => Promise.reject("not an error"))).rejects.toBe("not an error");
    // 4 counted writes of 2 units: reported once the floor and the interval are reached.
    expect((shards as unknown as { views: Map<string, { unreported: number }> }).views.get("b")!.unreported).toBe(8);
    shards.observe("unknown", 5);
    expect((shards as unknown as { views: Map<string, unknown> }).views.has("unknown")).toBe(false);
  });

  it("reports its units to the bucket's minute once it has the floor and the interval has passed, and reshards for the rate", async () => {
    // 50 units this writer + the others: 60,000 units in the minute's first 30.5 s is about 1,967/s: 4 shards of 500.
    const reg = registry(undefined, { rateTotal: 60_000 });
    const { shards, advance, commands } = sizer("auto", reg);
    await shards.placement("b");
    shards.observe("b", RATE_REPORT_FLOOR - 1);
    advance(RATE_REPORT_INTERVAL_MS);
    await shards.placement("b");
    expect(commands()).toEqual(["GetCommand"]);
    shards.observe("b", 1);
    advance(-1);
    await shards.placement("b");
    expect(commands()).toEqual(["GetCommand"]);
    advance(1);
    await shards.placement("b");
    const update = reg.sent.find(({ command }) => command === "UpdateCommand")!.input;
    expect(update).toStrictEqual({
      TableName: "ledger",
      Key: { pk: "rate#b", sk: "2026-11-21T12:00" },
      UpdateExpression: "ADD #units :units SET #expiresAt = if_not_exists(#expiresAt, :expiresAt)",
      ExpressionAttributeNames: { "#units": "writeUnits", "#expiresAt": "expiresAt" },
      ExpressionAttributeValues: { ":units": RATE_REPORT_FLOOR, ":expiresAt": Math.floor(NOW.getTime() / 1000) + 2 * 86_400 },
      ReturnValues: "UPDATED_NEW",
    });
    expect(reg.item()).toMatchObject({
      changeShards: [
        { from: "0000-00-00", count: 1 },
        { from: AHEAD, count: 4 },
      ],
    });
    expect(await shards.epochsFor("b")).toStrictEqual([
      { from: "0000-00-00", count: 1 },
      { from: AHEAD, count: 4 },
    ]);
  });

  it("takes at least 10 s of a minute as its rate, and records nothing when the count in force suffices", async () => {
    // 5,500 units in the first 0.5 s of a minute read as over 10 s: 550/s, 2 shards.
    const early = new Date("2026-11-21T12:00:00.500Z");
    const reg = registry(undefined, { rateTotal: 5_500 });
    let clock = 0;
    const shards = new ChangeShardSizer(reg.ctx, { setting: "auto", now: () => early, retentionMs: 1, monotonic: () => clock });
    await shards.placement("b");
    shards.observe("b", RATE_REPORT_FLOOR);
    clock += RATE_REPORT_INTERVAL_MS;
    await shards.placement("b");
    expect(reg.item()).toMatchObject({ changeShards: [{ count: 1 }, { count: 2 }] });
    const calm = registry(undefined, { rateTotal: 500 });
    const quiet = sizer("auto", calm);
    await quiet.shards.placement("b");
    quiet.shards.observe("b", RATE_REPORT_FLOOR);
    quiet.advance(RATE_REPORT_INTERVAL_MS);
    await quiet.shards.placement("b");
    expect(quiet.commands()).toEqual(["GetCommand", "UpdateCommand"]);
  });

  it("keeps its units for the next report when one fails, and never reports with a fixed setting", async () => {
    const reg = registry(undefined, { failRate: true });
    const { shards, advance } = sizer("auto", reg);
    await shards.placement("b");
    shards.observe("b", 60);
    advance(RATE_REPORT_INTERVAL_MS);
    await expect(shards.placement("b")).resolves.toMatchObject({ shards: 1 });
    const view = (shards as unknown as { views: Map<string, { unreported: number; reportedAt: number }> }).views.get("b")!;
    expect(view).toMatchObject({ unreported: 60, reportedAt: RATE_REPORT_INTERVAL_MS });
    const fixed = sizer(1);
    await fixed.shards.placement("b");
    fixed.shards.observe("b", 1000);
    fixed.advance(RATE_REPORT_INTERVAL_MS);
    await fixed.shards.placement("b");
    expect(fixed.commands()).toEqual(["GetCommand"]);
  });

  it("resizes from the busiest minute since, at least for a budget, and a fixed setting as it is", async () => {
    const reg = registry();
    const minutes = fakeLedgerTable([], {
      onSend: ({ command, input }) => {
        if (command === "QueryCommand") return { Items: [{ writeUnits: 60_000 }, { changes: 30_000, writeUnits: 1 }, {}] };
        return reg.client.send({ constructor: { name: command }, input } as never);
      },
    });
    const ctx = { tableName: "ledger", documentClient: minutes.client, shardCount: 16 };
    const auto = new ChangeShardSizer(ctx, { setting: "auto", now: () => NOW, retentionMs: 1 });
    // The busiest minute: 60,000 units, 1,000/s, exactly what 2 shards of 500 take.
    expect(await auto.resize("b", new Date("2026-11-20T12:00:30.000Z"))).toBe(2);
    expect(minutes.sent[0]!.input).toStrictEqual({
      TableName: "ledger",
      KeyConditionExpression: "#pk = :pk AND #sk >= :since",
      ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
      ExpressionAttributeValues: { ":pk": "rate#b", ":since": "2026-11-20T12:00" },
    });
    expect(await auto.resize("b", NOW, 1_001)).toBe(4);
    expect(await auto.resize("b", NOW, 999)).toBe(2);
    const fixed = new ChangeShardSizer(ctx, { setting: 2, now: () => NOW, retentionMs: 1 });
    expect(await fixed.resize("b", NOW, 100_000)).toBe(2);
  });

  it("refuses to record a count outside 1 to 32", async () => {
    for (const setting of [0, 33, 1.5]) {
      const { shards } = sizer(setting);
      await expect(shards.placement("b")).rejects.toThrow(new RangeError(`no such change shard count: ${setting}`));
    }
    await expect(sizer(32).shards.placement("b")).resolves.toMatchObject({ shards: 1 });
  });
});

describe("the registry's epochs", () => {
  it("reads one partition a day for a bucket recorded before epochs, or an empty list", async () => {
    expect(await readChangeShards(registry().ctx, "b")).toStrictEqual([{ from: "0000-00-00", count: 1 }]);
    expect(await readChangeShards(registry({ changeShards: [] }).ctx, "b")).toStrictEqual([{ from: "0000-00-00", count: 1 }]);
    const reg = registry({ changeShards: [{ from: "x", count: 2 }] });
    expect(await readChangeShards(reg.ctx, "b")).toStrictEqual([{ from: "x", count: 2 }]);
    expect(reg.sent[0]!.input).toStrictEqual({ TableName: "ledger", Key: { pk: "registry#buckets", sk: "b" }, ConsistentRead: true });
  });

  it("puts the epochs over the version read, the first write over none, and decides again when another writer got there first", async () => {
    const reg = registry(undefined, { failPuts: 1 });
    const epoch = { from: "2026-11-21T12:01:30.000Z", count: 2 };
    expect(await recordChangeShards(reg.ctx, "b", epoch, "2026-11-01T00:00:00.000Z", NOW)).toStrictEqual([{ from: "0000-00-00", count: 1 }, epoch]);
    const puts = reg.sent.filter(({ command }) => command === "PutCommand").map(({ input }) => input);
    expect(puts).toHaveLength(2);
    expect(puts[0]).toStrictEqual({
      TableName: "ledger",
      Item: { ...registryItem("b", NOW), changeShards: [{ from: "0000-00-00", count: 1 }, epoch], changeShardsVersion: 1 },
      ConditionExpression: "attribute_not_exists(#version)",
      ExpressionAttributeNames: { "#version": "changeShardsVersion" },
    });
    const next = { from: "2026-11-21T12:05:00.000Z", count: 4 };
    await recordChangeShards(reg.ctx, "b", next, "2026-11-21T12:02:00.000Z", NOW);
    const last = reg.sent.at(-1)!.input;
    expect(last).toMatchObject({ ConditionExpression: "#version = :read", ExpressionAttributeValues: { ":read": 1 }, Item: { changeShardsVersion: 2 } });
    // Epochs ended before `keepAfter` are dropped, the one in force then kept.
    expect((last.Item as Item).changeShards).toStrictEqual([epoch, next]);
    await expect(recordChangeShards(registry(undefined, { failPuts: 0 }).ctx, "b", epoch, "", NOW)).resolves.toHaveLength(2);
  });

  it("writes nothing when the count is already in force then and no later epoch is recorded", async () => {
    const recorded = [{ from: "2026-11-21T00:00:00.000Z", count: 2 }];
    const reg = registry({ ...registryItem("b", NOW), changeShards: recorded, changeShardsVersion: 3 });
    expect(await recordChangeShards(reg.ctx, "b", { from: "2026-11-21T12:00:00.000Z", count: 2 }, "", NOW)).toBe(recorded);
    expect(reg.sent.map(({ command }) => command)).toEqual(["GetCommand"]);
    const later = registry({ changeShards: [...recorded, { from: "2026-11-21T13:00:00.000Z", count: 1 }] });
    await recordChangeShards(later.ctx, "b", { from: "2026-11-21T12:00:00.000Z", count: 2 }, "", NOW);
    expect(later.sent.map(({ command }) => command)).toEqual(["GetCommand", "PutCommand"]);
  });

  it("fails on an error other than a refused condition", async () => {
    const fake = fakeLedgerTable([], { onSend: ({ command }) => (command === "PutCommand" ? Promise.reject(new Error("down")) : undefined) });
    await expect(recordChangeShards({ tableName: "t", documentClient: fake.client, shardCount: 16 }, "b", { from: "z", count: 2 }, "", NOW)).rejects.toThrow(
      "down",
    );
  });
});

describe("the rate", () => {
  it("answers the minute's total, or the units added when the table returns none", async () => {
    expect(await addWriteUnits(registry(undefined, { rateTotal: 77 }).ctx, "b", NOW, 5)).toBe(77);
    expect(await addWriteUnits(registry().ctx, "b", NOW, 5)).toBe(5);
  });

  it("reads the busiest minute as units per second, 0 when none was recorded", async () => {
    const fake = fakeLedgerTable([], { onSend: () => ({ Items: [] }) });
    expect(await peakChangeRate({ tableName: "t", documentClient: fake.client, shardCount: 16 }, "b", NOW)).toBe(0);
    const busy = fakeLedgerTable([], { onSend: () => ({ Items: [{ writeUnits: 120 }, { changes: 60, writeUnits: 90 }] }) });
    expect(await peakChangeRate({ tableName: "t", documentClient: busy.client, shardCount: 16 }, "b", NOW)).toBe(2.5);
  });
});

describe("readNewestChange", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  const change = (key: string, recordedAt: string, shards = 1, deleted = false) => {
    const base = { bucket: "b", key, cause: "c", source: "event" as const, observedAt: recordedAt, recordedAt };
    const record: LedgerRecord = deleted ? { ...base, deleted: true, expiresAt: 1 } : { ...base, deleted: false, size: 1, etag: "e", lastModified: recordedAt };
    return toItem(record, shards);
  };

  it("asks each partition of a day for its newest, newest day first, and returns the newest of them", async () => {
    const items = [change("a", "2026-11-19T10:00:00.000Z"), change("b", "2026-11-19T11:00:00.000Z", 1, true), change("c", "2026-11-18T23:00:00.000Z")];
    const fake = fakeLedgerTable(items);
    const ctx = { tableName: "ledger", documentClient: fake.client, shardCount: 16 };
    expect(await readNewestChange(ctx, "b", 2)).toStrictEqual({ key: "b", recordedAt: "2026-11-19T11:00:00.000Z", deleted: true });
    expect(fake.queries().map((input) => (input.ExpressionAttributeValues as Record<string, string>)[":day"])).toEqual([
      "b#2026-11-21",
      "b#2026-11-20",
      "b#2026-11-19",
    ]);
    expect(fake.queries()[0]).toStrictEqual({
      TableName: "ledger",
      IndexName: "changes",
      KeyConditionExpression: "#day = :day",
      ExpressionAttributeNames: { "#day": "changeDay" },
      ExpressionAttributeValues: { ":day": "b#2026-11-21" },
      ScanIndexForward: false,
      Limit: 1,
    });
    const fewer = fakeLedgerTable(items);
    expect(await readNewestChange({ ...ctx, documentClient: fewer.client }, "b", 1)).toBeUndefined();
    expect(fewer.queries()).toHaveLength(2);
  });

  it("reads every shard of a sharded day and takes the newest token", async () => {
    const epochs = [{ from: "2026-11-01T00:00:00.000Z", count: 4 }];
    const items = ["k1", "k2", "k3", "k4", "k5"].map((key, index) => change(key, `2026-11-21T0${index}:00:00.000Z`, 4));
    const fake = fakeLedgerTable([...items, { pk: "registry#buckets", sk: "b", changeShards: epochs }]);
    const newest = await readNewestChange({ tableName: "ledger", documentClient: fake.client, shardCount: 16 }, "b", 0);
    expect(newest).toStrictEqual({ key: "k5", recordedAt: "2026-11-21T04:00:00.000Z", deleted: false });
    expect(fake.queries()).toHaveLength(4);
  });
});

describe("the bucket registry", () => {
  it("records a bucket once, a refused condition being no error", async () => {
    const answers: unknown[] = [undefined, refused(), new Error("down")];
    const fake = fakeLedgerTable([], {
      onSend: () => {
        const answer = answers.shift();
        return answer ? Promise.reject(answer) : {};
      },
    });
    const ctx = { tableName: "ledger", documentClient: fake.client, shardCount: 16 };
    await registerBucket(ctx, "b", NOW);
    expect(fake.sent[0]!.input).toStrictEqual({
      TableName: "ledger",
      Item: { pk: "registry#buckets", sk: "b", bucket: "b", firstSeenAt: NOW.toISOString() },
      ConditionExpression: "attribute_not_exists(#pk)",
      ExpressionAttributeNames: { "#pk": "pk" },
    });
    await expect(registerBucket(ctx, "b", NOW)).resolves.toBeUndefined();
    await expect(registerBucket(ctx, "b", NOW)).rejects.toThrow("down");
  });

  it("tells whether a bucket is recorded, and lists them all from one partition", async () => {
    const fake = fakeLedgerTable([registryItem("a", NOW), registryItem("b", new Date(0))]);
    const ctx = { tableName: "ledger", documentClient: fake.client, shardCount: 16 };
    expect(await isRegistered(ctx, "a")).toBe(true);
    expect(await isRegistered(ctx, "c")).toBe(false);
    expect(await listKnownBuckets(ctx)).toStrictEqual([
      { bucket: "a", firstSeenAt: NOW.toISOString() },
      { bucket: "b", firstSeenAt: "1970-01-01T00:00:00.000Z" },
    ]);
    expect(fake.queries()[0]).toStrictEqual({
      TableName: "ledger",
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": "pk" },
      ExpressionAttributeValues: { ":pk": "registry#buckets" },
    });
  });
});
