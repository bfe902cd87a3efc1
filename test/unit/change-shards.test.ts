/**
 * The epochs of a bucket's change shards (ledger/change-index): which count is in force at a
 * time, which counts a day is read under, and how a new epoch replaces what it overlaps. Tables
 * written before epochs had timestamps recorded them by day: those are read alike.
 */
import { describe, expect, it } from "vitest";
import { changeShardSettingSchema, countAt, countsOnDay, UNSHARDED, withEpoch, type ChangeShardEpoch } from "../../ledger/change-index/index.js";

const epochs: ChangeShardEpoch[] = [UNSHARDED, { from: "2026-11-20", count: 8 }, { from: "2026-12-01T10:15:00.000Z", count: 2 }];

describe("change shard epochs", () => {
  it("gives the count in force at a time, a legacy day-string epoch starting at that day's midnight", () => {
    expect(countAt(epochs, "2026-11-19T23:59:59.999Z")).toBe(1);
    expect(countAt(epochs, "2026-11-20T00:00:00.000Z")).toBe(8);
    expect(countAt(epochs, "2026-12-01T10:14:59.999Z")).toBe(8);
    expect(countAt(epochs, "2026-12-01T10:15:00.000Z")).toBe(2);
    expect(countAt([], "2026-12-01T10:15:00.000Z")).toBe(1);
  });

  it("reads a day under every count in force during it, and a day with no epoch as unsharded", () => {
    expect(countsOnDay(epochs, "2026-11-19")).toEqual([1]);
    expect(countsOnDay(epochs, "2026-11-25")).toEqual([8]);
    expect(countsOnDay(epochs, "2026-12-01")).toEqual([8, 2]);
    expect(countsOnDay(epochs, "2026-12-02")).toEqual([2]);
    expect(countsOnDay([{ from: "2026-12-05T00:00:00.000Z", count: 4 }], "2026-12-01")).toEqual([1]);
  });

  it("replaces an epoch not yet begun, and drops those that ended before the horizon", () => {
    const next = { from: "2026-12-01T10:14:00.000Z", count: 16 };
    expect(withEpoch(epochs, next, "0000")).toEqual([UNSHARDED, { from: "2026-11-20", count: 8 }, next]);
    // The unsharded epoch ended on 2026-11-20, before the horizon: the 8 is the oldest kept.
    expect(withEpoch(epochs, next, "2026-11-25T00:00:00.000Z")).toEqual([{ from: "2026-11-20", count: 8 }, next]);
  });

  it("takes a setting of auto or 1 to 32, from config and environments alike", () => {
    expect(["auto", "16", 4].map((value) => changeShardSettingSchema.parse(value))).toEqual(["auto", 16, 4]);
    for (const bad of ["0", "33", "2.5", "many"]) expect(changeShardSettingSchema.safeParse(bad).success).toBe(false);
  });
});
