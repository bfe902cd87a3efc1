/**
 * Reconciliation, the one way it is done: deployed (DynamoDB run store, SQS task queue, Lambda
 * workers), in the local stack (the same, on emulators) and in one process (in-process.ts:
 * memory store and queue, the tasks driven to the end). A run is planned once (snapshot time, key ranges) and
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
import { RunCoordinator } from "./coordinator.js";
import type { RunRecord } from "./run-model.js";
import type { PlanRequest, RunOptions, TaskOutcome } from "./run-options.js";
import type { TimeBudget } from "../foundation/time-budget.js";
import { TaskWorker } from "./task-worker.js";
import type { TaskMessage } from "./task-queue.js";

/** One coordinator and one task worker over the same run store and queue. */
export class Reconciliation {
  private readonly coordinator: RunCoordinator;
  private readonly worker: TaskWorker;

  constructor(options: RunOptions) {
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
