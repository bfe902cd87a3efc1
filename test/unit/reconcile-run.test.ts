/**
 * The one reconciliation, end to end in memory: the task worker's scan and tombstone phases,
 * checkpoints and continuations, the delete guard and failures, through an in-memory ledger
 * (the methods a run calls, nothing else) and an ordered in-memory source. The same runs against
 * DynamoDB Local and the S3 emulator are in test/integration/reconcile*.test.ts.
 */
import { describe, expect, it } from "vitest";
import { compareUtf8 } from "../../foundation/utf8-order.js";
import type { Ledger, LedgerRecord, RepairMutation } from "../../ledger/index.js";
import type { DriftRecord } from "../../reconcile/drift-record.js";
import { MaxDeleteExceededError } from "../../reconcile/errors.js";
import { reconcileBucket } from "../../reconcile/in-process.js";
import { MemoryRunStore } from "../../reconcile/memory-run-store.js";
import { Reconciliation } from "../../reconcile/reconciliation.js";
import type { RunSummary } from "../../reconcile/run-summary.js";
import type { KeyRange, ObjectSource, SourceObject } from "../../reconcile/source.js";
import { MemoryTaskQueue } from "../../reconcile/task-queue.js";

const BUCKET = "unit-bucket";
const SNAPSHOT = new Date("2026-12-04T00:00:00.000Z");
const EARLIER = "2026-12-01T00:00:00.000Z";

const inRange = (key: string, range: KeyRange = {}) =>
  (range.after === undefined || compareUtf8(key, range.after) > 0) && (range.through === undefined || compareUtf8(key, range.through) <= 0);

/** What a run asks of the ledger, kept in a map. */
class MemoryLedger {
  readonly records = new Map<string, LedgerRecord>();
  readonly repairs: string[] = [];
  watermark: string | undefined;

  put(key: string, size: number, etag: string): void {
    this.records.set(key, {
      bucket: BUCKET,
      key,
      deleted: false,
      size,
      etag,
      lastModified: EARLIER,
      cause: "ObjectCreated:Put",
      source: "event",
      observedAt: EARLIER,
      recordedAt: EARLIER,
    });
  }

  async *list(query: { after?: string; through?: string }): AsyncGenerator<LedgerRecord> {
    for (const key of [...this.records.keys()].sort(compareUtf8)) if (inRange(key, query)) yield structuredClone(this.records.get(key)!);
  }

  originExpired(): boolean {
    return false;
  }

  async repair(repair: RepairMutation): Promise<"repaired"> {
    this.repairs.push(`${repair.kind} ${repair.key}`);
    const at = repair.snapshotTime.toISOString();
    const base = { bucket: BUCKET, key: repair.key, cause: `Reconcile:${repair.kind}`, source: "reconcile" as const, observedAt: at, recordedAt: at };
    this.records.set(repair.key, repair.state ? { ...base, deleted: false, ...repair.state } : { ...base, deleted: true, expiresAt: 0 });
    return "repaired";
  }

  async register(): Promise<void> {}
  async resizeChangeShards(): Promise<number> {
    return 1;
  }
  async reconciledThrough(): Promise<string | undefined> {
    return this.watermark;
  }
  async recordReconciled(_bucket: string, snapshotTime: Date): Promise<void> {
    this.watermark = snapshotTime.toISOString();
  }

  /** The live keys with their ETags, as the bucket would list them. */
  live(): Record<string, string> {
    return Object.fromEntries([...this.records.values()].flatMap((record) => (record.deleted ? [] : [[record.key, record.etag]])));
  }
}

function sourceOf(objects: Record<string, string>, options: { failAfter?: number } = {}): ObjectSource {
  const listed: SourceObject[] = Object.entries(objects)
    .map(([key, etag]) => ({ key, size: etag.length, etag, lastModified: EARLIER }))
    .sort((a, b) => compareUtf8(a.key, b.key));
  let handedOut = 0;
  return {
    kind: "list",
    snapshotTime: SNAPSHOT,
    ordered: true,
    lagsBucket: false,
    async *objects(range) {
      for (const object of listed) {
        if (!inRange(object.key, range)) continue;
        if (options.failAfter !== undefined && ++handedOut > options.failAfter) throw new Error("listing broke");
        yield object;
      }
    },
    head: async (key) => listed.find((object) => object.key === key),
    // Three ranges, split at fixed keys, whatever is asked for.
    planRanges: async () => [{ through: "f" }, { after: "f", through: "p" }, { after: "p" }],
  };
}

/** A ledger that has missed a create (c), an overwrite (h) and a delete (x, orphaned), with keys in every range. */
function drifted() {
  const ledger = new MemoryLedger();
  for (const [key, etag] of Object.entries({ a: "a1", h: "h1", m: "m1", x: "x1", z: "z1" })) ledger.put(key, etag.length, etag);
  const bucket = { a: "a1", c: "c1", h: "h2", m: "m1", z: "z1" };
  return { ledger, bucket, asLedger: ledger as unknown as Ledger };
}

