/**
 * Stack configuration (`pulumi config set ...`) -> BucketLedger arguments. Pulumi hands
 * values over as strings; each is parsed here with an error that names the key.
 */
import { BucketLedgerConfigError, parseBucketPattern, parseFilter, type BucketLedgerArgs, type NotificationFilter } from "./args.js";
import { z } from "zod";
import { parseJsonWith } from "../validation/parse.js";
import type { IngestRuleInput } from "../ingest/rules.js";

/** Every key the project declares in Pulumi.yaml. */
export const STACK_CONFIG_KEYS = [
  "createBucket",
  "bucketName",
  "bucketVersioning",
  "bucketFilters",
  "accessLogBucket",
  "ingestOutputExpirationDays",
  "adoptBuckets",
  "delivery",
  "replaceExistingNotifications",
  "retentionDays",
  "history",
  "historyDays",
  "origin",
  "changeShards",
  "enrich",
  "deletionProtection",
  "warmWriteUnitsPerSecond",
  "tableWriteQuota",
  "bucketKeys",
  "maxReceiveCount",
  "trackerBatchSize",
  "trackerBatchingWindowSeconds",
  "trackerMaxConcurrency",
  "trackerTimeoutSeconds",
  "trackerMemoryMb",
  "trackerWriteConcurrency",
  "reconcileSource",
  "reconcileSchedule",
  "reconcileTimezone",
  "reconcileMaxDeletePercent",
  "reconcileTimeoutSeconds",
  "reconcileMemoryMb",
  "reconcileTasksPerRun",
  "reconcileMaxConcurrency",
  "reconcileBackfillRepairsPerSecond",
  "reconcileEphemeralStorageMb",
  "inventoryReportExpirationDays",
  "api",
  "apiAuthorization",
  "apiReservedConcurrency",
  "alarmEmail",
  "alarmTopicArn",
  "driftAlarmThreshold",
  "logRetentionDays",
  "dashboardName",
  "ingestRules",
  "ingestTimeoutSeconds",
  "ingestMemoryMb",
  "ingestMaxConcurrency",
] as const;

export type StackConfigKey = (typeof STACK_CONFIG_KEYS)[number];
export type StackConfigValues = Partial<Record<StackConfigKey, string>>;

function boolean(values: StackConfigValues, key: StackConfigKey): boolean | undefined {
  const value = values[key];
  if (value === undefined || value === "") return undefined;
  if (value === "true" || value === "false") return value === "true";
  throw new BucketLedgerConfigError(`config ${key}: expected true or false, got ${JSON.stringify(value)}`);
}

function integer(values: StackConfigValues, key: StackConfigKey): number | undefined {
  const value = values[key];
  if (value === undefined || value === "") return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new BucketLedgerConfigError(`config ${key}: expected an integer, got ${JSON.stringify(value)}`);
  return parsed;
}

/** A positive whole number or `none` (the component's schema checks the number). */
function integerOrNone(values: StackConfigValues, key: StackConfigKey): number | "none" | undefined {
  return values[key] === "none" ? "none" : integer(values, key);
}

function text(values: StackConfigValues, key: StackConfigKey): string | undefined {
  const value = values[key];
  return value === undefined || value === "" ? undefined : value;
}

function list(values: StackConfigValues, key: StackConfigKey): string[] {
  const value = values[key];
  if (value === undefined || value === "") return [];
  return parseJsonWith(z.array(z.string()), value, (failure) =>
    failure.reason === "json"
      ? new BucketLedgerConfigError(`config ${key}: expected a list, e.g. pulumi config set --path '${key}[0]' value`)
      : new BucketLedgerConfigError(`config ${key}: expected a list of strings`),
  );
}

/** A structured value (`pulumi config set --path 'ingestRules[0].bucket' ...`), which Pulumi hands over as JSON. */
function objects(values: StackConfigValues, key: StackConfigKey): unknown[] | undefined {
  const value = values[key];
  if (value === undefined || value === "") return undefined;
  return parseJsonWith(z.array(z.record(z.string(), z.unknown())), value, (failure) =>
    failure.reason === "json"
      ? new BucketLedgerConfigError(`config ${key}: expected a list of objects, e.g. pulumi config set --path '${key}[0].bucket' my-bucket`)
      : new BucketLedgerConfigError(`config ${key}: expected a list of objects (one per rule)`),
  );
}

/** A map (`pulumi config set --path 'bucketKeys.my-bucket' arn:...`), which Pulumi hands over as JSON. */
function map(values: StackConfigValues, key: StackConfigKey): Record<string, string> | undefined {
  const value = values[key];
  if (value === undefined || value === "") return undefined;
  return parseJsonWith(z.record(z.string(), z.string()), value, (failure) =>
    failure.reason === "json"
      ? new BucketLedgerConfigError(`config ${key}: expected a map, e.g. pulumi config set --path '${key}.my-bucket' value`)
      : new BucketLedgerConfigError(`config ${key}: expected a map of strings`),
  );
}

