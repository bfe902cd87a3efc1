/**
 * A batch's watermark decision (ledger/write-batch.ts) through an in-test writer: which
 * mutations carry the bucket's reconciled-through watermark, at which resolution, and how often
 * the watermark is read.
 */
import { describe, expect, it } from "vitest";
import type { ObjectMutation } from "../../ledger/index.js";
import { WriteBatch, type BatchWriter } from "../../ledger/write-batch.js";

const TIME = "2026-11-21T10:00:00.000Z";
const upsert = (bucket = "b", extra: Record<string, unknown> = {}): ObjectMutation => ({
  kind: "upsert",
  bucket,
  key: "k",
  sequencer: "0A",
  eventTime: TIME,
  eventName: "ObjectCreated:Put",
  state: { size: 1, etag: "e", lastModified: TIME },
  ...extra,
});

function writer(watermarks: Record<string, string | undefined>, failures: string[] = []) {
  const applied: ObjectMutation[] = [];
  const reads: string[] = [];
  const fake: BatchWriter = {
    apply: async (mutation) => (applied.push(mutation), { outcome: "applied", journaled: Promise.resolve() }),
    reconciledThrough: async (bucket) => {
      reads.push(bucket);
      if (failures.shift() === bucket) throw new Error(`watermark of ${bucket} unreadable`);
      return watermarks[bucket];
    },
  };
  return { fake, applied, reads };
}

describe("WriteBatch", () => {
  it("gives a create its bucket's watermark, read once per bucket", async () => {
    const { fake, applied, reads } = writer({ b: "2026-11-21T09:00:00.123Z", c: undefined });
    const batch = new WriteBatch(fake);
    await batch.apply(upsert());
    await batch.apply(upsert());
    await batch.apply(upsert("c"));
    expect(reads).toEqual(["b", "c"]);
    expect(applied).toStrictEqual([
      { ...upsert(), reconciledThrough: "2026-11-21T09:00:00.123Z" },
      { ...upsert(), reconciledThrough: "2026-11-21T09:00:00.123Z" },
      upsert("c"),
    ]);
  });

  it("compares an event stated to the second with the watermark's second", async () => {
    const { fake, applied } = writer({ b: "2026-11-21T09:00:05.678Z" });
    const batch = new WriteBatch(fake);
    await batch.apply(upsert("b", { eventTimeResolutionMs: 1000 }));
    await batch.apply(upsert("b", { eventTimeResolutionMs: 1 }));
    await batch.apply(upsert("none", { eventTimeResolutionMs: 1000 }));
    expect(applied.map((mutation) => (mutation.kind === "upsert" ? mutation.reconciledThrough : "delete"))).toEqual([
      "2026-11-21T09:00:05.000Z",
      "2026-11-21T09:00:05.678Z",
      undefined,
    ]);
    expect(applied[2]).not.toHaveProperty("reconciledThrough");
  });

  it("passes deletes and creates that state their own watermark through untouched, reading nothing", async () => {
    const { fake, applied, reads } = writer({ b: "2026-11-21T09:00:00.000Z" });
    const batch = new WriteBatch(fake);
    const own = upsert("b", { reconciledThrough: "2026-01-01T00:00:00.000Z" });
    const deletion: ObjectMutation = { kind: "delete", bucket: "b", key: "k", sequencer: "0B", eventTime: TIME, eventName: "ObjectRemoved:Delete" };
    await batch.apply(own);
    await batch.apply(deletion);
    expect(applied).toStrictEqual([own, deletion]);
    expect(reads).toEqual([]);
  });

  it("fails only the creates that needed an unreadable watermark, and reads it again for the next", async () => {
    const { fake, applied, reads } = writer({ b: "2026-11-21T09:00:00.000Z" }, ["b"]);
    const batch = new WriteBatch(fake);
    await expect(batch.apply(upsert())).rejects.toThrow("watermark of b unreadable");
    await batch.apply(upsert());
    expect(reads).toEqual(["b", "b"]);
    expect(applied).toStrictEqual([{ ...upsert(), reconciledThrough: "2026-11-21T09:00:00.000Z" }]);
  });
});
