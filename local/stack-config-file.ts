/**
 * `bucket-ledger dev --stack-config Pulumi.<stack>.yaml` (or `--stack <stack>`): the local stack
 * runs with the configuration a stack deploys, read and validated as `pulumi up` does
 * (infra/stack-config.ts, then the component's own rules in infra/args.ts), so what is tried
 * locally is what will be deployed, and what `pulumi up` would refuse, dev refuses too.
 *
 * The file is a stack settings file: YAML whose `config` map holds the stack's values under
 * namespaced keys, `<project>:<key>`, the project's own keys under its name from Pulumi.yaml
 * (Pulumi stack settings file reference, https://www.pulumi.com/docs/iac/concepts/projects/stack-settings-file/;
 * Configuration, "Configuration keys", https://www.pulumi.com/docs/iac/concepts/config/). A value
 * may be a string, or typed: `pulumi config set --type` saves a top-level value "as the given
 * type" (string, bool, int or float), and `--path` writes lists and maps, with "true"/"false"
 * as booleans and integers as numbers (pulumi config set, https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/).
 * The program reads a scalar as its text and a structured value as JSON text, which is how each
 * is handed on here. A secret is stored as `{ secure: <ciphertext> }` (stack settings file
 * reference, `config`), which only the stack's secrets provider can decrypt.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { BucketLedgerConfigError, resolveBucketLedgerArgs, type ResolvedBucketLedgerArgs } from "../infra/args.js";
import { nameStackConfigKey, readStackConfig, STACK_CONFIG_KEYS, type StackConfigKey, type StackConfigValues } from "../infra/stack-config.js";
import { StackConfigFileError } from "./errors.js";
import { LOCAL_DEFAULTS, type LocalStackOptions } from "./stack.js";

/** The project's name when no Pulumi.yaml sits beside the file (this repository's own). */
export const DEFAULT_PROJECT = "bucket-ledger";

type TrackerOptions = NonNullable<LocalStackOptions["tracker"]>;
type ReconcileOptions = NonNullable<LocalStackOptions["reconcile"]>;

/** What the local stack takes from a stack's configuration: only what the file sets, so the local defaults stay where they are. */
export interface StackConfigOptions extends Pick<
  LocalStackOptions,
  "buckets" | "retentionDays" | "historyDays" | "changeShards" | "enrich" | "maxReceiveCount" | "changeStream"
> {
  tracker: Pick<TrackerOptions, "origin" | "writeConcurrency" | "batchSize" | "maximumBatchingWindowMs" | "pollers">;
  reconcile: Pick<ReconcileOptions, "tasksPerRun" | "maxDeleteFraction" | "workers" | "backfillRepairsPerSecond">;
  ingest: { rules?: NonNullable<LocalStackOptions["ingest"]>["rules"] };
}

/** A key the file sets that the local stack has no use for, and why: `dev` says so once, never dropping it silently. */
export interface NotUsedLocally {
  key: string;
  why: string;
}

export interface DevStackConfig {
  path: string;
  options: StackConfigOptions;
  notUsedLocally: NotUsedLocally[];
}

type Apply = (args: ResolvedBucketLedgerArgs, options: StackConfigOptions) => void;

const buckets: Apply = (args, options) => {
  // A bucket the stack creates without a name gets Pulumi's; locally, dev's default bucket stands in for it.
  options.buckets = [...(args.createBucket ? [args.createBucket.name ?? LOCAL_DEFAULTS.buckets[0]] : []), ...args.adoptBuckets.map((bucket) => bucket.name)];
};
const history: Apply = (args, options) => {
  options.historyDays = args.history.enabled ? args.history.days : 0;
};
const backfill: Apply = (args, options) => {
  options.reconcile.backfillRepairsPerSecond = args.reconcile.backfillRepairsPerSecond;
};

/**
 * Each key of the stack, either how the local stack applies it or why it has no meaning
 * locally: one place, and every key in it (a new key fails the type-check until placed).
 */
