/**
 * The tracker wired once, from clients and settings: the ledger it writes, the S3 lookups and
 * descriptions it makes, and the SQS batch handler. The Lambda (functions/tracker.ts) and the
 * local stack both build it here, so they run one configuration of one code path and differ
 * only in what they pass.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { S3Client } from "@aws-sdk/client-s3";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ChangeShardSetting } from "../ledger/change-index/index.js";
import { Ledger } from "../ledger/index.js";
import type { OriginSetting } from "../ledger/origin.js";
import type { EnrichmentField } from "../events/enrichment-fields.js";
import { s3ObjectDescriber } from "../s3/object-details.js";
import { s3ObjectLookup } from "../s3/object-lookup.js";
import type { TrackerCounts } from "./counts.js";
import { createTrackerHandler, type TrackerHandler } from "./handler.js";
import type { IngestForwarding } from "./ingest-forwarding.js";

/** What the tracker runs with (functions/settings/tracker.ts reads and defaults them). */
export interface TrackerSettings {
  tableName: string;
  retentionDays: number;
  /** Days the journal keeps each change; 0: no journal. */
  historyDays: number;
  changeShards: ChangeShardSetting;
  origin: OriginSetting;
  /** Object metadata asked of S3 on each create; none: no HeadObject. */
  enrich: readonly EnrichmentField[];
  /** DynamoDB writes in flight per invocation. */
  writeConcurrency: number;
  /** Events about any other bucket are dropped (tracker/tracked-buckets.ts). */
  buckets: readonly string[];
}

export interface TrackerWiring {
  clients: { s3: S3Client; documentClient: DynamoDBDocumentClient };
  settings: TrackerSettings;
  /** Row ingestion: the rules, and the queue requests go to. */
  ingestion?: IngestForwarding;
  logger: Logger;
  /** Absent locally: counts are reported through `onBatchComplete` instead. */
  metrics?: Metrics;
  onBatchComplete?: (counts: TrackerCounts) => void;
}

export interface Tracker {
  ledger: Ledger;
  handler: TrackerHandler;
}

export function buildTracker(wiring: TrackerWiring): Tracker {
  const { clients, settings } = wiring;
  const ledger = new Ledger({
    tableName: settings.tableName,
    retentionDays: settings.retentionDays,
    historyDays: settings.historyDays,
    changeShards: settings.changeShards,
    origin: settings.origin,
    documentClient: clients.documentClient,
  });
  const handler = createTrackerHandler({
    ledger,
    lookup: s3ObjectLookup(clients.s3),
    ...(settings.enrich.length > 0 && { describer: s3ObjectDescriber(clients.s3, settings.enrich) }),
    logger: wiring.logger,
    ...(wiring.metrics && { metrics: wiring.metrics }),
    concurrency: settings.writeConcurrency,
    trackedBuckets: settings.buckets,
    ...(wiring.ingestion && { ingestion: wiring.ingestion }),
    ...(wiring.onBatchComplete && { onBatchComplete: wiring.onBatchComplete }),
  });
  return { ledger, handler };
}
