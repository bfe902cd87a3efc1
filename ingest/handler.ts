/**
 * The ingestion function's SQS handler (FIFO queue). Lambda (functions/ingest.ts) and the local
 * stack's poller build it with the same factory.
 *
 * Powertools' FIFO processor handles a batch's messages one after another and, with
 * `skipGroupOnError`, fails a message and the rest of its group alone: the other files in the
 * batch go on, and the failed group's order is kept for the retry. A file that needs more time
 * than the invocation has left is checkpointed and continued by a message queued behind it in
 * the same group.
 */
import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { publishCounts } from "../observability/emf.js";
import { METRICS } from "../observability/metrics.js";
import { logKey } from "../observability/logged-key.js";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { IngestQueue } from "./ingest-queue.js";
import type { Ingester, IngestOutcome } from "./ingester.js";
import { parseIngestRequest } from "./request.js";
import { budgetReserving } from "../foundation/time-budget.js";

export interface IngestHandlerDependencies {
  ingester: Ingester;
  queue: IngestQueue;
  logger: Logger;
  metrics?: Metrics;
  /** Stop a file this long before the invocation ends. */
  stopMarginMs: number;
  /** Without a Lambda context (the local stack): how long one invocation may run. */
  invocationMs?: number;
  onOutcome?: (outcome: IngestOutcome) => void;
}

export type IngestHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

export interface IngestCounts {
  succeeded: number;
  partial: number;
  failed: number;
  removed: number;
  continued: number;
  skipped: number;
  rowsWritten: number;
  rowsRejected: number;
  rowsDeleted: number;
  failedMessages: number;
}

const emptyCounts = (): IngestCounts => ({
  succeeded: 0,
  partial: 0,
  failed: 0,
  removed: 0,
  continued: 0,
  skipped: 0,
  rowsWritten: 0,
  rowsRejected: 0,
  rowsDeleted: 0,
  failedMessages: 0,
});

function publish(metrics: Metrics, counts: IngestCounts): void {
  const emitted = METRICS.ingest;
  publishCounts(metrics, {
    [emitted.ingestionsSucceeded]: counts.succeeded,
    [emitted.ingestionsPartial]: counts.partial,
    [emitted.ingestionsFailed]: counts.failed,
    [emitted.ingestionsContinued]: counts.continued,
    [emitted.rowsWritten]: counts.rowsWritten,
    [emitted.rowsRejected]: counts.rowsRejected,
    [emitted.rowsDeleted]: counts.rowsDeleted,
    [emitted.messagesFailed]: counts.failedMessages,
  });
}

/**
 * The fields an error's log line keeps, an allowlist: its kind, where it was thrown, and AWS's
 * answer when there was one. Any other message may quote what it failed on (a parser's quotes a
 * field; Node 22's JSON errors quote the text), and rows are not the logs' to hold.
 */
export function loggedError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { errorName: typeof error };
  const { code, $metadata: metadata } = error as { code?: unknown; $metadata?: { httpStatusCode?: number; requestId?: string } };
  return {
    errorName: error.name,
    ...(typeof code === "string" && { errorCode: code }),
    // An AWS error's message names a resource or a limit, not the row being written.
    ...(metadata !== undefined && { errorMessage: error.message, httpStatusCode: metadata.httpStatusCode, requestId: metadata.requestId }),
    errorFrames: (error.stack ?? "")
      .split("\n")
      .filter((line) => line.trimStart().startsWith("at "))
      .slice(0, 10)
      .map((line) => line.trim()),
  };
}

export function createIngestHandler(deps: IngestHandlerDependencies): IngestHandler {
  return async (event, context) => {
    const counts = emptyCounts();
    const deadline = Date.now() + (deps.invocationMs ?? 900_000);
    const budget = budgetReserving(() => (context ? context.getRemainingTimeInMillis() : deadline - Date.now()), deps.stopMarginMs);

    const processRecord = async (record: SQSRecord): Promise<void> => {
      try {
        const request = parseIngestRequest(record.body);
        const outcome = await deps.ingester.run(request, budget);
        deps.onOutcome?.(outcome);
        if (outcome.outcome === "skipped") {
          counts.skipped++;
          deps.logger.info("ingest request skipped", {
            bucket: request.bucket,
            ...logKey(deps.logger, "ingest request skipped", request.key),
            why: outcome.why,
          });
          return;
        }
        const { record: ingestion } = outcome;
        if (outcome.outcome === "continuing") {
          counts.continued++;
          // Behind this message in its group; the nonce (the checkpoint's time) keeps SQS from deduplicating it.
          await deps.queue.send(
            [{ kind: "ingest", bucket: ingestion.bucket, key: ingestion.key, version: ingestion.version, cause: "continuation" }],
            ingestion.updatedAt,
          );
          deps.logger.info("ingestion continues", {
            bucket: ingestion.bucket,
            ...logKey(deps.logger, "ingestion continues", ingestion.key),
            offset: ingestion.checkpoint?.offset,
            rowsRead: ingestion.rowsRead,
          });
          return;
        }
        if (ingestion.status === "succeeded") counts.succeeded++;
        else if (ingestion.status === "partial") counts.partial++;
        else if (ingestion.status === "removed") counts.removed++;
        else counts.failed++;
        counts.rowsWritten += ingestion.rowsWritten;
        counts.rowsRejected += ingestion.rowsRejected;
        counts.rowsDeleted += ingestion.rowsDeleted;
        const log = ingestion.status === "failed" ? deps.logger.error.bind(deps.logger) : deps.logger.info.bind(deps.logger);
        // The key and the error report's key (which holds it) only at DEBUG; `ingestions` shows both.
        const { key, errorReport, ...finished } = ingestion;
        log("ingestion finished", { ...finished, ...logKey(deps.logger, "ingestion finished", key, { errorReport }) });
      } catch (error) {
        counts.failedMessages++;
        deps.logger.error("ingest message failed", { messageId: record.messageId, ...loggedError(error) });
        throw error;
      }
    };

    const processor = new SqsFifoPartialProcessorAsync();
    try {
      return await processPartialResponse(event, processRecord, processor, {
        ...(context !== undefined && { context }),
        skipGroupOnError: true,
        throwOnFullBatchFailure: false,
      });
    } finally {
      if (deps.metrics) publish(deps.metrics, counts);
    }
  };
}
