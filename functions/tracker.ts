/** Lambda entry point of the tracker: SQS (S3 or EventBridge events) -> ledger. */
import { Logger } from "@aws-lambda-powertools/logger";
import { S3Client } from "@aws-sdk/client-s3";
import { ingestRequestsFrom } from "./ingest-requests.js";
import { Ledger } from "../ledger/index.js";
import { parseTrackerEnvironment, readPackagedConfig } from "./environment.js";
import { createTrackerHandler } from "../tracker/handler.js";
import { s3ObjectLookup } from "../sdk/object-lookup.js";
import { s3ObjectDescriber } from "../sdk/object-details.js";
import { withoutSdkLogger } from "../sdk/lean-client.js";
import { metricsFor } from "../observability/emf.js";

// The packaged configuration sits beside the bundle (functions/environment.ts).
const env = parseTrackerEnvironment(process.env, readPackagedConfig(import.meta.url));

const s3 = withoutSdkLogger(new S3Client({}));

export const handler = createTrackerHandler({
  ledger: new Ledger({
    tableName: env.TABLE_NAME,
    retentionDays: env.RETENTION_DAYS,
    historyDays: env.HISTORY_DAYS,
    changeShards: env.CHANGE_SHARDS,
    origin: env.ORIGIN,
  }),
  lookup: s3ObjectLookup(s3),
  ...(env.ENRICH.length > 0 && { describer: s3ObjectDescriber(s3, env.ENRICH) }),
  logger: new Logger({ serviceName: "bucket-ledger-tracker" }),
  metrics: metricsFor("tracker"),
  concurrency: env.WRITE_CONCURRENCY,
  trackedBuckets: env.BUCKETS,
  ...ingestRequestsFrom(env),
});
