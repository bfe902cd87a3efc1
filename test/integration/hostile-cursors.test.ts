/**
 * Cursors a client may forge or keep too long, and requests that would read for long, against
 * DynamoDB Local through the API's handler (the one Lambda runs). The API's ledger reads through
 * a client that counts the Query requests it sends, so "cheap" is measured, not assumed.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealCursor } from "../../api/cursor-envelope.js";
import { createApiHandler, type ApiLimits } from "../../api/handler.js";
import { changesCursorAfter, createCursorKey, listCursorAfter } from "../../ledger/cursor.js";
import { createDocumentClient, InvalidCursorError, Ledger, ledgerTable, toItem, type LedgerItem, type LedgerRecord } from "../../ledger/index.js";
import { toHttpApiEvent } from "../../local/api-server.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { del, put, sqsEventOf } from "../support/events.js";
import { createdRecord } from "../support/records.js";
import { createTrackerHandler } from "../../tracker/handler.js";
import { Logger } from "@aws-lambda-powertools/logger";

const BUCKET = "photos";
const DAY = 86_400_000;

let dynamodb: TestDynamoDb;
beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamodb?.stop();
});

/** A fresh table holding the API's cursor key, as a deployed stack's does. */
async function newLedger(options: { retentionDays?: number; historyDays?: number } = {}): Promise<Ledger> {
  const ledger = await dynamodb.createLedger(options);
  await createCursorKey({ tableName: ledger.tableName, documentClient: createDocumentClient(dynamodb.client) });
  return ledger;
}

/** A ledger reading through a client that counts its Query requests. */
function countingLedger(tableName: string, options: { retentionDays?: number; historyDays?: number } = {}) {
  const client = new DynamoDBClient({ endpoint: dynamodb.emulator.endpoint, region: LOCAL_REGION, credentials: localCredentials });
  const counter = { queries: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "QueryCommand") counter.queries++;
      return next(args);
    },
    { step: "initialize", name: "countQueries" },
  );
  return { ledger: new Ledger({ tableName, documentClient: createDocumentClient(client), ...options }), counter };
}

async function putRecords(tableName: string, records: LedgerRecord[]): Promise<void> {
  const items: LedgerItem[] = records.map((record) => toItem(record, 1));
  const documentClient = createDocumentClient(dynamodb.client);
  for (let start = 0; start < items.length; start += 25) {
    await documentClient.send(
      new BatchWriteCommand({ RequestItems: { [tableName]: items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } })) } }),
    );
  }
}

function apiFor(ledger: Ledger, limits?: Partial<ApiLimits>) {
  const errors: unknown[] = [];
  const handler = createApiHandler({ ledger, buckets: [BUCKET], onError: (error) => errors.push(error), ...(limits && { limits }) });
  const get = async (path: string) => {
    const event: APIGatewayProxyEventV2 = toHttpApiEvent("GET", new URL(`http://127.0.0.1${path}`), {});
    const response = await handler(event);
    return {
      status: response.statusCode!,
      body: JSON.parse(response.body!) as { items?: LedgerRecord[]; entries?: LedgerRecord[]; cursor?: string; message?: string },
    };
  };
  return { get, errors };
}

const at = (daysAgo: number, minute = 0) => new Date(Date.now() - daysAgo * DAY + minute * 60_000).toISOString();

