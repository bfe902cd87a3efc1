/** Lambda entry point of the query API (API Gateway HTTP API, payload 2.0); see api/handler.ts. */
import { Logger } from "@aws-lambda-powertools/logger";
import { createApiHandler } from "../api/handler.js";
import { Ledger } from "../ledger/index.js";
import { parseApiEnvironment, readPackagedConfig } from "./environment.js";

// The packaged configuration sits beside the bundle (functions/environment.ts).
const env = parseApiEnvironment(process.env, readPackagedConfig(import.meta.url));
const logger = new Logger({ serviceName: "bucket-ledger-api" });

export const handler = createApiHandler({
  ledger: new Ledger({ tableName: env.TABLE_NAME, retentionDays: env.RETENTION_DAYS }),
  buckets: env.BUCKETS,
  publicView: !env.SERVE_PERSONAL_DATA,
  onError: (error) => logger.error("query failed", { error: error as Error }),
});
