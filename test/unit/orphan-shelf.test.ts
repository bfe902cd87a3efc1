/** Where a run kept in memory holds each task's orphans: the same contract on disk and in memory. */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DiskOrphanShelf, MemoryOrphanShelf, type OrphanShelf } from "../../reconcile/orphan-shelf.js";
import { ScratchSpace, ScratchSpaceExceededError } from "../../reconcile/scratch.js";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function space(limitBytes = 1_000_000) {
  const root = mkdtempSync(join(tmpdir(), "orphan-shelf-"));
  roots.push(root);
  return { root, space: new ScratchSpace(root, () => limitBytes) };
}

async function all(shelf: OrphanShelf, after?: string) {
  const keys: string[] = [];
  for await (const key of shelf.keys(after)) keys.push(key);
  return keys;
}

describe.each([
  ["in memory", () => new MemoryOrphanShelf()],
  ["on disk", () => new DiskOrphanShelf(space().space)],
] as const)("an orphan shelf %s", (_where, shelfOf) => {
  it("gives keys back once each, in UTF-8 byte order, after a key", async () => {
    const shelf = shelfOf();
    expect(await all(shelf)).toEqual([]);
    // U+FF61 sorts before U+1F600 in UTF-8, after it in UTF-16.
    for (const key of ["b", "😀", "\uFF61", "a", "b"]) await shelf.add(key);
    expect(await all(shelf)).toEqual(["a", "b", "\uFF61", "😀"]);
    expect(await all(shelf, "b")).toEqual(["\uFF61", "😀"]);
    await shelf.add("c");
    expect(await all(shelf)).toEqual(["a", "b", "c", "\uFF61", "😀"]);
  });

  it("forgets the keys past a checkpoint, or every key", async () => {
    const shelf = shelfOf();
    for (const key of ["a", "b", "c"]) await shelf.add(key);
    await shelf.discardAfter("a");
    expect(await all(shelf)).toEqual(["a"]);
    await shelf.add("d");
    await shelf.discardAfter(undefined);
    expect(await all(shelf)).toEqual([]);
  });
});

describe("an orphan shelf on disk", () => {
  it("is charged to the scratch budget, and leaves nothing behind once disposed", async () => {
    const { root, space: scratch } = space();
    const shelf = new DiskOrphanShelf(scratch);
    await shelf.add("x/1");
    expect(scratch.usedBytes).toBe(Buffer.byteLength('"x/1"\n'));
    expect(readdirSync(root)).toHaveLength(1);
    await shelf.dispose();
    expect(scratch.usedBytes).toBe(0);
    expect(readdirSync(root)).toEqual([]);
  });

  it("refuses past the scratch budget, naming what it was holding", async () => {
    const shelf = new DiskOrphanShelf(space(10).space);
    await shelf.add("a");
    await expect(shelf.add("a-longer-key")).rejects.toThrow(ScratchSpaceExceededError);
    await expect(shelf.add("a-longer-key")).rejects.toThrow(/orphaned ledger items/);
    await shelf.dispose();
  });
});
