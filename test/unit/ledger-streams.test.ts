/**
 * The ledger's stream helpers at their edges: ties in the k-way merge, sources without a
 * `return`, a consumer that stops early, a source's own error object; and the boundaries of
 * origin keeping and of a listing cursor's 1,024 bytes.
 */
import { describe, expect, it } from "vitest";
import { decodeCursor, listCursorAfter } from "../../ledger/cursor.js";
import { joinByKey, mergeSorted } from "../../foundation/merge.js";
import { keptOrigin } from "../../ledger/origin.js";
import { readAhead } from "../../foundation/read-ahead.js";

/** An async iterable with `next` only, as some SDK streams are: nothing to call on early exit. */
function bare<T>(items: T[], log: string[] = []): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      let index = 0;
      return {
        next: async () => {
          log.push(`next ${index}`);
          return index < items.length ? { done: false, value: items[index++]! } : { done: true, value: undefined };
        },
      };
    },
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("mergeSorted", () => {
  it("takes the earlier source first on a tie", async () => {
    const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    const merged = await collect(
      mergeSorted(
        [
          bare([
            { key: "a", from: 0 },
            { key: "b", from: 0 },
          ]),
          bare([
            { key: "a", from: 1 },
            { key: "b", from: 1 },
          ]),
          bare([{ key: "a", from: 2 }]),
        ],
        byKey,
      ),
    );
    expect(merged.map((item) => `${item.key}${item.from}`)).toEqual(["a0", "a1", "a2", "b0", "b1"]);
  });

  it("merges sources that have no return method, and none at all", async () => {
    expect(await collect(mergeSorted([bare([1, 4]), bare([2, 3])], (a, b) => a - b))).toEqual([1, 2, 3, 4]);
    expect(await collect(mergeSorted<number>([], (a, b) => a - b))).toEqual([]);
  });
});

describe("joinByKey", () => {
  it("joins sources that have no return method", async () => {
    const pairs = await collect(joinByKey(bare([{ key: "a" }, { key: "c" }]), bare([{ key: "b" }, { key: "c" }])));
    expect(pairs.map(([a, b]) => [a?.key, b?.key])).toEqual([
      ["a", undefined],
      [undefined, "b"],
      ["c", "c"],
    ]);
  });
});

describe("readAhead", () => {
  it("rethrows the source's own error object", async () => {
    const failure = new Error("listing failed");
    async function* failing() {
      yield 1;
      throw failure;
    }
    let caught: unknown;
    try {
      await collect(readAhead(failing(), 4));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(failure);
  });

  it("stops reading a source when the consumer stops, and closes it", async () => {
    const log: string[] = [];
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < 100; i++) {
          log.push(`produced ${i}`);
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    for await (const item of readAhead(source(), 2)) {
      if (item === 1) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(true);
    expect(log.length).toBeLessThanOrEqual(5);
  });

  it("reads a source without a return method to its end, and stops one early", async () => {
    expect(await collect(readAhead(bare([1, 2, 3]), 1))).toEqual([1, 2, 3]);
    const log: string[] = [];
    for await (const item of readAhead(bare([1, 2, 3, 4, 5, 6, 7, 8], log), 1)) {
      if (item === 2) break;
    }
    expect(log.length).toBeLessThan(8);
  });
});

describe("keptOrigin", () => {
  it("keeps no source IP the event did not state, even in full", () => {
    expect(keptOrigin({ requester: "P" }, "full")).toStrictEqual({ requester: "P" });
    expect(keptOrigin({ requestId: "R", sourceIp: "ip" }, "full")).toStrictEqual({ sourceIp: "ip", requestId: "R" });
    expect(keptOrigin({ sourceIp: "ip" }, "principal")).toBeUndefined();
  });
});

describe("listing cursors", () => {
  it("take a position of exactly 1,024 UTF-8 bytes, and refuse 1,025", () => {
    const longest = "€".repeat(341) + "x";
    expect(Buffer.byteLength(longest, "utf8")).toBe(1024);
    expect(decodeCursor(listCursorAfter("b", longest, longest))).toStrictEqual({ v: 1, q: "list", b: "b", p: longest, after: longest });
    expect(() => decodeCursor(listCursorAfter("b", "", `${longest}x`))).toThrow("cursor is not a bucket-ledger cursor");
  });
});
