/** The ingestion function's settings: what infra/ingestion.ts writes, functions/ingest.ts reads, and the local stack resolves. */
import { z } from "zod";
import { INGEST_DEFAULTS } from "../../ingest/defaults.js";
import { ingestRulesSchema } from "../../ingest/rules.js";
import { FunctionSettings, variable, type SettingsInput, type SettingsOf } from "./contract.js";
import { ledgerVariables } from "./shared.js";

const ingestVariables = {
  ...ledgerVariables,
  ingestRules: variable("INGEST_RULES", "packaged", ingestRulesSchema.default([]), "the rules, each with its table's physical name"),
  ingestQueueUrl: variable(
    "INGEST_QUEUE_URL",
    "text",
    z.url("INGEST_QUEUE_URL must be the ingestion queue's URL"),
    "the FIFO ingestion queue, where continuations go",
  ),
  writeConcurrency: variable(
    "WRITE_CONCURRENCY",
    "number",
    z.number().int().min(1).max(256).default(INGEST_DEFAULTS.writeConcurrency),
    "BatchWriteItem calls in flight per file",
  ),
  stopMarginMs: variable(
    "STOP_MARGIN_MS",
    "number",
    z.number().int().min(1000).default(INGEST_DEFAULTS.stopMarginMs),
    "a file is checkpointed this long before the invocation's end and continued in the next",
  ),
};

export const ingestSettings = new FunctionSettings("ingest", ingestVariables);
export type IngestSettings = SettingsOf<typeof ingestVariables>;
export type IngestSettingsInput = SettingsInput<typeof ingestVariables>;
