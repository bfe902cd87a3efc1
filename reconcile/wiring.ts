/**
 * Reconciliation wired once: the run store, the task queue, the run's sources, the fan-out
 * and the handler's two entry points, from clients and settings. The Lambda
 * (functions/reconcile.ts), the local stack and the fan-out tests all build it here, so they
 * run one configuration of one code path and differ only in what they pass.
 */
import type { ChangeShardSetting } from "../ledger/change-index/index.js";
import { RECONCILE_DEFAULTS } from "./defaults.js";
import type { EnrichmentField } from "../events/enrichment-fields.js";
import { s3ObjectDescriber } from "../s3/object-details.js";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Ledger } from "../ledger/index.js";
import type { EncodingMismatch } from "./drift-checks.js";
import { Reconciliation } from "./reconciliation.js";
import type { RunSummary } from "./run-summary.js";
import { createReconcileHandler, reportEncodingMismatch, reportPlanFailure, reportRun, type ReconcileHandler } from "./handler.js";
import type { InventoryLocation } from "./inventory-source.js";
import { openRunSource } from "./open-source.js";
import { DynamoDbRunStore } from "./dynamodb-run-store.js";
import type { RunStore } from "./run-store.js";
import type { ObjectSource } from "./source.js";
import { sqsTaskQueue } from "./task-queue.js";
import { auditIngestions } from "../ingest/audit.js";
import type { IngestQueue } from "../ingest/ingest-queue.js";
import type { IngestRule } from "../ingest/rules.js";

export interface ReconcileFunctionSettings {
  tasksPerRun: number;
  maxDeleteFraction: number;
  /** An unfinished run with no progress for this long is failed, and a new one may start. */
  staleAfterMs: number;
  writeConcurrency: number;
  /** Time kept back from a Lambda invocation for the last checkpoint and the continuation. */
  reserveMs: number;
  /** Time per task where there is no Lambda context (the local stack). */
  localBudgetMs?: number;
  checkpointIntervalMs?: number;
  leaseMarginMs?: number;
  /** Backfill mode's write budget for a whole run, shared by the tasks that run at once. */
  backfill?: { repairsPerSecond: number; tasksAtOnce: number };
}

export interface ReconcileFunctionWiring {
  clients: { s3: S3Client; sqs: SQSClient; documentClient: DynamoDBDocumentClient };
  tableName: string;
  retentionDays: number;
  /** Days the journal keeps each repair; 0 or absent: no journal. */
  historyDays?: number;
  /** The change-shard setting the repairs are written with (the stack's `changeShards`). */
  changeShards?: ChangeShardSetting;
  /** Object metadata asked of S3 for each object repaired (the tracker's `enrich`). */
  enrich?: readonly EnrichmentField[];
  taskQueueUrl: string;
  buckets: string[];
  /** Read S3 Inventory reports from here instead of listing. */
  inventory?: InventoryLocation;
  settings: ReconcileFunctionSettings;
  logger: Logger;
  /** Absent locally: runs are reported through `onRunFinished` instead. */
  metrics?: Metrics;
  onRunFinished?: (summary: RunSummary) => void;
  /** Wraps each task's source (fault injection in tests). */
  wrapSource?: (source: ObjectSource) => ObjectSource;
  onEncodingMismatch?: (bucket: string, mismatch: EncodingMismatch) => void;
  /** Row ingestion: after each run, files whose current version is not ingested are queued again. */
  ingestion?: { rules: readonly IngestRule[]; queue: IngestQueue };
}

export interface ReconcileFunction extends ReconcileHandler {
  reconciliation: Reconciliation;
  runs: RunStore;
}

export function buildReconcileFunction(wiring: ReconcileFunctionWiring): ReconcileFunction {
  const { clients, settings, logger, metrics } = wiring;
  const ledger = new Ledger({
    tableName: wiring.tableName,
    retentionDays: wiring.retentionDays,
    documentClient: clients.documentClient,
    ...(wiring.historyDays !== undefined && { historyDays: wiring.historyDays }),
    ...(wiring.changeShards !== undefined && { changeShards: wiring.changeShards }),
  });
  const runs = new DynamoDbRunStore(wiring.tableName, clients.documentClient);
  const sources = openRunSource({ s3: clients.s3, ...(wiring.inventory && { inventory: wiring.inventory }) });
  const wrap = wiring.wrapSource ?? ((source: ObjectSource) => source);
  const backfillBudget = settings.backfill?.repairsPerSecond ?? RECONCILE_DEFAULTS.backfillRepairsPerSecond;
  const reconciliation = new Reconciliation({
    ledger,
    runs,
    queue: sqsTaskQueue(clients.sqs, wiring.taskQueueUrl),
    openSource: async (...args) => wrap(await sources.reopen(...args)),
    writeConcurrency: settings.writeConcurrency,
    backfill: {
      writeConcurrency: RECONCILE_DEFAULTS.backfillWriteConcurrency,
      repairsPerSecond: backfillBudget / (settings.backfill?.tasksAtOnce ?? RECONCILE_DEFAULTS.maximumConcurrency),
      runRepairsPerSecond: backfillBudget,
    },
    ...(wiring.enrich?.length && { describer: s3ObjectDescriber(clients.s3, wiring.enrich) }),
    ...(settings.checkpointIntervalMs !== undefined && { checkpointIntervalMs: settings.checkpointIntervalMs }),
    ...(settings.leaseMarginMs !== undefined && { leaseMarginMs: settings.leaseMarginMs }),
    onRunFinished: async (finished) => {
      let summary = finished;
      // Only a complete, real run has a repaired ledger to check ingestion against.
      if (wiring.ingestion && finished.status === "succeeded" && !finished.dryRun) {
        try {
          summary = { ...finished, ingestAudit: await auditIngestions({ ledger, ...wiring.ingestion, bucket: finished.bucket, runId: finished.runId }) };
        } catch (error) {
          // The run itself succeeded; the next one audits again.
          logger.error("ingestion audit failed", { bucket: finished.bucket, runId: finished.runId, error: error as Error });
        }
      }
      // The summary line and EMF metrics are what the alarms read; locally the caller reports.
      if (metrics) reportRun(summary, logger, metrics);
      wiring.onRunFinished?.(summary);
    },
    onEncodingMismatch: (bucket, mismatch) => {
      reportEncodingMismatch(bucket, mismatch, logger);
      wiring.onEncodingMismatch?.(bucket, mismatch);
    },
  });
  const handler = createReconcileHandler({
    reconciliation,
    buckets: wiring.buckets,
    openSourceForPlan: sources.forNewRun,
    tasksPerRun: settings.tasksPerRun,
    maxDeleteFraction: settings.maxDeleteFraction,
    staleAfterMs: settings.staleAfterMs,
    logger,
    reserveMs: settings.reserveMs,
    ...(settings.localBudgetMs !== undefined && { localBudgetMs: settings.localBudgetMs }),
    onPlanFailed: () => reportPlanFailure(metrics),
  });
  return { ...handler, reconciliation, runs };
}