const defined = <T extends object>(object: T): T => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;

export function argsFromStackConfig(values: StackConfigValues): BucketLedgerArgs {
  const adopted = new Map<string, NotificationFilter[]>();
  for (const pattern of list(values, "adoptBuckets")) {
    const { name, filter } = parseBucketPattern(pattern, "config adoptBuckets");
    const filters = adopted.get(name) ?? [];
    if (filter) filters.push(filter);
    adopted.set(name, filters);
  }
  const maxDeletePercent = integer(values, "reconcileMaxDeletePercent");
  return defined({
    ...(boolean(values, "createBucket") !== false && {
      createBucket: defined({
        name: text(values, "bucketName"),
        versioning: boolean(values, "bucketVersioning"),
        filters: list(values, "bucketFilters").map((pattern) => parseFilter(pattern, "config bucketFilters")),
        accessLogBucket: text(values, "accessLogBucket"),
        ingestOutputExpirationDays: integerOrNone(values, "ingestOutputExpirationDays"),
      }),
    }),
    adoptBuckets: [...adopted].map(([name, filters]) => ({ name, filters })),
    delivery: text(values, "delivery") as BucketLedgerArgs["delivery"],
    replaceExistingNotifications: boolean(values, "replaceExistingNotifications"),
    retentionDays: integer(values, "retentionDays"),
    history: defined({ enabled: boolean(values, "history"), days: integer(values, "historyDays") }),
    // Checked by the component's schema, with every other problem.
    origin: text(values, "origin") as BucketLedgerArgs["origin"],
    changeShards: values.changeShards === "auto" ? "auto" : integer(values, "changeShards"),
    ...(values.enrich !== undefined && { enrich: list(values, "enrich") as BucketLedgerArgs["enrich"] }),
    deletionProtection: boolean(values, "deletionProtection"),
    warmWriteUnitsPerSecond: integer(values, "warmWriteUnitsPerSecond"),
    tableWriteQuota: integer(values, "tableWriteQuota"),
    bucketKeys: map(values, "bucketKeys"),
    maxReceiveCount: integer(values, "maxReceiveCount"),
    tracker: defined({
      batchSize: integer(values, "trackerBatchSize"),
      batchingWindowSeconds: integer(values, "trackerBatchingWindowSeconds"),
      maximumConcurrency: integer(values, "trackerMaxConcurrency"),
      timeoutSeconds: integer(values, "trackerTimeoutSeconds"),
      memoryMb: integer(values, "trackerMemoryMb"),
      writeConcurrency: integer(values, "trackerWriteConcurrency"),
    }),
    reconcile: defined({
      source: text(values, "reconcileSource") as "list" | "inventory" | undefined,
      schedule: text(values, "reconcileSchedule"),
      timezone: text(values, "reconcileTimezone"),
      maxDeleteFraction: maxDeletePercent === undefined ? undefined : maxDeletePercent / 100,
      timeoutSeconds: integer(values, "reconcileTimeoutSeconds"),
      memoryMb: integer(values, "reconcileMemoryMb"),
      tasksPerRun: integer(values, "reconcileTasksPerRun"),
      maximumConcurrency: integer(values, "reconcileMaxConcurrency"),
      backfillRepairsPerSecond: integer(values, "reconcileBackfillRepairsPerSecond"),
      ephemeralStorageMb: integer(values, "reconcileEphemeralStorageMb"),
      inventoryReportExpirationDays: integer(values, "inventoryReportExpirationDays"),
    }),
    api: defined({
      enabled: boolean(values, "api"),
      authorization: text(values, "apiAuthorization") as "iam" | "none" | undefined,
      reservedConcurrency: integerOrNone(values, "apiReservedConcurrency"),
    }),
    // Each rule is validated by the component's schema, which names the rule and the field.
    ingest: defined({
      rules: objects(values, "ingestRules") as IngestRuleInput[] | undefined,
      timeoutSeconds: integer(values, "ingestTimeoutSeconds"),
      memoryMb: integer(values, "ingestMemoryMb"),
      maximumConcurrency: integer(values, "ingestMaxConcurrency"),
    }),
    monitoring: defined({
      alarmEmail: text(values, "alarmEmail"),
      alarmTopicArn: text(values, "alarmTopicArn"),
      driftAlarmThreshold: integer(values, "driftAlarmThreshold"),
      logRetentionDays: integer(values, "logRetentionDays"),
      dashboardName: text(values, "dashboardName"),
    }),
  });
}
