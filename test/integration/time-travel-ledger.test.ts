/**
 * Time travel through the typed client against DynamoDB Local: the real writer's journal (with
 * the state each change replaced), the watermark's first snapshot, the prefix as of a moment and
 * the net change since, and the moments refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, TimeTravelHorizonError, type AsOfEntry, type DiffEntry, type ObjectMutation } from "../../ledger/index.js";
import { readTrackedSince } from "../../ledger/time-travel/index.js";
import { listCursorAfter } from "../../ledger/cursor.js";
import { takePage } from "../../ledger/paging.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";

let dynamodb: TestDynamoDb;
beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamodb?.stop();
});

const BUCKET = "travel";
const DAY = 86_400_000;
const START = Date.parse("2026-11-20T00:00:00.000Z");
const at = (days: number) => new Date(START + days * DAY);

/** A ledger whose clock the test sets: each write is recorded at the clock's time. */
async function ledgerAt(options: { historyDays: number; retentionDays?: number }) {
  let now = at(0);
  const ledger = await dynamodb.createLedger({ ...options, now: () => now });
  let sequence = 0;
  const write = async (days: number, key: string, change: { etag: string } | "delete") => {
    now = new Date(at(days).getTime() + 1_000);
    sequence += 1;
    const base = { bucket: BUCKET, key, sequencer: sequence.toString(16).padStart(16, "0"), eventTime: at(days).toISOString() };
    const mutation: ObjectMutation =
      change === "delete"
        ? { ...base, kind: "delete", eventName: "ObjectRemoved:Delete" }
        : {
            ...base,
            kind: "upsert",
            eventName: "ObjectCreated:Put",
            state: { size: change.etag.length, etag: change.etag, lastModified: at(days).toISOString() },
          };
    return { mutation, outcome: await ledger.apply(mutation) };
  };
  return { ledger, write, setNow: (days: number) => (now = at(days)) };
}

async function collect<T>(entries: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const entry of entries) all.push(entry);
  return all;
}

const view = (entries: AsOfEntry[]) =>
  Object.fromEntries(entries.map((entry) => [entry.key, entry.state === "present" ? entry.etag : `unknown: ${entry.reason}`]));
const changes = (entries: DiffEntry[]) =>
  Object.fromEntries(
    entries.map((entry) => [entry.key, entry.change === "unknown" ? "unknown" : `${entry.change} ${entry.from?.etag ?? "-"} -> ${entry.to?.etag ?? "-"}`]),
  );

