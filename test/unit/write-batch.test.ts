/** The tracker's batch scope (ledger/write-batch.ts): one watermark read per bucket, and creates compared at their time's resolution. */
import { describe, expect, it } from "vitest";
import type { LedgerWriter, ObjectMutation, UpsertMutation } from "../../ledger/index.js";
import { WriteBatch } from "../../ledger/write-batch.js";

function fakeWriter(watermarks: Record<string, (string | Error | undefined)[]>) {
  const applied: ObjectMutation[] = [];
  const reads: string[] = [];
  const writer = {
    async apply(mutation: ObjectMutation) {
      applied.push(mutation);
      return { outcome: "applied" as const, journaled: Promise.resolve() };
    },
    async reconciledThrough(bucket: string) {
      reads.push(bucket);
      const next = watermarks[bucket]!.shift();
      if (next instanceof Error) throw next;
      return next;
    },
  } as unknown as LedgerWriter;
  return { writer, applied, reads };
}

const create = (bucket: string, key: string, extra: Partial<UpsertMutation> = {}): UpsertMutation => ({
  kind: "upsert",
  bucket,
  key,
  sequencer: "01",
  eventTime: "2026-12-04T10:00:00.000Z",
  eventName: "ObjectCreated:Put",
  state: { size: 1, etag: "e", lastModified: "2026-12-04T10:00:00.000Z" },
  ...extra,
});

describe("WriteBatch", () => {
  it("reads each bucket's watermark once and hands it to every create of the bucket", async () => {
    const { writer, applied, reads } = fakeWriter({ a: ["2026-12-04T09:00:00.123Z"], b: [undefined] });
    const batch = new WriteBatch(writer);
    await Promise.all([batch.apply(create("a", "1")), batch.apply(create("a", "2")), batch.apply(create("b", "3"))]);
    expect(reads.sort()).toEqual(["a", "b"]);
    expect(applied.map((m) => (m.kind === "upsert" ? m.reconciledThrough : "delete"))).toEqual([
      "2026-12-04T09:00:00.123Z",
      "2026-12-04T09:00:00.123Z",
      undefined,
    ]);
  });

  it("compares an event stated to the second with the watermark's second", async () => {
    const { writer, applied } = fakeWriter({ a: ["2026-12-04T09:00:00.999Z"] });
    await new WriteBatch(writer).apply(create("a", "1", { eventTimeResolutionMs: 1000 }));
    expect((applied[0] as UpsertMutation).reconciledThrough).toBe("2026-12-04T09:00:00.000Z");
  });

  it("leaves deletes and a create that states its own watermark alone, reading nothing", async () => {
    const { writer, applied, reads } = fakeWriter({ a: [] });
    const batch = new WriteBatch(writer);
    await batch.apply({ kind: "delete", bucket: "a", key: "1", sequencer: "02", eventTime: "2026-12-04T10:00:00.000Z", eventName: "ObjectRemoved:Delete" });
    await batch.apply(create("a", "2", { reconciledThrough: "2026-12-01T00:00:00.000Z" }));
    expect(reads).toEqual([]);
    expect((applied[1] as UpsertMutation).reconciledThrough).toBe("2026-12-01T00:00:00.000Z");
  });

  it("forgets a failed read, so the next create of the bucket reads again", async () => {
    const { writer, reads } = fakeWriter({ a: [new Error("throttled"), "2026-12-04T09:00:00.000Z"] });
    const batch = new WriteBatch(writer);
    await expect(batch.apply(create("a", "1"))).rejects.toThrow("throttled");
    await batch.apply(create("a", "2"));
    expect(reads).toEqual(["a", "a"]);
  });
});
