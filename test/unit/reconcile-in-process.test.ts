/**
 * A reconciliation driven in one process (reconcile/in-process.ts): what it asks of the run it
 * plans (tasks, index pages, writers in flight, the run's settings), the progress it sums over
 * tasks, the encoding mismatches it keeps, and how a failure or a refusal ends it.
 */
import { describe, expect, it } from "vitest";
import { compareUtf8 } from "../../foundation/utf8-order.js";
import type { Ledger, LedgerRecord, RepairMutation } from "../../ledger/index.js";
import { MaxDeleteExceededError } from "../../reconcile/errors.js";
import { reconcileBucket, type ReconcileOptions } from "../../reconcile/in-process.js";
import { ENCODING_SAMPLE_SIZE } from "../../reconcile/run-summary.js";
import type { KeyRange, ObjectSource, SourceObject } from "../../reconcile/source.js";

const BUCKET = "bkt";
const SNAPSHOT = new Date("2026-12-04T00:00:00.000Z");
const EARLIER = "2026-12-01T00:00:00.000Z";

const inRange = (key: string, range: KeyRange = {}) =>
  (range.after === undefined || compareUtf8(key, range.after) > 0) && (range.through === undefined || compareUtf8(key, range.through) <= 0);

class MemoryLedger {
  readonly records = new Map<string, LedgerRecord>();
  readonly lists: Record<string, unknown>[] = [];
  readonly repairs: RepairMutation[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(keys: string[]) {
    for (const key of keys) {
      this.records.set(key, {
        bucket: BUCKET,
        key,
        cause: "c",
        source: "event",
        observedAt: EARLIER,
        recordedAt: EARLIER,
        deleted: false,
        size: 1,
        etag: "e",
        lastModified: EARLIER,
      });
    }
  }
  async *list(query: Record<string, unknown> & KeyRange): AsyncGenerator<LedgerRecord> {
    this.lists.push(query);
    for (const key of [...this.records.keys()].sort(compareUtf8)) if (inRange(key, query)) yield structuredClone(this.records.get(key)!);
  }
  originExpired(): boolean {
    return false;
  }
  async repair(repair: RepairMutation): Promise<"repaired"> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    this.inFlight--;
    this.repairs.push(repair);
    return "repaired";
  }
  async register(): Promise<void> {}
  async resizeChangeShards(): Promise<number> {
    return 1;
  }
  async reconciledThrough(): Promise<string | undefined> {
    return undefined;
  }
  async recordReconciled(): Promise<void> {}
}

function sourceOf(keys: string[], options: { ordered?: boolean; failOn?: string; targets?: number[] } = {}): ObjectSource {
  const listed: SourceObject[] = keys.map((key) => ({ key, size: 1, etag: "e", lastModified: EARLIER })).sort((a, b) => compareUtf8(a.key, b.key));
  return {
    kind: "list",
    snapshotTime: SNAPSHOT,
    ordered: options.ordered ?? true,
    lagsBucket: false,
    async *objects(range) {
      for (const object of listed) {
        if (!inRange(object.key, range)) continue;
        if (object.key === options.failOn) throw new Error("listing broke");
        yield object;
      }
    },
    head: async (key) => listed.find((object) => object.key === key),
    planRanges: async (target) => {
      options.targets?.push(target);
      return [{ through: "m" }, { after: "m" }];
    },
  };
}

const run = (ledger: MemoryLedger, source: ObjectSource, options: Partial<ReconcileOptions> = {}) =>
  reconcileBucket({ ledger: ledger as unknown as Ledger, bucket: BUCKET, source, maxDeleteFraction: 1, ...options });

