/** Lambda entry point of row ingestion: the FIFO ingestion queue -> the rules' tables (see ingest/). */
import { Logger } from "@aws-lambda-powertools/logger";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createDocumentClient } from "../ledger/index.js";
import { buildIngestion } from "../ingest/wiring.js";
import { withoutSdkLogger } from "../sdk/lean-client.js";
import { parseIngestEnvironment, readPackagedConfig } from "./environment.js";
import { metricsFor } from "../observability/emf.js";

// The packaged configuration sits beside the bundle (functions/environment.ts).
const env = parseIngestEnvironment(process.env, readPackagedConfig(import.meta.url));

export const handler = buildIngestion({
  clients: { s3: withoutSdkLogger(new S3Client({})), sqs: withoutSdkLogger(new SQSClient({})), documentClient: createDocumentClient() },
  tableName: env.TABLE_NAME,
  retentionDays: env.RETENTION_DAYS,
  queueUrl: env.INGEST_QUEUE_URL,
  rules: env.INGEST_RULES,
  writeConcurrency: env.WRITE_CONCURRENCY,
  stopMarginMs: env.STOP_MARGIN_MS,
  logger: new Logger({ serviceName: "bucket-ledger-ingest" }),
  metrics: metricsFor("ingest"),
}).handler;
