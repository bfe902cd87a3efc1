/**
 * Change shards sized from a bucket's rate (ledger/change-index), against DynamoDB Local:
 * writers report the change-index write units they attempt, raise the count a lead ahead when the
 * bucket's minute needs it, keep writing under the count in force until then, and reconciliation
 * lowers it from the busiest minute of the day. Readers stay exact throughout: they never return a
 * change recorded past what their read of the epochs covers. Through the capacity model
 * (local/capacity-model.ts), a busy bucket whose entries cost two units each is raised and its
 * throttles stop.
 */
import { randomUUID } from "node:crypto";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, createTableInput, ledgerTable, Ledger, toItem } from "../../ledger/index.js";
import {
  readChangeShards,
  recordChangeShards,
  addWriteUnits,
  peakChangeRate,
  countAt,
  countsOnDay,
  EPOCH_LEAD_MS,
  EPOCHS_FRESH_MS,
  READ_AHEAD_MS,
  shardsForRate,
  ChangeShardSizer,
  RATE_REPORT_FLOOR,
  RATE_REPORT_INTERVAL_MS,
} from "../../ledger/change-index/index.js";
import { documentItemSize, writeUnits } from "../../ledger/item-size.js";
import { applyMutation, mutationToRecord, type UpsertMutation, type WriteContext } from "../../ledger/writes.js";
import { CapacityModel } from "../../local/capacity-model.js";
import { FaultInjectingProxy } from "../../local/fault-proxy.js";
import type { QueryContext } from "../../ledger/queries.js";
import { dynamoDbClient, startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { createdRecord } from "../support/records.js";

let dynamodb: TestDynamoDb;
let proxy: FaultInjectingProxy;
beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
  proxy = await FaultInjectingProxy.start(dynamodb.emulator.endpoint);
});
afterAll(async () => {
  await proxy?.stop();
  await dynamodb?.stop();
});

async function table(): Promise<QueryContext> {
  const tableName = `sizing-${randomUUID()}`;
  await dynamodb.client.send(new CreateTableCommand(createTableInput(tableName)));
  return { tableName, documentClient: createDocumentClient(dynamodb.client), shardCount: ledgerTable.shardCount };
}

/** A sizer on clocks the test moves: wall time (for epochs and minutes) and the monotonic clock (for the view's age). */
function sizerOn(ctx: QueryContext, setting: number | "auto", start: Date) {
  const clock = { wall: start.getTime(), monotonic: 0 };
  const sizer = new ChangeShardSizer(ctx, { setting, now: () => new Date(clock.wall), retentionMs: 30 * 86_400_000, monotonic: () => clock.monotonic });
  const advance = (ms: number) => {
    clock.wall += ms;
    clock.monotonic += ms;
  };
  return { sizer, clock, advance };
}

const BUCKET = "busy";

