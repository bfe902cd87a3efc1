/**
 * The ingestion rules the local-stack tests run with, on a given bucket. The IAM contract test
 * deploys the same rules under mocks, so the ingest role it checks is the one these calls need.
 */
import type { IngestRuleInput } from "../../ingest/rules.js";

export const localTestRules = (bucket: string): IngestRuleInput[] => [
  { name: "offers", bucket, pattern: "imports/*.csv", format: "csv", partitionKey: "account", sortKey: "offer_id", types: { price: "number" } },
  { name: "events", bucket, pattern: "events/*.jsonl", format: "jsonl", partitionKey: "id", onDelete: "keep", copyPrefix: "copies/" },
  { name: "long", bucket, pattern: "long/*.csv", format: "csv", partitionKey: "id" },
];
