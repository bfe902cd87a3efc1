/** The settings several functions share: the ledger they read or write, how writers write it, the buckets. */
import { z } from "zod";
import { changeShardSettingSchema } from "../../ledger/change-index/index.js";
import { DEFAULT_CHANGE_SHARDS, DEFAULT_RETENTION_DAYS } from "../../ledger/ledger.js";
import { enrichmentFieldsSchema } from "../../events/enrichment-fields.js";
import { variable } from "./contract.js";

/** Every function's: the ledger table and its horizon. */
export const ledgerVariables = {
  tableName: variable("TABLE_NAME", "text", z.string().min(3, "TABLE_NAME must name the ledger table"), "the ledger table"),
  retentionDays: variable(
    "RETENTION_DAYS",
    "number",
    z.number().int().positive().default(DEFAULT_RETENTION_DAYS),
    "tombstone lifetime and change-feed horizon",
  ),
};

/** The writers' (tracker, reconciliation): how each change is journaled, indexed and described. */
export const writerVariables = {
  historyDays: variable(
    "HISTORY_DAYS",
    "number",
    z.number().int().min(0).max(3650).default(0),
    "days the journal keeps each change; 0: no journal (the stack sets it from `history` / `historyDays`)",
  ),
  changeShards: variable(
    "CHANGE_SHARDS",
    "text",
    changeShardSettingSchema.default(DEFAULT_CHANGE_SHARDS),
    "change-index partitions per bucket-day: `auto` (sized from each bucket's rate) or 1-32 (the stack's `changeShards`)",
  ),
  enrich: variable("ENRICH", "list", enrichmentFieldsSchema.default([]), "comma-separated enrichment fields (the stack's `enrich`)"),
};

export const bucketsSchema = z.array(z.string().min(3), "BUCKETS must be a JSON list of bucket names").min(1, "BUCKETS must name at least one bucket");
