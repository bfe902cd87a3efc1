/**
 * Lambda entry point of reconciliation: planned by the schedule, carried out as range tasks
 * from the task queue (see reconcile/wiring.ts, reconcile/handler.ts and reconcile/reconciliation.ts).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createDocumentClient } from "../ledger/index.js";
import { buildReconcileFunction } from "../reconcile/wiring.js";
import { withoutSdkLogger } from "../aws/lean-client.js";
import { ingestRequestsFrom } from "./ingest-requests.js";
import { readPackagedConfig } from "./settings/contract.js";
import { reconcilerWiringOf, reconcileSettings } from "./settings/reconcile.js";
import { metricsFor } from "../observability/emf.js";

// The packaged configuration sits beside the bundle (functions/settings/contract.ts).
const settings = reconcileSettings.read(process.env, readPackagedConfig(import.meta.url));
const sqs = withoutSdkLogger(new SQSClient({}));

export const handler = buildReconcileFunction({
  clients: { s3: withoutSdkLogger(new S3Client({})), sqs, documentClient: createDocumentClient() },
  ...reconcilerWiringOf(settings),
  ...ingestRequestsFrom(settings, sqs),
  logger: new Logger({ serviceName: "bucket-ledger-reconcile" }),
  metrics: metricsFor("reconcile"),
}).handler;
