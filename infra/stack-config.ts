/**
 * Stack configuration (`pulumi config set ...`) -> BucketLedger arguments. Pulumi hands
 * values over as strings; each is parsed here with an error that names the key.
 */
import { BucketLedgerConfigError, configurationError, parseBucketPattern, parseFilter, type BucketLedgerArgs, type NotificationFilter } from "./args.js";
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
  "changeStream",
  "changeStreamTargets",
  "changeStreamEventBus",
  "changeStreamSubscribers",
  "changeStreamSubscriptions",
  "changeStreamRules",
] as const;

export type StackConfigKey = (typeof STACK_CONFIG_KEYS)[number];

/**
 * Where each key lands in the component's arguments (readStackConfig), so a problem the
 * component's schema finds at a path can be named by the key that set it.
 */
export const STACK_CONFIG_ARG_PATHS: Record<StackConfigKey, string> = {
  createBucket: "createBucket",
  bucketName: "createBucket.name",
  bucketVersioning: "createBucket.versioning",
  bucketFilters: "createBucket.filters",
  accessLogBucket: "createBucket.accessLogBucket",
  ingestOutputExpirationDays: "createBucket.ingestOutputExpirationDays",
  adoptBuckets: "adoptBuckets",
  delivery: "delivery",
  replaceExistingNotifications: "replaceExistingNotifications",
  retentionDays: "retentionDays",
  history: "history.enabled",
  historyDays: "history.days",
  origin: "origin",
  changeShards: "changeShards",
  enrich: "enrich",
  deletionProtection: "deletionProtection",
  warmWriteUnitsPerSecond: "warmWriteUnitsPerSecond",
  tableWriteQuota: "tableWriteQuota",
  bucketKeys: "bucketKeys",
  maxReceiveCount: "maxReceiveCount",
  trackerBatchSize: "tracker.batchSize",
  trackerBatchingWindowSeconds: "tracker.batchingWindowSeconds",
  trackerMaxConcurrency: "tracker.maximumConcurrency",
  trackerTimeoutSeconds: "tracker.timeoutSeconds",
  trackerMemoryMb: "tracker.memoryMb",
  trackerWriteConcurrency: "tracker.writeConcurrency",
  reconcileSource: "reconcile.source",
  reconcileSchedule: "reconcile.schedule",
  reconcileTimezone: "reconcile.timezone",
  reconcileMaxDeletePercent: "reconcile.maxDeleteFraction",
  reconcileTimeoutSeconds: "reconcile.timeoutSeconds",
  reconcileMemoryMb: "reconcile.memoryMb",
  reconcileTasksPerRun: "reconcile.tasksPerRun",
  reconcileMaxConcurrency: "reconcile.maximumConcurrency",
  reconcileBackfillRepairsPerSecond: "reconcile.backfillRepairsPerSecond",
  reconcileEphemeralStorageMb: "reconcile.ephemeralStorageMb",
  inventoryReportExpirationDays: "reconcile.inventoryReportExpirationDays",
  api: "api.enabled",
  apiAuthorization: "api.authorization",
  apiReservedConcurrency: "api.reservedConcurrency",
  alarmEmail: "monitoring.alarmEmail",
  alarmTopicArn: "monitoring.alarmTopicArn",
  driftAlarmThreshold: "monitoring.driftAlarmThreshold",
  logRetentionDays: "monitoring.logRetentionDays",
  dashboardName: "monitoring.dashboardName",
  ingestRules: "ingest.rules",
  ingestTimeoutSeconds: "ingest.timeoutSeconds",
  ingestMemoryMb: "ingest.memoryMb",
  ingestMaxConcurrency: "ingest.maximumConcurrency",
  changeStream: "changeStream.enabled",
  changeStreamTargets: "changeStream.targets",
  changeStreamEventBus: "changeStream.eventBus",
  changeStreamSubscribers: "changeStream.subscribers",
  changeStreamSubscriptions: "changeStream.subscriptions",
  changeStreamRules: "changeStream.rules",
};

const BY_LONGEST_PATH = Object.entries(STACK_CONFIG_ARG_PATHS).sort(([, a], [, b]) => b.length - a.length);

/**
 * A problem the component found (`<path>: why`), named by the key that set the value
 * (`config historyDays (history.days): why`); others as they are.
 */
export function nameStackConfigKey(problem: string): string {
  const colon = problem.indexOf(": ");
  if (colon === -1) return problem;
  const path = problem.slice(0, colon);
  const key = BY_LONGEST_PATH.find(([, argPath]) => path === argPath || path.startsWith(`${argPath}.`))?.[0];
  return key === undefined ? problem : `config ${key}${path === key ? "" : ` (${path})`}: ${problem.slice(colon + 2)}`;
}

