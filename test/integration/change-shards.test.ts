/**
 * The change index's day partitions may be sharded (a stack's `changeShards`): a reader takes
 * each day's partitions from the bucket's registry epochs and merges them in recording order.
 * Whatever the shard count, and across a change of it, every change since T is seen exactly
 * once, in order, across days and pages, and a cursor resumes exactly.
 */
import { randomUUID } from "node:crypto";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, GetCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  changeDayKey,
  changeToken,
  createDocumentClient,
  createTableInput,
  dayOf,
  ledgerTable,
  Ledger,
  partitionKeyOf,
  shardOf,
  toItem,
} from "../../ledger/index.js";
import { listChanges, type QueryContext } from "../../ledger/queries.js";
import { registerBucket } from "../../ledger/buckets.js";
import { recordChangeShards } from "../../ledger/change-index/index.js";
import { takePage } from "../../ledger/paging.js";
import { changesCursor } from "../../ledger/cursor.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { createdRecord } from "../support/records.js";

let dynamodb: TestDynamoDb;
beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamodb?.stop();
});

const BUCKET = "sharded";
const now = Date.now();

const record = (key: string, recordedAt: string) => createdRecord(BUCKET, key, recordedAt);

/** An item as a writer with `shards` change shards writes it. */
const itemFor = (entry: { key: string; recordedAt: string }, shards: number) => toItem(record(entry.key, entry.recordedAt), shards);

async function tableWith(items: Record<string, unknown>[]): Promise<QueryContext & { tableName: string }> {
  const tableName = `changes-${randomUUID()}`;
  await dynamodb.client.send(new CreateTableCommand(createTableInput(tableName)));
  const documentClient = createDocumentClient(dynamodb.client);
  for (let start = 0; start < items.length; start += 25) {
    await documentClient.send(
      new BatchWriteCommand({ RequestItems: { [tableName]: items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } })) } }),
    );
  }
  return { tableName, documentClient, shardCount: ledgerTable.shardCount };
}

const entries = fc
  .uniqueArray(
    fc.record({
      key: fc.string({ minLength: 1, maxLength: 12 }).map((key) => `k/${key}`),
      // Within the last three days, to cross day partitions.
      offsetMs: fc.integer({ min: 0, max: 3 * 86_400_000 }),
    }),
    { selector: (entry) => entry.key, minLength: 1, maxLength: 60 },
  )
  .map((list) => list.map((entry) => ({ key: entry.key, recordedAt: new Date(now - entry.offsetMs).toISOString() })));

describe("the sharded change feed", () => {
  it("returns every change since T exactly once, in recording order, whatever the shard count, through pages and cursors", async () => {
    await fc.assert(
      fc.asyncProperty(
        entries,
        fc.constantFrom(1, 3, 16),
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        fc.integer({ min: 1, max: 7 }),
        async (list, shards, switchAgo, sinceAgo, limit) => {
          // The stack went from one partition a day to `shards` at `switched`: changes before it
          // were written unsharded, changes after it sharded, and the registry says so.
          const switched = new Date(now - switchAgo);
          const ctx = await tableWith(list.map((entry) => itemFor(entry, entry.recordedAt < switched.toISOString() ? 1 : shards)));
          await registerBucket(ctx, BUCKET, new Date(now - 4 * 86_400_000));
          await recordChangeShards(ctx, BUCKET, { from: switched.toISOString(), count: shards }, "0000", switched);
          const since = new Date(now - sinceAgo);
          const expected = list
            .filter((entry) => entry.recordedAt >= since.toISOString())
            .map((entry) => ({ key: entry.key, token: changeToken(entry.recordedAt, entry.key) }))
            .sort((a, b) => (a.token < b.token ? -1 : 1))
            .map((entry) => entry.key);

          const all: string[] = [];
          for await (const change of listChanges(ctx, { bucket: BUCKET, since })) all.push(change.key);
          expect(all).toEqual(expected);

          // Page by page with opaque cursors: the same keys, once each.
          const paged: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await takePage(listChanges(ctx, { bucket: BUCKET, since, ...(cursor !== undefined && { cursor }), pageSize: 2 }), limit, (last) =>
              changesCursor(BUCKET, last),
            );
            paged.push(...page.items.map((item) => item.key));
            cursor = page.cursor;
          } while (cursor !== undefined);
          expect(paged).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("writes each change into its key's shard of the day, and reads it back across a change of the shard count, the newest change included", async () => {
    const tableName = `changes-${randomUUID()}`;
    await dynamodb.client.send(new CreateTableCommand(createTableInput(tableName)));
    const documentClient = createDocumentClient(dynamodb.client);
    const unsharded = new Ledger({ tableName, documentClient, changeShards: 1 });
    const keys = Array.from({ length: 40 }, (_, index) => `spread/${index}`);
    const ctx = { tableName, documentClient, shardCount: ledgerTable.shardCount };
    let sharded: Ledger | undefined;
    for (const [index, key] of keys.entries()) {
      if (index === 20) {
        // The stack's changeShards went from 1 to 8, recorded a lead ahead that has now passed.
        const switched = new Date(Date.now() - 1);
        await recordChangeShards(ctx, BUCKET, { from: switched.toISOString(), count: 8 }, "0000", switched);
        sharded = new Ledger({ tableName, documentClient, changeShards: 8 });
      }
      const ledger = sharded ?? unsharded;
      await ledger.register(BUCKET);
      await ledger.apply({
        kind: "upsert",
        bucket: BUCKET,
        key,
        sequencer: String(index + 1).padStart(4, "0"),
        eventTime: new Date().toISOString(),
        eventName: "ObjectCreated:Put",
        state: { size: 1, etag: `e${index}`, lastModified: new Date().toISOString() },
      });
    }
    const today = dayOf(new Date().toISOString());
    const partitionOf = (shards: number) => toItem(record("spread/0", new Date().toISOString()), shards)[ledgerTable.changeIndex.partitionKey];
    expect(partitionOf(8)).toBe(changeDayKey(BUCKET, today, shardOf("spread/0", 8)));
    expect(partitionOf(1)).toBe(`${BUCKET}#${today}`);
    // Written where the epochs say: the first half in the day's one partition, the rest in their shards.
    const stored = async (key: string) =>
      (await documentClient.send(new GetCommand({ TableName: tableName, Key: { pk: partitionKeyOf(BUCKET, key), sk: key } }))).Item?.[
        ledgerTable.changeIndex.partitionKey
      ];
    expect(await stored("spread/0")).toBe(`${BUCKET}#${today}`);
    expect(await stored("spread/39")).toBe(changeDayKey(BUCKET, today, shardOf("spread/39", 8)));
    const reader = new Ledger({ tableName, documentClient });
    const seen: string[] = [];
    for await (const change of reader.changes({ bucket: BUCKET, since: new Date(Date.now() - 60_000) })) seen.push(change.key);
    expect(seen).toEqual(keys);
    expect(await reader.newestChange(BUCKET)).toMatchObject({ key: keys.at(-1) });
    expect(() => new Ledger({ tableName, documentClient, changeShards: 33 })).toThrow(/changeShards must be "auto" or an integer from 1 to 32/);
  });
});
