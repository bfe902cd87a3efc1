/**
 * The environment contract of the Lambda functions (set by infra/), validated once at cold
 * start so a misconfigured deployment fails loudly with the variable named.
 *
 * Two homes for a variable: small scalars in the function's environment, and the values whose
 * size grows with the configuration (the buckets, the ingestion rules) in a JSON file shipped
 * inside the function's code archive. Lambda caps a function's environment at "4 KB, for all
 * environment variables associated with the function, in aggregate" (Lambda quotas,
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): about ten ingestion
 * rules, or a few dozen long bucket names, pass it. The code archive's limit is 50 MB zipped
 * (same page), far beyond any configuration. Where there is no file (a test, a local run), the
 * same names are read from the environment; one name in both places is refused.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { DEFAULT_CHANGE_SHARDS, DEFAULT_RETENTION_DAYS } from "../ledger/ledger.js";
import { changeShardSettingSchema } from "../ledger/change-shards.js";
import { RECONCILE_DEFAULTS } from "../reconcile/defaults.js";
import { TRACKER_DEFAULTS } from "../tracker/defaults.js";
import { INGEST_DEFAULTS } from "../ingest/defaults.js";
import { ingestRulesSchema, type IngestRule } from "../ingest/rules.js";
import { describeIssues } from "../validation/parse.js";
import { enrichmentFieldsSchema } from "../sdk/object-details.js";
import { DEFAULT_ORIGIN, originSettingSchema } from "../ledger/origin.js";

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

/** The file infra/ writes beside the bundle (infra/bundled-function.ts) and the handlers read at cold start. */
export const PACKAGED_CONFIG_FILE = "bucket-ledger.json";

/** The variables that may grow past the environment's 4 KB: they travel in the packaged file. */
export const PACKAGED_VARIABLES = ["BUCKETS", "INGEST_RULES"] as const;
type PackagedName = (typeof PACKAGED_VARIABLES)[number];

/** The packaged file's values, each as JSON (not a string holding JSON). */
export type PackagedConfig = Partial<Record<PackagedName, unknown>>;

const packagedConfigSchema = z.strictObject(
  Object.fromEntries(PACKAGED_VARIABLES.map((name) => [name, z.unknown().optional()])) as Record<PackagedName, z.ZodOptional<z.ZodUnknown>>,
);

/**
 * The packaged file beside a function's module (`import.meta.url` of the bundle), or nothing
 * when there is none. Read once at cold start; a file that is there but unreadable fails loudly.
 */
