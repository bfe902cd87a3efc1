/**
 * The reader's time travel and pass-through reads (ledger/reader.ts, through ledger/ledger.ts)
 * over an in-memory table: the moments it refuses before reading, the settings the horizon takes
 * from the ledger's options, what the scans are given, and where each read goes.
 */
import { describe, expect, it } from "vitest";
import { InvalidMomentError, TimeTravelHorizonError } from "../../ledger/errors.js";
import { ingestionItem } from "../../ledger/ingestions.js";
import { partitionKeyOf } from "../../ledger/keys.js";
import { Ledger } from "../../ledger/ledger.js";
import { listCursorAfter } from "../../ledger/cursor.js";
import { toItem, type LedgerRecord } from "../../ledger/record.js";
import { fakeLedgerTable, type Item } from "./fake-ledger-table.js";

const NOW = new Date("2026-11-21T12:00:00.000Z");
const live = (key: string): LedgerRecord => ({
  bucket: "bkt",
  key,
  cause: "c",
  source: "event",
  observedAt: "2026-11-01T00:00:00.000Z",
  recordedAt: "2026-11-01T00:00:00.000Z",
  deleted: false,
  size: 2,
  etag: `e-${key}`,
  lastModified: "2026-11-01T00:00:00.000Z",
});
const watermark = { pk: "reconcile#bkt", sk: "watermark", reconciledThrough: "2026-11-01T00:00:00.000Z" };

function ledgerOver(items: Item[], options: { historyDays?: number } = {}) {
  const fake = fakeLedgerTable(items);
  return { ...fake, ledger: new Ledger({ tableName: "ledger", documentClient: fake.client, now: () => NOW, retentionDays: 30, ...options }) };
}
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
const keys = ["a/1", "a/2", "b/1"];
const items = [watermark, ...keys.map((key) => ({ ...toItem(live(key)), pk: partitionKeyOf("bkt", key) }))];

describe("LedgerReader time travel", () => {
  it("lists the prefix as it was, after a cursor, from each key's item when unchanged since", async () => {
    const { ledger } = ledgerOver(items);
    const entries = await collect(ledger.asOf({ bucket: "bkt", at: new Date("2026-11-10T00:00:00.000Z"), prefix: "a/", concurrency: 1 }));
    expect(entries.map(({ key }) => key)).toEqual(["a/1", "a/2"]);
    expect(entries[0]).toMatchObject({ state: "present", etag: "e-a/1" });
    const resumed = await collect(ledger.asOf({ bucket: "bkt", at: new Date("2026-11-10T00:00:00.000Z"), cursor: listCursorAfter("bkt", undefined, "a/2") }));
    expect(resumed.map(({ key }) => key)).toEqual(["b/1"]);
  });

  it("refuses a moment outside the horizon before listing, the journal's days among its bounds", async () => {
    const { ledger, queries } = ledgerOver(items, { historyDays: 7 });
    await expect(collect(ledger.asOf({ bucket: "bkt", at: new Date("2026-11-10T00:00:00.000Z") }))).rejects.toThrow(
      /the journal keeps each change 7 days; the earliest moment answered is 2026-11-14T12:00:00.000Z/,
    );
    expect(queries()).toEqual([]);
    await expect(collect(ledgerOver([]).ledger.asOf({ bucket: "bkt", at: NOW }))).rejects.toBeInstanceOf(TimeTravelHorizonError);
  });

  it("diffs between two moments, or to now, refusing a range whose first moment is not before its second", async () => {
    const { ledger, queries } = ledgerOver(items);
    const from = new Date("2026-11-10T00:00:00.000Z");
    await expect(collect(ledger.diff({ bucket: "bkt", from, to: from }))).rejects.toThrow(
      new InvalidMomentError("the first moment (2026-11-10T00:00:00.000Z) must come before the second (2026-11-10T00:00:00.000Z)"),
    );
    await expect(collect(ledger.diff({ bucket: "bkt", from, to: new Date(from.getTime() - 1) }))).rejects.toThrow(InvalidMomentError);
    expect(queries()).toEqual([]);
    expect(await collect(ledger.diff({ bucket: "bkt", from, to: new Date("2026-11-11T00:00:00.000Z"), prefix: "a/" }))).toEqual([]);
    expect(await collect(ledger.diff({ bucket: "bkt", from }))).toEqual([]);
    expect(queries().at(-1)).not.toHaveProperty("ExpressionAttributeValues.:prefix");
    await expect(collect(ledger.diff({ bucket: "bkt", from, to: new Date(NOW.getTime() + 1) }))).rejects.toThrow(/is in the future/);
    await expect(collect(ledger.diff({ bucket: "bkt", from: new Date("2026-10-01T00:00:00.000Z") }))).rejects.toThrow(
      /since its first complete reconciliation; the earliest moment answered is 2026-11-01T00:00:00.000Z/,
    );
  });
});

describe("LedgerReader pass-through reads", () => {
  it("reads a key, the buckets, a bucket's stats with progress, and its ingestions", async () => {
    const ingestion = ingestionItem({
      bucket: "bkt",
      key: "a/1",
      rule: "r",
      version: "v",
      status: "failed",
      retryable: false,
      attempts: 1,
      startedAt: "s",
      updatedAt: "u",
      durationMs: 1,
      rowsRead: 0,
      rowsWritten: 0,
      rowsRejected: 0,
      rowsUnprocessed: 0,
      rowsDeleted: 0,
    });
    const { ledger } = ledgerOver([...items, { pk: "registry#buckets", sk: "bkt", bucket: "bkt", firstSeenAt: "f" }, ingestion]);
    expect(await ledger.get("bkt", "a/2")).toStrictEqual(live("a/2"));
    expect(await ledger.buckets()).toStrictEqual([{ bucket: "bkt", firstSeenAt: "f" }]);
    const progress: number[] = [];
    expect(await ledger.stats({ bucket: "bkt", onProgress: (read) => progress.push(read) })).toMatchObject({ objects: 3, totalBytes: 6, tombstones: 0 });
    expect(Math.max(...progress)).toBe(3);
    expect(await ledger.stats({ bucket: "bkt" })).toMatchObject({ objects: 3 });
    expect(await ledger.ingestion("bkt", "a/1")).toMatchObject({ status: "failed" });
    expect((await collect(ledger.ingestions({ bucket: "bkt", failed: true }))).map(({ key }) => key)).toEqual(["a/1"]);
  });

  it("reads the API's cursor key", async () => {
    const { ledger } = ledgerOver([{ pk: "registry#api", sk: "cursor-key", secret: "ab".repeat(32) }]);
    expect(await ledger.cursorKey()).toStrictEqual(Buffer.from("ab".repeat(32), "hex"));
  });
});
