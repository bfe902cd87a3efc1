/**
 * The environment contract of the Lambda functions (set by infra/), validated once at cold
 * start so a misconfigured deployment fails loudly with the variable named.
 */
import { z } from "zod";

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

function parseEnvironment<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv, what: string): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new ConfigurationError(`invalid ${what} environment: ${problems}`);
  }
  return parsed.data;
}

const tableName = z.string().min(3, "TABLE_NAME must name the ledger table");
const retentionDays = z.coerce.number().int().positive().default(30);
const bucketList = z.string().transform((value, ctx) => {
  try {
    return z.array(z.string().min(3)).min(1).parse(JSON.parse(value));
  } catch {
    ctx.addIssue({ code: "custom", message: "BUCKETS must be a JSON list of bucket names" });
    return z.NEVER;
  }
});

const trackerEnvironmentSchema = z.object({
  TABLE_NAME: tableName,
  RETENTION_DAYS: retentionDays,
  WRITE_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(32),
});

export type TrackerEnvironment = z.infer<typeof trackerEnvironmentSchema>;

export function parseTrackerEnvironment(env: NodeJS.ProcessEnv): TrackerEnvironment {
  return parseEnvironment(trackerEnvironmentSchema, env, "tracker");
}

const reconcileEnvironmentSchema = z
  .object({
    TABLE_NAME: tableName,
    RETENTION_DAYS: retentionDays,
    BUCKETS: bucketList,
    RECONCILE_SOURCE: z.enum(["list", "inventory"]).default("list"),
    MAX_DELETE_FRACTION: z.coerce.number().min(0).max(1).default(0.1),
    WRITE_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
    INVENTORY_BUCKET: z.string().optional(),
    INVENTORY_PREFIX: z.string().default("inventory"),
    INVENTORY_CONFIGURATION_ID: z.string().default("bucket-ledger"),
    TASK_QUEUE_URL: z.url("TASK_QUEUE_URL must be the reconcile task queue's URL"),
    TASKS_PER_RUN: z.coerce.number().int().min(1).max(1000).default(16),
    STALE_RUN_MINUTES: z.coerce.number().int().positive().default(360),
  })
  .refine((env) => env.RECONCILE_SOURCE !== "inventory" || env.INVENTORY_BUCKET, {
    message: "RECONCILE_SOURCE=inventory needs INVENTORY_BUCKET",
    path: ["INVENTORY_BUCKET"],
  });

export type ReconcileEnvironment = z.infer<typeof reconcileEnvironmentSchema>;

export function parseReconcileEnvironment(env: NodeJS.ProcessEnv): ReconcileEnvironment {
  return parseEnvironment(reconcileEnvironmentSchema, env, "reconcile");
}

const apiEnvironmentSchema = z.object({
  TABLE_NAME: tableName,
  RETENTION_DAYS: retentionDays,
  BUCKETS: bucketList,
});

export type ApiEnvironment = z.infer<typeof apiEnvironmentSchema>;

export function parseApiEnvironment(env: NodeJS.ProcessEnv): ApiEnvironment {
  return parseEnvironment(apiEnvironmentSchema, env, "api");
}
