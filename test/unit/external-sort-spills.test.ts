/**
 * When the external sort spills and what it leaves behind (reconcile/external-sort.ts), through a
 * scratch space of its own: a run exactly the run size spills, a smaller input never touches
 * disk, every directory is given back, and a spool that is discarded stops copying.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { externalSort, spoolToDisk } from "../../reconcile/external-sort.js";
import { ScratchSpace, ScratchSpaceExceededError } from "../../reconcile/scratch.js";

let root: string;
let space: ScratchSpace;
let directories: string[];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "external-sort-"));
  space = new ScratchSpace(root, () => 1_000_000);
  directories = [];
  const open = space.directory.bind(space);
  space.directory = async (prefix) => {
    const directory = await open(prefix);
    directories.push(directory.slice(root.length + 1));
    return directory;
  };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function* numbers(values: number[]) {
  yield* values;
}
const byValue = (a: number, b: number) => a - b;
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("externalSort", () => {
  it("keeps an input smaller than a run in memory, and spills one of exactly a run", async () => {
    expect(await collect(externalSort(numbers([3, 1, 2]), byValue, 4, space))).toEqual([1, 2, 3]);
    expect(directories).toEqual([]);
    expect(await collect(externalSort(numbers([4, 3, 1, 2]), byValue, 4, space))).toEqual([1, 2, 3, 4]);
    expect(directories).toHaveLength(1);
    expect(directories[0]).toMatch(/^bucket-ledger-scratch-\d+-sort-/);
    expect(readdirSync(root)).toEqual([]);
    expect(space.usedBytes).toBe(0);
  });

  it("merges its spilled runs with what is left in memory", async () => {
    expect(await collect(externalSort(numbers([9, 8, 7, 6, 5, 4, 3]), byValue, 2, space))).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(directories).toHaveLength(1);
    expect(space.usedBytes).toBe(0);
  });

  it("names what a spill past the budget was for", async () => {
    const small = new ScratchSpace(root, () => 3);
    await expect(collect(externalSort(numbers([2, 1]), byValue, 1, small))).rejects.toThrow(
      new ScratchSpaceExceededError(3, "an unordered source's sorted runs"),
    );
    expect(readdirSync(root)).toEqual([]);
  });
});

describe("spoolToDisk", () => {
  it("copies to a spool directory of its own, reads it back, and gives it back", async () => {
    const spool = spoolToDisk(numbers([1, 2, 3]), space);
    expect(await collect(spool.read())).toEqual([1, 2, 3]);
    expect(directories[0]).toMatch(/^bucket-ledger-scratch-\d+-spool-/);
    expect(readdirSync(root)).toEqual([]);
    await spool.discard();
  });

  it("stops copying once discarded and removes what it wrote", async () => {
    let produced = 0;
    async function* endless() {
      for (;;) {
        produced++;
        yield produced;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const spool = spoolToDisk(endless(), space);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await spool.discard();
    const stoppedAt = produced;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(produced).toBe(stoppedAt);
    expect(readdirSync(root)).toEqual([]);
    expect(space.usedBytes).toBe(0);
  });

  it("names what a spool past the budget was for, and leaves nothing", async () => {
    const small = new ScratchSpace(root, () => 3);
    const spool = spoolToDisk(numbers([10, 20]), small);
    await expect(collect(spool.read())).rejects.toThrow(new ScratchSpaceExceededError(3, "the ledger's side of an unordered diff"));
    await spool.discard();
    expect(readdirSync(root)).toEqual([]);
  });
});
