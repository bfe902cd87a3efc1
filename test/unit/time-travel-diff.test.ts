/**
 * Time travel's net change between two moments and its horizon (ledger/time-travel/diff.ts,
 * horizon.ts; tests only): each kind of net change, the content changes counted in (from, to],
 * where the ledger's answers begin, and the exact refusal for a moment outside them.
 */
import { describe, expect, it } from "vitest";
import { InvalidMomentError, TimeTravelHorizonError } from "../../ledger/errors.js";
import { toEntryItem, toStartItem } from "../../ledger/history.js";
import { partitionKeyOf } from "../../ledger/keys.js";
import { toItem, type LedgerRecord } from "../../ledger/record.js";
import { listDiff, netChange } from "../../ledger/time-travel/diff.js";
import { assertWithinHorizon, readTrackedSince } from "../../ledger/time-travel/horizon.js";
import { fakeLedgerTable, type Item } from "./fake-ledger-table.js";

const NOW = new Date("2026-11-21T12:00:00.000Z");
const version = (etag: string, extra = {}) => ({ size: 1, etag, lastModified: "l", since: "s", reconstructed: false, ...extra });

describe("netChange", () => {
  const present = (etag: string, extra = {}) => ({ known: true as const, exists: true as const, version: version(etag, extra) });
  const absent = (marker?: string) => ({ known: true as const, exists: false as const, absent: marker ? { since: "d", deleteMarker: marker } : undefined });

  it("names a key created, deleted (with its delete marker) or changed, and nothing for one the same or absent at both", () => {
    expect(netChange("k", absent(), present("a"), 2)).toStrictEqual({ key: "k", change: "created", to: version("a"), changes: 2 });
    expect(netChange("k", present("a"), absent("dm"), 1)).toStrictEqual({
      key: "k",
      change: "deleted",
      from: version("a"),
      deletion: { since: "d", deleteMarker: "dm" },
      changes: 1,
    });
    expect(netChange("k", present("a"), absent(), 1)).toStrictEqual({ key: "k", change: "deleted", from: version("a"), changes: 1 });
    expect(netChange("k", present("a"), present("b"), 3)).toStrictEqual({ key: "k", change: "changed", from: version("a"), to: version("b"), changes: 3 });
    expect(netChange("k", present("a"), present("a", { size: 2 }), 1)).toMatchObject({ change: "changed" });
    expect(netChange("k", present("a", { versionId: "1" }), present("a", { versionId: "2" }), 1)).toMatchObject({ change: "changed" });
    expect(netChange("k", present("a"), present("a", { lastModified: "other", since: "other" }), 2)).toBeUndefined();
    expect(netChange("k", absent(), absent(), 0)).toBeUndefined();
  });
});

describe("listDiff", () => {
  const live = NOW.getTime() / 1000 + 3600;
  const created = {
    bucket: "b",
    key: "new",
    sequencer: "0A",
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: "2026-11-21T11:00:00.000Z",
    recordedAt: "2026-11-21T11:00:00.000Z",
    deleted: false,
    size: 1,
    etag: "e",
    lastModified: "2026-11-21T11:00:00.000Z",
  } as LedgerRecord;
  const old = { ...created, key: "old", sequencer: "01", observedAt: "2026-11-21T08:00:00.000Z", recordedAt: "2026-11-21T08:00:00.000Z" } as LedgerRecord;
  const items: Item[] = [
    { ...toItem(created), pk: partitionKeyOf("b", "new", 2) },
    { ...toItem(old), pk: partitionKeyOf("b", "old", 2) },
    toEntryItem(created, live),
    toStartItem(created, live),
  ];
  const diff = async (range: { from: Date; to?: Date }, trackedSince: string | undefined = "2026-01-01T00:00:00.000Z", withItems = items) => {
    const fake = fakeLedgerTable(withItems);
    const entries: unknown[] = [];
    for await (const entry of listDiff({ tableName: "ledger", documentClient: fake.client, shardCount: 2 }, { bucket: "b", now: NOW }, range, trackedSince))
      entries.push(entry);
    return entries;
  };
  const createdEntry = {
    key: "new",
    change: "created",
    to: { size: 1, etag: "e", lastModified: "2026-11-21T11:00:00.000Z", since: "2026-11-21T11:00:00.000Z", reconstructed: false },
    changes: 1,
  };

  it("reports a key created since the first moment, up to now or to a second moment that includes it", async () => {
    expect(await diff({ from: new Date("2026-11-21T10:00:00.000Z") })).toStrictEqual([createdEntry]);
    expect(await diff({ from: new Date("2026-11-21T10:00:00.000Z"), to: new Date("2026-11-21T11:00:00.000Z") })).toStrictEqual([createdEntry]);
    expect(await diff({ from: new Date("2026-11-21T10:00:00.000Z"), to: new Date("2026-11-21T10:59:59.999Z") })).toStrictEqual([]);
    expect(await diff({ from: new Date("2026-11-21T11:00:00.000Z") })).toStrictEqual([]);
  });

  it("says a key's change is unknown, with the reason, when the ledger cannot vouch for a moment", async () => {
    const withoutStart = items.filter((item) => item.sk !== "start");
    const [entry] = (await diff({ from: new Date("2026-11-21T10:00:00.000Z") }, undefined, withoutStart)) as { key: string; change: string; reason: string }[];
    expect(entry).toMatchObject({ key: "new", change: "unknown" });
    expect(entry!.reason.length).toBeGreaterThan(0);
    const [later] = (await diff({ from: new Date("2026-11-21T10:00:00.000Z"), to: new Date("2026-11-21T11:30:00.000Z") }, undefined, withoutStart)) as {
      change: string;
    }[];
    expect(later).toMatchObject({ change: "unknown" });
  });
});

