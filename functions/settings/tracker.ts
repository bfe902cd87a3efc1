/** The tracker function's settings: what infra/tracker.ts writes, functions/tracker.ts reads, and the local stack resolves. */
import { z } from "zod";
import { DEFAULT_ORIGIN, originSettingSchema } from "../../ledger/origin.js";
import { TRACKER_DEFAULTS } from "../../tracker/defaults.js";
import { FunctionSettings, variable, type SettingsInput, type SettingsOf } from "./contract.js";
import { ingestRequestsNeedQueue, ingestRequestVariables } from "./ingest-requests.js";
import { bucketsSchema, ledgerVariables, writerVariables } from "./shared.js";

const trackerVariables = {
  ...ledgerVariables,
  ...writerVariables,
  writeConcurrency: variable(
    "WRITE_CONCURRENCY",
    "number",
    z.number().int().min(1).max(256).default(TRACKER_DEFAULTS.writeConcurrency),
    "DynamoDB writes in flight per invocation",
  ),
  origin: variable(
    "ORIGIN",
    "text",
    originSettingSchema.default(DEFAULT_ORIGIN),
    "what of each change's origin is written: `full`, `principal`, `none` (the stack's `origin`)",
  ),
  buckets: variable(
    "BUCKETS",
    "packaged",
    bucketsSchema,
    "the tracked buckets: an event about any other is dropped, counted (`EventsUntrackedBucket`) and logged at WARN, and its message acknowledged",
  ),
  ...ingestRequestVariables,
};

export const trackerSettings = new FunctionSettings("tracker", trackerVariables, [ingestRequestsNeedQueue]);
export type TrackerSettings = SettingsOf<typeof trackerVariables>;
export type TrackerSettingsInput = SettingsInput<typeof trackerVariables>;
