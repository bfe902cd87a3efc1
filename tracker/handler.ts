/**
 * The tracker's SQS batch handler. Lambda (functions/tracker.ts) and the local stack's poller
 * build it with the same factory, so both run exactly this code.
 *
 * Powertools' BatchProcessor does the partial-batch bookkeeping; a message fails alone when
 * its body is malformed or one of its events cannot be written, and SQS redelivers it (then
 * moves it to the DLQ after the redrive limit). Writes across the batch are bounded by one
 * p-limit so a 10,000-message batch cannot open 10,000 DynamoDB requests at once.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { publishCounts } from "../observability/emf.js";
import { METRICS } from "../observability/metrics.js";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import pLimit from "p-limit";
import { parseMessageBody } from "../events/parse.js";
import type { Ledger } from "../ledger/index.js";
import { applyEvent, detailsFor, type EventOutcome } from "./apply-event.js";
import { withheldOf, type ObjectDescriber } from "../s3/object-details.js";
import { emptyCounts, type TrackerCounts } from "./counts.js";
import type { ObjectLookup } from "../s3/object-lookup.js";
import { ingestRequestFor, type IngestForwarding } from "./ingest-forwarding.js";
import { partitionByBucket, trackedBucketFilter, untrackedBucketsForLog } from "./tracked-buckets.js";

export interface TrackerDependencies {
  ledger: Ledger;
  lookup: ObjectLookup;
  logger: Logger;
  /** Absent in the local stack, which reports counts through `onBatchComplete` instead. */
  metrics?: Metrics;
  /** Maximum DynamoDB writes in flight per invocation. */
  concurrency: number;
  onBatchComplete?: (counts: TrackerCounts) => void;
  /** Row ingestion: the rules, and the queue that takes a request for each change a rule covers. */
  ingestion?: IngestForwarding;
  /** Object metadata (the `enrich` config): each create's HEAD, made before its write. */
  describer?: ObjectDescriber;
  /**
   * The buckets this stack tracks: an event about any other is dropped (tracker/tracked-buckets.ts).
   * The deployed function always has them (its packaged configuration); absent, as in tests that
   * build the handler around one bucket, every bucket's events are applied.
   */
  trackedBuckets?: readonly string[];
}

/** HEADs in flight per invocation: all of a batch's at once, so they add one round trip to it, not one per event. */
const DESCRIBE_CONCURRENCY = 64;

export type TrackerHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

const OUTCOME_COUNTER: Record<EventOutcome, keyof TrackerCounts> = {
  applied: "applied",
  superseded: "skippedOlder",
  predatesReconciliation: "skippedOlder",
  duplicate: "duplicates",
  ignored: "ignored",
  versionNotHeld: "applied",
  repaired: "applied",
  newerStateKept: "skippedOlder",
  undescribed: "undescribed",
};

function publishMetrics(metrics: Metrics, counts: TrackerCounts): void {
  const emitted = METRICS.tracker;
  publishCounts(metrics, {
    [emitted.eventsApplied]: counts.applied,
    [emitted.eventsSkippedOlder]: counts.skippedOlder,
    [emitted.eventsDuplicate]: counts.duplicates,
    [emitted.eventsIgnored]: counts.ignored,
    [emitted.messagesFailed]: counts.failedMessages,
    [emitted.objectsUndescribed]: counts.undescribed,
    [emitted.checksumsWithheld]: counts.checksumsWithheld,
    [emitted.eventsUntrackedBucket]: counts.untrackedBucket,
  });
}

export function createTrackerHandler(deps: TrackerDependencies): TrackerHandler {
  const { ledger, lookup, logger } = deps;
  const isTracked = trackedBucketFilter(deps.trackedBuckets);
  return async (event, context) => {
    const counts = emptyCounts();
    const limit = pLimit(deps.concurrency);
    const describing = pLimit(DESCRIBE_CONCURRENCY);
    // Each bucket's watermark read once per invocation; a failed read fails only the messages that needed it.
    const batch = ledger.batch();

    const processRecord = async (record: SQSRecord): Promise<void> => {
      try {
        const message = parseMessageBody(record.body);
        if (message.kind === "test") {
          counts.testEvents++;
          return;
        }
        const { tracked: events, untracked } = partitionByBucket(message.events, isTracked);
        if (untracked.length > 0) {
          // Acknowledged, not failed: redelivering them could never make them belong here.
          counts.untrackedBucket += untracked.length;
          logger.warn("events for buckets this stack does not track dropped", {
            messageId: record.messageId,
            events: untracked.length,
            buckets: untrackedBucketsForLog(untracked),
          });
        }
        // Once per bucket per instance: `buckets` and `status` list what the ledger tracks.
        await Promise.all([...new Set(events.map((objectEvent) => objectEvent.bucket))].map((bucket) => ledger.register(bucket)));
        const { describer } = deps;
        const details = describer ? await Promise.all(events.map((objectEvent) => describing(() => detailsFor(objectEvent, describer)))) : [];
        const applied = await Promise.all(
          events.map((objectEvent, index) => limit(() => applyEvent(ledger, lookup, objectEvent, batch, details[index], describer))),
        );
        // Outside the write slots: the entries of many messages go out in one batch.
        await Promise.all(applied.map(({ journaled }) => journaled));
        for (const { outcome } of applied) counts[OUTCOME_COUNTER[outcome]]++;
        for (const withheld of details.map(withheldOf)) if (withheld) counts[withheld === "all" ? "undescribed" : "checksumsWithheld"]++;
        if (deps.ingestion) {
          // Sent before the message is acknowledged: if sending fails, the message is redelivered,
          // its events come back as duplicates, and their requests are sent again.
          const requests = applied.flatMap((result) => ingestRequestFor(deps.ingestion!.rules, result) ?? []);
          if (requests.length > 0) await deps.ingestion.queue.send(requests);
          counts.ingestRequests += requests.length;
        }
      } catch (error) {
        counts.failedMessages++;
        logger.error("message failed", { messageId: record.messageId, error: error as Error });
        throw error;
      }
    };

    // A new processor per invocation: BatchProcessor keeps per-batch state, and the local
    // poller may run several batches through one handler at once.
    const processor = new BatchProcessor(EventType.SQS);
    try {
      return await processPartialResponse(event, processRecord, processor, {
        ...(context !== undefined && { context }),
        // An all-failed batch is reported like any other, so retries stay per message.
        throwOnFullBatchFailure: false,
      });
    } finally {
      logger.info("batch processed", { messages: event.Records.length, ...counts });
      if (deps.metrics) publishMetrics(deps.metrics, counts);
      deps.onBatchComplete?.(counts);
    }
  };
}
