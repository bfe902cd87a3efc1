/**
 * Reconciliation's defaults, in one place: the Pulumi arguments (infra/args.ts), the reconcile
 * function's settings (functions/settings/reconcile.ts), the run, the local stack and the CLI read them.
 */
export const RECONCILE_DEFAULTS = {
  /** Largest share of the index one run may tombstone without `force` (invariant 3). */
  maxDeleteFraction: 0.1,
  /** Repair writes in flight per engine or task. */
  writeConcurrency: 16,
  /** Key ranges a list run is split into, each one resumable task. */
  tasksPerRun: 16,
  /** Range tasks a run in one process (the CLI's `reconcile`) works at once. */
  rangeConcurrency: 8,
  /** Tasks worked on at once (the task queue's MaximumConcurrency). */
  maximumConcurrency: 4,
  /** An unfinished run with no progress for this long is failed at the next planning. */
  staleRunMinutes: 360,
  /** How often a task saves its checkpoint. */
  checkpointIntervalMs: 15_000,
  /** Added to a worker's remaining time to form its lease. */
  leaseMarginMs: 60_000,
  /** How long run, task, orphan and drift-sample items are kept. */
  runRetentionDays: 30,
  /**
   * Backfill mode, a run of a bucket no run has completed for: every object is a missing repair,
   * so each task writes wider (`backfillWriteConcurrency` in flight) and the run as a whole at
   * most `backfillRepairsPerSecond` (see `backfillBudget`).
   */
  backfillRepairsPerSecond: 750,
  backfillWriteConcurrency: 64,
  /** Drifted keys a fan-out run keeps (`runs --drift`), shared evenly by its tasks. */
  driftSampleSize: 1_000,
} as const;

/**
 * Table writes one backfill repair makes: the item, and with history its journal entry and the
 * start item the journal writes for a key it has not seen (ledger/journal-writer.ts), which is
 * every key of a backfill. Its change-index entry is written to the index, which has its own
 * throughput (ledger/change-index/).
 */
export const backfillTableWritesPerRepair = (journaled: boolean) => (journaled ? 3 : 1);

/**
 * A backfill's budget, repairs/s for the whole run, unless a stack sets one. With warm
 * throughput, two thirds of the writes pre-warmed (24,000 with history: 16,000 writes, 5,333
 * repairs/s), so the tracker keeps the last third. Without, 750: with history 2,250 of a new
 * on-demand table's 4,000 writes/s, the rest left to the tracker.
 * The change index's shards are sized for the budget when the run is planned (ledger/change-index/).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html
 */
export function backfillBudget(warmWriteUnitsPerSecond?: number, journaled = true): number {
  if (warmWriteUnitsPerSecond === undefined) return RECONCILE_DEFAULTS.backfillRepairsPerSecond;
  return Math.floor((warmWriteUnitsPerSecond * 2) / 3 / backfillTableWritesPerRepair(journaled));
}
