/**
 * Lambda entry point of reconciliation: planned by the schedule, carried out as range tasks
 * from the task queue (see reconcile/wiring.ts, reconcile/handler.ts and reconcile/fan-out.ts).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createDocumentClient } from "../ledger/index.js";
import { buildReconciler } from "../reconcile/wiring.js";
import { ingestRequestsFrom } from "./ingest-requests.js";
import { withoutSdkLogger } from "../sdk/lean-client.js";
import { parseReconcileEnvironment, readPackagedConfig } from "./environment.js";
import { metricsFor } from "../observability/emf.js";

// The packaged configuration sits beside the bundle (functions/environment.ts).
const env = parseReconcileEnvironment(process.env, readPackagedConfig(import.meta.url));

const sqs = withoutSdkLogger(new SQSClient({}));

const reconciler = buildReconciler({
  clients: { s3: withoutSdkLogger(new S3Client({})), sqs, documentClient: createDocumentClient() },
  tableName: env.TABLE_NAME,
  retentionDays: env.RETENTION_DAYS,
  historyDays: env.HISTORY_DAYS,
  changeShards: env.CHANGE_SHARDS,
  enrich: env.ENRICH,
  taskQueueUrl: env.TASK_QUEUE_URL,
  buckets: env.BUCKETS,
  ...(env.RECONCILE_SOURCE === "inventory" && {
    inventory: { bucket: env.INVENTORY_BUCKET!, prefix: env.INVENTORY_PREFIX, configurationId: env.INVENTORY_CONFIGURATION_ID },
  }),
  settings: {
    tasksPerRun: env.TASKS_PER_RUN,
    maxDeleteFraction: env.MAX_DELETE_FRACTION,
    staleAfterMs: env.STALE_RUN_MINUTES * 60_000,
    writeConcurrency: env.WRITE_CONCURRENCY,
    backfill: { repairsPerSecond: env.BACKFILL_REPAIRS_PER_SECOND, tasksAtOnce: env.TASK_CONCURRENCY },
    // Time for the last checkpoint and the continuation message before Lambda stops the invocation.
    reserveMs: 20_000,
  },
  ...ingestRequestsFrom(env, sqs),
  logger: new Logger({ serviceName: "bucket-ledger-reconcile" }),
  metrics: metricsFor("reconcile"),
});

export const handler = reconciler.handler;
