/**
 * The typed client (`import { Ledger } from "bucket-ledger"`) against DynamoDB Local: cursor
 * round-trips, a change feed that spans several day partitions, the retention horizon,
 * stats, and the package entry point a consumer imports.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeHorizonError, createDocumentClient, InvalidCursorError, type IngestionRecord, type Ledger, type LedgerRecord } from "../../ledger/index.js";
import { IngestionStore } from "../../ingest/ingestion-store.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";

let dynamodb: TestDynamoDb;
beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamodb?.stop();
});

const DAY = 86_400_000;
const KEYS = ["a", "a/b", "a b", "a+b", "b/😀", "b/\uFF61", "c/日本", "k".repeat(1024), "z"];

/** A ledger whose clock the test moves, so writes land in chosen day partitions. */
async function ledgerWithClock(): Promise<{ ledger: Ledger; setNow: (date: Date) => void }> {
  let now = new Date();
  const ledger = await dynamodb.createLedger({ now: () => now });
  return { ledger, setNow: (date) => (now = date) };
}

async function put(ledger: Ledger, key: string, sequencer: string, size = 1): Promise<void> {
  await ledger.apply({
    kind: "upsert",
    bucket: "photos",
    key,
    sequencer,
    eventTime: new Date().toISOString(),
    eventName: "ObjectCreated:Put",
    state: { size, etag: `e-${size}`, lastModified: new Date().toISOString() },
  });
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe("typed client", () => {
  it("resumes a listing from any cursor with exactly the remaining objects", async () => {
    const { ledger } = await ledgerWithClock();
    for (const [i, key] of KEYS.entries()) await put(ledger, key, String(i + 1).padStart(2, "0"));
    const all = (await collect(ledger.list({ bucket: "photos" }))).map((record) => record.key);
    expect(all).toHaveLength(KEYS.length);
    for (const limit of [1, 2, 4, 8]) {
      const keys: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await ledger.listPage({ bucket: "photos", limit, ...(cursor && { cursor }) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        keys.push(...page.items.map((record) => record.key));
        cursor = page.cursor;
      } while (cursor);
      expect(keys, `limit ${limit}`).toEqual(all);
    }
    await expect(ledger.listPage({ bucket: "other", limit: 1, cursor: (await ledger.listPage({ bucket: "photos", limit: 1 })).cursor! })).rejects.toThrow(
      InvalidCursorError,
    );
  });

  it("reads changes across day partitions in recording order, deletes included, and resumes across days", async () => {
    const { ledger, setNow } = await ledgerWithClock();
    const start = Date.now() - 3 * DAY;
    const expected: string[] = [];
    for (const [i, key] of KEYS.entries()) {
      setNow(new Date(start + i * (DAY / 3))); // three changes a day, over three days
      await put(ledger, key, String(i + 1).padStart(2, "0"));
      expected.push(key);
    }
    setNow(new Date());
    await ledger.apply({ kind: "delete", bucket: "photos", key: "a", sequencer: "99", eventTime: new Date().toISOString(), eventName: "ObjectRemoved:Delete" });
    expected.push("a");
    expected.splice(0, 1); // "a" now appears once, at its latest change

    const feed: LedgerRecord[] = await collect(ledger.changes({ bucket: "photos", since: new Date(start - 1000) }));
    expect(feed.map((record) => record.key)).toEqual(expected);
    expect(feed.at(-1)).toMatchObject({ key: "a", deleted: true });
    expect(new Set(feed.map((record) => record.recordedAt.slice(0, 10))).size).toBeGreaterThanOrEqual(3);

    for (const limit of [1, 3, 5]) {
      const keys: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await ledger.changesPage({ bucket: "photos", since: new Date(start - 1000), limit, ...(cursor && { cursor }) });
        keys.push(...page.items.map((record) => record.key));
        cursor = page.cursor;
      } while (cursor);
      expect(keys, `limit ${limit}`).toEqual(expected);
    }
    const sinceSecondDay = await collect(ledger.changes({ bucket: "photos", since: new Date(start + DAY) }));
    expect(sinceSecondDay.map((record) => record.key)).toEqual(expected.slice(2));
  });

  it("refuses a since older than the retention window, naming the horizon", async () => {
    const ledger = await dynamodb.createLedger({ retentionDays: 7 });
    const since = new Date(Date.now() - 8 * DAY);
    expect(() => ledger.changes({ bucket: "photos", since })).toThrow(ChangeHorizonError);
    expect(() => ledger.changes({ bucket: "photos", since })).toThrow(new RegExp(`horizon ${ledger.changeHorizon().toISOString().slice(0, 13)}`));
  });

  it("counts objects, bytes and tombstones, and finds the newest change", async () => {
    const ledger = await dynamodb.createLedger();
    for (const [i, key] of KEYS.entries()) await put(ledger, key, String(i + 1).padStart(2, "0"), i * 10);
    await new Promise((resolve) => setTimeout(resolve, 5)); // recorded strictly after the puts
    await ledger.apply({ kind: "delete", bucket: "photos", key: "z", sequencer: "99", eventTime: new Date().toISOString(), eventName: "ObjectRemoved:Delete" });
    const progress: number[] = [];
    const stats = await ledger.stats({ bucket: "photos", onProgress: (read) => progress.push(read) });
    expect(stats).toEqual({
      bucket: "photos",
      objects: KEYS.length - 1,
      totalBytes: KEYS.slice(0, -1).reduce((sum, _key, i) => sum + i * 10, 0),
      tombstones: 1,
      newestChange: { key: "z", recordedAt: expect.any(String), deleted: true },
    });
    expect(progress.at(-1)).toBe(KEYS.length);
  });
});

describe("typed client: row ingestions", () => {
  it("lists a bucket's ingestions in key order, one key's, and only those that did not fully succeed", async () => {
    const ledger = await dynamodb.createLedger();
    const store = new IngestionStore(createDocumentClient(dynamodb.client), ledger.tableName, 86_400);
    const record = (key: string, status: IngestionRecord["status"]): IngestionRecord => ({
      bucket: "photos",
      key,
      rule: "r",
      version: "v1",
      status,
      retryable: false,
      attempts: 1,
      startedAt: "2026-12-01T00:00:00.000Z",
      updatedAt: "2026-12-01T00:00:01.000Z",
      durationMs: 1000,
      rowsRead: 2,
      rowsWritten: status === "succeeded" ? 2 : 1,
      rowsRejected: status === "succeeded" ? 0 : 1,
      rowsUnprocessed: 0,
      rowsDeleted: 0,
    });
    for (const [key, status] of [
      ["b/😀.csv", "partial"],
      ["a.csv", "succeeded"],
      ["b/\uFF61.csv", "failed"],
    ] as const)
      await store.put(record(key, status));
    const keys = async (query: Parameters<Ledger["ingestions"]>[0]) => {
      const found: string[] = [];
      for await (const ingestion of ledger.ingestions(query)) found.push(ingestion.key);
      return found;
    };
    // UTF-8 byte order: U+FF61 (EF BD A1) before U+1F600 (F0 9F 98 80).
    expect(await keys({ bucket: "photos" })).toEqual(["a.csv", "b/\uFF61.csv", "b/😀.csv"]);
    expect(await keys({ bucket: "photos", failed: true })).toEqual(["b/\uFF61.csv", "b/😀.csv"]);
    expect(await keys({ bucket: "photos", key: "a.csv" })).toEqual(["a.csv"]);
    expect(await keys({ bucket: "photos", prefix: "b/" })).toHaveLength(2);
    expect(await ledger.ingestion("photos", "a.csv")).toMatchObject({ status: "succeeded", rowsWritten: 2 });
    expect(await ledger.ingestion("photos", "never.csv")).toBeUndefined();
    // Ingestion records never show up as objects.
    expect(await ledger.listPage({ bucket: "photos", limit: 10 })).toMatchObject({ items: [] });
  });
});

describe("package entry point", () => {
  it('lets a consumer `import { Ledger } from "bucket-ledger"` after the build', async () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")], { cwd: root });
    const consumer = await mkdtemp(join(tmpdir(), "bucket-ledger-consumer-"));
    try {
      await mkdir(join(consumer, "node_modules"));
      await symlink(root, join(consumer, "node_modules", "bucket-ledger"), "dir");
      await writeFile(
        join(consumer, "main.mjs"),
        `import { Ledger, ChangeHorizonError } from "bucket-ledger";
const ledger = new Ledger({ tableName: "t", retentionDays: 1 });
let refused = false;
try { ledger.changes({ bucket: "b", since: new Date(0) }); } catch (error) { refused = error instanceof ChangeHorizonError; }
console.log(JSON.stringify({ ledger: typeof Ledger, methods: ["get", "list", "changes", "stats", "ingestion", "ingestions"].every((m) => typeof ledger[m] === "function"), refused }));
`,
      );
      const output = execFileSync(process.execPath, [join(consumer, "main.mjs")], {
        cwd: consumer,
        encoding: "utf8",
        env: { ...process.env, AWS_REGION: "us-east-1" },
      });
      expect(JSON.parse(output)).toEqual({ ledger: "function", methods: true, refused: true });
    } finally {
      await rm(consumer, { recursive: true, force: true });
    }
    // The build compiles all the package ships (tsconfig.build.json), the CLI and the component too.
  }, 120_000);
});
