/**
 * Lambda entry point of reconciliation: planned by the schedule, carried out as range tasks
 * from the task queue (see reconcile/handler.ts and reconcile/fan-out.ts).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createDocumentClient, Ledger } from "../ledger/index.js";
import { FanOutReconciler } from "../reconcile/fan-out.js";
import { createReconcileHandler, reportEncodingMismatch, reportPlanFailure, reportRun } from "../reconcile/handler.js";
import { openRunSource } from "../reconcile/open-source.js";
import { RunStore } from "../reconcile/run-store.js";
import { sqsTaskQueue } from "../reconcile/task-queue.js";
import { withoutSdkLogger } from "../sdk/lean-client.js";
import { parseReconcileEnvironment } from "./environment.js";

const env = parseReconcileEnvironment(process.env);
const logger = new Logger({ serviceName: "bucket-ledger-reconcile" });
const metrics = new Metrics({ namespace: "BucketLedger", serviceName: "reconcile" });
const documentClient = createDocumentClient();
const ledger = new Ledger({ tableName: env.TABLE_NAME, retentionDays: env.RETENTION_DAYS, documentClient });
const s3 = withoutSdkLogger(new S3Client({}));
const sources = openRunSource({
  s3,
  ...(env.RECONCILE_SOURCE === "inventory" && {
    inventory: { bucket: env.INVENTORY_BUCKET!, prefix: env.INVENTORY_PREFIX, configurationId: env.INVENTORY_CONFIGURATION_ID },
  }),
});

export const handler = createReconcileHandler({
  fanOut: new FanOutReconciler({
    ledger,
    runs: new RunStore(env.TABLE_NAME, documentClient),
    queue: sqsTaskQueue(withoutSdkLogger(new SQSClient({})), env.TASK_QUEUE_URL),
    openSource: sources.reopen,
    writeConcurrency: env.WRITE_CONCURRENCY,
    onRunFinished: (summary) => reportRun(summary, logger, metrics),
    onEncodingMismatch: (bucket, mismatch) => reportEncodingMismatch(bucket, mismatch, logger),
  }),
  buckets: env.BUCKETS,
  openSourceForPlan: sources.forNewRun,
  tasksPerRun: env.TASKS_PER_RUN,
  maxDeleteFraction: env.MAX_DELETE_FRACTION,
  staleAfterMs: env.STALE_RUN_MINUTES * 60_000,
  logger,
  // Time for the last checkpoint and the continuation message before Lambda stops the invocation.
  reserveMs: 20_000,
  onPlanFailed: () => reportPlanFailure(metrics),
});
