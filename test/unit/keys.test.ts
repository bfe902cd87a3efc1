import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assertValidObjectKey, changeToken, compareUtf8, InvalidObjectKeyError, ledgerTable, shardOf } from "../../ledger/index.js";

const byteOrder = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));

describe("UTF-8 byte order", () => {
  it("agrees with a byte-wise comparison of the UTF-8 encodings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(byteOrder(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it("puts astral characters after U+E000-U+FFFF, where JavaScript's < does the opposite", () => {
    const astral = "😀";
    const highBmp = "\uFF61";
    expect(astral < highBmp).toBe(true);
    expect(compareUtf8(astral, highBmp)).toBeGreaterThan(0);
    expect(compareUtf8("a", "ab")).toBeLessThan(0);
    expect(compareUtf8("same", "same")).toBe(0);
  });
});

describe("key layout", () => {
  it("places a key in a stable shard within the shard count", () => {
    const shards = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const shard = shardOf(`object-${i}`);
      expect(shard).toBe(shardOf(`object-${i}`));
      shards.add(shard);
    }
    // Spread: 2,000 keys reach every shard.
    expect(shards.size).toBe(ledgerTable.shardCount);
  });

  it("orders change tokens by time first, and makes them unique per key", () => {
    const early = changeToken("2026-11-21T10:00:00.000Z", "zzz");
    const late = changeToken("2026-11-21T10:00:00.001Z", "aaa");
    expect(early < late).toBe(true);
    expect(changeToken("2026-11-21T10:00:00.000Z", "a")).not.toBe(changeToken("2026-11-21T10:00:00.000Z", "b"));
    expect(early > "2026-11-21T10:00:00.000Z").toBe(true);
  });

  it("accepts keys of 1 to 1,024 UTF-8 bytes only", () => {
    expect(() => assertValidObjectKey("k".repeat(1024))).not.toThrow();
    expect(() => assertValidObjectKey("é".repeat(513))).toThrow(InvalidObjectKeyError);
    expect(() => assertValidObjectKey("")).toThrow(InvalidObjectKeyError);
  });
});