export function readPackagedConfig(moduleUrl: string | URL): PackagedConfig {
  let text: string;
  try {
    text = readFileSync(new URL(PACKAGED_CONFIG_FILE, moduleUrl), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigurationError(`invalid ${PACKAGED_CONFIG_FILE}: not JSON`);
  }
  const parsed = packagedConfigSchema.safeParse(json);
  if (!parsed.success) throw new ConfigurationError(`invalid ${PACKAGED_CONFIG_FILE}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** The environment with the packaged values in, as the schemas read them (JSON text). */
function withPackaged(env: NodeJS.ProcessEnv, packaged: PackagedConfig): NodeJS.ProcessEnv {
  const twice = PACKAGED_VARIABLES.filter((name) => packaged[name] !== undefined && env[name] !== undefined);
  if (twice.length > 0) {
    throw new ConfigurationError(`${twice.join(", ")} set both in the environment and in ${PACKAGED_CONFIG_FILE}; set each in one place`);
  }
  const fromFile = Object.fromEntries(PACKAGED_VARIABLES.filter((name) => packaged[name] !== undefined).map((name) => [name, JSON.stringify(packaged[name])]));
  return { ...env, ...fromFile };
}

function parseEnvironment<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv, packaged: PackagedConfig, what: string): z.infer<T> {
  const parsed = schema.safeParse(withPackaged(env, packaged));
  if (!parsed.success) {
    const problems = describeIssues(parsed.error);
    throw new ConfigurationError(`invalid ${what} environment: ${problems}`);
  }
  return parsed.data;
}

const tableName = z.string().min(3, "TABLE_NAME must name the ledger table");
const retentionDays = z.coerce.number().int().positive().default(DEFAULT_RETENTION_DAYS);
/** Days the journal keeps each change; 0: no journal. */
const historyDays = z.coerce.number().int().min(0).max(3650).default(0);
/** The writers' change-index shards per bucket-day (ledger/table.ts). */
const changeShards = changeShardSettingSchema.default(DEFAULT_CHANGE_SHARDS);
/** Comma-separated enrichment fields (sdk/object-details.ts); empty: none. */
const enrichList = z
  .string()
  .default("")
  .transform((value) => value.split(",").filter((field) => field !== ""))
  .pipe(enrichmentFieldsSchema);
const bucketList = z.string().transform((value, ctx) => {
  try {
    return z.array(z.string().min(3)).min(1).parse(JSON.parse(value));
  } catch {
    ctx.addIssue({ code: "custom", message: "BUCKETS must be a JSON list of bucket names" });
    return z.NEVER;
  }
});

/** The rules as the component resolved them (every rule's `table` set), as JSON. */
const ingestRules = z
  .string()
  .default("[]")
  .transform((value, ctx): IngestRule[] => {
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "INGEST_RULES must be a JSON list of ingestion rules" });
      return z.NEVER;
    }
    const parsed = ingestRulesSchema.safeParse(json);
    if (!parsed.success) {
      ctx.addIssue({ code: "custom", message: `INGEST_RULES: ${describeIssues(parsed.error)}` });
      return z.NEVER;
    }
    return parsed.data;
  });

const ingestQueueUrl = z.url("INGEST_QUEUE_URL must be the ingestion queue's URL");

/** What a function that asks for ingestions (the tracker, reconciliation) reads: the rules and where to send. */
const ingestRequestVariables = { INGEST_RULES: ingestRules, INGEST_QUEUE_URL: ingestQueueUrl.optional() };
const ingestRequestsNeedQueue: [(env: { INGEST_RULES: IngestRule[]; INGEST_QUEUE_URL?: string | undefined }) => boolean, { message: string; path: string[] }] =
  [
    (env) => env.INGEST_RULES.length === 0 || env.INGEST_QUEUE_URL !== undefined,
    { message: "INGEST_RULES needs INGEST_QUEUE_URL", path: ["INGEST_QUEUE_URL"] },
  ];

const trackerEnvironmentSchema = z
  .object({
    TABLE_NAME: tableName,
    RETENTION_DAYS: retentionDays,
    HISTORY_DAYS: historyDays,
    CHANGE_SHARDS: changeShards,
    ENRICH: enrichList,
    WRITE_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(TRACKER_DEFAULTS.writeConcurrency),
    /** What of each change's origin is written (ledger/origin.ts). */
    ORIGIN: originSettingSchema.default(DEFAULT_ORIGIN),
    /** The tracked buckets: events about any other are dropped (tracker/tracked-buckets.ts). */
    BUCKETS: bucketList,
    ...ingestRequestVariables,
  })
  .refine(...ingestRequestsNeedQueue);

export type TrackerEnvironment = z.infer<typeof trackerEnvironmentSchema>;

export function parseTrackerEnvironment(env: NodeJS.ProcessEnv, packaged: PackagedConfig = {}): TrackerEnvironment {
  return parseEnvironment(trackerEnvironmentSchema, env, packaged, "tracker");
}

const reconcileEnvironmentSchema = z
  .object({
    TABLE_NAME: tableName,
    RETENTION_DAYS: retentionDays,
    HISTORY_DAYS: historyDays,
    CHANGE_SHARDS: changeShards,
    ENRICH: enrichList,
    BUCKETS: bucketList,
    RECONCILE_SOURCE: z.enum(["list", "inventory"]).default("list"),
    MAX_DELETE_FRACTION: z.coerce.number().min(0).max(1).default(RECONCILE_DEFAULTS.maxDeleteFraction),
    WRITE_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(RECONCILE_DEFAULTS.writeConcurrency),
    INVENTORY_BUCKET: z.string().optional(),
    INVENTORY_PREFIX: z.string().default("inventory"),
    INVENTORY_CONFIGURATION_ID: z.string().default("bucket-ledger"),
    TASK_QUEUE_URL: z.url("TASK_QUEUE_URL must be the reconcile task queue's URL"),
    TASKS_PER_RUN: z.coerce.number().int().min(1).max(1000).default(RECONCILE_DEFAULTS.tasksPerRun),
    STALE_RUN_MINUTES: z.coerce.number().int().positive().default(RECONCILE_DEFAULTS.staleRunMinutes),
    /** Backfill mode's budget for a whole run, and the task invocations it is shared by (the task queue's MaximumConcurrency). */
    BACKFILL_REPAIRS_PER_SECOND: z.coerce.number().int().min(1).default(RECONCILE_DEFAULTS.backfillRepairsPerSecond),
    TASK_CONCURRENCY: z.coerce.number().int().min(1).default(RECONCILE_DEFAULTS.maximumConcurrency),
    ...ingestRequestVariables,
  })
  .refine(...ingestRequestsNeedQueue)
  .refine((env) => env.RECONCILE_SOURCE !== "inventory" || env.INVENTORY_BUCKET, {
    message: "RECONCILE_SOURCE=inventory needs INVENTORY_BUCKET",
    path: ["INVENTORY_BUCKET"],
  });

export type ReconcileEnvironment = z.infer<typeof reconcileEnvironmentSchema>;

export function parseReconcileEnvironment(env: NodeJS.ProcessEnv, packaged: PackagedConfig = {}): ReconcileEnvironment {
  return parseEnvironment(reconcileEnvironmentSchema, env, packaged, "reconcile");
}

const ingestEnvironmentSchema = z.object({
  TABLE_NAME: tableName,
  RETENTION_DAYS: retentionDays,
  INGEST_RULES: ingestRules,
  INGEST_QUEUE_URL: ingestQueueUrl,
  WRITE_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(INGEST_DEFAULTS.writeConcurrency),
  STOP_MARGIN_MS: z.coerce.number().int().min(1000).default(INGEST_DEFAULTS.stopMarginMs),
});

export type IngestEnvironment = z.infer<typeof ingestEnvironmentSchema>;

export function parseIngestEnvironment(env: NodeJS.ProcessEnv, packaged: PackagedConfig = {}): IngestEnvironment {
  return parseEnvironment(ingestEnvironmentSchema, env, packaged, "ingest");
}

const apiEnvironmentSchema = z.object({
  TABLE_NAME: tableName,
  RETENTION_DAYS: retentionDays,
  BUCKETS: bucketList,
  /**
   * "true" only behind IAM authorization: origin, user metadata, tags and KMS key ARNs in
   * responses (api/public-view.ts). Unset, they are withheld, so a public API serves less.
   */
  SERVE_PERSONAL_DATA: z
    .enum(["true", "false"])
    .default("false")
    .transform((value) => value === "true"),
});

export type ApiEnvironment = z.infer<typeof apiEnvironmentSchema>;

export function parseApiEnvironment(env: NodeJS.ProcessEnv, packaged: PackagedConfig = {}): ApiEnvironment {
  return parseEnvironment(apiEnvironmentSchema, env, packaged, "api");
}

/**
 * The variables a function's environment holds: each one its schema reads, optional where the
 * schema has a default. infra/ builds each function's environment against these (with
 * `satisfies`), so a misspelt or a missing variable fails the type check, not a cold start.
 */
export type EnvironmentVariables<Schema extends z.ZodType, Value = string> = { [Name in keyof Omit<z.input<Schema>, PackagedName>]: Value };
/** The packaged file's part of a function's contract (infra/ builds it against these, too). */
export type PackagedVariables<Schema extends z.ZodType, Value = unknown> = {
  [Name in keyof Pick<z.input<Schema>, Extract<keyof z.input<Schema>, PackagedName>>]: Value;
};
export type TrackerVariables<Value = string> = EnvironmentVariables<typeof trackerEnvironmentSchema, Value>;
export type ReconcileVariables<Value = string> = EnvironmentVariables<typeof reconcileEnvironmentSchema, Value>;
export type ApiVariables<Value = string> = EnvironmentVariables<typeof apiEnvironmentSchema, Value>;
export type IngestVariables<Value = string> = EnvironmentVariables<typeof ingestEnvironmentSchema, Value>;
export type TrackerPackaged<Value = unknown> = PackagedVariables<typeof trackerEnvironmentSchema, Value>;
export type ReconcilePackaged<Value = unknown> = PackagedVariables<typeof reconcileEnvironmentSchema, Value>;
export type ApiPackaged<Value = unknown> = PackagedVariables<typeof apiEnvironmentSchema, Value>;
export type IngestPackaged<Value = unknown> = PackagedVariables<typeof ingestEnvironmentSchema, Value>;