describe("time travel through the typed client", () => {
  it("lists a prefix as it was, and the net change since, from one listing and the changed keys' journals", async () => {
    const { ledger, write, setNow } = await ledgerAt({ historyDays: 90 });
    await ledger.recordReconciled(BUCKET, at(0));
    await write(1, "docs/a", { etag: "a1" });
    await write(1, "docs/b", { etag: "b1" });
    await write(1, "docs/c", { etag: "c1" });
    await write(1, "other/x", { etag: "x1" });
    // T is day 2; after it, a is overwritten, b deleted, d created, c changed and changed back.
    await write(3, "docs/a", { etag: "a2" });
    await write(3, "docs/b", "delete");
    await write(3, "docs/d", { etag: "d1" });
    await write(3, "docs/c", { etag: "c2" });
    await write(4, "docs/c", { etag: "c1" });
    setNow(5);

    expect(view(await collect(ledger.asOf({ bucket: BUCKET, at: at(2), prefix: "docs/" })))).toEqual({ "docs/a": "a1", "docs/b": "b1", "docs/c": "c1" });
    expect(view(await collect(ledger.asOf({ bucket: BUCKET, at: at(3.5), prefix: "docs/" })))).toEqual({ "docs/a": "a2", "docs/c": "c2", "docs/d": "d1" });
    expect(view(await collect(ledger.asOf({ bucket: BUCKET, at: at(0.5) })))).toEqual({});
    expect(changes(await collect(ledger.diff({ bucket: BUCKET, from: at(2), prefix: "docs/" })))).toEqual({
      "docs/a": "changed a1 -> a2",
      "docs/b": "deleted b1 -> -",
      "docs/d": "created - -> d1",
    });
    expect(changes(await collect(ledger.diff({ bucket: BUCKET, from: at(2), to: at(3.5), prefix: "docs/" })))).toMatchObject({ "docs/c": "changed c1 -> c2" });
    const [a] = await collect(ledger.asOf({ bucket: BUCKET, at: at(2), prefix: "docs/a" }));
    expect(a).toEqual({
      key: "docs/a",
      state: "present",
      size: 2,
      etag: "a1",
      lastModified: at(1).toISOString(),
      since: at(1).toISOString(),
      reconstructed: false,
    });
  });

  it("pages under a work budget with nothing lost or repeated, each page reading a bounded number of journals", async () => {
    const { ledger, write, setNow } = await ledgerAt({ historyDays: 90 });
    await ledger.recordReconciled(BUCKET, at(0));
    for (const key of ["p/1", "p/2", "p/3", "p/4", "p/5", "p/6"]) await write(1, key, { etag: `${key}-1` });
    // After T: p/2 and p/4 changed, p/3 deleted, p/6 changed and changed back; p/1 and p/5 untouched.
    await write(3, "p/2", { etag: "p/2-2" });
    await write(3, "p/3", "delete");
    await write(3, "p/4", { etag: "p/4-2" });
    await write(3, "p/6", { etag: "p/6-2" });
    await write(4, "p/6", { etag: "p/6-1" });
    setNow(5);
    const whole = await collect(ledger.diff({ bucket: BUCKET, from: at(2), prefix: "p/" }));
    const pages: number[] = [];
    const paged: DiffEntry[] = [];
    let cursor: string | undefined;
    do {
      const page = await takePage(
        ledger.diff({ bucket: BUCKET, from: at(2), prefix: "p/", budget: { maxQueries: 1 }, ...(cursor && { cursor }) }),
        100,
        (entry) => listCursorAfter(BUCKET, "p/", entry.key),
      );
      pages.push(page.items.length);
      paged.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(paged).toEqual(whole);
    expect(changes(whole)).toEqual({ "p/2": "changed p/2-1 -> p/2-2", "p/3": "deleted p/3-1 -> -", "p/4": "changed p/4-1 -> p/4-2" });
    // One journal read a page: one page per changed key (p/6's yields nothing but is read), and the last.
    expect(pages.length).toBeGreaterThanOrEqual(4);
    expect(pages.every((count) => count <= 1)).toBe(true);
  });

  it("refuses a moment before the bucket's first complete reconciliation, and any before one has run", async () => {
    const { ledger, write, setNow } = await ledgerAt({ historyDays: 90 });
    await write(1, "k", { etag: "k1" });
    setNow(2);
    await expect(collect(ledger.asOf({ bucket: BUCKET, at: at(1.5) }))).rejects.toThrow(/no complete reconciliation yet/);
    await ledger.recordReconciled(BUCKET, at(1.2));
    await ledger.recordReconciled(BUCKET, at(1.8));
    expect(await readTrackedSince({ tableName: ledger.tableName, documentClient: createDocumentClient(dynamodb.client) }, BUCKET)).toBe(at(1.2).toISOString());
    const refused = await collect(ledger.asOf({ bucket: BUCKET, at: at(1.1) })).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TimeTravelHorizonError);
    expect(refused).toMatchObject({ bound: "reconciliation", earliest: at(1.2), exitCode: 3 });
    expect(view(await collect(ledger.asOf({ bucket: BUCKET, at: at(1.5) })))).toEqual({ k: "k1" });
  });

  it("knows a key's past after its older entries expired, from the state its next change replaced, through a redelivery", async () => {
    const { ledger, write, setNow } = await ledgerAt({ historyDays: 2, retentionDays: 30 });
    await ledger.recordReconciled(BUCKET, at(0));
    await write(1, "old", { etag: "v1" });
    const { mutation } = await write(10, "old", { etag: "v2" });
    // Redelivered: a duplicate, whose entry must keep the state the first delivery replaced.
    expect(await ledger.apply(mutation)).toBe("duplicate");
    setNow(11);
    const history = await ledger.history(BUCKET, "old");
    expect(history.complete).toBe(false);
    expect(history.entries).toHaveLength(1);
    expect(history.entries[0]!.prior).toMatchObject({ deleted: false, etag: "v1", observedAt: at(1).toISOString(), source: "event" });
    expect(view(await collect(ledger.asOf({ bucket: BUCKET, at: at(9.5) })))).toEqual({ old: "v1" });
  });

  it("refuses a moment past the journal's window when the reader knows it", async () => {
    const { ledger, setNow } = await ledgerAt({ historyDays: 2, retentionDays: 30 });
    await ledger.recordReconciled(BUCKET, at(0));
    setNow(11);
    await expect(collect(ledger.asOf({ bucket: BUCKET, at: at(5) }))).rejects.toMatchObject({ bound: "history", earliest: at(9) });
  });
});
