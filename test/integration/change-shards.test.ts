/**
 * The change index's day partitions are sharded: a reader queries every shard of a day (and
 * the unsharded partition older tables wrote) and merges them in recording order. Whatever the
 * shard count, every change since T is seen exactly once, in order, across days and pages, and
 * a cursor resumes exactly.
 */
import { randomUUID } from "node:crypto";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
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
  type LedgerRecord,
} from "../../ledger/index.js";
import { listChanges, type QueryContext } from "../../ledger/queries.js";
import { takePage } from "../../ledger/paging.js";
import { changesCursor } from "../../ledger/cursor.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";

let dynamodb: TestDynamoDb;
beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamodb?.stop();
});

const BUCKET = "sharded";
const now = Date.now();

function record(key: string, recordedAt: string): LedgerRecord {
  return {
    bucket: BUCKET,
    key,
    deleted: false,
    size: 1,
    etag: "e",
    lastModified: recordedAt,
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: recordedAt,
    recordedAt,
    sequencer: "01",
  };
}

/** An item as a table with `shards` change shards writes it; `legacy`: as written before the change index was sharded. */
function itemFor(entry: { key: string; recordedAt: string; legacy: boolean }, shards: number) {
  const item = toItem(record(entry.key, entry.recordedAt));
  const day = dayOf(entry.recordedAt);
  item[ledgerTable.changeIndex.partitionKey] = entry.legacy ? changeDayKey(BUCKET, day) : changeDayKey(BUCKET, day, shardOf(entry.key, shards));
  item[ledgerTable.partitionKey] = partitionKeyOf(BUCKET, entry.key);
  return item;
}

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
      legacy: fc.boolean(),
    }),
    { selector: (entry) => entry.key, minLength: 1, maxLength: 60 },
  )
  .map((list) => list.map((entry) => ({ key: entry.key, legacy: entry.legacy, recordedAt: new Date(now - entry.offsetMs).toISOString() })));

describe("the sharded change feed", () => {
  it("returns every change since T exactly once, in recording order, whatever the shard count, through pages and cursors", async () => {
    await fc.assert(
      fc.asyncProperty(
        entries,
        fc.constantFrom(1, 3, 16),
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        fc.integer({ min: 1, max: 7 }),
        async (list, shards, sinceAgo, limit) => {
          const ctx = { ...(await tableWith(list.map((entry) => itemFor(entry, shards)))), changeShardCount: shards };
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

  it("writes each change into its key's shard of the day, and the Ledger reads it back, with the newest change across shards", async () => {
    const tableName = `changes-${randomUUID()}`;
    await dynamodb.client.send(new CreateTableCommand(createTableInput(tableName)));
    const ledger = new Ledger({ tableName, documentClient: createDocumentClient(dynamodb.client) });
    const keys = Array.from({ length: 40 }, (_, index) => `spread/${index}`);
    for (const [index, key] of keys.entries()) {
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
    const item = toItem(record("spread/0", new Date().toISOString()));
    expect(item[ledgerTable.changeIndex.partitionKey]).toBe(
      changeDayKey(BUCKET, dayOf(new Date().toISOString()), shardOf("spread/0", ledgerTable.changeIndex.shardCount)),
    );
    const seen: string[] = [];
    for await (const change of ledger.changes({ bucket: BUCKET, since: new Date(Date.now() - 60_000) })) seen.push(change.key);
    expect(seen).toEqual(keys);
    expect(await ledger.newestChange(BUCKET)).toMatchObject({ key: keys.at(-1) });
  });
});
