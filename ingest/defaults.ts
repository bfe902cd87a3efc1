/** Ingestion's defaults: the one place the Lambda environment, the component and `dev` read them from. */
export const INGEST_DEFAULTS = {
  /** BatchWriteItem calls in flight per file. */
  writeConcurrency: 16,
  /** Bytes of rows queued or being written at once, whatever their size (rows may be up to 400 KB). */
  maxBytesInFlight: 32 * 1024 * 1024,
  /** BatchWriteItem calls per group of 25, the first included, before rows still unprocessed are rejected. */
  maxWriteAttempts: 8,
  retryBaseDelayMs: 50,
  retryMaxDelayMs: 5_000,
  /** Stop this long before the Lambda timeout and continue in the next invocation. */
  stopMarginMs: 30_000,
  /** Times reconciliation queues one version again before it leaves it to an operator. */
  maxAttempts: 3,
  /** A running ingestion with no progress for this long has lost its continuation; reconciliation queues it again. */
  stuckAfterMs: 60 * 60_000,
  /** Requests one reconciliation may queue, so a bad rule cannot flood the queue. */
  maxRequeuePerRun: 1_000,
} as const;
