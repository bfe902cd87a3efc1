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
import { randomUUID } from "node:crypto";
import type { Ledger } from "../ledger/index.js";
import { BoundedWriter } from "./bounded-writer.js";
import type { ReconcileSummary } from "./engine.js";
import { MaxDeleteExceededError, ReconcileError } from "./errors.js";
import { driftChecks, type EncodingMismatch } from "./drift-checks.js";
import { diffRange } from "./range-diff.js";
import { FINISHED, PHASES, TaskLeaseError, zeroCounts, type RunCounts, type RunRecord, type RunSourceSpec, type RunStatus, type RunStore, type TaskPhase, type TaskRecord } from "./run-store.js";
import type { ObjectSource } from "./source.js";
import type { TaskMessage, TaskQueue } from "./task-queue.js";

export interface RunSummary extends ReconcileSummary {
  runId: string;
  status: RunStatus;
  tasks: number;
  reason?: string;
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

export function summarizeRun(run: RunRecord): RunSummary {
  const durationMs = Math.max(0, new Date(run.finishedAt ?? run.updatedAt).getTime() - new Date(run.startedAt).getTime());
  return {
    runId: run.runId,
    status: run.status,
    tasks: run.tasksTotal,
    bucket: run.bucket,
    source: run.source.kind,
    snapshotTime: run.snapshotTime,
    dryRun: run.dryRun,
    ...zeroCounts(),
    ...run.counts,
    // Fan-out runs report each mismatch as it is found (onEncodingMismatch): no sample here.
    encodingMismatchSample: [],
    durationMs,
    objectsPerSecond: Math.round(run.counts.scanned / Math.max(durationMs / 1000, 0.001)),
    ...(run.reason !== undefined && { reason: run.reason }),
  };
}

export class FanOutReconciler {
  private readonly now: () => Date;
  private readonly checkpointIntervalMs: number;
  private readonly leaseMarginMs: number;

  constructor(private readonly options: FanOutOptions) {
    this.now = options.now ?? (() => new Date());
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? 15_000;
    this.leaseMarginMs = options.leaseMarginMs ?? 60_000;
  }

  /** Records a run and its range tasks, then queues the tasks. */
  async plan(request: PlanRequest): Promise<RunRecord> {
    const { bucket, source } = request;
    const ranges = request.tasks > 1 && source.planRanges ? await source.planRanges(request.tasks) : [{}];
    const snapshotTime = source.snapshotTime.toISOString();
    const started = this.now().toISOString();
    const run: RunRecord = {
      bucket,
      // Sorts by time, so the newest run of a bucket is found first.
      runId: `${snapshotTime}~${randomUUID().slice(0, 8)}`,
      status: "scanning",
      source: request.spec,
      snapshotTime,
      dryRun: request.dryRun ?? false,
      force: request.force ?? false,
      maxDeleteFraction: request.maxDeleteFraction ?? 0.1,
      tasksTotal: ranges.length,
      tasksDone: 0,
      tombstoneTasksTotal: 0,
      tombstoneTasksDone: 0,
      tombstonesQueued: false,
      counts: zeroCounts(),
      startedAt: started,
      updatedAt: started,
    };
    await this.options.runs.createRun(run, ranges);
    await this.options.queue.send(ranges.map((_, task) => ({ bucket, runId: run.runId, task, phase: "scan" as const })));
    return run;
  }

  /**
   * Finishes runs that made no progress for `staleAfterMs` as failed (their tasks died in the
   * DLQ, or planning crashed) and returns the newest run still in progress, if any: a new run
   * must not overlap it.
   */
  async settlePreviousRuns(bucket: string, staleAfterMs: number): Promise<RunRecord | undefined> {
    let inProgress: RunRecord | undefined;
    let seen = 0;
    for await (const run of this.options.runs.listRuns(bucket)) {
      if (++seen > 20) break;
      if (FINISHED.includes(run.status)) continue;
      const idleMs = this.now().getTime() - new Date(run.updatedAt).getTime();
      if (idleMs > staleAfterMs) await this.finish(run, "failed", `no progress for ${Math.round(idleMs / 60_000)} min: tasks failed (see the task DLQ) or planning was interrupted`);
      else inProgress ??= run;
    }
    return inProgress;
  }

