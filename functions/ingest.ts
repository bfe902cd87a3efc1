/** Lambda entry point of row ingestion: the FIFO ingestion queue -> the rules' tables (see ingest/wiring.ts). */
import { Logger } from "@aws-lambda-powertools/logger";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createDocumentClient } from "../ledger/index.js";
import { buildIngestion } from "../ingest/wiring.js";
import { withoutSdkLogger } from "../aws/lean-client.js";
import { readPackagedConfig } from "./settings/contract.js";
import { ingestSettings } from "./settings/ingest.js";
import { metricsFor } from "../observability/emf.js";

// The packaged configuration sits beside the bundle (functions/settings/contract.ts).
const settings = ingestSettings.read(process.env, readPackagedConfig(import.meta.url));

export const handler = buildIngestion({
  clients: { s3: withoutSdkLogger(new S3Client({})), sqs: withoutSdkLogger(new SQSClient({})), documentClient: createDocumentClient() },
  tableName: settings.tableName,
  retentionDays: settings.retentionDays,
  queueUrl: settings.ingestQueueUrl,
  rules: settings.ingestRules,
  writeConcurrency: settings.writeConcurrency,
  stopMarginMs: settings.stopMarginMs,
  logger: new Logger({ serviceName: "bucket-ledger-ingest" }),
  metrics: metricsFor("ingest"),
}).handler;