describe("forged and expired cursors", () => {
  it("refuses a listing cursor the API did not sign, or one altered after, with a 400", async () => {
    const base = await newLedger();
    await putRecords(base.tableName, [createdRecord(BUCKET, "a.txt", at(0)), createdRecord(BUCKET, "b.txt", at(0))]);
    const { ledger } = countingLedger(base.tableName);
    const { get, errors } = apiFor(ledger);
    // The ledger's own cursor, as a client could forge it: base64 JSON, no signature.
    const forged = [listCursorAfter(BUCKET, undefined, "a.txt"), listCursorAfter(BUCKET, undefined, ""), "bm90IGEgY3Vyc29y"];
    for (const cursor of forged) {
      const response = await get(`/buckets/${BUCKET}/objects?cursor=${encodeURIComponent(cursor)}`);
      expect(response.status, cursor).toBe(400);
    }
    const page = await get(`/buckets/${BUCKET}/objects?limit=1`);
    expect(page.status).toBe(200);
    const [version, inner, tag] = page.body.cursor!.split(".");
    const altered = `${version}.${listCursorAfter(BUCKET, undefined, "0")}.${tag}`;
    const response = await get(`/buckets/${BUCKET}/objects?cursor=${encodeURIComponent(altered)}`);
    expect(response).toMatchObject({ status: 400, body: { message: expect.stringMatching(/not one this API issued/) } });
    expect(inner).toBeDefined();
    expect(errors).toEqual([]);
  });

  it("refuses a validly signed change cursor from 2000-01-01 as expired without walking the days since", async () => {
    const base = await newLedger({ retentionDays: 30 });
    const { ledger, counter } = countingLedger(base.tableName, { retentionDays: 30 });
    const old = changesCursorAfter(BUCKET, "2000-01-01T00:00:00.000Z");

    // The ledger itself: what the API and the CLI both read through.
    await expect((async () => ledger.changesPage({ bucket: BUCKET, since: new Date(), limit: 10, cursor: old }))()).rejects.toThrow(InvalidCursorError);
    expect(counter.queries).toBeLessThan(5);

    counter.queries = 0;
    const { get } = apiFor(ledger);
    const signed = sealCursor(await ledger.cursorKey(), old);
    const response = await get(`/buckets/${BUCKET}/changes?cursor=${encodeURIComponent(signed)}`);
    expect(response).toMatchObject({ status: 400, body: { message: expect.stringMatching(/cursor expired/) } });
    expect(counter.queries).toBeLessThan(5);
  });
});

/** Follows cursors until none is returned: every page, and the items in order. */
async function follow(get: ReturnType<typeof apiFor>["get"], path: string, first: string, field: "items" | "entries" = "items", counter = { queries: 0 }) {
  const items: LedgerRecord[] = [];
  const pages: number[] = [];
  /** Queries each request sent. */
  const spent: number[] = [];
  let cursor: string | undefined;
  let query = first;
  for (let request = 0; request < 500; request++) {
    const before = counter.queries;
    const response = await get(`${path}?${query}`);
    spent.push(counter.queries - before);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const page = response.body[field]!;
    items.push(...page);
    pages.push(page.length);
    cursor = response.body.cursor;
    if (cursor === undefined) return { items, pages, spent };
    // A cursor replaces `since`; every other parameter stays.
    const kept = first.split("&").filter((part) => !part.startsWith("since="));
    query = [...kept, `cursor=${encodeURIComponent(cursor)}`].join("&");
  }
  throw new Error("the cursors never ended");
}

