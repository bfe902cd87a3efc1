/**
 * The tracker's and reconciliation's side of row ingestion: the rules and the queue requests go
 * to. Their variables, and the rule that rules need a queue.
 */
import { z } from "zod";
import { ingestRulesSchema } from "../../ingest/rules.js";
import { variable, type SettingsRule } from "./contract.js";

export const ingestRequestVariables = {
  ingestRules: variable(
    "INGEST_RULES",
    "packaged",
    ingestRulesSchema.default([]),
    "the ingestion rules, each with its table's physical name: a change a rule covers is sent to the ingestion queue",
  ),
  ingestQueueUrl: variable("INGEST_QUEUE_URL", "text", z.url("INGEST_QUEUE_URL must be the ingestion queue's URL").optional(), "the FIFO ingestion queue"),
};

/** Rules with nowhere to send their requests would be dropped silently. */
export const ingestRequestsNeedQueue: SettingsRule<typeof ingestRequestVariables> = (settings) =>
  settings.ingestRules.length > 0 && settings.ingestQueueUrl === undefined
    ? { key: "ingestQueueUrl", message: "INGEST_RULES needs INGEST_QUEUE_URL" }
    : undefined;