describe("change shards sized from the bucket's rate", () => {
  it("picks the fewest shards, a power of two, that keep each partition at 500 write units/s or under", () => {
    expect([0, 500, 501, 1_000, 1_001, 10_000, 16_000, 16_001, 1e9].map((rate) => shardsForRate(rate))).toEqual([1, 1, 2, 2, 4, 32, 32, 32, 32]);
  });

  it("raises the count a lead ahead once the bucket's minute needs it, from the counts of all its writers", async () => {
    const ctx = await table();
    const start = new Date("2026-12-01T12:00:20.000Z");
    const one = sizerOn(ctx, "auto", start);
    const other = sizerOn(ctx, "auto", start);
    expect(countAt(await one.sizer.epochsFor(BUCKET), start.toISOString())).toBe(1);
    await other.sizer.epochsFor(BUCKET);
    // By the minute's 30th second, 15,000 units from one writer (500/s) and 20,000 from another: 1,166/s in all.
    for (let change = 0; change < 15_000; change++) one.sizer.observe(BUCKET);
    for (let change = 0; change < 20_000; change++) other.sizer.observe(BUCKET);
    one.advance(RATE_REPORT_INTERVAL_MS);
    other.advance(RATE_REPORT_INTERVAL_MS);
    // The first report alone needs one partition; the second sees the bucket's 35,000.
    const first = await one.sizer.epochsFor(BUCKET);
    expect(first.at(-1)!.count).toBe(1);
    const raised = await other.sizer.epochsFor(BUCKET);
    const reportedAt = other.clock.wall;
    expect(raised.at(-1)).toEqual({ from: new Date(reportedAt + EPOCH_LEAD_MS).toISOString(), count: 4 });
    expect(await readChangeShards(ctx, BUCKET)).toEqual(raised);

    // Writes go on under the count in force until the new one begins; the other writer learns of it
    // within EPOCHS_FRESH_MS, well before that.
    expect(countAt(raised, new Date(reportedAt).toISOString())).toBe(1);
    one.advance(EPOCHS_FRESH_MS + 1);
    expect(await one.sizer.epochsFor(BUCKET)).toEqual(raised);
    expect(countAt(raised, new Date(reportedAt + EPOCH_LEAD_MS).toISOString())).toBe(4);
    expect(countsOnDay(raised, "2026-12-01")).toEqual([1, 4]);
    expect(countsOnDay(raised, "2026-12-02")).toEqual([4]);
  });

  it("leaves a quiet writer's count to busier ones, and a bucket under 500 changes/s at one partition", async () => {
    const ctx = await table();
    const start = new Date("2026-12-01T12:00:30.000Z");
    const quiet = sizerOn(ctx, "auto", start);
    await quiet.sizer.epochsFor(BUCKET);
    for (let change = 0; change < RATE_REPORT_FLOOR - 1; change++) quiet.sizer.observe(BUCKET);
    quiet.advance(RATE_REPORT_INTERVAL_MS);
    await quiet.sizer.epochsFor(BUCKET);
    expect(await peakChangeRate(ctx, BUCKET, new Date(start.getTime() - 3_600_000))).toBe(0);
    // 14,049 units by the minute's 50th second is 281/s: reported, and still one partition.
    for (let change = 0; change < 14_000; change++) quiet.sizer.observe(BUCKET);
    quiet.advance(RATE_REPORT_INTERVAL_MS);
    expect(await quiet.sizer.epochsFor(BUCKET)).toEqual([{ from: "0000-00-00", count: 1 }]);
    expect(await peakChangeRate(ctx, BUCKET, new Date(start.getTime() - 3_600_000))).toBeCloseTo((RATE_REPORT_FLOOR - 1 + 14_000) / 60);
  });

  it("raises a busy bucket with 1.2 KB entries from the write units it attempts, throttles included, and its throttles stop", async () => {
    const ctx = await table();
    // The model's clock and the writer's monotonic clock are the same: seconds pass when the test says.
    const clock = { wall: Date.parse("2026-12-04T12:00:00.000Z"), monotonic: 0 };
    const advance = (ms: number) => {
      clock.wall += ms;
      clock.monotonic += ms;
    };
    proxy.useCapacity(new CapacityModel({ now: () => clock.monotonic }));
    // No SDK retries: each throttled write is seen (and counted) once.
    const documentClient = createDocumentClient(dynamoDbClient(proxy.endpoint, 1));
    const now = () => new Date(clock.wall);
    const retentionSeconds = 30 * 86_400;
    const shards = new ChangeShardSizer(
      { ...ctx, documentClient },
      { setting: "auto", now, retentionMs: retentionSeconds * 1000, monotonic: () => clock.monotonic },
    );
    const writer: WriteContext = { tableName: ctx.tableName, documentClient, retentionSeconds, now, shards };
    // An enriched create: its item, and so its change-index entry, is about 1.2 KB, two write units.
    const create = (key: string): UpsertMutation => ({
      kind: "upsert",
      bucket: BUCKET,
      key,
      sequencer: "01",
      eventTime: now().toISOString(),
      eventName: "ObjectCreated:Put",
      state: { size: 1, etag: "e", lastModified: now().toISOString(), userMetadata: { note: "x".repeat(900) } },
    });
    const bytes = documentItemSize(toItem(mutationToRecord(create("data/0"), now(), retentionSeconds)));
    expect([bytes > 1_150 && bytes < 1_300, writeUnits(bytes)]).toEqual([true, 2]);

    // 600 changes a second, 1,200 units: one change partition takes 1,000 and throttles the rest.
    let written = 0;
    const second = async (): Promise<number> => {
      const limit = pLimit(32);
      let throttled = 0;
      await Promise.all(
        Array.from({ length: 600 }, () =>
          limit(() =>
            applyMutation(writer, create(`data/${written++}`)).catch((error: Error) => {
              if (error.name !== "ProvisionedThroughputExceededException") throw error;
              throttled++;
            }),
          ),
        ),
      );
      advance(1_000);
      return throttled;
    };
    try {
      await shards.epochsFor(BUCKET);
      advance(5_000);
      const throttledBefore: number[] = [];
      for (let i = 0; i < 5; i++) throttledBefore.push(await second());
      expect(throttledBefore.every((throttled) => throttled >= 90)).toBe(true);
      // At the minute's 10th second the writer reports 6,000 units attempted (600/s): two partitions,
      // where counting the 2,500 changes admitted (250/s) would have kept one.
      await applyMutation(writer, create("report"));
      const epochs = await readChangeShards(ctx, BUCKET);
      expect(countAt(epochs, new Date(clock.wall + EPOCH_LEAD_MS).toISOString())).toBe(2);
      advance(EPOCH_LEAD_MS);
      expect([await second(), await second()]).toEqual([0, 0]);
    } finally {
      proxy.useCapacity(undefined);
    }
  }, 120_000);

  it("lowers the count only at reconciliation's resize, from the busiest minute of the day, and raises it there for a backfill's budget", async () => {
    const ctx = await table();
    const start = new Date("2026-12-01T12:00:00.000Z");
    const { sizer, advance } = sizerOn(ctx, "auto", start);
    // Yesterday's busiest minute: 90,000 units, 1,500/s.
    await addWriteUnits(ctx, BUCKET, new Date("2026-11-30T18:30:10.000Z"), 90_000);
    await addWriteUnits(ctx, BUCKET, new Date("2026-11-30T19:00:00.000Z"), 600);
    const since = new Date(start.getTime() - 86_400_000);
    expect(await sizer.resize(BUCKET, since)).toBe(4);
    expect(await sizer.resize(BUCKET, since, 8_000)).toBe(16);
    advance(86_400_000);
    expect(await sizer.resize(BUCKET, new Date(start.getTime() + 1))).toBe(1);
    const epochs = await readChangeShards(ctx, BUCKET);
    expect(epochs.map((epoch) => epoch.count)).toEqual([1, 16, 1]);
    // The 4 was to begin a lead after it was recorded; the 16 recorded meanwhile replaced it.
    expect(epochs[1]!.from).toBe(new Date(start.getTime() + EPOCH_LEAD_MS).toISOString());
  });

  it("records two writers' epochs at once as one after the other, even when one replaces an epoch not yet begun", async () => {
    const ctx = await table();
    const at = (seconds: number) => new Date(Date.parse("2026-12-01T12:00:00.000Z") + seconds * 1000).toISOString();
    const now = new Date(at(0));
    const serial = [
      // The 8 first, then the 2 after it; or the 2 first, then the 8 replacing both epochs not yet begun.
      [1, 8, 2],
      [1, 8],
    ];
    for (let attempt = 0; attempt < 10; attempt++) {
      const bucket = `race-${attempt}`;
      await recordChangeShards(ctx, bucket, { from: at(60), count: 4 }, "0000", now);
      await Promise.all([
        recordChangeShards(ctx, bucket, { from: at(50), count: 8 }, "0000", now),
        recordChangeShards(ctx, bucket, { from: at(70), count: 2 }, "0000", now),
      ]);
      expect(serial).toContainEqual((await readChangeShards(ctx, bucket)).map((epoch) => epoch.count));
    }
  });

  it("records a fixed setting a lead ahead, writing under the count in force until then", async () => {
    const ctx = await table();
    const start = new Date();
    const { sizer } = sizerOn(ctx, 8, start);
    const epochs = await sizer.epochsFor(BUCKET);
    expect(epochs.at(-1)).toEqual({ from: new Date(start.getTime() + EPOCH_LEAD_MS).toISOString(), count: 8 });
    expect(countAt(epochs, start.toISOString())).toBe(1);
    // A second writer with the same setting finds it recorded, and records nothing more.
    expect(await sizerOn(ctx, 8, new Date(start.getTime() + 5_000)).sizer.epochsFor(BUCKET)).toEqual(epochs);
  });

  it("is a Ledger's default, writing and reading as before for a quiet bucket", async () => {
    const ctx = await table();
    const ledger = new Ledger({ tableName: ctx.tableName, documentClient: ctx.documentClient });
    expect(ledger.changeShards).toBe("auto");
    await ledger.register(BUCKET);
    const eventTime = new Date().toISOString();
    await ledger.apply({
      kind: "upsert",
      bucket: BUCKET,
      key: "a",
      sequencer: "01",
      eventTime,
      eventName: "ObjectCreated:Put",
      state: { size: 1, etag: "e", lastModified: eventTime },
    });
    const seen: string[] = [];
    for await (const change of ledger.changes({ bucket: BUCKET, since: new Date(Date.now() - 60_000) })) seen.push(change.key);
    expect(seen).toEqual(["a"]);
    expect(await ledger.resizeChangeShards(BUCKET)).toBe(1);
    expect(await ledger.buckets()).toEqual([expect.objectContaining({ bucket: BUCKET })]);
  });

  it("a reader returns no change recorded past what its read of the epochs covers", async () => {
    const ctx = await table();
    const ledger = new Ledger({ tableName: ctx.tableName, documentClient: ctx.documentClient });
    // One change now, one just inside the read-ahead, one past it (a writer whose count this
    // reader could not know yet may have written beside it).
    const now = Date.now();
    const entries = [
      ["now", now],
      ["inside", now + READ_AHEAD_MS - 5_000],
      ["past", now + READ_AHEAD_MS + 5_000],
    ] as const;
    for (const [key, at] of entries)
      await ctx.documentClient.send(new PutCommand({ TableName: ctx.tableName, Item: toItem(createdRecord(BUCKET, key, new Date(at).toISOString()), 1) }));
    const seen: string[] = [];
    for await (const change of ledger.changes({ bucket: BUCKET, since: new Date(now - 1_000) })) seen.push(change.key);
    expect(seen).toEqual(["now", "inside"]);
  });
});