describe("reconcileBucket, the one reconciliation in one process", () => {
  it("repairs what is missing and stale, tombstones the orphan once the whole source is read, and records the watermark", async () => {
    const { ledger, bucket, asLedger } = drifted();
    const seen: DriftRecord[] = [];
    const progress: number[] = [];
    const summary = await reconcileBucket({
      ledger: asLedger,
      bucket: BUCKET,
      source: sourceOf(bucket),
      maxDeleteFraction: 0.5,
      rangeConcurrency: 2,
      onDrift: (drift) => void seen.push(drift),
      onProgress: ({ drift }) => void progress.push(drift),
    });

    expect(ledger.live()).toStrictEqual(bucket);
    expect(ledger.records.get("x")).toMatchObject({ deleted: true, cause: "Reconcile:orphaned" });
    // The orphan's tombstone comes after every scan: last.
    expect(ledger.repairs.at(-1)).toBe("orphaned x");
    expect(ledger.repairs.slice(0, -1).sort()).toStrictEqual(["missing c", "stale h"]);
    expect(ledger.watermark).toBe(SNAPSHOT.toISOString());
    expect(summary).toMatchObject({ source: "list", dryRun: false, scanned: 5, indexed: 5, missing: 1, stale: 1, orphaned: 1, repaired: 3, bytes: 10 });
    expect(summary).not.toHaveProperty("runId");
    expect(seen.map((drift) => `${drift.kind} ${drift.key}`).sort()).toStrictEqual(["missing c", "orphaned x", "stale h"]);
    expect(progress.sort()).toStrictEqual([1, 2, 3]);
  });

  it("writes nothing in a dry run, and counts the same drift", async () => {
    const { ledger, bucket, asLedger } = drifted();
    const before = structuredClone([...ledger.records]);
    const summary = await reconcileBucket({ ledger: asLedger, bucket: BUCKET, source: sourceOf(bucket), dryRun: true, maxDeleteFraction: 0.5 });
    expect([...ledger.records]).toStrictEqual(before);
    expect(ledger.watermark).toBeUndefined();
    expect(summary).toMatchObject({ dryRun: true, missing: 1, stale: 1, orphaned: 1, repaired: 0 });
  });

  it("refuses to tombstone past the delete fraction, by throwing, after the repairs that only add", async () => {
    const { ledger, bucket, asLedger } = drifted();
    // One orphan of five indexed is 20%: over 10%.
    const refused = reconcileBucket({ ledger: asLedger, bucket: BUCKET, source: sourceOf(bucket), maxDeleteFraction: 0.1 });
    await expect(refused).rejects.toStrictEqual(new MaxDeleteExceededError(1, 5, 0.1));
    expect(ledger.records.get("x")).toMatchObject({ deleted: false });
    expect(ledger.repairs.sort()).toStrictEqual(["missing c", "stale h"]);
    expect(ledger.watermark).toBeUndefined();
  });

  it("fails with the source's error and deletes nothing when a listing breaks", async () => {
    const { ledger, bucket, asLedger } = drifted();
    await expect(
      reconcileBucket({ ledger: asLedger, bucket: BUCKET, source: sourceOf(bucket, { failAfter: 2 }), maxDeleteFraction: 1, rangeConcurrency: 1 }),
    ).rejects.toThrow("listing broke");
    expect(ledger.repairs.filter((repair) => repair.startsWith("orphaned"))).toStrictEqual([]);
    expect(ledger.watermark).toBeUndefined();
  });
});

describe("a run handed over after every key, as a Lambda out of time", () => {
  it("reaches what one uninterrupted run does, continuing each task from its checkpoint", async () => {
    const { ledger, bucket, asLedger } = drifted();
    const runs = new MemoryRunStore();
    const queue = new MemoryTaskQueue();
    const finished: RunSummary[] = [];
    const reconciliation = new Reconciliation({
      ledger: asLedger,
      runs,
      queue,
      openSource: async () => sourceOf(bucket),
      checkpointIntervalMs: 0,
      leaseMarginMs: 0,
      onRunFinished: (summary) => void finished.push(summary),
    });
    const run = await reconciliation.plan({ bucket: BUCKET, source: sourceOf(bucket), spec: { kind: "list" }, tasks: 3, maxDeleteFraction: 0.5 });
    const spent = { remainingMs: () => 0 };
    const outcomes: string[] = [];
    for (let messages = queue.takeAll(), rounds = 0; messages.length > 0 && rounds < 50; messages = queue.takeAll(), rounds++)
      for (const message of messages) outcomes.push(await reconciliation.handle(message, spent));

    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ status: "succeeded", tasks: 3, scanned: 5, indexed: 5, missing: 1, stale: 1, orphaned: 1, repaired: 3 });
    expect(ledger.live()).toStrictEqual(bucket);
    expect(outcomes.filter((outcome) => outcome === "continued").length).toBeGreaterThan(3);
    const tasks = await runs.listTasks(BUCKET, run.runId);
    expect(tasks.every((task) => task.scanDone)).toBe(true);
    expect(Math.max(...tasks.map((task) => task.attempts))).toBeGreaterThan(1);
    expect(ledger.watermark).toBe(SNAPSHOT.toISOString());
  });

  it("skips a message of a finished run, and one redelivered after its task is done", async () => {
    const { bucket, asLedger } = drifted();
    const runs = new MemoryRunStore();
    const queue = new MemoryTaskQueue();
    const reconciliation = new Reconciliation({ ledger: asLedger, runs, queue, openSource: async () => sourceOf(bucket) });
    await reconciliation.plan({ bucket: BUCKET, source: sourceOf(bucket), spec: { kind: "list" }, tasks: 1, maxDeleteFraction: 0.5 });
    const roomy = { remainingMs: () => 60_000 };
    const [scan] = queue.takeAll();
    expect(await reconciliation.handle(scan!, roomy)).toBe("completed");
    expect(await reconciliation.handle(scan!, roomy)).toBe("skipped");
    const [tombstone] = queue.takeAll();
    expect(await reconciliation.handle(tombstone!, roomy)).toBe("completed");
    expect(await reconciliation.handle(tombstone!, roomy)).toBe("skipped");
    expect(await reconciliation.handle({ ...scan!, runId: "no-such-run" }, roomy)).toBe("skipped");
  });
});
