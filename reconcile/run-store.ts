/**
 * Where a run's state lives between its tasks: the run, its range tasks, the orphans each task
 * found and the run's drift sample. Two implementations keep the same contract: DynamoDB for
 * the deployed function and the local stack (dynamodb-run-store.ts), memory for a run driven in
 * one process (memory-run-store.ts). Every state change is conditional, so redelivered task
 * messages and racing workers cannot count a task twice or finish a run twice.
 */
import type { DriftRecord } from "./drift-record.js";
import type { RunCounts, RunRecord, RunStatus, TaskPhase, TaskRecord } from "./run-model.js";
import type { KeyRange } from "./source.js";

/** The fields a status change may set beside the status. */
export type TransitionFields = Partial<Pick<RunRecord, "tombstoneTasksTotal" | "finishedAt" | "reason">>;

export interface RunStore {
  /** Writes the tasks, then the run: a run exists only once all its tasks do. */
  createRun(run: RunRecord, ranges: KeyRange[]): Promise<TaskRecord[]>;
  getRun(bucket: string, runId: string): Promise<RunRecord | undefined>;
  /** Runs of a bucket, newest first (run ids begin with the snapshot time). */
  listRuns(bucket: string): AsyncGenerator<RunRecord>;
  getTask(bucket: string, runId: string, task: number): Promise<TaskRecord | undefined>;
  listTasks(bucket: string, runId: string): Promise<TaskRecord[]>;
  /** Takes the task's lease for a phase if nobody holds it and the phase is not done; undefined otherwise. */
  claimTask(task: TaskRecord, phase: TaskPhase, leaseId: string, leaseMs: number): Promise<TaskRecord | undefined>;
  /** Records progress under the lease (TaskLeaseError if it was lost); `release` lets a continuation claim the task at once. */
  saveCheckpoint(task: TaskRecord, phase: TaskPhase, leaseId: string, checkpoint: string, counts: RunCounts, release: boolean): Promise<void>;
  /** Marks a phase done and adds its counts to the run at once: counted exactly once (TaskLeaseError otherwise). */
  completeTask(task: TaskRecord, phase: TaskPhase, leaseId: string, counts: RunCounts): Promise<void>;
  /** Moves a run from the status its caller read; false if someone else moved it first. */
  transition(run: RunRecord, to: RunStatus, fields?: TransitionFields): Promise<boolean>;
  markTombstonesQueued(run: RunRecord): Promise<void>;
  /** Keeps one drifted key in its run's sample; writing one twice (a resumed task) is harmless. */
  putDriftSample(task: TaskRecord, drift: DriftRecord): Promise<void>;
  /** A run's drift sample, in key order. */
  driftSample(bucket: string, runId: string): AsyncGenerator<DriftRecord>;
  /** Orphans wait here until every range has been read; writing one twice is harmless. */
  putOrphan(task: TaskRecord, key: string): Promise<void>;
  /**
   * Forgets the orphans a dead worker recorded past its last checkpoint: the resumed scan
   * finds them again if they still are orphans, and must not tombstone them if they are not.
   */
  discardOrphansAfter(task: TaskRecord, after: string | undefined): Promise<void>;
  /** A task's orphans in key order, after `after` when resuming. */
  orphans(task: TaskRecord, after?: string): AsyncGenerator<string>;
}
