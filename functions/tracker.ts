/** Lambda entry point of the tracker: SQS (S3 or EventBridge events) -> ledger. */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { S3Client } from "@aws-sdk/client-s3";
import { ingestRequestsFrom } from "./ingest-requests.js";
import { Ledger } from "../ledger/index.js";
import { parseTrackerEnvironment } from "./environment.js";
import { createTrackerHandler } from "../tracker/handler.js";
import { s3ObjectLookup } from "../sdk/object-lookup.js";
import { withoutSdkLogger } from "../sdk/lean-client.js";

const env = parseTrackerEnvironment(process.env);

export const handler = createTrackerHandler({
  ledger: new Ledger({ tableName: env.TABLE_NAME, retentionDays: env.RETENTION_DAYS, historyDays: env.HISTORY_DAYS }),
  lookup: s3ObjectLookup(withoutSdkLogger(new S3Client({}))),
  logger: new Logger({ serviceName: "bucket-ledger-tracker" }),
  metrics: new Metrics({ namespace: "BucketLedger", serviceName: "tracker" }),
  concurrency: env.WRITE_CONCURRENCY,
  ...ingestRequestsFrom(env),
});
