/**
 * Lambda entry point of the scheduled reconciliation: reconciles every tracked bucket against
 * ListObjectsV2 or its newest S3 Inventory report, logs one summary line per bucket and
 * publishes it as EMF metrics. A failed or refused run throws, so the Lambda Errors alarm fires.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { S3Client } from "@aws-sdk/client-s3";
import { Ledger } from "../ledger/index.js";
import { parseReconcileEnvironment } from "./environment.js";
import { reconcileBucket, type ReconcileSummary } from "../reconcile/engine.js";
import { inventorySource } from "../reconcile/inventory-source.js";
import { listObjectsSource, type ObjectSource } from "../reconcile/source.js";

const env = parseReconcileEnvironment(process.env);
const logger = new Logger({ serviceName: "bucket-ledger-reconcile" });
const metrics = new Metrics({ namespace: "BucketLedger", serviceName: "reconcile" });
const ledger = new Ledger({ tableName: env.TABLE_NAME, retentionDays: env.RETENTION_DAYS });
const s3 = new S3Client({});

function publish(summary: ReconcileSummary): void {
  // No bucket dimension: the alarms and dashboard read one series; the log line has the detail.
  const drift = summary.missing + summary.stale + summary.orphaned;
  metrics.addMetric("DriftFound", MetricUnit.Count, drift);
  metrics.addMetric("DriftMissing", MetricUnit.Count, summary.missing);
  metrics.addMetric("DriftStale", MetricUnit.Count, summary.stale);
  metrics.addMetric("DriftOrphaned", MetricUnit.Count, summary.orphaned);
  metrics.addMetric("RepairsMade", MetricUnit.Count, summary.repaired);
  metrics.addMetric("NewerStateKept", MetricUnit.Count, summary.newerStateKept);
  metrics.addMetric("ObjectsScanned", MetricUnit.Count, summary.scanned);
  metrics.addMetric("ObjectsPerSecond", MetricUnit.CountPerSecond, summary.objectsPerSecond);
  metrics.publishStoredMetrics();
}

function sourceFor(bucket: string): Promise<ObjectSource> {
  if (env.RECONCILE_SOURCE === "list") return Promise.resolve(listObjectsSource({ s3, bucket }));
  return inventorySource({
    s3,
    sourceBucket: bucket,
    location: { bucket: env.INVENTORY_BUCKET!, prefix: env.INVENTORY_PREFIX, configurationId: env.INVENTORY_CONFIGURATION_ID },
  });
}

export const handler = async (): Promise<{ summaries: ReconcileSummary[] }> => {
  const summaries: ReconcileSummary[] = [];
  const failures: unknown[] = [];
  // One bucket's failure (or refusal) must not keep the others from being reconciled.
  for (const bucket of env.BUCKETS) {
    try {
      const summary = await reconcileBucket({
        ledger,
        bucket,
        source: await sourceFor(bucket),
        maxDeleteFraction: env.MAX_DELETE_FRACTION,
        concurrency: env.WRITE_CONCURRENCY,
      });
      logger.info("reconciliation finished", { ...summary });
      publish(summary);
      summaries.push(summary);
    } catch (error) {
      logger.error("reconciliation failed", { bucket, error: error as Error });
      failures.push(error);
    }
  }
  // Failing the invocation is what fires the reconcile-failed alarm.
  if (failures.length > 0) throw new AggregateError(failures, `reconciliation failed for ${failures.length} of ${env.BUCKETS.length} buckets`);
  return { summaries };
};
