/** Lambda entry point of the tracker: SQS (S3 or EventBridge events) -> ledger (see tracker/wiring.ts). */
import { Logger } from "@aws-lambda-powertools/logger";
import { S3Client } from "@aws-sdk/client-s3";
import { createDocumentClient } from "../ledger/index.js";
import { withoutSdkLogger } from "../aws/lean-client.js";
import { buildTracker } from "../tracker/wiring.js";
import { ingestRequestsFrom } from "./ingest-requests.js";
import { readPackagedConfig } from "./settings/contract.js";
import { trackerSettings } from "./settings/tracker.js";
import { metricsFor } from "../observability/emf.js";

// The packaged configuration sits beside the bundle (functions/settings/contract.ts).
const settings = trackerSettings.read(process.env, readPackagedConfig(import.meta.url));

export const handler = buildTracker({
  clients: { s3: withoutSdkLogger(new S3Client({})), documentClient: createDocumentClient() },
  settings,
  ...ingestRequestsFrom(settings),
  logger: new Logger({ serviceName: "bucket-ledger-tracker" }),
  metrics: metricsFor("tracker"),
}).handler;
