import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../ledger/cursor.js";
import { InvalidCursorError } from "../../ledger/index.js";
import { mergeSorted } from "../../foundation/merge.js";

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

describe("cursors", () => {
  it("round-trip and stay opaque", () => {
    const state = { v: 1 as const, q: "list" as const, b: "photos", p: "2026/", after: "2026/😀 b" };
    const cursor = encodeCursor(state);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(state);
  });

  it("reject anything that is not one of ours", () => {
    expect(() => decodeCursor("not a cursor")).toThrow(InvalidCursorError);
    expect(() => decodeCursor(Buffer.from('{"v":2}').toString("base64url"))).toThrow(InvalidCursorError);
  });
});

describe("mergeSorted", () => {
  it("merges sorted streams into one sorted stream, lazily", async () => {
    const merged: number[] = [];
    for await (const n of mergeSorted([from([1, 4, 9]), from([]), from([2, 3, 10]), from([5])], (a, b) => a - b)) merged.push(n);
    expect(merged).toEqual([1, 2, 3, 4, 5, 9, 10]);
  });

  it("closes every source when the consumer stops early", async () => {
    const closed: number[] = [];
    const source = (id: number, items: number[]) =>
      (async function* () {
        try {
          yield* items;
        } finally {
          closed.push(id);
        }
      })();
    for await (const n of mergeSorted([source(1, [1, 3]), source(2, [2, 4])], (a, b) => a - b)) {
      if (n === 2) break;
    }
    expect(closed.sort()).toEqual([1, 2]);
  });
});