export type StackConfigValues = Partial<Record<StackConfigKey, string>>;

/**
 * Reads each key as its kind, noting a bad value (naming the key) and going on, so every
 * problem in a stack's configuration is reported at once; a key that cannot be read is left
 * unset.
 */
class StackConfigReader {
  readonly problems: string[] = [];

  constructor(private readonly values: StackConfigValues) {}

  private attempt<T>(read: () => T): T | undefined {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof BucketLedgerConfigError)) throw error;
      this.problems.push(error.message);
      return undefined;
    }
  }

  boolean(key: StackConfigKey): boolean | undefined {
    const value = this.text(key);
    if (value === undefined) return undefined;
    if (value === "true" || value === "false") return value === "true";
    this.problems.push(`config ${key}: expected true or false, got ${JSON.stringify(value)}`);
    return undefined;
  }

  integer(key: StackConfigKey): number | undefined {
    const value = this.text(key);
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (Number.isInteger(parsed)) return parsed;
    this.problems.push(`config ${key}: expected an integer, got ${JSON.stringify(value)}`);
    return undefined;
  }

  /** A positive whole number or `none` (the component's schema checks the number). */
  integerOrNone(key: StackConfigKey): number | "none" | undefined {
    return this.values[key] === "none" ? "none" : this.integer(key);
  }

  text(key: StackConfigKey): string | undefined {
    const value = this.values[key];
    return value === undefined || value === "" ? undefined : value;
  }

  list(key: StackConfigKey): string[] {
    const value = this.text(key);
    if (value === undefined) return [];
    return (
      this.attempt(() =>
        parseJsonWith(z.array(z.string()), value, (failure) =>
          failure.reason === "json"
            ? new BucketLedgerConfigError(`config ${key}: expected a list, e.g. pulumi config set --path '${key}[0]' value`)
            : new BucketLedgerConfigError(`config ${key}: expected a list of strings`),
        ),
      ) ?? []
    );
  }

  /** A structured value (`pulumi config set --path 'ingestRules[0].bucket' ...`), which Pulumi hands over as JSON. */
  objects(key: StackConfigKey): unknown[] | undefined {
    const value = this.text(key);
    if (value === undefined) return undefined;
    return this.attempt(() =>
      parseJsonWith(z.array(z.record(z.string(), z.unknown())), value, (failure) =>
        failure.reason === "json"
          ? new BucketLedgerConfigError(`config ${key}: expected a list of objects, e.g. pulumi config set --path '${key}[0].bucket' my-bucket`)
          : new BucketLedgerConfigError(`config ${key}: expected a list of objects (one per rule)`),
      ),
    );
  }

  /** A map (`pulumi config set --path 'bucketKeys.my-bucket' arn:...`), which Pulumi hands over as JSON. */
  map(key: StackConfigKey): Record<string, string> | undefined {
    const value = this.text(key);
    if (value === undefined) return undefined;
    return this.attempt(() =>
      parseJsonWith(z.record(z.string(), z.string()), value, (failure) =>
        failure.reason === "json"
          ? new BucketLedgerConfigError(`config ${key}: expected a map, e.g. pulumi config set --path '${key}.my-bucket' value`)
          : new BucketLedgerConfigError(`config ${key}: expected a map of strings`),
      ),
    );
  }

  /** Each pattern through `parse`, a bad one noted and skipped. */
  patterns<T>(key: StackConfigKey, parse: (pattern: string) => T): T[] {
    return this.list(key).flatMap((pattern) => {
      const parsed = this.attempt(() => parse(pattern));
      return parsed === undefined ? [] : [parsed];
    });
  }
}

const defined = <T extends object>(object: T): T => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;

/** The component's arguments from the stack's configuration; a bad value fails, every one named. */
export function argsFromStackConfig(values: StackConfigValues): BucketLedgerArgs {
  const { args, problems } = readStackConfig(values);
  if (problems.length > 0) throw configurationError(problems);
  return args;
}

/**
 * The component's arguments from the stack's configuration, and every value that could not be
 * read (each naming its key; the key is left out of the arguments). Only what was set is in
 * them: the component's schema adds the defaults.
 */
