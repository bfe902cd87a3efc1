/** Lambda entry point of the query API (API Gateway HTTP API, payload 2.0); see api/wiring.ts and api/handler.ts. */
import { Logger } from "@aws-lambda-powertools/logger";
import { buildApi } from "../api/wiring.js";
import { createDocumentClient } from "../ledger/index.js";
import { apiSettings } from "./settings/api.js";
import { readPackagedConfig } from "./settings/contract.js";

// The packaged configuration sits beside the bundle (functions/settings/contract.ts).
const settings = apiSettings.read(process.env, readPackagedConfig(import.meta.url));
const logger = new Logger({ serviceName: "bucket-ledger-api" });

export const handler = buildApi({
  clients: { documentClient: createDocumentClient() },
  settings,
  onError: (error) => logger.error("query failed", { error: error as Error }),
});
