/**
 * The query API wired once, from clients and settings: the ledger it reads and the HTTP
 * handler. The Lambda (functions/api.ts) and the local stack both build it here.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Ledger } from "../ledger/index.js";
import { createApiHandler, type ApiHandler } from "./handler.js";

/** What the API runs with (functions/settings/api.ts reads and defaults them). */
export interface ApiSettings {
  tableName: string;
  retentionDays: number;
  /** The buckets it serves; any other is 404. */
  buckets: readonly string[];
  /** Origin, user metadata, tags and KMS key ARNs in responses: only behind IAM (api/public-view.ts). */
  servePersonalData: boolean;
}

export interface ApiWiring {
  clients: { documentClient: DynamoDBDocumentClient };
  settings: ApiSettings;
  onError?: (error: unknown) => void;
}

export function buildApi(wiring: ApiWiring): ApiHandler {
  const { settings } = wiring;
  return createApiHandler({
    ledger: new Ledger({ tableName: settings.tableName, retentionDays: settings.retentionDays, documentClient: wiring.clients.documentClient }),
    buckets: settings.buckets,
    publicView: !settings.servePersonalData,
    ...(wiring.onError && { onError: wiring.onError }),
  });
}
