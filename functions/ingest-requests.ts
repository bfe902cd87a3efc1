/** The tracker's and reconciliation's side of row ingestion, from their environment: none without rules. */
import { SQSClient } from "@aws-sdk/client-sqs";
import { SqsIngestQueue, type IngestQueue } from "../ingest/ingest-queue.js";
import type { IngestRule } from "../ingest/rules.js";
import { withoutSdkLogger } from "../sdk/lean-client.js";

/** `sqs`: a client the function already has; one is made otherwise, only when there are rules. */
export function ingestRequestsFrom(
  env: { INGEST_RULES: IngestRule[]; INGEST_QUEUE_URL?: string | undefined },
  sqs?: SQSClient,
): { ingestion?: { rules: IngestRule[]; queue: IngestQueue } } {
  if (env.INGEST_QUEUE_URL === undefined || env.INGEST_RULES.length === 0) return {};
  return { ingestion: { rules: env.INGEST_RULES, queue: new SqsIngestQueue(sqs ?? withoutSdkLogger(new SQSClient({})), env.INGEST_QUEUE_URL) } };
}
