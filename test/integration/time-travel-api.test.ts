/**
 * Time travel through the HTTP API's handler (the one Lambda runs) against DynamoDB Local:
 * `objects?asOf=` and `diff?from=&to=`, paged with signed cursors, unknown keys in the page,
 * moments outside the horizon refused with 422 naming the bound, bad times 400 naming the
 * parameter. The ledger is written by the tracker's handler from S3 events with explicit times.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiHandler } from "../../api/handler.js";
import { listCursorAfter } from "../../ledger/cursor.js";
import type { Ledger } from "../../ledger/index.js";
import { toHttpApiEvent } from "../../local/api-server.js";
import type { ObjectLookup } from "../../s3/object-lookup.js";
import { createTrackerHandler } from "../../tracker/handler.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { del, put, sqsEventOf, type S3EventSpec } from "../support/events.js";

const BUCKET = "travel";
const UNRECONCILED = "never-reconciled";
const HOUR = 3_600_000;

let dynamodb: TestDynamoDb;
let ledger: Ledger;
let base: number;
const ago = (hours: number) => new Date(base - hours * HOUR).toISOString();
const at = (hours: number, spec: S3EventSpec): S3EventSpec => ({ ...spec, eventTime: ago(hours) });
const noLookup: ObjectLookup = { head: () => Promise.reject(new Error("no S3 lookups expected in this test")) };

beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
  base = Date.now();
  ledger = await dynamodb.createLedger({ historyDays: 90 });
  await ledger.recordReconciled(BUCKET, new Date(ago(10)));
  const handler = createTrackerHandler({
    ledger,
    lookup: noLookup,
    logger: new Logger({ serviceName: "time-travel-api", logLevel: "SILENT" }),
    concurrency: 4,
  });
  const events = [
    ...["a", "b", "c", "e", "f"].map((name) => at(9, put(`docs/${name}.txt`, "01", 1, `${name}1`, BUCKET))),
    at(7, put("docs/a.txt", "02", 2, "a2", BUCKET)),
    at(7, del("docs/b.txt", "02", BUCKET)),
    at(7, put("docs/d.txt", "01", 5, "d1", BUCKET)),
    at(7, put("docs/c.txt", "02", 3, "c2", BUCKET)),
    at(5, put("docs/c.txt", "03", 1, "c1", BUCKET)),
    at(1, put("late.txt", "01", 1, "l1", UNRECONCILED)),
  ];
  for (const spec of events) expect((await handler(sqsEventOf(spec))).batchItemFailures).toEqual([]);
  // Found by reconciliation 4 hours ago, last modified 9 hours ago: unknown between the horizon and then.
  await ledger.repair({
    kind: "missing",
    bucket: BUCKET,
    key: "docs/lost.txt",
    state: { size: 6, etag: "lost1", lastModified: ago(9) },
    snapshotTime: new Date(ago(4)),
  });
}, 120_000);

afterAll(async () => {
  await dynamodb?.stop();
});

interface Body {
  items?: Record<string, unknown>[];
  cursor?: string;
  error?: string;
  message?: string;
  bound?: string;
  earliest?: string;
  asOf?: string;
  from?: string;
}

function api() {
  const errors: unknown[] = [];
  const handler = createApiHandler({
    ledger,
    buckets: [BUCKET, UNRECONCILED],
    cursorKey: async () => new Uint8Array(32).fill(7),
    onError: (error) => errors.push(error),
  });
  const get = async (path: string, parameters: Record<string, string>) => {
    const url = new URL(`http://127.0.0.1/buckets/${path}`);
    for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
    const response = await handler(toHttpApiEvent("GET", url, {}));
    return { status: response.statusCode!, body: JSON.parse(response.body!) as Body };
  };
  return { get, errors };
}

const view = (items: Record<string, unknown>[]) => Object.fromEntries(items.map((item) => [item.key, item.state === "present" ? item.etag : item.state]));
const changes = (items: Record<string, unknown>[]) =>
  Object.fromEntries(
    items.map((item) => [
      item.key,
      item.change === "unknown"
        ? "unknown"
        : `${item.change as string} ${(item.from as { etag?: string } | undefined)?.etag ?? "-"} -> ${(item.to as { etag?: string } | undefined)?.etag ?? "-"}`,
    ]),
  );

describe("GET /buckets/{bucket}/objects?asOf=", () => {
  it("answers the prefix as it was, each entry with its version then, and says the moment", async () => {
    const { get, errors } = api();
    const t1 = await get(`${BUCKET}/objects`, { asOf: ago(8), prefix: "docs/" });
    expect(t1.status).toBe(200);
    expect(t1.body.asOf).toBe(ago(8));
    expect(view(t1.body.items!)).toEqual({
      "docs/a.txt": "a1",
      "docs/b.txt": "b1",
      "docs/c.txt": "c1",
      "docs/e.txt": "e1",
      "docs/f.txt": "f1",
      "docs/lost.txt": "lost1",
    });
    expect(t1.body.items![0]).toEqual({ key: "docs/a.txt", state: "present", size: 1, etag: "a1", lastModified: ago(9), since: ago(9), reconstructed: false });
    expect(t1.body.cursor).toBeUndefined();
    const t2 = await get(`${BUCKET}/objects`, { asOf: ago(6), prefix: "docs/" });
    expect(view(t2.body.items!)).toEqual({
      "docs/a.txt": "a2",
      "docs/c.txt": "c2",
      "docs/d.txt": "d1",
      "docs/e.txt": "e1",
      "docs/f.txt": "f1",
      "docs/lost.txt": "lost1",
    });
    expect(errors).toEqual([]);
  });

  it("pages with signed cursors: following them yields exactly the whole answer, in key order", async () => {
    const { get } = api();
    const keys: unknown[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await get(`${BUCKET}/objects`, { asOf: ago(8), prefix: "docs/", limit: "4", ...(cursor && { cursor }) });
      expect(page.status).toBe(200);
      expect(page.body.items!.length).toBeLessThanOrEqual(4);
      keys.push(...page.body.items!.map((item) => item.key));
      cursor = page.body.cursor;
      if (cursor) expect(cursor).toMatch(/^v1\./);
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(keys).toEqual(["docs/a.txt", "docs/b.txt", "docs/c.txt", "docs/e.txt", "docs/f.txt", "docs/lost.txt"]);
    // The ledger's own cursor, unsigned, is refused as everywhere else.
    const forged = await get(`${BUCKET}/objects`, { asOf: ago(8), prefix: "docs/", cursor: listCursorAfter(BUCKET, "docs/", "docs/c.txt") });
    expect(forged).toMatchObject({ status: 400, body: { error: "BadRequest", message: expect.stringMatching(/not one this API issued/) } });
  });

  it("includes a key it cannot vouch for as an entry with its reason, never dropping it", async () => {
    const { get } = api();
    const page = await get(`${BUCKET}/objects`, { asOf: ago(9.5) });
    expect(page.status).toBe(200);
    expect(page.body.items).toEqual([{ key: "docs/lost.txt", state: "unknown", reason: expect.stringMatching(/did not see/) }]);
  });

  it("refuses a moment before the first reconciliation, or any for a bucket never reconciled, with 422 naming the bound", async () => {
    const { get, errors } = api();
    const early = await get(`${BUCKET}/objects`, { asOf: ago(11) });
    expect(early).toMatchObject({ status: 422, body: { error: "OutsideHorizon", bound: "reconciliation", earliest: ago(10) } });
    expect(early.body.message).toMatch(/outside what the ledger keeps/);
    const never = await get(`${UNRECONCILED}/objects`, { asOf: ago(0.5) });
    expect(never).toMatchObject({ status: 422, body: { bound: "reconciliation", message: expect.stringMatching(/no complete reconciliation yet/) } });
    expect(never.body.earliest).toBeUndefined();
    const future = await get(`${BUCKET}/objects`, { asOf: new Date(base + 24 * HOUR).toISOString() });
    expect(future).toMatchObject({ status: 422, body: { bound: "future" } });
    expect(errors).toEqual([]);
  });

  it("refuses a time it cannot read with 400 naming the parameter", async () => {
    const { get } = api();
    expect(await get(`${BUCKET}/objects`, { asOf: "yesterday" })).toMatchObject({
      status: 400,
      body: { message: "asOf must be an ISO-8601 time such as 2026-11-21T09:00:00Z" },
    });
  });
});

describe("GET /buckets/{bucket}/diff", () => {
  it("answers each key's net change since a moment, omitting a key changed and changed back", async () => {
    const { get, errors } = api();
    const page = await get(`${BUCKET}/diff`, { from: ago(8), prefix: "docs/" });
    expect(page.status).toBe(200);
    expect(page.body.from).toBe(ago(8));
    expect(changes(page.body.items!)).toEqual({ "docs/a.txt": "changed a1 -> a2", "docs/b.txt": "deleted b1 -> -", "docs/d.txt": "created - -> d1" });
    const between = await get(`${BUCKET}/diff`, { from: ago(8), to: ago(6), prefix: "docs/" });
    expect(changes(between.body.items!)).toEqual({
      "docs/a.txt": "changed a1 -> a2",
      "docs/b.txt": "deleted b1 -> -",
      "docs/c.txt": "changed c1 -> c2",
      "docs/d.txt": "created - -> d1",
    });
    expect(errors).toEqual([]);
  });

  it("pages one change at a time, resuming after the last key", async () => {
    const { get } = api();
    const keys: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = await get(`${BUCKET}/diff`, { from: ago(8), prefix: "docs/", limit: "1", ...(cursor && { cursor }) });
      expect(page.body.items!.length).toBeLessThanOrEqual(1);
      keys.push(...page.body.items!.map((item) => item.key));
      cursor = page.body.cursor;
    } while (cursor);
    expect(keys).toEqual(["docs/a.txt", "docs/b.txt", "docs/d.txt"]);
  });

  it("refuses bad moments with 400 naming the parameter, and moments outside the horizon with 422", async () => {
    const { get } = api();
    expect(await get(`${BUCKET}/diff`, {})).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^from must be an ISO-8601 time/) } });
    expect(await get(`${BUCKET}/diff`, { from: ago(8), to: "soon" })).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/^to must be an ISO-8601 time/) },
    });
    expect(await get(`${BUCKET}/diff`, { from: ago(6), to: ago(8) })).toMatchObject({ status: 400, body: { message: "from must come before to" } });
    expect(await get(`${BUCKET}/diff`, { from: ago(12) })).toMatchObject({ status: 422, body: { error: "OutsideHorizon", bound: "reconciliation" } });
  });
});