describe("a request's work is bounded, and its cursor resumes exactly", () => {
  it("a change feed over many days stops at its Query budget and resumes with nothing lost or repeated", async () => {
    const base = await newLedger({ retentionDays: 30 });
    // Changes on a few of the last 25 days, several on some.
    const records = [24, 24, 20, 13, 13, 13, 7, 2, 1, 0].map((daysAgo, i) => createdRecord(BUCKET, `k${i}`, at(daysAgo, -i)));
    await putRecords(base.tableName, records);
    const { ledger, counter } = countingLedger(base.tableName, { retentionDays: 30 });
    const expected: string[] = [];
    for await (const record of ledger.changes({ bucket: BUCKET, since: new Date(at(25)) })) expected.push(record.key);
    expect(expected).toHaveLength(records.length);

    const maxQueries = 3;
    const { get } = apiFor(ledger, { maxQueries });
    counter.queries = 0;
    const { items, pages } = await follow(get, `/buckets/${BUCKET}/changes`, `since=${encodeURIComponent(at(25))}&limit=1000`);
    expect(items.map((item) => item.key)).toEqual(expected);
    // Stopped on its budget: pages with fewer items than the limit, some empty, each a few Queries.
    expect(pages.length).toBeGreaterThan(5);
    expect(pages).toContain(0);
    expect(counter.queries).toBeLessThanOrEqual(pages.length * (maxQueries + 1));
  });

  it("a deadline already passed still moves each page on, and the feed resumes exactly", async () => {
    const base = await newLedger({ retentionDays: 30 });
    const records = Array.from({ length: 12 }, (_, i) => createdRecord(BUCKET, `d${i}`, at(10 - (i % 5), i)));
    await putRecords(base.tableName, records);
    const { ledger } = countingLedger(base.tableName, { retentionDays: 30 });
    const expected: string[] = [];
    for await (const record of ledger.changes({ bucket: BUCKET, since: new Date(at(11)) })) expected.push(record.key);
    const { get } = apiFor(ledger, { workMs: 0 });
    const { items, pages } = await follow(get, `/buckets/${BUCKET}/changes`, `since=${encodeURIComponent(at(11))}&limit=4`);
    expect(items.map((item) => item.key)).toEqual(expected);
    // Each request reads the day it starts in, then stops: a page per day of the 12.
    expect(pages.length).toBeGreaterThanOrEqual(11);
  });

  it("a listing through many tombstones stops at its Query budget and resumes with nothing lost or repeated", async () => {
    const base = await newLedger();
    const records = Array.from({ length: 300 }, (_, i) => {
      const record = createdRecord(BUCKET, `t/${String(i).padStart(3, "0")}`, at(0));
      // Mostly tombstones: filtered out after they are read, so pages come back thin.
      return i % 30 === 0 ? record : { ...record, deleted: true as const, size: undefined, etag: undefined };
    });
    await putRecords(base.tableName, records as LedgerRecord[]);
    const { ledger, counter } = countingLedger(base.tableName);
    const expected = records.filter((record) => !record.deleted).map((record) => record.key);
    const { get } = apiFor(ledger, { maxQueries: 1 });
    const { items, spent } = await follow(get, `/buckets/${BUCKET}/objects`, "prefix=t%2F&limit=3", "items", counter);
    expect(items.map((item) => item.key)).toEqual(expected);
    // Every shard's first page, and nothing after the budget is spent.
    expect(Math.max(...spent)).toBeLessThanOrEqual(ledgerTable.shardCount);
  });

  it("caps a page's bytes below Lambda's response limit, resuming exactly", async () => {
    const base = await newLedger();
    const records = Array.from({ length: 20 }, (_, i) => createdRecord(BUCKET, `long/${"\u0001".repeat(200)}${i}`, at(0)));
    await putRecords(base.tableName, records);
    const { ledger } = countingLedger(base.tableName);
    const { get } = apiFor(ledger, { maxItemBytes: 5_000 });
    const { items, pages } = await follow(get, `/buckets/${BUCKET}/objects`, "limit=1000");
    expect(new Set(items.map((item) => item.key))).toEqual(new Set(records.map((record) => record.key)));
    expect(items).toHaveLength(records.length);
    expect(Math.max(...pages)).toBeLessThan(records.length);
  });
});

describe("history pages", () => {
  it("pages a long history with a limit and round-trips it exactly", async () => {
    const base = await newLedger({ historyDays: 90 });
    const writer = new Ledger({ tableName: base.tableName, documentClient: createDocumentClient(dynamodb.client), historyDays: 90 });
    const tracker = createTrackerHandler({
      ledger: writer,
      lookup: { head: () => Promise.reject(new Error("no lookups")) },
      logger: new Logger({ serviceName: "hostile-cursors", logLevel: "SILENT" }),
      concurrency: 4,
    });
    for (let i = 1; i <= 23; i++) {
      const sequencer = i.toString(16).padStart(4, "0");
      const event = i % 5 === 0 ? del("a.txt", sequencer) : put("a.txt", sequencer, i);
      expect((await tracker(sqsEventOf(event))).batchItemFailures).toEqual([]);
    }
    const { ledger } = countingLedger(base.tableName);
    const whole = await ledger.history(BUCKET, "a.txt");
    expect(whole.entries).toHaveLength(23);
    const { get } = apiFor(ledger);
    const { items, pages } = await follow(get, `/buckets/${BUCKET}/history`, "key=a.txt&limit=5", "entries");
    expect(pages).toEqual([5, 5, 5, 5, 3]);
    expect(items).toEqual(JSON.parse(JSON.stringify(whole.entries)));
  });
});
