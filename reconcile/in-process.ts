/**
 * A reconciliation driven to its end in one process (the CLI, benchmarks, tests): the run the
 * deployed function makes (reconciliation.ts: plan, range tasks, delete guard, tombstones, one
 * final status), kept in memory instead of DynamoDB and SQS, with its tasks worked
 * `rangeConcurrency` at a time and no time budget. A delete guard's refusal is thrown, as is
 * the first task's failure (the other tasks stop at their next key, having deleted nothing).
 */
import pLimit from "p-limit";
import type { Ledger, LedgerRecord } from "../ledger/index.js";
import type { ObjectDescriber } from "../s3/object-details.js";
import { deleteGuard } from "./delete-guard.js";
import type { EncodingMismatch } from "./drift-checks.js";
import type { DriftRecord } from "./drift-record.js";
import { Reconciliation } from "./reconciliation.js";
import { MemoryRunStore } from "./memory-run-store.js";
import { DiskOrphanShelf } from "./orphan-shelf.js";
import { RECONCILE_DEFAULTS } from "./defaults.js";
import type { RunCounts } from "./run-model.js";
import { ENCODING_SAMPLE_SIZE, summarizeRun, type ReconcileSummary } from "./run-summary.js";
import type { KeyRange, ObjectSource } from "./source.js";
import { MemoryTaskQueue } from "./task-queue.js";

export interface ReconcileOptions {
  ledger: Ledger;
  bucket: string;
  source: ObjectSource;
  /** Report what would change, write nothing. */
  dryRun?: boolean;
  /** Largest share of the index one run may tombstone (RECONCILE_DEFAULTS.maxDeleteFraction). */
  maxDeleteFraction?: number;
  force?: boolean;
  /** Repair writes in flight per task, as a deployed task's (`rangeConcurrency` tasks are worked at once). */
  concurrency?: number;
  /** Range tasks worked at once (a source that can split is planned into twice as many). */
  rangeConcurrency?: number;
  onProgress?: (progress: { scanned: number; indexed: number; drift: number }) => void;
  now?: () => Date;
  /** Where the index side comes from; the ledger by default (benchmarks feed generators). */
  index?: (range: KeyRange) => AsyncIterable<LedgerRecord>;
  /** Object metadata for what is repaired (the `enrich` config). */
  describer?: ObjectDescriber;
  /**
   * Called with each drifted key as it is found, before it is repaired; the scan waits for it,
   * so a slow consumer (a pipe) slows the run instead of filling memory.
   */
  onDrift?: (drift: DriftRecord) => void | Promise<void>;
}

/** The counts of every task so far, summed for a progress line. */
function progressOf(tasks: Map<number, Readonly<RunCounts>>) {
  let scanned = 0;
  let indexed = 0;
  let drift = 0;
  for (const counts of tasks.values()) {
    scanned += counts.scanned;
    indexed += counts.indexed;
    drift += counts.missing + counts.stale + counts.orphaned;
  }
  return { scanned, indexed, drift };
}

export async function reconcileBucket(options: ReconcileOptions): Promise<ReconcileSummary> {
  const { ledger, bucket, source, onProgress } = options;
  const now = options.now ?? (() => new Date());
  const rangeConcurrency = options.rangeConcurrency ?? RECONCILE_DEFAULTS.rangeConcurrency;
  // Orphans wait on disk: a listing that comes back empty against a large index is refused by
  // the delete guard, not stopped by memory first.
  const runs = new MemoryRunStore(now, () => new DiskOrphanShelf());
  const queue = new MemoryTaskQueue();
  const encodingMismatchSample: EncodingMismatch[] = [];
  const taskCounts = new Map<number, Readonly<RunCounts>>();
  let failure: { error: unknown } | undefined;
  const reconciliation = new Reconciliation({
    ledger,
    runs,
    queue,
    openSource: async () => source,
    // Each task writes as a deployed task does. Sharing the run's 16 writers among eight tasks
    // (two each) made repairs twice as slow under the aws profile: a task's own burst of drift
    // stalls its diff behind two writes while other tasks' writers idle (docs/benchmarks.md).
    ...(options.concurrency !== undefined && { writeConcurrency: options.concurrency }),
    ...(options.describer && { describer: options.describer }),
    // One process, no time limit: nothing to hand over, so no checkpoint but the last.
    checkpointIntervalMs: Number.POSITIVE_INFINITY,
    // Larger index pages mean fewer requests; smaller when many tasks read at once, to bound memory.
    indexPageSize: Math.min(1000, Math.max(100, Math.floor(2000 / rangeConcurrency))),
    ...(options.index && { index: options.index }),
    now,
    onEncodingMismatch: (_bucket, mismatch) => {
      if (encodingMismatchSample.length < ENCODING_SAMPLE_SIZE) encodingMismatchSample.push(mismatch);
    },
    ...(options.onDrift && { onDrift: options.onDrift }),
    ...(onProgress && {
      onProgress: (task: number, counts: Readonly<RunCounts>) => {
        taskCounts.set(task, counts);
        onProgress(progressOf(taskCounts));
      },
    }),
  });

  let runId: string;
  try {
    ({ runId } = await reconciliation.plan({
      bucket,
      source,
      // Tasks here are handed the same source rather than reopening one from the spec.
      spec: { kind: "list" },
      tasks: source.ordered ? rangeConcurrency * 2 : 1,
      ...(options.dryRun !== undefined && { dryRun: options.dryRun }),
      ...(options.force !== undefined && { force: options.force }),
      ...(options.maxDeleteFraction !== undefined && { maxDeleteFraction: options.maxDeleteFraction }),
    }));
    // After a failure every task's budget is spent: each stops at its next key with a checkpoint.
    const budget = { remainingMs: () => (failure ? 0 : Number.POSITIVE_INFINITY) };
    const limit = pLimit(rangeConcurrency);
    // The scan tasks, then the tombstone tasks the last scan queued: each phase is one wave.
    for (let wave = queue.takeAll(); wave.length > 0 && !failure; wave = queue.takeAll()) {
      await Promise.all(
        wave.map((message) =>
          limit(async () => {
            if (failure) return;
            await reconciliation.handle(message, budget).catch((error: unknown) => void (failure ??= { error }));
          }),
        ),
      );
    }
    if (failure) throw failure.error;
  } finally {
    await runs.dispose();
  }

  const run = (await runs.getRun(bucket, runId))!;
  if (run.status === "refused") throw deleteGuard({ ...run.counts, maxDeleteFraction: run.maxDeleteFraction, force: run.force })!;
  const {
    runId: _runId,
    status: _status,
    tasks: _tasks,
    backfill: _backfill,
    sampled: _sampled,
    reason: _reason,
    ...summary
  } = summarizeRun(run, encodingMismatchSample);
  return { ...summary, source: source.kind };
}
