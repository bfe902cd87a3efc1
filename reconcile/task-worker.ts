/**
 * The task worker of fan-out runs: takes a task message, leases its task, and scans its range
 * (repairing what is missing or stale, recording orphans) or tombstones its recorded orphans.
 * It checkpoints the last key it fully handled every `checkpointIntervalMs`; when its time
 * budget runs out it saves the checkpoint and queues its own continuation. A worker that dies
 * loses only the work since its last checkpoint: the message comes back once the lease has
 * run out. Whatever it finishes, it asks the coordinator to move the run on.
 */
import pThrottle from "p-throttle";
import { driftRecord } from "./drift-record.js";
import { randomUUID } from "node:crypto";
import { BoundedWriter } from "../foundation/bounded-writer.js";
import type { RunCoordinator } from "./coordinator.js";
import { countWithheld, driftChecks } from "./drift-checks.js";
import { ReconcileError, TaskLeaseError } from "./errors.js";
import type { RunOptions, TaskOutcome } from "./run-options.js";
import { isSpent, type TimeBudget } from "../foundation/time-budget.js";
import { diffRange } from "./range-diff.js";
import { FINISHED, PHASES, zeroCounts, type RunCounts, type RunRecord, type TaskPhase, type TaskRecord } from "./run-model.js";
import type { TaskMessage } from "./task-queue.js";
import { RECONCILE_DEFAULTS } from "./defaults.js";

export class TaskWorker {
  private readonly checkpointIntervalMs: number;
  private readonly leaseMarginMs: number;

  constructor(
    private readonly options: RunOptions,
    private readonly coordinator: RunCoordinator,
  ) {
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? RECONCILE_DEFAULTS.checkpointIntervalMs;
    this.leaseMarginMs = options.leaseMarginMs ?? RECONCILE_DEFAULTS.leaseMarginMs;
  }

  async handle(message: TaskMessage, budget: TimeBudget): Promise<TaskOutcome> {
    const run = await this.options.runs.getRun(message.bucket, message.runId);
    // The run expired, or finished (failed as stale, perhaps): nothing left for this message.
    if (!run || FINISHED.includes(run.status)) return "skipped";
    if (run.status !== PHASES[message.phase].runStatus) {
      // A redelivered message of a worker that died while moving the run on: finish that.
      await this.coordinator.advance(run.bucket, run.runId);
      return "skipped";
    }
    const claimed = await this.claim(message, budget);
    if (!claimed) {
      await this.coordinator.advance(run.bucket, run.runId);
      return "skipped";
    }
    const outcome =
      message.phase === "scan" ? await this.scan(run, claimed.task, claimed.leaseId, budget) : await this.tombstone(run, claimed.task, claimed.leaseId, budget);
    if (outcome === "continued") {
      await this.options.queue.send([message]);
      return outcome;
    }
    await this.coordinator.advance(run.bucket, run.runId);
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
    const until = current?.leaseUntil;
    throw new TaskLeaseError(
      `task ${message.task} of run ${message.runId} is held by another worker${until !== undefined && Number.isFinite(until) ? ` until ${new Date(until).toISOString()}` : ""}`,
    );
  }

  /** Checkpoints every interval, and for the last time when the budget is spent (returns false then). */
  private checkpointer(task: TaskRecord, phase: TaskPhase, leaseId: string, counts: RunCounts, writer: BoundedWriter, budget: TimeBudget) {
    let savedAt = Date.now();
    const state = { outOfTime: false };
    const advance = async (key: string): Promise<boolean> => {
      const outOfTime = isSpent(budget);
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
    const backfill = run.backfill ? this.options.backfill : undefined;
    const writer = new BoundedWriter(backfill?.writeConcurrency ?? this.options.writeConcurrency ?? RECONCILE_DEFAULTS.writeConcurrency);

    const checkpoint = this.checkpointer(task, "scan", leaseId, counts, writer, budget);
    const range = { ...task.range, ...(task.checkpoint !== undefined && { after: task.checkpoint }) };
    // An earlier attempt may have recorded orphans beyond its checkpoint before it died.
    if (task.attempts > 1 && !run.dryRun) await runs.discardOrphansAfter(task, task.checkpoint);

    const checks = driftChecks({
      ledger,
      bucket,
      source,
      snapshotTime,
      ...(this.options.describer && { describer: this.options.describer }),
      onWithheld: countWithheld(counts),
    });
    // Backfill mode: repairs wait for the task's share of the run's write budget, a tenth of a
    // second's worth at a time.
    const repair = backfill
      ? pThrottle({ limit: Math.max(1, Math.floor(backfill.repairsPerSecond / 10)), interval: 100 })(checks.repairPresent)
      : checks.repairPresent;
    // Each task keeps its share of the run's drift sample; `sampled` is checkpointed with the
    // other counts, so a resumed task does not take its share twice.
    const sampleShare = Math.max(1, Math.floor(RECONCILE_DEFAULTS.driftSampleSize / run.tasksTotal));
    const { index, indexPageSize, onDrift, onProgress } = this.options;
    const drifts = diffRange({
      ledger,
      bucket,
      source,
      range,
      counts,
      onAdvance: checkpoint.advance,
      dryRun: run.dryRun,
      ...(index && { index }),
      ...(indexPageSize !== undefined && { indexPageSize }),
    });
    try {
      for await (const drift of drifts) {
        counts[drift.kind]++;
        onProgress?.(task.task, counts);
        if (onDrift) await onDrift(driftRecord(drift));
        if (counts.sampled < sampleShare) {
          counts.sampled++;
          const sampled = driftRecord(drift);
          await writer.submit(() => runs.putDriftSample(task, sampled));
        }
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
            counts[await repair(kind, key, state, known)]++;
          });
        }
      }
    } finally {
      // A failed scan returns only once its writes have landed or failed: nothing is left writing.
      await writer.settle();
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
    const writer = new BoundedWriter(this.options.writeConcurrency ?? RECONCILE_DEFAULTS.writeConcurrency);
    const checkpoint = this.checkpointer(task, "tombstone", leaseId, counts, writer, budget);
    const source = await this.options.openSource(run.bucket, run.source, snapshotTime);
    const checks = driftChecks({ ledger, bucket: run.bucket, source, snapshotTime });
    try {
      for await (const key of runs.orphans(task, task.tombstoneCheckpoint)) {
        await writer.submit(async () => {
          counts[await checks.tombstone(key)]++;
        });
        if (!(await checkpoint.advance(key))) break;
      }
    } finally {
      await writer.settle();
    }
    await writer.drain();
    if (checkpoint.state.outOfTime) return "continued";
    await runs.completeTask(task, "tombstone", leaseId, counts);
    return "completed";
  }
}
