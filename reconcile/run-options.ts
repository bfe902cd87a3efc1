/**
 * What the coordinator and the task worker of a run share: the stores they work through, the
 * run's settings, and the hooks through which a caller watches it. Lambda and the local stack
 * pass DynamoDB and SQS; the in-process driver (in-process.ts) passes memory.
 */
import type { Ledger, LedgerRecord } from "../ledger/index.js";
import type { ObjectDescriber } from "../s3/object-details.js";
import type { EncodingMismatch } from "./drift-checks.js";
import type { DriftRecord } from "./drift-record.js";
import type { RunCounts, RunSourceSpec } from "./run-model.js";
import type { RunStore } from "./run-store.js";
import type { RunSummary } from "./run-summary.js";
import type { KeyRange, ObjectSource } from "./source.js";
import type { TaskQueue } from "./task-queue.js";

export type TaskOutcome = "completed" | "continued" | "skipped";

export interface RunOptions {
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
  /** Ledger items per Query page of a task's index side. */
  indexPageSize?: number;
  /**
   * Where the index side comes from instead of the ledger (benchmarks feed generators). Such a
   * run records no watermark: the ledger was not what it compared.
   */
  index?: (range: KeyRange) => AsyncIterable<LedgerRecord>;
  now?: () => Date;
  /** Called once per run, by whichever worker finishes it. */
  onRunFinished?: (summary: RunSummary) => void | Promise<void>;
  /** Called for each orphan that is another form of a bucket key (the run counts them too). */
  onEncodingMismatch?: (bucket: string, mismatch: EncodingMismatch) => void;
  /**
   * Called with each drifted key as it is found, before it is repaired; the scan waits for it,
   * so a slow consumer (a pipe) slows the run instead of filling memory.
   */
  onDrift?: (drift: DriftRecord) => void | Promise<void>;
  /** Called after each drifted key with the scanning task's counts so far. */
  onProgress?: (task: number, counts: Readonly<RunCounts>) => void;
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