describe("the horizon", () => {
  const settings = { retentionDays: 30, historyDays: 90 };
  const tracked = "2026-11-01T00:00:00.000Z";

  it("reads where the ledger's answers begin: the first complete reconciliation, else the latest", async () => {
    const read = async (item?: Item) => {
      const fake = fakeLedgerTable(item ? [{ pk: "reconcile#b", sk: "watermark", ...item }] : []);
      const since = await readTrackedSince({ tableName: "ledger", documentClient: fake.client }, "b");
      expect(fake.sent[0]!.input).toStrictEqual({ TableName: "ledger", Key: { pk: "reconcile#b", sk: "watermark" }, ConsistentRead: true });
      return since;
    };
    expect(await read({ firstReconciledThrough: "f", reconciledThrough: "l" })).toBe("f");
    expect(await read({ reconciledThrough: "l" })).toBe("l");
    expect(await read({ firstReconciledThrough: 5, reconciledThrough: 6 })).toBeUndefined();
    expect(await read()).toBeUndefined();
  });

  it("answers for a moment from the latest of its bounds through now, inclusive", () => {
    expect(assertWithinHorizon(NOW, NOW, settings, tracked, "b")).toBe(NOW.toISOString());
    expect(assertWithinHorizon(new Date(tracked), NOW, settings, tracked, "b")).toBe(tracked);
    const retentionEdge = new Date(NOW.getTime() - 30 * 86_400_000);
    expect(assertWithinHorizon(retentionEdge, NOW, settings, "2026-01-01T00:00:00.000Z", "b")).toBe(retentionEdge.toISOString());
  });

  it("refuses a moment that is not one, or in the future", () => {
    expect(() => assertWithinHorizon(new Date("x"), NOW, settings, tracked, "b")).toThrow(
      new InvalidMomentError("time travel needs a valid moment (ISO-8601, e.g. 2026-12-03T09:00:00Z)"),
    );
    const future = new Date(NOW.getTime() + 1);
    expect(() => assertWithinHorizon(future, NOW, settings, tracked, "b")).toThrow(
      new TimeTravelHorizonError(future, "future", undefined, `the ledger answers for moments up to now (${NOW.toISOString()})`),
    );
  });

  it("names the binding bound: tombstones kept, the journal's days or its absence, the first reconciliation", () => {
    const refusal = (at: Date, over: Partial<typeof settings> & { historyDays?: number }, since: string | null = tracked) => {
      try {
        assertWithinHorizon(at, NOW, { ...settings, ...over }, since ?? undefined, "b");
      } catch (error) {
        return error as TimeTravelHorizonError;
      }
      throw new Error("not refused");
    };
    const early = new Date("2026-10-01T00:00:00.000Z");
    const retention = refusal(early, {}, "2026-01-01T00:00:00.000Z");
    expect(retention.message).toBe(
      "2026-10-01T00:00:00.000Z is outside what the ledger keeps: tombstones are kept 30 days, so a deletion since then may be gone; the earliest moment answered is 2026-10-22T12:00:00.000Z",
    );
    expect(retention).toMatchObject({ bound: "retention", earliest: new Date("2026-10-22T12:00:00.000Z") });
    expect(refusal(early, { historyDays: 7 }, "2026-01-01T00:00:00.000Z").message).toBe(
      "2026-10-01T00:00:00.000Z is outside what the ledger keeps: the journal keeps each change 7 days; the earliest moment answered is 2026-11-14T12:00:00.000Z",
    );
    expect(refusal(early, { historyDays: 0 }, "2026-01-01T00:00:00.000Z").message).toBe(
      "2026-10-01T00:00:00.000Z is outside what the ledger keeps: the journal is off; the earliest moment answered is 2026-11-21T12:00:00.000Z",
    );
    const { historyDays: _unused, ...withoutJournal } = settings;
    expect(() => assertWithinHorizon(new Date("2026-11-10T00:00:00.000Z"), NOW, withoutJournal as typeof settings, tracked, "b")).not.toThrow();
    expect(refusal(new Date("2026-10-31T23:59:59.999Z"), {}).message).toBe(
      "2026-10-31T23:59:59.999Z is outside what the ledger keeps: the ledger has held every key of b since its first complete reconciliation; the earliest moment answered is 2026-11-01T00:00:00.000Z",
    );
    expect(refusal(NOW, {}, null)).toMatchObject({
      bound: "reconciliation",
      earliest: undefined,
      message: `${NOW.toISOString()} is outside what the ledger keeps: b has no complete reconciliation yet, and until one the ledger may not hold every key (run \`bucket-ledger reconcile b\`)`,
    });
    // Bounds that begin at once: the first named binds.
    expect(refusal(early, { historyDays: 30 }, "2026-01-01T00:00:00.000Z").bound).toBe("retention");
  });
});
