/**
 * Reconciliation's defaults, in one place: the Pulumi arguments (infra/args.ts), the function
 * environment (functions/environment.ts), the engines, the local stack and the CLI read them.
 */
export const RECONCILE_DEFAULTS = {
  /** Largest share of the index one run may tombstone without `force` (invariant 3). */
  maxDeleteFraction: 0.1,
  /** Repair writes in flight per engine or task. */
  writeConcurrency: 16,
  /** Key ranges a list run is split into, each one resumable task. */
  tasksPerRun: 16,
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
   * most `backfillRepairsPerSecond`: a budget that leaves the tracker room in one change
   * partition (about 1,000 writes/s, `changeShards` 1) and in a new on-demand table's 4,000
   * writes/s (two per repair with the journal). Raise it with `changeShards` and warm throughput.
   */
  backfillRepairsPerSecond: 750,
  backfillWriteConcurrency: 64,
  /** Drifted keys a fan-out run keeps (`runs --drift`), shared evenly by its tasks. */
  driftSampleSize: 1_000,
} as const;