export function readStackConfig(values: StackConfigValues): { args: BucketLedgerArgs; problems: string[] } {
  const read = new StackConfigReader(values);
  const adopted = new Map<string, NotificationFilter[]>();
  for (const { name, filter } of read.patterns("adoptBuckets", (pattern) => parseBucketPattern(pattern, "config adoptBuckets"))) {
    const filters = adopted.get(name) ?? [];
    if (filter) filters.push(filter);
    adopted.set(name, filters);
  }
  const maxDeletePercent = read.integer("reconcileMaxDeletePercent");
  const args = defined({
    ...(read.boolean("createBucket") !== false && {
      createBucket: defined({
        name: read.text("bucketName"),
        versioning: read.boolean("bucketVersioning"),
        filters: read.patterns("bucketFilters", (pattern) => parseFilter(pattern, "config bucketFilters")),
        accessLogBucket: read.text("accessLogBucket"),
        ingestOutputExpirationDays: read.integerOrNone("ingestOutputExpirationDays"),
      }),
    }),
    adoptBuckets: [...adopted].map(([name, filters]) => ({ name, filters })),
    delivery: read.text("delivery") as BucketLedgerArgs["delivery"],
    replaceExistingNotifications: read.boolean("replaceExistingNotifications"),
    retentionDays: read.integer("retentionDays"),
    history: defined({ enabled: read.boolean("history"), days: read.integer("historyDays") }),
    // Checked by the component's schema, with every other problem.
    origin: read.text("origin") as BucketLedgerArgs["origin"],
    changeShards: values.changeShards === "auto" ? "auto" : read.integer("changeShards"),
    ...(values.enrich !== undefined && { enrich: read.list("enrich") as BucketLedgerArgs["enrich"] }),
    deletionProtection: read.boolean("deletionProtection"),
    warmWriteUnitsPerSecond: read.integer("warmWriteUnitsPerSecond"),
    tableWriteQuota: read.integer("tableWriteQuota"),
    bucketKeys: read.map("bucketKeys"),
    maxReceiveCount: read.integer("maxReceiveCount"),
    tracker: defined({
      batchSize: read.integer("trackerBatchSize"),
      batchingWindowSeconds: read.integer("trackerBatchingWindowSeconds"),
      maximumConcurrency: read.integer("trackerMaxConcurrency"),
      timeoutSeconds: read.integer("trackerTimeoutSeconds"),
      memoryMb: read.integer("trackerMemoryMb"),
      writeConcurrency: read.integer("trackerWriteConcurrency"),
    }),
    reconcile: defined({
      source: read.text("reconcileSource") as "list" | "inventory" | undefined,
      schedule: read.text("reconcileSchedule"),
      timezone: read.text("reconcileTimezone"),
      maxDeleteFraction: maxDeletePercent === undefined ? undefined : maxDeletePercent / 100,
      timeoutSeconds: read.integer("reconcileTimeoutSeconds"),
      memoryMb: read.integer("reconcileMemoryMb"),
      tasksPerRun: read.integer("reconcileTasksPerRun"),
      maximumConcurrency: read.integer("reconcileMaxConcurrency"),
      backfillRepairsPerSecond: read.integer("reconcileBackfillRepairsPerSecond"),
      ephemeralStorageMb: read.integer("reconcileEphemeralStorageMb"),
      inventoryReportExpirationDays: read.integer("inventoryReportExpirationDays"),
    }),
    api: defined({
      enabled: read.boolean("api"),
      authorization: read.text("apiAuthorization") as "iam" | "none" | undefined,
      reservedConcurrency: read.integerOrNone("apiReservedConcurrency"),
    }),
    // Each rule is validated by the component's schema, which names the rule and the field.
    ingest: defined({
      rules: read.objects("ingestRules") as IngestRuleInput[] | undefined,
      timeoutSeconds: read.integer("ingestTimeoutSeconds"),
      memoryMb: read.integer("ingestMemoryMb"),
      maximumConcurrency: read.integer("ingestMaxConcurrency"),
    }),
    // Each subscription and rule is validated by the component's schema, which names the field.
    changeStream: defined({
      enabled: read.boolean("changeStream"),
      ...(values.changeStreamTargets !== undefined && { targets: read.list("changeStreamTargets") as ("sns" | "eventbridge")[] }),
      eventBus: read.text("changeStreamEventBus"),
      ...(values.changeStreamSubscribers !== undefined && { subscribers: read.list("changeStreamSubscribers") }),
      subscriptions: read.objects("changeStreamSubscriptions") as { queueArn: string }[] | undefined,
      rules: read.objects("changeStreamRules") as { name: string; targetArn: string }[] | undefined,
    }),
    monitoring: defined({
      alarmEmail: read.text("alarmEmail"),
      alarmTopicArn: read.text("alarmTopicArn"),
      driftAlarmThreshold: read.integer("driftAlarmThreshold"),
      logRetentionDays: read.integer("logRetentionDays"),
      dashboardName: read.text("dashboardName"),
    }),
  });
  return { args, problems: read.problems };
}
