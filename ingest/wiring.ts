/**
 * Ingestion wired once, for the Lambda (functions/ingest.ts), the local stack and the tests:
 * the ingester over the ledger, the ingestion records and the rules, the queue continuations
 * go to, and the SQS handler.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Ledger } from "../ledger/index.js";
import { INGEST_DEFAULTS } from "./defaults.js";
import { createIngestHandler, type IngestHandler } from "./handler.js";
import { SqsIngestQueue } from "./ingest-queue.js";
import { Ingester, type IngestOutcome } from "./ingester.js";
import { IngestionStore } from "./ingestion-store.js";
import type { IngestRule } from "./rules.js";

const SECONDS_PER_DAY = 86_400;

export interface IngestionWiring {
  clients: { s3: S3Client; sqs: SQSClient; documentClient: DynamoDBDocumentClient };
  tableName: string;
  retentionDays: number;
  queueUrl: string;
  /** Each with the physical name of its target table in `table`. */
  rules: readonly IngestRule[];
  writeConcurrency?: number;
  copyPartBytes?: number;
  stopMarginMs?: number;
  /** Time per invocation where there is no Lambda context (the local stack). */
  invocationMs?: number;
  logger: Logger;
  metrics?: Metrics;
  onOutcome?: (outcome: IngestOutcome) => void;
}

/** The ingest function as wired: its handler and the parts the local stack and the tests reach. */
export interface IngestFunction {
  ingester: Ingester;
  store: IngestionStore;
  queue: SqsIngestQueue;
  handler: IngestHandler;
}

export function buildIngestion(wiring: IngestionWiring): IngestFunction {
  const { clients } = wiring;
  const ledger = new Ledger({ tableName: wiring.tableName, retentionDays: wiring.retentionDays, documentClient: clients.documentClient });
  const store = new IngestionStore(clients.documentClient, wiring.tableName, wiring.retentionDays * SECONDS_PER_DAY);
  const ingester = new Ingester({
    s3: clients.s3,
    documentClient: clients.documentClient,
    ledger,
    store,
    rules: wiring.rules,
    writeConcurrency: wiring.writeConcurrency ?? INGEST_DEFAULTS.writeConcurrency,
    ...(wiring.copyPartBytes !== undefined && { copyPartBytes: wiring.copyPartBytes }),
  });
  const queue = new SqsIngestQueue(clients.sqs, wiring.queueUrl);
  const handler = createIngestHandler({
    ingester,
    queue,
    logger: wiring.logger,
    ...(wiring.metrics && { metrics: wiring.metrics }),
    stopMarginMs: wiring.stopMarginMs ?? INGEST_DEFAULTS.stopMarginMs,
    ...(wiring.invocationMs !== undefined && { invocationMs: wiring.invocationMs }),
    ...(wiring.onOutcome && { onOutcome: wiring.onOutcome }),
  });
  return { ingester, store, queue, handler };
}