describe("reconcileBucket", () => {
  it("plans twice the range concurrency of tasks on a source that splits, one on one that cannot", async () => {
    const targets: number[] = [];
    await run(new MemoryLedger([]), sourceOf(["a"], { targets }), { rangeConcurrency: 3 });
    expect(targets).toEqual([6]);
    const unordered = new MemoryLedger([]);
    const unorderedTargets: number[] = [];
    const summary = await run(unordered, sourceOf(["a", "z"], { ordered: false, targets: unorderedTargets }), { rangeConcurrency: 3 });
    expect(unorderedTargets).toEqual([]);
    expect(unordered.lists).toHaveLength(1);
    expect(summary).toMatchObject({ source: "list", missing: 2 });
    const byDefault: number[] = [];
    await run(new MemoryLedger([]), sourceOf(["a"], { targets: byDefault }));
    expect(byDefault).toEqual([16]);
  });

  it("reads the index in pages of 2,000 over the range concurrency, from 100 to 1,000", async () => {
    const pageSize = async (rangeConcurrency: number) => {
      const ledger = new MemoryLedger([]);
      await run(ledger, sourceOf([]), { rangeConcurrency });
      return ledger.lists[0]!.pageSize;
    };
    expect(await pageSize(1)).toBe(1000);
    expect(await pageSize(2)).toBe(1000);
    expect(await pageSize(3)).toBe(666);
    expect(await pageSize(20)).toBe(100);
    expect(await pageSize(40)).toBe(100);
  });

  it("writes with the repairs in flight asked per task", async () => {
    const keys = Array.from({ length: 12 }, (_, index) => `k${String(index).padStart(2, "0")}`);
    const one = new MemoryLedger([]);
    await run(one, sourceOf(keys, { ordered: false }), { concurrency: 1 });
    expect(one.maxInFlight).toBe(1);
    const three = new MemoryLedger([]);
    await run(three, sourceOf(keys, { ordered: false }), { concurrency: 3 });
    expect(three.maxInFlight).toBe(3);
  });

  it("sums every task's counts for its progress", async () => {
    const progress: { scanned: number; indexed: number; drift: number }[] = [];
    await run(new MemoryLedger(["b", "x", "y"]), sourceOf(["a", "b", "n", "z"]), { rangeConcurrency: 1, onProgress: (counts) => void progress.push(counts) });
    expect(progress.at(-1)).toStrictEqual({ scanned: 4, indexed: 3, drift: 5 });
    expect(progress).toHaveLength(5);
  });

  it("keeps a sample of the encoding mismatches and counts them all", async () => {
    const keys = Array.from({ length: ENCODING_SAMPLE_SIZE + 1 }, (_, index) => `k ${String(index).padStart(2, "0")}`);
    const summary = await run(new MemoryLedger(keys), sourceOf(keys.map((key) => key.replace(" ", "+"))));
    expect(summary.encodingMismatches).toBe(ENCODING_SAMPLE_SIZE + 1);
    expect(summary.encodingMismatchSample).toHaveLength(ENCODING_SAMPLE_SIZE);
    expect(summary.encodingMismatchSample[0]).toStrictEqual({ ledgerKey: "k 00", bucketKey: "k+00" });
  });

  it("reads the index side from the option given, and describes repairs with the describer given", async () => {
    const ledger = new MemoryLedger(["a"]);
    const summary = await run(ledger, sourceOf(["a"]), {
      index: async function* () {},
      describer: { fields: ["contentType"], describe: async () => ({ details: { contentType: "text/csv" } }) } as never,
    });
    expect(ledger.lists).toEqual([]);
    expect(summary.missing).toBe(1);
    expect(ledger.repairs[0]!.state).toMatchObject({ contentType: "text/csv" });
  });

  it("refuses to tombstone past the delete fraction unless forced, and writes nothing in a dry run", async () => {
    const keys = ["a", "b", "c", "d"];
    await expect(run(new MemoryLedger(keys), sourceOf(["a"]), { maxDeleteFraction: 0.5 })).rejects.toBeInstanceOf(MaxDeleteExceededError);
    const forced = new MemoryLedger(keys);
    expect(await run(forced, sourceOf(["a"]), { maxDeleteFraction: 0.5, force: true })).toMatchObject({ orphaned: 3, repaired: 3 });
    const dry = new MemoryLedger(keys);
    expect(await run(dry, sourceOf(["a"]), { dryRun: true })).toMatchObject({ dryRun: true, orphaned: 3, repaired: 0 });
    expect(dry.repairs).toEqual([]);
    await expect(run(new MemoryLedger(keys), sourceOf(["a"]), { maxDeleteFraction: undefined as never })).rejects.toBeInstanceOf(MaxDeleteExceededError);
  });

  it("throws the first task's failure, and no task tombstones after it", async () => {
    const ledger = new MemoryLedger(["q", "r"]);
    await expect(run(ledger, sourceOf(["a", "b", "z"], { failOn: "b" }), { rangeConcurrency: 1 })).rejects.toThrow("listing broke");
    expect(ledger.repairs.filter(({ kind }) => kind === "orphaned")).toEqual([]);
  });

  it("summarizes without the run's own fields", async () => {
    const summary = await run(new MemoryLedger([]), sourceOf(["a"]), { now: () => SNAPSHOT });
    for (const field of ["runId", "status", "tasks", "backfill", "sampled", "reason"]) expect(summary).not.toHaveProperty(field);
    expect(summary).toMatchObject({ bucket: BUCKET, source: "list", snapshotTime: SNAPSHOT.toISOString(), durationMs: 0 });
  });
});
