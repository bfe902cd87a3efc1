/** The tracker's and reconciliation's side of row ingestion, from their settings: none without rules. */
import { SQSClient } from "@aws-sdk/client-sqs";
import { SqsIngestQueue, type IngestQueue } from "../ingest/ingest-queue.js";
import type { IngestRule } from "../ingest/rules.js";
import { withoutSdkLogger } from "../aws/lean-client.js";

/** `sqs`: a client the function already has; one is made otherwise, only when there are rules. */
export function ingestRequestsFrom(
  settings: { ingestRules: IngestRule[]; ingestQueueUrl?: string | undefined },
  sqs?: SQSClient,
): { ingestion?: { rules: IngestRule[]; queue: IngestQueue } } {
  if (settings.ingestQueueUrl === undefined || settings.ingestRules.length === 0) return {};
  return { ingestion: { rules: settings.ingestRules, queue: new SqsIngestQueue(sqs ?? withoutSdkLogger(new SQSClient({})), settings.ingestQueueUrl) } };
}
