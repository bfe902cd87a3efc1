/**
 * The reconcile function's settings: what infra/reconciler.ts writes, functions/reconcile.ts
 * reads, and how they become reconcile/wiring.ts's wiring.
 */
import { z } from "zod";
import { RECONCILE_DEFAULTS } from "../../reconcile/defaults.js";
import type { ReconcileFunctionWiring } from "../../reconcile/wiring.js";
import { FunctionSettings, variable, type SettingsInput, type SettingsOf } from "./contract.js";
import { ingestRequestsNeedQueue, ingestRequestVariables } from "./ingest-requests.js";
import { bucketsSchema, ledgerVariables, writerVariables } from "./shared.js";

/** Where the stack's S3 Inventory configuration delivers reports, and its id (infra/reconciler.ts). */
export const INVENTORY_PREFIX = "inventory";
export const INVENTORY_CONFIGURATION_ID = "bucket-ledger";

/** Time for the last checkpoint and the continuation message before Lambda stops the invocation. */
const LAMBDA_RESERVE_MS = 20_000;

const reconcileVariables = {
  ...ledgerVariables,
  ...writerVariables,
  buckets: variable("BUCKETS", "packaged", bucketsSchema, "the buckets to reconcile"),
  source: variable("RECONCILE_SOURCE", "text", z.enum(["list", "inventory"]).default("list"), "`list` or `inventory`"),
  maxDeleteFraction: variable(
    "MAX_DELETE_FRACTION",
    "number",
    z.number().min(0).max(1).default(RECONCILE_DEFAULTS.maxDeleteFraction),
    "the delete guard: a run that would tombstone more of the index stops instead",
  ),
  writeConcurrency: variable(
    "WRITE_CONCURRENCY",
    "number",
    z.number().int().min(1).max(256).default(RECONCILE_DEFAULTS.writeConcurrency),
    "repair writes in flight per task",
  ),
  inventoryBucket: variable("INVENTORY_BUCKET", "text", z.string().optional(), "where the inventory reports are (the inventory source)"),
  inventoryPrefix: variable("INVENTORY_PREFIX", "text", z.string().default(INVENTORY_PREFIX), "the reports' prefix there"),
  inventoryConfigurationId: variable("INVENTORY_CONFIGURATION_ID", "text", z.string().default(INVENTORY_CONFIGURATION_ID), "the inventory configuration's id"),
  taskQueueUrl: variable("TASK_QUEUE_URL", "text", z.url("TASK_QUEUE_URL must be the reconcile task queue's URL"), "the reconcile task queue"),
  tasksPerRun: variable(
    "TASKS_PER_RUN",
    "number",
    z.number().int().min(1).max(1000).default(RECONCILE_DEFAULTS.tasksPerRun),
    "key ranges a list run is split into",
  ),
  staleRunMinutes: variable(
    "STALE_RUN_MINUTES",
    "number",
    z.number().int().positive().default(RECONCILE_DEFAULTS.staleRunMinutes),
    "an unfinished run with no progress for this long is failed",
  ),
  backfillRepairsPerSecond: variable(
    "BACKFILL_REPAIRS_PER_SECOND",
    "number",
    z.number().int().min(1).default(RECONCILE_DEFAULTS.backfillRepairsPerSecond),
    "backfill mode's budget for a run (the stack sets it from `warmWriteUnitsPerSecond`, or 750: reconcile/defaults.ts `backfillBudget`)",
  ),
  taskConcurrency: variable(
    "TASK_CONCURRENCY",
    "number",
    z.number().int().min(1).default(RECONCILE_DEFAULTS.maximumConcurrency),
    "the tasks at once that share the backfill budget (the task queue's MaximumConcurrency)",
  ),
  ...ingestRequestVariables,
};

export const reconcileSettings = new FunctionSettings("reconcile", reconcileVariables, [
  ingestRequestsNeedQueue,
  (settings) =>
    settings.source === "inventory" && !settings.inventoryBucket
      ? { key: "inventoryBucket", message: "RECONCILE_SOURCE=inventory needs INVENTORY_BUCKET" }
      : undefined,
]);
export type ReconcileSettings = SettingsOf<typeof reconcileVariables>;
export type ReconcileSettingsInput = SettingsInput<typeof reconcileVariables>;

/** The settings as reconcile/wiring.ts takes them, in a Lambda. */
export function reconcilerWiringOf(settings: ReconcileSettings): Omit<ReconcileFunctionWiring, "clients" | "logger" | "metrics" | "ingestion"> {
  return {
    tableName: settings.tableName,
    retentionDays: settings.retentionDays,
    historyDays: settings.historyDays,
    changeShards: settings.changeShards,
    enrich: settings.enrich,
    taskQueueUrl: settings.taskQueueUrl,
    buckets: settings.buckets,
    ...(settings.source === "inventory" && {
      inventory: { bucket: settings.inventoryBucket!, prefix: settings.inventoryPrefix, configurationId: settings.inventoryConfigurationId },
    }),
    settings: {
      tasksPerRun: settings.tasksPerRun,
      maxDeleteFraction: settings.maxDeleteFraction,
      staleAfterMs: settings.staleRunMinutes * 60_000,
      writeConcurrency: settings.writeConcurrency,
      backfill: { repairsPerSecond: settings.backfillRepairsPerSecond, tasksAtOnce: settings.taskConcurrency },
      reserveMs: LAMBDA_RESERVE_MS,
    },
  };
}
