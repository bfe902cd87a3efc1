/**
 * The scratch budget's accounting (reconcile/scratch.ts): what a charge may take up to the last
 * byte, what release and remove give back, the budget fixed at the first spill, and which
 * leftovers of this process it removes.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configuredLimit, ScratchSpace, ScratchSpaceExceededError } from "../../reconcile/scratch.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "scratch-accounting-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("ScratchSpace accounting", () => {
  it("charges up to the budget's last byte and refuses one more, naming the limit in MiB and what needed it", async () => {
    const space = new ScratchSpace(root, () => 3 * 2 ** 20);
    const directory = await space.directory("sort");
    space.charge(directory, 2 * 2 ** 20, "a run");
    space.charge(directory, 2 ** 20, "a run");
    expect(space.usedBytes).toBe(3 * 2 ** 20);
    expect(() => space.charge(directory, 1, "the last run")).toThrow(new ScratchSpaceExceededError(3 * 2 ** 20, "the last run"));
    expect(() => space.charge(directory, 1, "x")).toThrow(/more scratch disk than its limit of 3 MiB to hold x; nothing was deleted/);
    expect(space.usedBytes).toBe(3 * 2 ** 20);
    expect(() => space.charge(join(root, "unknown"), 1, "x")).toThrow(`scratch directory ${join(root, "unknown")} is not open`);
    await space.remove(directory);
  });

  it("gives back what a directory held, no more, on release and remove", async () => {
    const space = new ScratchSpace(root, () => 1_000);
    const first = await space.directory("a");
    const second = await space.directory("b");
    space.charge(first, 300, "x");
    space.charge(second, 200, "y");
    space.release(first, 100);
    expect(space.usedBytes).toBe(400);
    space.release(first, 1_000);
    expect(space.usedBytes).toBe(200);
    space.charge(first, 50, "x");
    space.release(join(root, "unknown"), 50);
    expect(space.usedBytes).toBe(250);
    await space.remove(second);
    expect(space.usedBytes).toBe(50);
    expect(existsSync(second)).toBe(false);
    await space.remove(second);
    expect(space.usedBytes).toBe(50);
    space.charge(first, 950, "fits again");
    space.removeAllSync();
    expect(space.usedBytes).toBe(0);
    expect(existsSync(first)).toBe(false);
    expect(() => space.charge(first, 1, "x")).toThrow("is not open");
  });

  it("fixes its budget at the first spill: the configured limit when under the free space", async () => {
    let asked = 0;
    const space = new ScratchSpace(root, () => (asked++, 12_345));
    expect(space.budget()).toBe(12_345);
    await space.directory("a");
    expect(space.budget()).toBe(12_345);
    expect(asked).toBe(1);
    space.removeAllSync();
    const unlimited = new ScratchSpace(root, () => undefined);
    expect(unlimited.budget()).toBeGreaterThan(12_345);
  });

  it("reads an empty configured limit as none", () => {
    expect(configuredLimit("")).toBeUndefined();
    expect(() => configuredLimit("0")).toThrow('BUCKET_LEDGER_SCRATCH_LIMIT_BYTES must be a positive whole number of bytes, not "0"');
    expect(configuredLimit("1")).toBe(1);
  });

  it("removes, at its first spill, this process's directories that it does not hold (an earlier invocation's)", async () => {
    const earlier = new ScratchSpace(root, () => 1_000);
    const held = await earlier.directory("held");
    const mine = join(root, `bucket-ledger-scratch-${process.pid}-spool-old`);
    mkdirSync(mine);
    const unrelated = join(root, "bucket-ledger-scratch-x-sort-y");
    mkdirSync(unrelated);
    new ScratchSpace(root, () => 1_000).budget();
    expect(readdirSync(root)).toEqual(["bucket-ledger-scratch-x-sort-y"]);
    expect(existsSync(held)).toBe(false);
    earlier.removeAllSync();
  });
});
