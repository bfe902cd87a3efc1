/**
 * Reconciliation beyond one invocation. A run is planned once (snapshot time, key ranges) and
 * split into range tasks that travel as queue messages; any number of workers (Lambda
 * invocations, or the local stack's poller) take them, bounded by the queue's consumer
 * concurrency.
 *
 * - A task owns its range through a lease, checkpoints the last key it fully handled every
 *   `checkpointIntervalMs`, and when its time budget runs out it saves the checkpoint and
 *   queues its own continuation. A worker that dies mid-task loses nothing but the work since
 *   the last checkpoint: the message comes back when the lease has run out.
 * - Invariant 3 holds across tasks: orphans are only recorded while scanning. When the last
 *   scan completes, the run's totals decide (max-delete guard) and only then are tombstone
 *   tasks queued.
 * - A task's counts join the run's totals in the same transaction that marks it done, and a
 *   run reaches a final status through one conditional write, so the summary is recorded and
 *   reported exactly once however often messages are redelivered.
 */
import type { ObjectDescriber } from "../sdk/object-details.js";
import type { AuditCounts } from "../ingest/audit.js";
import type { Ledger } from "../ledger/index.js";
import { RunCoordinator, summarizeRun } from "./coordinator.js";
import type { EncodingMismatch } from "./drift-checks.js";
import type { ReconcileSummary } from "./engine.js";
import type { RunRecord, RunSourceSpec, RunStatus } from "./run-model.js";
import type { RunStore } from "./run-store.js";
import type { ObjectSource } from "./source.js";
import { TaskWorker } from "./task-worker.js";
import type { TaskMessage, TaskQueue } from "./task-queue.js";

export { summarizeRun };

export interface RunSummary extends ReconcileSummary {
  runId: string;
  status: RunStatus;
  tasks: number;
  /** Planned as a backfill (no run had completed for the bucket). */
  backfill: boolean;
  /** Drifted keys kept in the run's sample (`runs --drift`). */
  sampled: number;
  reason?: string;
  /** With ingestion rules: what the check of ingestion after the run found and queued. */
  ingestAudit?: AuditCounts;
}

/** How much longer this worker may run before it must checkpoint and hand over. */
export interface TimeBudget {
  remainingMs(): number;
}

export type TaskOutcome = "completed" | "continued" | "skipped";

export interface FanOutOptions {
  ledger: Ledger;
  runs: RunStore;
  queue: TaskQueue;
  /** Reopens a run's source in a task: the same snapshot time, the same inventory report. */
  openSource: (bucket: string, spec: RunSourceSpec, snapshotTime: Date) => Promise<ObjectSource>;
  writeConcurrency?: number;
  /**
   * Backfill mode: each task of a backfill run writes with this many repairs in flight, at most
   * `repairsPerSecond` (its share of the run's budget, `runRepairsPerSecond`, for which the
   * bucket's change shards are sized when the run is planned).
   */
  backfill?: { writeConcurrency: number; repairsPerSecond: number; runRepairsPerSecond: number };
  /** Object metadata for what is repaired (the `enrich` config). */
  describer?: ObjectDescriber;
  checkpointIntervalMs?: number;
  /** Added to a worker's remaining time to form its lease: a redelivered message waits this long for a dead worker. */
  leaseMarginMs?: number;
  now?: () => Date;
  /** Called once per run, by whichever worker finishes it. */
  onRunFinished?: (summary: RunSummary) => void | Promise<void>;
  /** Called for each orphan that is another form of a bucket key (the run counts them too). */
  onEncodingMismatch?: (bucket: string, mismatch: EncodingMismatch) => void;
}

export interface PlanRequest {
  bucket: string;
  source: ObjectSource;
  spec: RunSourceSpec;
  /** Range tasks to aim for (a source that cannot split gets one). */
  tasks: number;
  dryRun?: boolean;
  force?: boolean;
  maxDeleteFraction?: number;
}

/** One coordinator and one task worker over the same run store and queue. */
export class FanOutReconciler {
  private readonly coordinator: RunCoordinator;
  private readonly worker: TaskWorker;

  constructor(options: FanOutOptions) {
    this.coordinator = new RunCoordinator(options);
    this.worker = new TaskWorker(options, this.coordinator);
  }

  /** Records a run and its range tasks, then queues the tasks. */
  plan(request: PlanRequest): Promise<RunRecord> {
    return this.coordinator.plan(request);
  }

  /** Fails runs that made no progress for `staleAfterMs`; returns the newest one still going. */
  settlePreviousRuns(bucket: string, staleAfterMs: number): Promise<RunRecord | undefined> {
    return this.coordinator.settlePreviousRuns(bucket, staleAfterMs);
  }

  /** Works one task message within the budget. */
  handle(message: TaskMessage, budget: TimeBudget): Promise<TaskOutcome> {
    return this.worker.handle(message, budget);
  }

  /** Moves the run on if its phase is complete; safe to call any number of times. */
  advance(bucket: string, runId: string): Promise<void> {
    return this.coordinator.advance(bucket, runId);
  }
}
