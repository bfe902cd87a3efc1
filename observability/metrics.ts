/**
 * The ledger's own CloudWatch metrics, each spelled once: the functions emit them (EMF through
 * Powertools Metrics, observability/emf.ts) and the alarms and dashboard read them
 * (infra/monitoring.ts), so an alarm cannot watch a metric nobody emits. Imports nothing: Lambda
 * code and the Pulumi program both take it.
 */

/** The CloudWatch namespace of every metric the functions emit. */
export const METRIC_NAMESPACE = "BucketLedger";

/**
 * Each emitting function's metrics. The key is the `service` dimension Powertools Metrics adds to
 * every metric from its `serviceName`: the alarms and dashboard select a function's series by it.
 */
export const METRICS = {
  tracker: {
    eventsApplied: "EventsApplied",
    eventsSkippedOlder: "EventsSkippedOlder",
    eventsDuplicate: "EventsDuplicate",
    eventsIgnored: "EventsIgnored",
    messagesFailed: "MessagesFailed",
    objectsUndescribed: "ObjectsUndescribed",
    checksumsWithheld: "ChecksumsWithheld",
    eventsUntrackedBucket: "EventsUntrackedBucket",
  },
  reconcile: {
    driftFound: "DriftFound",
    driftMissing: "DriftMissing",
    driftStale: "DriftStale",
    driftOrphaned: "DriftOrphaned",
    repairsMade: "RepairsMade",
    newerStateKept: "NewerStateKept",
    driftUnconfirmed: "DriftUnconfirmed",
    keyEncodingMismatches: "KeyEncodingMismatches",
    objectsUndescribed: "ObjectsUndescribed",
    checksumsWithheld: "ChecksumsWithheld",
    objectsScanned: "ObjectsScanned",
    objectsPerSecond: "ObjectsPerSecond",
    runsFailed: "RunsFailed",
    ingestionsRequeued: "IngestionsRequeued",
    ingestionsGivenUp: "IngestionsGivenUp",
  },
  ingest: {
    ingestionsSucceeded: "IngestionsSucceeded",
    ingestionsPartial: "IngestionsPartial",
    ingestionsFailed: "IngestionsFailed",
    ingestionsContinued: "IngestionsContinued",
    rowsWritten: "RowsWritten",
    rowsRejected: "RowsRejected",
    rowsDeleted: "RowsDeleted",
    messagesFailed: "IngestMessagesFailed",
  },
  /** The change stream's publisher (stream/). Its lag is Lambda's own IteratorAge (AWS/Lambda). */
  stream: {
    changesPublished: "ChangesPublished",
    recordsSkipped: "StreamRecordsSkipped",
    batchesStopped: "StreamBatchesStopped",
  },
} as const;

/** A function that emits metrics, and the value of their `service` dimension. */
export type MetricService = keyof typeof METRICS;

/** The name of a metric `service` emits (any function's, without one). */
export type MetricName<S extends MetricService = MetricService> = { [K in S]: (typeof METRICS)[K][keyof (typeof METRICS)[K]] }[S];
