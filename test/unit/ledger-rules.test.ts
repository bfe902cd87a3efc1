/**
 * Pure rules of the ledger at their boundaries: the change-shard protocol (ledger/change-index/
 * protocol.ts), the prior state a journal entry keeps (ledger/record.ts), and time travel's
 * refusals (ledger/errors.ts).
 */
import { describe, expect, it } from "vitest";
import { changeShardSettingSchema, countsOnDay, epochsOrUnsharded, shardsForRate, UNSHARDED, withEpoch } from "../../ledger/change-index/index.js";
import { InvalidMomentError, TimeTravelHorizonError } from "../../ledger/errors.js";
import { priorAttribute, priorFrom } from "../../ledger/record.js";

describe("the change-shard protocol", () => {
  it("takes the fewest shards, a power of two, that keep each at or under 500 units/s, at most the maximum", () => {
    expect([0, 500, 500.5, 1000, 1001, 2000, 2001].map((rate) => shardsForRate(rate))).toEqual([1, 1, 2, 2, 4, 4, 8]);
    expect(shardsForRate(1e9)).toBe(32);
    expect(shardsForRate(1e9, 8)).toBe(8);
    expect(shardsForRate(1e9, 12)).toBe(12);
  });

  it("reads no epochs recorded as one partition a day since ever", () => {
    expect(UNSHARDED).toStrictEqual({ from: "0000-00-00", count: 1 });
    for (const recorded of [undefined, [], "2", { from: "x", count: 2 }]) expect(epochsOrUnsharded(recorded)).toStrictEqual([UNSHARDED]);
    expect(epochsOrUnsharded([{ from: "x", count: 2 }])).toStrictEqual([{ from: "x", count: 2 }]);
  });

  it("reads a day under each count in force some time of it, not under one that ended as it began", () => {
    const epochs = [UNSHARDED, { from: "2026-11-21", count: 2 }, { from: "2026-11-22T12:00:00.000Z", count: 4 }];
    expect(countsOnDay(epochs, "2026-11-20")).toEqual([1]);
    expect(countsOnDay(epochs, "2026-11-21")).toEqual([2]);
    expect(countsOnDay(epochs, "2026-11-22")).toEqual([2, 4]);
    expect(countsOnDay(epochs, "2026-11-23")).toEqual([4]);
    expect(countsOnDay([{ from: "2026-11-23T00:00:00.000Z", count: 8 }], "2026-11-22")).toEqual([1]);
  });

  it("adds an epoch over any recorded from the same time or later, dropping those ended by the horizon", () => {
    const a = { from: "2026-11-01T00:00:00.000Z", count: 1 };
    const b = { from: "2026-11-10T00:00:00.000Z", count: 2 };
    const c = { from: "2026-11-20T00:00:00.000Z", count: 4 };
    expect(withEpoch([a, b], { ...b, count: 8 }, "")).toStrictEqual([a, { ...b, count: 8 }]);
    expect(withEpoch([a, b], c, "2026-11-05T00:00:00.000Z")).toStrictEqual([a, b, c]);
    // b began exactly at the horizon: a ended there, and nothing reads before it.
    expect(withEpoch([a, b], c, b.from)).toStrictEqual([b, c]);
    expect(withEpoch([a, b], c, "2026-11-10T00:00:00.001Z")).toStrictEqual([b, c]);
    expect(withEpoch([a, b], c, "2026-12-01T00:00:00.000Z")).toStrictEqual([c]);
  });

  it("names the largest count a setting may ask for", () => {
    expect(changeShardSettingSchema.safeParse(33).error?.issues[0]?.message).toBe("at most 32 change shards");
    expect(changeShardSettingSchema.parse("4")).toBe(4);
    expect(changeShardSettingSchema.parse("auto")).toBe("auto");
  });
});

describe("a journal entry's prior state", () => {
  it("keeps what time travel reads of the item replaced, and reads it back", () => {
    const live = {
      pk: "p",
      deleted: false,
      observedAt: "o",
      source: "event",
      versionId: "v",
      size: 3,
      etag: "e",
      lastModified: "l",
      seq: "s",
      tags: { a: "b" },
    };
    expect(priorAttribute(live)).toStrictEqual({
      prior: { deleted: false, observedAt: "o", source: "event", versionId: "v", size: 3, etag: "e", lastModified: "l" },
    });
    expect(priorFrom(priorAttribute(live))).toStrictEqual({
      deleted: false,
      observedAt: "o",
      source: "event",
      versionId: "v",
      size: 3,
      etag: "e",
      lastModified: "l",
    });
    const tombstone = { deleted: true, observedAt: "o", source: "reconcile", expiresAt: 5 };
    expect(priorAttribute(tombstone)).toStrictEqual({ prior: { deleted: true, observedAt: "o", source: "reconcile" } });
    expect(priorFrom(priorAttribute(tombstone))).toStrictEqual({ deleted: true, observedAt: "o", source: "reconcile" });
    expect(priorAttribute({ deleted: "yes", observedAt: "o", source: "event" }).prior).toMatchObject({ deleted: false });
    expect(priorFrom({ prior: { deleted: "yes", observedAt: "o", source: "event", size: "7" } })).toStrictEqual({
      deleted: false,
      observedAt: "o",
      source: "event",
      size: 7,
    });
  });

  it("is absent from an entry journaled before it was kept", () => {
    expect(priorFrom({})).toBeUndefined();
    expect(priorFrom({ prior: "x" })).toBeUndefined();
    expect(priorFrom({ prior: null })).toBeUndefined();
    expect(priorFrom({ prior: [] })).toBeUndefined();
  });
});

describe("time travel's refusals", () => {
  it("says whether a moment is in the future or outside what the ledger keeps, and exits as refused", () => {
    const at = new Date("2026-11-21T00:00:00.000Z");
    const future = new TimeTravelHorizonError(at, "future", undefined, "now is earlier");
    expect(future.message).toBe("2026-11-21T00:00:00.000Z is in the future: now is earlier");
    expect(future.exitCode).toBe(3);
    expect(new TimeTravelHorizonError(at, "history", at, "kept 90 days").message).toBe(
      "2026-11-21T00:00:00.000Z is outside what the ledger keeps: kept 90 days",
    );
    expect(new InvalidMomentError("not a time").exitCode).toBe(2);
  });
});