  async handle(message: TaskMessage, budget: TimeBudget): Promise<TaskOutcome> {
    const run = await this.options.runs.getRun(message.bucket, message.runId);
    // The run expired, or finished (failed as stale, perhaps): nothing left for this message.
    if (!run || FINISHED.includes(run.status)) return "skipped";
    if (run.status !== PHASES[message.phase].runStatus) {
      // A redelivered message of a worker that died while moving the run on: finish that.
      await this.advance(run.bucket, run.runId);
      return "skipped";
    }
    const claimed = await this.claim(message, budget);
    if (!claimed) {
      await this.advance(run.bucket, run.runId);
      return "skipped";
    }
    const outcome = message.phase === "scan" ? await this.scan(run, claimed.task, claimed.leaseId, budget) : await this.tombstone(run, claimed.task, claimed.leaseId, budget);
    if (outcome === "continued") {
      await this.options.queue.send([message]);
      return outcome;
    }
    await this.advance(run.bucket, run.runId);
    return outcome;
  }

  /** Takes the task's lease; undefined if the phase is already done. */
  private async claim(message: TaskMessage, budget: TimeBudget): Promise<{ task: TaskRecord; leaseId: string } | undefined> {
    const { runs } = this.options;
    const phaseDone = (task: TaskRecord) => task[PHASES[message.phase].done];
    const task = await runs.getTask(message.bucket, message.runId, message.task);
    if (!task) throw new ReconcileError(`run ${message.runId} of ${message.bucket} has no task ${message.task}`);
    if (phaseDone(task)) return undefined;
    const leaseId = randomUUID();
    const claimed = await runs.claimTask(task, message.phase, leaseId, Math.max(0, budget.remainingMs()) + this.leaseMarginMs);
    if (claimed) return { task: claimed, leaseId };
    const current = await runs.getTask(message.bucket, message.runId, message.task);
    if (current && phaseDone(current)) return undefined;
    // Thrown so the queue redelivers later, by which time the holder has finished or its lease has run out.
    throw new TaskLeaseError(`task ${message.task} of run ${message.runId} is held by another worker until ${new Date(current?.leaseUntil ?? 0).toISOString()}`);
  }

  /** Checkpoints every interval, and for the last time when the budget is spent (returns false then). */
  private checkpointer(task: TaskRecord, phase: TaskPhase, leaseId: string, counts: RunCounts, writer: BoundedWriter, budget: TimeBudget) {
    let savedAt = Date.now();
    const state = { outOfTime: false };
    const advance = async (key: string): Promise<boolean> => {
      const outOfTime = budget.remainingMs() <= 0;
      if (!outOfTime && Date.now() - savedAt < this.checkpointIntervalMs) return true;
      // Only keys whose writes have landed may be behind a checkpoint.
      await writer.drain();
      await this.options.runs.saveCheckpoint(task, phase, leaseId, key, counts, outOfTime);
      savedAt = Date.now();
      state.outOfTime = outOfTime;
      return !outOfTime;
    };
    return { advance, state };
  }

  private async scan(run: RunRecord, task: TaskRecord, leaseId: string, budget: TimeBudget): Promise<TaskOutcome> {
    const { ledger, runs } = this.options;
    const { bucket } = run;
    const snapshotTime = new Date(run.snapshotTime);
    const source = await this.options.openSource(bucket, run.source, snapshotTime);
    const counts: RunCounts = { ...zeroCounts(), ...task.counts };
    const writer = new BoundedWriter(this.options.writeConcurrency ?? 16);
    const checkpoint = this.checkpointer(task, "scan", leaseId, counts, writer, budget);
    const range = { ...task.range, ...(task.checkpoint !== undefined && { after: task.checkpoint }) };
    // An earlier attempt may have recorded orphans beyond its checkpoint before it died.
    if (task.attempts > 1 && !run.dryRun) await runs.discardOrphansAfter(task, task.checkpoint);

    const checks = driftChecks({ ledger, bucket, source, snapshotTime });
    for await (const drift of diffRange({ ledger, bucket, source, range, counts, onAdvance: checkpoint.advance })) {
      counts[drift.kind]++;
      if (drift.kind === "orphaned") {
        const key = drift.record.key;
        await writer.submit(async () => {
          const mismatch = await checks.encodingMismatch(key);
          if (mismatch) {
            counts.encodingMismatches++;
            this.options.onEncodingMismatch?.(bucket, mismatch);
          }
          if (!run.dryRun) await runs.putOrphan(task, key);
        });
      } else if (!run.dryRun) {
        const { kind } = drift;
        const { key, ...state } = drift.object;
        const known = drift.kind === "stale" || drift.tombstone !== undefined;
        await writer.submit(async () => {
          counts[await checks.repairPresent(kind, key, state, known)]++;
        });
      }
    }
    await writer.drain();
    if (checkpoint.state.outOfTime) return "continued";
    await runs.completeTask(task, "scan", leaseId, counts);
    return "completed";
  }