const LOCALLY: Record<StackConfigKey, Apply | string> = {
  createBucket: buckets,
  bucketName: buckets,
  adoptBuckets: buckets,
  bucketVersioning: "the local S3 keeps no object versions",
  bucketFilters: "the local S3 notifies every key of a bucket",
  accessLogBucket: "the local S3 writes no access logs",
  ingestOutputExpirationDays: "the local S3 has no lifecycle rules",
  delivery: "locally S3 sends its events straight to the queue",
  replaceExistingNotifications: "the local buckets are dev's own",
  retentionDays: (args, options) => (options.retentionDays = args.retentionDays),
  history,
  historyDays: history,
  origin: (args, options) => (options.tracker.origin = args.origin),
  changeShards: (args, options) => (options.changeShards = args.changeShards),
  enrich: (args, options) => (options.enrich = args.enrich),
  deletionProtection: "DynamoDB Local's table is dev's own",
  // As deployed, the table's warm throughput sets reconciliation's backfill budget unless it is given.
  warmWriteUnitsPerSecond: backfill,
  tableWriteQuota: "DynamoDB Local has no account quota",
  bucketKeys: "the local S3 encrypts nothing with KMS",
  maxReceiveCount: (args, options) => (options.maxReceiveCount = args.maxReceiveCount),
  trackerBatchSize: (args, options) => (options.tracker.batchSize = args.tracker.batchSize),
  trackerBatchingWindowSeconds: (args, options) => (options.tracker.maximumBatchingWindowMs = args.tracker.batchingWindowSeconds * 1000),
  trackerMaxConcurrency: (args, options) => (options.tracker.pollers = args.tracker.maximumConcurrency),
  trackerTimeoutSeconds: "the local tracker is not a Lambda function",
  trackerMemoryMb: "the local tracker is not a Lambda function",
  trackerWriteConcurrency: (args, options) => (options.tracker.writeConcurrency = args.tracker.writeConcurrency),
  reconcileSource: "the local S3 delivers no inventory reports: local runs list the buckets",
  reconcileSchedule: "dev reconciles every --reconcile-every",
  reconcileTimezone: "dev reconciles every --reconcile-every",
  reconcileMaxDeletePercent: (args, options) => (options.reconcile.maxDeleteFraction = args.reconcile.maxDeleteFraction),
  reconcileTimeoutSeconds: "the local reconciliation is not a Lambda function",
  reconcileMemoryMb: "the local reconciliation is not a Lambda function",
  reconcileTasksPerRun: (args, options) => (options.reconcile.tasksPerRun = args.reconcile.tasksPerRun),
  reconcileMaxConcurrency: (args, options) => (options.reconcile.workers = args.reconcile.maximumConcurrency),
  reconcileBackfillRepairsPerSecond: backfill,
  reconcileEphemeralStorageMb: "the local reconciliation is not a Lambda function",
  inventoryReportExpirationDays: "the local S3 delivers no inventory reports",
  api: "the local query API always runs, on loopback",
  apiAuthorization: "the local query API serves only loopback, as an IAM-authorized one would serve its callers",
  apiReservedConcurrency: "the local query API is not a Lambda function",
  alarmEmail: "there are no alarms locally",
  alarmTopicArn: "there are no alarms locally",
  driftAlarmThreshold: "there are no alarms locally",
  logRetentionDays: "local logs go to stderr",
  dashboardName: "there is no dashboard locally",
  ingestRules: (args, options) => (options.ingest.rules = args.ingest.rules),
  ingestTimeoutSeconds: "the local ingestion is not a Lambda function",
  ingestMemoryMb: "the local ingestion is not a Lambda function",
  ingestMaxConcurrency: "the local ingestion queue has its own two pollers",
  changeStream: (args, options) => (options.changeStream = { enabled: args.changeStream.enabled }),
  changeStreamTargets: "locally the stream goes to one SQS FIFO queue, as an SNS FIFO topic delivers it",
  changeStreamEventBus: "there is no local EventBridge",
  changeStreamSubscribers: "the local topic has no policy",
  changeStreamSubscriptions: "locally the stream goes to one SQS FIFO queue, as an SNS FIFO topic delivers it",
  changeStreamRules: "there is no local EventBridge",
};

const STACK_KEYS = new Set<string>(STACK_CONFIG_KEYS);

const isSecret = (value: unknown): boolean =>
  value !== null &&
  typeof value === "object" &&
  (Array.isArray(value) ? value.some(isSecret) : "secure" in value || Object.values(value as Record<string, unknown>).some(isSecret));

