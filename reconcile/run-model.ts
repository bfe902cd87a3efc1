/**
 * What a fan-out reconciliation run is: a run, its range tasks, the two phases each task goes
 * through, and the counts they keep. The store (run-store.ts) persists these; the coordinator
 * and the task worker move them on.
 */
import type { KeyRange } from "./source.js";

/**
 * `bytes`: the total size of the objects scanned (the bucket's size at the snapshot, for a full
 * run). `sampled`: drifted keys kept in the run's drift sample.
 */
export const COUNT_NAMES = [
  "scanned",
  "bytes",
  "indexed",
  "missing",
  "stale",
  "orphaned",
  "repaired",
  "newerStateKept",
  "unconfirmed",
  "encodingMismatches",
  "sampled",
  "undescribed",
  "checksumsWithheld",
] as const;
export type RunCounts = Record<(typeof COUNT_NAMES)[number], number>;

export function zeroCounts(): RunCounts {
  return Object.fromEntries(COUNT_NAMES.map((name) => [name, 0])) as RunCounts;
}

/** What the tombstone phase counts: its own repairs. */
export type TombstoneCounts = Pick<RunCounts, "repaired" | "newerStateKept" | "unconfirmed">;

/** How each task reopens the run's source: the same listing snapshot or the same inventory report. */
export type RunSourceSpec =
  { kind: "list"; /** Why a run meant to read inventory listed instead. */ fallback?: string } | { kind: "inventory"; reportFolder: string };

export type RunStatus = "scanning" | "tombstoning" | "succeeded" | "refused" | "failed";
export const FINISHED: readonly RunStatus[] = ["succeeded", "refused", "failed"];

export interface RunRecord {
  bucket: string;
  runId: string;
  status: RunStatus;
  source: RunSourceSpec;
  snapshotTime: string;
  dryRun: boolean;
  force: boolean;
  maxDeleteFraction: number;
  tasksTotal: number;
  tasksDone: number;
  tombstoneTasksTotal: number;
  tombstoneTasksDone: number;
  tombstonesQueued: boolean;
  /** A backfill: no run had completed for the bucket when this one was planned (absent in older runs: false). */
  backfill?: boolean;
  /** Sums over finished tasks only: a task's counts join the run once, when it completes. */
  counts: RunCounts;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  reason?: string;
}

export type TaskPhase = "scan" | "tombstone";

/** Where each phase keeps its state on the task and the run, and which counts it owns. */
export const PHASES = {
  scan: {
    runStatus: "scanning",
    done: "scanDone",
    checkpoint: "checkpoint",
    counts: "counts",
    tally: "tasksDone",
    ownCounts: (counts: RunCounts): Partial<RunCounts> => counts,
  },
  tombstone: {
    runStatus: "tombstoning",
    done: "tombstoneDone",
    checkpoint: "tombstoneCheckpoint",
    counts: "tombstoneCounts",
    tally: "tombstoneTasksDone",
    ownCounts: ({ repaired, newerStateKept, unconfirmed }: RunCounts): TombstoneCounts => ({ repaired, newerStateKept, unconfirmed }),
  },
} as const satisfies Record<
  TaskPhase,
  {
    runStatus: RunStatus;
    done: keyof TaskRecord;
    checkpoint: keyof TaskRecord;
    counts: keyof TaskRecord;
    tally: keyof RunRecord;
    ownCounts: (counts: RunCounts) => Partial<RunCounts>;
  }
>;

export interface TaskRecord {
  bucket: string;
  runId: string;
  task: number;
  range: KeyRange;
  scanDone: boolean;
  tombstoneDone: boolean;
  /** Last key whose drift is fully handled; a resumed scan starts after it. */
  checkpoint?: string;
  /** Last orphan tombstoned; a resumed tombstone pass starts after it. */
  tombstoneCheckpoint?: string;
  /** Scan counts up to the checkpoint, then the tombstone pass's repairs. */
  counts: RunCounts;
  tombstoneCounts: TombstoneCounts;
  attempts: number;
  leaseId?: string;
  /** Epoch milliseconds. */
  leaseUntil?: number;
}

/** A run's range tasks as planned: nothing done, nothing counted. */
export function newTasks(run: Pick<RunRecord, "bucket" | "runId">, ranges: KeyRange[]): TaskRecord[] {
  return ranges.map((range, task) => ({
    bucket: run.bucket,
    runId: run.runId,
    task,
    range,
    scanDone: false,
    tombstoneDone: false,
    counts: zeroCounts(),
    tombstoneCounts: { repaired: 0, newerStateKept: 0, unconfirmed: 0 },
    attempts: 0,
  }));
}
