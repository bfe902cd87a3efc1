/**
 * The coordinator of fan-out runs: plans a run (snapshot, key ranges, one task each, queued),
 * fails runs that stopped making progress, and moves a run on when a phase completes: the
 * delete guard on the run's totals when the last scan ends, then the tombstone tasks, then one
 * final status, written once, whose winner reports the summary.
 */
import { randomUUID } from "node:crypto";
import { deleteGuard } from "./delete-guard.js";
import type { PlanRequest, RunOptions } from "./run-options.js";
import { FINISHED, zeroCounts, type RunRecord, type RunStatus } from "./run-model.js";
import { summarizeRun } from "./run-summary.js";
import { RECONCILE_DEFAULTS } from "./defaults.js";

export class RunCoordinator {
  private readonly now: () => Date;

  constructor(private readonly options: RunOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Records a run and its range tasks, then queues the tasks. */
  async plan(request: PlanRequest): Promise<RunRecord> {
    const { bucket, source } = request;
    // Planning is part of the run's duration: splitting a listing costs requests of its own.
    const started = this.now().toISOString();
    const ranges = request.tasks > 1 && source.planRanges ? await source.planRanges(request.tasks) : [{}];
    const snapshotTime = source.snapshotTime.toISOString();
    // Backfill mode starts with a bucket's first run and stops once one completes (its
    // watermark is recorded then). A dry run writes nothing, so it never is one.
    const backfill = !(request.dryRun ?? false) && (await this.options.ledger.reconciledThrough(bucket)) === undefined;
    const run: RunRecord = {
      bucket,
      // Sorts by time, so the newest run of a bucket is found first.
      runId: `${snapshotTime}~${randomUUID().slice(0, 8)}`,
      status: "scanning",
      source: request.spec,
      snapshotTime,
      dryRun: request.dryRun ?? false,
      force: request.force ?? false,
      maxDeleteFraction: request.maxDeleteFraction ?? RECONCILE_DEFAULTS.maxDeleteFraction,
      tasksTotal: ranges.length,
      tasksDone: 0,
      tombstoneTasksTotal: 0,
      tombstoneTasksDone: 0,
      tombstonesQueued: false,
      backfill,
      counts: zeroCounts(),
      startedAt: started,
      updatedAt: started,
    };
    // A dry run writes nothing to the ledger, its registry of buckets included.
    if (!run.dryRun) await this.options.ledger.register(bucket);
    // Sized for the day before's busiest minute, and for a backfill's budget (ledger/change-index/).
    if (!run.dryRun) await this.options.ledger.resizeChangeShards(bucket, backfill ? (this.options.backfill?.runRepairsPerSecond ?? 0) : 0);
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
      if (idleMs > staleAfterMs)
        await this.finish(run, "failed", `no progress for ${Math.round(idleMs / 60_000)} min: tasks failed (see the task DLQ) or planning was interrupted`);
      else inProgress ??= run;
    }
    return inProgress;
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
      const refusal = deleteGuard({ orphaned, indexed, maxDeleteFraction: run.maxDeleteFraction, force: run.force });
      if (refusal) {
        await this.finish(run, "refused", refusal.message);
        return;
      }
      if (run.dryRun || orphaned === 0) {
        await this.finish(run, "succeeded");
        return;
      }
      const withOrphans = (await runs.listTasks(bucket, runId)).filter((task) => task.counts.orphaned > 0);
      // Two scans ending together both get here: the one whose move lost leaves the rest to the winner.
      if (!(await runs.transition(run, "tombstoning", { tombstoneTasksTotal: withOrphans.length }))) return;
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

  async finish(run: RunRecord, status: RunStatus, reason?: string): Promise<void> {
    const won = await this.options.runs.transition(run, status, { finishedAt: this.now().toISOString(), ...(reason !== undefined && { reason }) });
    if (!won) return;
    // Every range was read to its end and what was missing is recorded: older creates for keys
    // still absent from the ledger are stale from now on.
    // A run that compared another index (a benchmark's generator) records nothing of the ledger.
    if (status === "succeeded" && !run.dryRun && !this.options.index) await this.options.ledger.recordReconciled(run.bucket, new Date(run.snapshotTime));
    const finished = await this.options.runs.getRun(run.bucket, run.runId);
    if (finished) await this.options.onRunFinished?.(summarizeRun(finished));
  }
}