/** As the program's Config.get hands a value over: a string, structured values as JSON text. */
function asProgramReadsIt(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/**
 * A stack settings file's parsed YAML to what the local stack runs with. Every problem at once
 * (a StackConfigFileError, exit 2): keys the project does not have, secrets dev would need but
 * cannot decrypt, and whatever `pulumi up` would refuse, each naming its key.
 */
export function devStackConfig(document: unknown, where: { path: string; project: string }): DevStackConfig {
  const problems: string[] = [];
  const notUsedLocally: NotUsedLocally[] = [];
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw new StackConfigFileError(where.path, ["not a stack settings file (a YAML map with a `config` map)"]);
  }
  const { config = {}, environment } = document as { config?: unknown; environment?: unknown };
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw new StackConfigFileError(where.path, ["`config` is not a map"]);
  if (environment !== undefined) notUsedLocally.push({ key: "environment", why: "Pulumi ESC environments are not opened locally" });
  const values: StackConfigValues = {};
  for (const [name, value] of Object.entries(config as Record<string, unknown>)) {
    const separator = name.indexOf(":");
    const namespace = separator === -1 ? "" : name.slice(0, separator);
    const key = name.slice(separator + 1);
    if (namespace !== where.project) {
      if (separator === -1) problems.push(`${name}: not a namespaced key (${where.project}:${name}?)`);
      else notUsedLocally.push({ key: name, why: `configuration of ${namespace}, not of ${where.project}` });
      continue;
    }
    if (!STACK_KEYS.has(key)) {
      problems.push(`${name}: not a configuration key of ${where.project}`);
      continue;
    }
    const use = LOCALLY[key as StackConfigKey];
    if (isSecret(value)) {
      // Run without it, and the local stack would not be what is deployed: refused, unless it means nothing here.
      if (typeof use === "string") notUsedLocally.push({ key: name, why: `a secret, which dev cannot decrypt (and ${use})` });
      else problems.push(`${name}: a secret (secure:), which dev cannot decrypt; give dev a file with its value in plain text`);
      continue;
    }
    const text = asProgramReadsIt(value);
    if (text !== undefined) values[key as StackConfigKey] = text;
  }
  const read = readStackConfig(values);
  problems.push(...read.problems);
  let resolved: ResolvedBucketLedgerArgs | undefined;
  try {
    resolved = resolveBucketLedgerArgs(read.args);
  } catch (error) {
    if (!(error instanceof BucketLedgerConfigError)) throw error;
    problems.push(...error.problems.map(nameStackConfigKey));
  }
  if (problems.length > 0 || resolved === undefined) throw new StackConfigFileError(where.path, problems);
  const options: StackConfigOptions = { tracker: {}, reconcile: {}, ingest: {} };
  for (const key of STACK_CONFIG_KEYS) {
    if (values[key] === undefined) continue;
    const use = LOCALLY[key];
    if (typeof use === "string") notUsedLocally.push({ key, why: use });
    else use(resolved, options);
  }
  return { path: where.path, options, notUsedLocally };
}

/** `--stack <name>`: its settings file, beside Pulumi.yaml in the directory dev runs in. */
export function stackConfigFilePath(stack: string, directory = "."): string {
  return join(directory, `Pulumi.${stack}.yaml`);
}

/** The project's name from the Pulumi.yaml beside the file, or this repository's own without one. */
async function projectBeside(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(join(dirname(path), "Pulumi.yaml"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return DEFAULT_PROJECT;
    throw new StackConfigFileError(path, [`cannot read the Pulumi.yaml beside it: ${(error as Error).message}`]);
  }
  const name = (parseYaml(text) as { name?: unknown } | null)?.name;
  return typeof name === "string" && name !== "" ? name : DEFAULT_PROJECT;
}

export async function readStackConfigFile(path: string): Promise<DevStackConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new StackConfigFileError(path, [`cannot be read: ${(error as Error).message}`]);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new StackConfigFileError(path, [`not valid YAML: ${(error as Error).message}`]);
  }
  return devStackConfig(document ?? {}, { path, project: await projectBeside(path) });
}
