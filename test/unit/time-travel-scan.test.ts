/**
 * Time travel's reads (ledger/time-travel/key-scan.ts, as-of.ts) over an in-memory table: which
 * keys have their journal read (those recorded since the moment, less the clock skew), in key
 * order whatever order the journals answer in, and a key's state from its item when unchanged.
 */
import { describe, expect, it } from "vitest";
import { CLOCK_SKEW_MS } from "../../ledger/change-index/index.js";
import { toEntryItem, toStartItem } from "../../ledger/history.js";
import { partitionKeyOf } from "../../ledger/keys.js";
import { toItem, type LedgerRecord } from "../../ledger/record.js";
import { currentState, entryAsOf, listAsOf } from "../../ledger/time-travel/as-of.js";
import { scanKeys, JOURNAL_READS_IN_FLIGHT } from "../../ledger/time-travel/key-scan.js";
import { fakeLedgerTable, type Item } from "./fake-ledger-table.js";

const AT = new Date("2026-11-21T10:00:00.000Z");
const NOW = new Date("2026-11-21T12:00:00.000Z");

const record = (key: string, recordedAt: string, extra: Partial<LedgerRecord> = {}): LedgerRecord =>
  ({
    bucket: "b",
    key,
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: recordedAt,
    recordedAt,
    deleted: false,
    size: 1,
    etag: `e-${key}`,
    lastModified: recordedAt,
    ...extra,
  }) as LedgerRecord;
const item = (rec: LedgerRecord): Item => ({ ...toItem(rec), pk: partitionKeyOf("b", rec.key, 2) });

describe("a key's state from its item", () => {
  it("is the live version as recorded, reconstructed when a repair wrote it", () => {
    expect(currentState(record("k", "t", { versionId: "v" }))).toStrictEqual({
      known: true,
      exists: true,
      version: { size: 1, etag: "e-k", lastModified: "t", versionId: "v", since: "t", reconstructed: false },
    });
    expect(currentState(record("k", "t", { source: "reconcile" }))).toMatchObject({ version: { reconstructed: true } });
    expect(currentState(record("k", "t"))).not.toHaveProperty("version.versionId");
  });

  it("is absent since a tombstone's time, naming its delete marker when S3 named one", () => {
    const tombstone = { bucket: "b", key: "k", cause: "c", source: "event", observedAt: "o", recordedAt: "r", deleted: true, expiresAt: 1 } as LedgerRecord;
    expect(currentState(tombstone)).toStrictEqual({ known: true, exists: false, absent: { since: "o" } });
    expect(currentState({ ...tombstone, versionId: "dm" } as LedgerRecord)).toStrictEqual({
      known: true,
      exists: false,
      absent: { since: "o", deleteMarker: "dm" },
    });
  });

  it("lists a key present then, nothing for one absent, and an unknown with its reason", () => {
    const version = { size: 1, etag: "e", lastModified: "l", since: "s", reconstructed: false };
    expect(entryAsOf("k", { known: true, exists: true, version })).toStrictEqual({ key: "k", state: "present", ...version });
    expect(entryAsOf("k", { known: true, exists: false, absent: undefined })).toBeUndefined();
    expect(entryAsOf("k", { known: false, reason: "why" })).toStrictEqual({ key: "k", state: "unknown", reason: "why" });
  });
});

describe("scanKeys", () => {
  const skewed = new Date(AT.getTime() - CLOCK_SKEW_MS).toISOString();
  const records = [
    record("a", "2026-11-21T09:00:00.000Z"),
    record("b", skewed),
    record("c", new Date(AT.getTime() - CLOCK_SKEW_MS - 1).toISOString()),
    record("d", "2026-11-21T11:00:00.000Z"),
  ];

  it("reads the journal of each key recorded since the moment less the clock skew, over the prefix with tombstones", async () => {
    const fake = fakeLedgerTable(records.map(item));
    const ctx = { tableName: "ledger", documentClient: fake.client, shardCount: 2 };
    const seen: [string, boolean][] = [];
    for await (const value of scanKeys(ctx, { bucket: "b", since: AT, now: NOW }, (rec, history) => [rec.key, history !== undefined] as [string, boolean]))
      seen.push(value);
    expect(seen).toEqual([
      ["a", false],
      ["b", true],
      ["c", false],
      ["d", true],
    ]);
    const journals = fake.queries().filter((input) => String((input.ExpressionAttributeValues as Record<string, string>)[":pk"]).startsWith("journal#"));
    expect(journals).toHaveLength(2);
    expect(fake.queries()[0]).not.toHaveProperty("FilterExpression");
    expect(JOURNAL_READS_IN_FLIGHT).toBe(32);
  });

  it("yields what resolve returns in key order, leaving out undefined, under a prefix and after a cursor", async () => {
    const fake = fakeLedgerTable([...records, record("dd", "2026-11-21T11:00:00.000Z")].map(item));
    const ctx = { tableName: "ledger", documentClient: fake.client, shardCount: 2 };
    const keys: string[] = [];
    for await (const key of scanKeys(ctx, { bucket: "b", prefix: "d", since: AT, now: NOW, concurrency: 1 }, (rec) => (rec.key === "dd" ? undefined : rec.key)))
      keys.push(key);
    expect(keys).toEqual(["d"]);
    expect(fake.queries()[0]).toMatchObject({ ExpressionAttributeValues: { ":prefix": "d" } });
  });

  it("fails with the first journal read that fails, in key order", async () => {
    const fake = fakeLedgerTable(records.map(item), {
      onSend: ({ input }) =>
        String((input.ExpressionAttributeValues as Record<string, string>)[":pk"]).startsWith("journal#")
          ? Promise.reject(new Error("journal down"))
          : undefined,
    });
    const ctx = { tableName: "ledger", documentClient: fake.client, shardCount: 2 };
    const keys: string[] = [];
    await expect(
      (async () => {
        for await (const key of scanKeys(ctx, { bucket: "b", since: AT, now: NOW }, (rec) => rec.key)) keys.push(key);
      })(),
    ).rejects.toThrow("journal down");
    expect(keys).toEqual(["a"]);
  });
});

describe("listAsOf", () => {
  it("answers an unchanged key from its item and a changed one from its journal", async () => {
    const created = record("new", "2026-11-21T11:00:00.000Z", { sequencer: "0A" });
    const old = record("old", "2026-11-21T08:00:00.000Z");
    const fake = fakeLedgerTable([item(old), item(created), toEntryItem(created, NOW.getTime() / 1000 + 60), toStartItem(created, NOW.getTime() / 1000 + 60)]);
    const ctx = { tableName: "ledger", documentClient: fake.client, shardCount: 2 };
    const entries: unknown[] = [];
    for await (const entry of listAsOf(ctx, { bucket: "b", now: NOW }, AT, "2026-01-01T00:00:00.000Z")) entries.push(entry);
    expect(entries).toStrictEqual([
      {
        key: "old",
        state: "present",
        size: 1,
        etag: "e-old",
        lastModified: "2026-11-21T08:00:00.000Z",
        since: "2026-11-21T08:00:00.000Z",
        reconstructed: false,
      },
    ]);
  });
});