  private async tombstone(run: RunRecord, task: TaskRecord, leaseId: string, budget: TimeBudget): Promise<TaskOutcome> {
    const { ledger, runs } = this.options;
    const snapshotTime = new Date(run.snapshotTime);
    const counts: RunCounts = { ...zeroCounts(), ...task.tombstoneCounts };
    const writer = new BoundedWriter(this.options.writeConcurrency ?? 16);
    const checkpoint = this.checkpointer(task, "tombstone", leaseId, counts, writer, budget);
    const source = await this.options.openSource(run.bucket, run.source, snapshotTime);
    const checks = driftChecks({ ledger, bucket: run.bucket, source, snapshotTime });
    for await (const key of runs.orphans(task, task.tombstoneCheckpoint)) {
      await writer.submit(async () => {
        counts[await checks.tombstone(key)]++;
      });
      if (!(await checkpoint.advance(key))) break;
    }
    await writer.drain();
    if (checkpoint.state.outOfTime) return "continued";
    await runs.completeTask(task, "tombstone", leaseId, counts);
    return "completed";
  }

  /**
   * Moves the run on if its phase is complete. Safe to call any number of times from any
   * worker: each step is conditional or idempotent, so a worker that died half-way through is
   * completed by the next message that arrives (its own redelivery included).
   */
  async advance(bucket: string, runId: string): Promise<void> {
    const { runs, queue } = this.options;
    let run = await runs.getRun(bucket, runId);
    if (!run) return;
    if (run.status === "scanning" && run.tasksDone === run.tasksTotal) {
      const { orphaned, indexed } = run.counts;
      if (!run.force && orphaned > run.maxDeleteFraction * indexed) {
        await this.finish(run, "refused", new MaxDeleteExceededError(orphaned, indexed, run.maxDeleteFraction).message);
        return;
      }
      if (run.dryRun || orphaned === 0) {
        await this.finish(run, "succeeded");
        return;
      }
      const withOrphans = (await runs.listTasks(bucket, runId)).filter((task) => task.counts.orphaned > 0);
      await runs.transition(run, "tombstoning", { tombstoneTasksTotal: withOrphans.length });
      run = (await runs.getRun(bucket, runId))!;
    }
    if (run.status === "tombstoning" && !run.tombstonesQueued) {
      // Queued again if a worker died before marking them: duplicates are harmless (leases).
      const pending = (await runs.listTasks(bucket, runId)).filter((task) => task.counts.orphaned > 0 && !task.tombstoneDone);
      await queue.send(pending.map((task) => ({ bucket, runId, task: task.task, phase: "tombstone" as const })));
      await runs.markTombstonesQueued(run);
    }
    if (run.status === "tombstoning" && run.tombstoneTasksDone === run.tombstoneTasksTotal) await this.finish(run, "succeeded");
  }

  private async finish(run: RunRecord, status: RunStatus, reason?: string): Promise<void> {
    const won = await this.options.runs.transition(run, status, { finishedAt: this.now().toISOString(), ...(reason !== undefined && { reason }) });
    if (!won) return;
    // Every range was read to its end and what was missing is recorded: older creates for keys
    // still absent from the ledger are stale from now on.
    if (status === "succeeded" && !run.dryRun) await this.options.ledger.recordReconciled(run.bucket, new Date(run.snapshotTime));
    const finished = await this.options.runs.getRun(run.bucket, run.runId);
    if (finished) await this.options.onRunFinished?.(summarizeRun(finished));
  }
}
