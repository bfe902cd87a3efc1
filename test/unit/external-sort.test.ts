import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareUtf8 } from "../../ledger/index.js";
import { externalSort } from "../../reconcile/external-sort.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

describe("externalSort", () => {
  it("sorts any input in UTF-8 order, spilling runs to disk when larger than a run", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: "grapheme" }), { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), async (keys, runSize) => {
        const sorted = await collect(externalSort(from(keys.map((key) => ({ key }))), (a, b) => compareUtf8(a.key, b.key), runSize));
        expect(sorted.map((item) => item.key)).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 100 },
    );
  });
});
