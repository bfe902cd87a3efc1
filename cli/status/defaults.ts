/** What `status` calls a problem: every threshold in one place. */
export const STATUS_DEFAULTS = {
  /** The oldest event waiting longer than this means the tracker is falling behind. */
  lagWarnSeconds: 300,
  /** A nightly reconciliation that last finished longer ago than this has stopped running. */
  reconcileStaleHours: 36,
  /** Failed ingestions are counted up to this many; beyond it `status` says "at least". */
  failedIngestionsCounted: 100,
  /** Runs looked through for the last complete one, whose counts are the bucket's size. */
  runsLookedBack: 10,
  /**
   * A first run not started this long after it was due is late. The schedule fires within its
   * minute, but Scheduler retries a failed invocation for up to an hour (the stack's retry
   * policy, infra/reconciler.ts) and `dev` skips a tick while a run is still going.
   */
  firstRunGraceSeconds: 900,
} as const;
