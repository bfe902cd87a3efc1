/**
 * The BucketLedger component's arguments, validated by one schema whether they come from
 * stack config (index.ts) or from another Pulumi program constructing the component.
 * Pure: no Pulumi imports, so the rules are unit-testable.
 */
import { z } from "zod";
import { DEFAULT_HISTORY_DAYS, DEFAULT_RETENTION_DAYS } from "../ledger/ledger.js";
import { backfillBudget, RECONCILE_DEFAULTS } from "../reconcile/defaults.js";
// A function's setting the stack hands through unchanged takes its schema, default included,
// from the function's settings contract: one home for its rule and its default.
import { ingestSettings } from "../functions/settings/ingest.js";
import { reconcileSettings } from "../functions/settings/reconcile.js";
import { trackerSettings } from "../functions/settings/tracker.js";
import { streamSettings } from "../functions/settings/stream.js";
import { CHANGE_KINDS } from "../stream/message.js";
import { IngestRulesError } from "../ingest/errors.js";
import { ingestRuleSchema, resolveIngestRules } from "../ingest/rules.js";
import { describeIssues } from "../validation/parse.js";

export class BucketLedgerConfigError extends Error {
  constructor(
    message: string,
    /** Each problem on its own, for a caller that reports them with others (bucket-ledger dev). */
    readonly problems: readonly string[] = [message],
  ) {
    super(message);
    this.name = "BucketLedgerConfigError";
  }
}

/** Same-bucket notification filter. S3 rejects overlapping filters, so we check first. */
export interface NotificationFilter {
  prefix: string;
  suffix: string;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The default per-table write quota (DynamoDB developer guide, ServiceQuotas). */
export const DEFAULT_TABLE_WRITE_QUOTA = 40_000;

/**
 * A KMS key ARN, as S3 names an object's key (`arn:<partition>:kms:<region>:<account>:key/<id>`;
 * S3 API reference, SSEKMSFilter KmsKeyArn pattern). Aliases do not do: IAM grants on a key
 * name the key itself (KMS developer guide, cmks-in-iam-policies).
 */
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const KMS_KEY_ARN_HINT = "must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key id>), not an alias";

/** `prefix*suffix`, `prefix`, `*suffix`: one optional wildcard, like a shell glob. */
export function parseFilter(pattern: string, where: string): NotificationFilter {
  const parts = pattern.split("*");
  if (parts.length > 2) throw new BucketLedgerConfigError(`${where}: filter ${JSON.stringify(pattern)} has more than one *; use prefix*suffix`);
  return { prefix: parts[0] ?? "", suffix: parts[1] ?? "" };
}

/** `bucket`, `bucket/prefix`, `bucket/prefix*suffix`, `bucket/*suffix`. */
export function parseBucketPattern(pattern: string, where: string): { name: string; filter?: NotificationFilter } {
  const slash = pattern.indexOf("/");
  const name = slash === -1 ? pattern : pattern.slice(0, slash);
  if (!BUCKET_NAME.test(name)) throw new BucketLedgerConfigError(`${where}: ${JSON.stringify(name)} is not a valid S3 bucket name`);
  if (slash === -1) return { name };
  return { name, filter: parseFilter(pattern.slice(slash + 1), where) };
}

export function filtersOverlap(a: NotificationFilter, b: NotificationFilter): boolean {
  const prefixesOverlap = a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
  const suffixesOverlap = a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix);
  return prefixesOverlap && suffixesOverlap;
}

const describe = (filter: NotificationFilter) => `${filter.prefix}*${filter.suffix}`;

function overlapProblems(bucket: string, filters: NotificationFilter[]): string[] {
  const problems: string[] = [];
  for (let i = 0; i < filters.length; i++) {
    for (let j = i + 1; j < filters.length; j++) {
      if (filtersOverlap(filters[i]!, filters[j]!)) {
        problems.push(
          `bucket ${bucket}: filters ${describe(filters[i]!)} and ${describe(filters[j]!)} overlap (S3 rejects overlapping notification filters); merge them into one`,
        );
      }
    }
  }
  return problems;
}

const CRON = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/;
const RATE = /^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$/;

/** EventBridge Scheduler expressions: six-field cron (with a `?` in day-of-month or day-of-week) or rate. */
export function validateScheduleExpression(expression: string): string {
  const cron = CRON.exec(expression);
  if (cron) {
    if (cron[3] !== "?" && cron[5] !== "?") {
      throw new BucketLedgerConfigError(`reconcileSchedule ${JSON.stringify(expression)}: one of day-of-month and day-of-week must be ?`);
    }
    return expression;
  }
  if (RATE.test(expression)) return expression;
  throw new BucketLedgerConfigError(
    `reconcileSchedule ${JSON.stringify(expression)} is not an EventBridge Scheduler expression: use cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 3 * * ? *), or rate(1 day)`,
  );
}

function validateTimezone(timezone: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return timezone;
  } catch {
    throw new BucketLedgerConfigError(`reconcileTimezone ${JSON.stringify(timezone)} is not an IANA time zone (e.g. UTC, Europe/Paris)`);
  }
}

/**
 * The retention periods CloudWatch Logs accepts (PutRetentionPolicy, `retentionInDays`):
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
 */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/**
 * CloudWatch dashboard names: "can contain only alphanumerics, dash (-), and underscore (_)",
 * at most 255 characters (PutDashboard, DashboardName):
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html
 */
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;

/** The default dashboard name: one per project, stack and component, so two ledgers in one account never share one. */
export function defaultDashboardName(project: string, stack: string, component: string): string {
  return `bucket-ledger-${project}-${stack}-${component}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 255);
}

/**
 * Lambda's SQS event source: "When you set BatchSize to a value greater than 10, you must set
 * MaximumBatchingWindowInSeconds to at least 1" (CreateEventSourceMapping):
 * https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
 */
export const MAX_BATCH_WITHOUT_WINDOW = 10;

const filterSchema = z.object({ prefix: z.string().default(""), suffix: z.string().default("") });

/** A positive whole number, or `none` to turn the setting off (never 0, which means something else to AWS). */
const countOrNone = (what: string, max: number) =>
  z.union([z.literal("none"), z.number().int().min(1, `${what}: a positive whole number, or "none"`).max(max)], {
    error: `${what}: a positive whole number, or "none"`,
  });

/**
 * The API function's reserved concurrency by default: enough for a few clients paging at once,
 * each request bounded in time (api/handler.ts, `API_LIMITS`).
 */
export const DEFAULT_API_RESERVED_CONCURRENCY = 10;

/** Days ingestion's error reports and copies stay in the created bucket (S3 lifecycle), unless configured. */
export const DEFAULT_INGEST_OUTPUT_EXPIRATION_DAYS = 90;

/**
 * Days the inventory destination keeps each daily report. A run reads only the newest complete
 * one (reconcile/inventory-source.ts); S3 delivers one a day, the first up to 48 hours after the
 * configuration (S3 user guide, storage-inventory), so three days keep a complete report while
 * the next is written, and two weeks leave time to look into a run that went wrong.
 */
export const DEFAULT_INVENTORY_REPORT_EXPIRATION_DAYS = 14;
export const MIN_INVENTORY_REPORT_EXPIRATION_DAYS = 3;

/** The change stream's targets (stream/targets.ts). */
export const CHANGE_STREAM_TARGETS = ["sns", "eventbridge"] as const;

/**
 * An EventBridge bus: `default`, `stack`, a name (1-256 of letters, digits, `.`, `-`, `_`, `/`;
 * EventBridge API reference, CreateEventBus, Name) or an ARN.
 */
const EVENT_BUS_NAME = /^(?:[A-Za-z0-9._\-/]{1,256}|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256})$/;

/** A 12-digit account id or an IAM principal's ARN (a topic policy's `Principal.AWS`). */
const PRINCIPAL = /^(?:\d{12}|arn:aws[a-z-]*:(?:iam|sts)::\d{12}:[A-Za-z0-9+=,.@_/-]+)$/;

/** An SQS FIFO queue's ARN: an SNS FIFO topic delivers to FIFO queues (SNS guide, fifo-message-delivery). */
const SQS_FIFO_ARN = /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,75}\.fifo$/;

/** What one subscription or rule receives: changes of these buckets, under this prefix, of these kinds (all when absent). */
const changeFilterSchema = z.object({
  buckets: z.array(z.string().regex(BUCKET_NAME, "not a valid S3 bucket name")).min(1).optional(),
  prefix: z.string().min(1).max(1024).optional(),
  changes: z.array(z.enum(CHANGE_KINDS)).min(1).optional(),
});
export type ChangeFilter = z.infer<typeof changeFilterSchema>;

/** Lambda's ephemeral storage: "between 512 MB and 10,240 MB" (Lambda developer guide, configuration-ephemeral-storage). */
const ephemeralStorageMb = z.number().int().min(512).max(10_240);

export const bucketLedgerArgsSchema = z
  .object({
    /** A bucket this stack creates and owns, with secure defaults. */
    createBucket: z
      .object({
        name: z.string().regex(BUCKET_NAME, "not a valid S3 bucket name").optional(),
        versioning: z.boolean().default(false),
        filters: z.array(filterSchema).default([]),
        forceDestroy: z.boolean().default(false),
        /** S3 server access logs for the created bucket, delivered to this bucket (same Region and account; see infra/secure-bucket.ts). */
        accessLogBucket: z.string().regex(BUCKET_NAME, "not a valid S3 bucket name").optional(),
        /** Days before ingestion's error reports and copies in the created bucket expire (S3 lifecycle); `none` keeps them. */
        ingestOutputExpirationDays: countOrNone("ingestOutputExpirationDays", 36_500).default(DEFAULT_INGEST_OUTPUT_EXPIRATION_DAYS),
      })
      .optional(),
    /** Existing buckets to track; the stack never deletes them. */
    adoptBuckets: z
      .array(z.object({ name: z.string().regex(BUCKET_NAME, "not a valid S3 bucket name"), filters: z.array(filterSchema).default([]) }))
      .default([]),
    delivery: z.enum(["sqs", "eventbridge"]).default("sqs"),
    /** Opt-in: let the stack own (and so replace) adopted buckets' notification configuration. */
    replaceExistingNotifications: z.boolean().default(false),
    retentionDays: z.number().int().min(1).max(3650).default(DEFAULT_RETENTION_DAYS),
    /** The journal: every change of every key, kept `days` days (ledger/history.ts). */
    history: z
      .object({
        enabled: z.boolean().default(true),
        days: z.number().int().min(1).max(3650).default(DEFAULT_HISTORY_DAYS),
      })
      .prefault({}),
    /**
     * What of each change's origin the tracker writes (ledger/origin.ts): `full`, `principal`
     * (the default: who, not from where) or `none`. Personal data: see docs/security.md.
     */
    origin: trackerSettings.variables.origin.schema,
    /** Change-index partitions per bucket-day (ledger/change-index/): "auto", sized from each bucket's rate, or a fixed 1 to 32. */
    changeShards: trackerSettings.variables.changeShards.schema,
    /** Object metadata the tracker asks S3 for on each create (HeadObject); none by default. */
    enrich: trackerSettings.variables.enrich.schema,
    deletionProtection: z.boolean().default(true),
    /**
     * Pre-warmed writes per second for the table and its change index (a first backfill); on-demand's
     * 4,000 without. It can only be raised, never lowered, and only up to the account's per-table
     * quota (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html).
     */
    warmWriteUnitsPerSecond: z.number().int().min(4_000).optional(),
    /**
     * The account's per-table write throughput quota in this Region: 40,000 write units unless
     * raised in Service Quotas ("bounded by 40,000 table-level read and write throughput AWS
     * service quota", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode-max-throughput.html).
     */
    tableWriteQuota: z.number().int().min(1).default(DEFAULT_TABLE_WRITE_QUOTA),
    /**
     * The customer-managed KMS key of each tracked bucket encrypted with SSE-KMS, by bucket name:
     * the functions that read or write its objects are granted that key, through S3 only.
     */
    bucketKeys: z.record(z.string().regex(BUCKET_NAME, "not a valid S3 bucket name"), z.string().regex(KMS_KEY_ARN, KMS_KEY_ARN_HINT)).default({}),
    maxReceiveCount: z.number().int().min(1).max(1000).default(5),
    tracker: z
      .object({
        batchSize: z.number().int().min(1).max(10_000).default(100),
        batchingWindowSeconds: z.number().int().min(0).max(300).default(5),
        maximumConcurrency: z.number().int().min(2).max(1000).default(10),
        timeoutSeconds: z.number().int().min(3).max(900).default(60),
        memoryMb: z.number().int().min(128).max(10_240).default(512),
        writeConcurrency: trackerSettings.variables.writeConcurrency.schema,
      })
      .prefault({}),
    reconcile: z
      .object({
        source: reconcileSettings.variables.source.schema,
        schedule: z.string().default("cron(0 3 * * ? *)"),
        timezone: z.string().default("UTC"),
        maxDeleteFraction: reconcileSettings.variables.maxDeleteFraction.schema,
        timeoutSeconds: z.number().int().min(60).max(900).default(900),
        memoryMb: z.number().int().min(128).max(10_240).default(1024),
        /** Key ranges a run is split into; each is one resumable task. */
        tasksPerRun: reconcileSettings.variables.tasksPerRun.schema,
        /** Task invocations at once (the SQS event source's MaximumConcurrency, at least 2). */
        maximumConcurrency: z.number().int().min(2).max(1000).default(RECONCILE_DEFAULTS.maximumConcurrency),
        /** Backfill mode's write budget for a whole run; by default from the table's warm throughput (reconcile/defaults.ts). */
        backfillRepairsPerSecond: z.number().int().min(1).max(1_000_000).optional(),
        /** /tmp of the reconcile function, where inventory runs spill (reconcile/scratch.ts): Lambda's 512 MB unless raised. */
        ephemeralStorageMb: ephemeralStorageMb.default(512),
        /** Days the inventory destination keeps each daily report (S3 lifecycle). */
        inventoryReportExpirationDays: z.number().int().min(MIN_INVENTORY_REPORT_EXPIRATION_DAYS).max(36_500).default(DEFAULT_INVENTORY_REPORT_EXPIRATION_DAYS),
      })
      .prefault({}),
    /** The HTTP query API: off unless asked for; IAM-authorized unless `authorization: "none"`. */
    api: z
      .object({
        enabled: z.boolean().default(false),
        authorization: z.enum(["iam", "none"]).default("iam"),
        throttlingRateLimit: z.number().min(1).max(10_000).default(50),
        throttlingBurstLimit: z.number().int().min(1).max(5_000).default(100),
        /**
         * Concurrent executions reserved for (and capping) the API function, or `none`. Not 0:
         * Lambda throttles every invocation of a function whose reserved concurrency is 0 (Lambda
         * developer guide, configuration-concurrency; the provider's reservedConcurrentExecutions:
         * "A value of 0 disables lambda from being triggered").
         */
        reservedConcurrency: countOrNone("apiReservedConcurrency", 10_000).default(DEFAULT_API_RESERVED_CONCURRENCY),
      })
      .prefault({}),
    /** Row ingestion: CSV / JSON Lines objects mirrored row by row into DynamoDB tables (see ingest/rules.ts). */
    ingest: z
      .object({
        rules: z.array(ingestRuleSchema).default([]),
        timeoutSeconds: z.number().int().min(60).max(900).default(900),
        memoryMb: z.number().int().min(128).max(10_240).default(1024),
        /** Ingestion invocations at once (the FIFO event source's MaximumConcurrency, at least 2). */
        maximumConcurrency: z.number().int().min(2).max(1000).default(5),
        writeConcurrency: ingestSettings.variables.writeConcurrency.schema,
      })
      .prefault({}),
    /** The change stream (stream/, infra/change-stream.ts): off unless asked for. */
    changeStream: z
      .object({
        enabled: z.boolean().default(false),
        /** Where changes are published: the SNS FIFO topic (default), EventBridge, or both. */
        targets: z
          .array(z.enum(CHANGE_STREAM_TARGETS))
          .min(1, "changeStream.targets: name sns, eventbridge or both")
          .refine((targets) => new Set(targets).size === targets.length, "changeStream.targets: each target once")
          .default(["sns"]),
        /** The EventBridge bus: `default` (the account's), `stack` (a bus of the stack's own), or an existing bus's name or ARN. */
        eventBus: z.string().regex(EVENT_BUS_NAME, "changeStream.eventBus: default, stack, or a bus name or ARN").default("default"),
        /** Who may subscribe to the topic besides the stack's own account: account ids or IAM principal ARNs. */
        subscribers: z.array(z.string().regex(PRINCIPAL, "changeStream.subscribers: a 12-digit account id or an IAM principal ARN")).default([]),
        /** SQS FIFO queues the stack subscribes to the topic, each with an optional filter. */
        subscriptions: z
          .array(changeFilterSchema.extend({ queueArn: z.string().regex(SQS_FIFO_ARN, "not an SQS FIFO queue's ARN (its name ends in .fifo)") }))
          .default([]),
        /** EventBridge rules on the bus, each with a filter and a target (which must admit EventBridge). */
        rules: z
          .array(
            changeFilterSchema.extend({
              name: z.string().regex(/^[A-Za-z0-9._-]{1,30}$/, "changeStream.rules[].name: 1-30 letters, digits, . _ -"),
              targetArn: z.string().startsWith("arn:"),
            }),
          )
          .default([]),
        /** Records per invocation (DynamoDB Streams event source: at most 10,000). */
        batchSize: z.number().int().min(1).max(10_000).default(100),
        /**
         * Batches per shard at once (1-10, services-ddb-params). Above 1, per-key order rests on Lambda
         * keeping one item's records in order across a shard's concurrent batches, which AWS states for
         * Kinesis partition keys (with-kinesis) and was not checked here for DynamoDB items: 1 unless verified.
         */
        parallelizationFactor: z.number().int().min(1).max(10).default(1),
        /** Retries of a failed batch before its records' description goes to the DLQ (at most 10,000; -1 is not offered: a poison record would hold its shard 24 hours). */
        maximumRetryAttempts: z.number().int().min(0).max(10_000).default(10),
        timeoutSeconds: z.number().int().min(3).max(900).default(60),
        memoryMb: z.number().int().min(128).max(10_240).default(256),
        /** Calls per target for one group of messages before the batch stops (functions/settings/stream.ts). */
        publishAttempts: streamSettings.variables.publishAttempts.schema,
        /** Alarm when the oldest record waiting is older than this (Lambda's IteratorAge). */
        iteratorAgeAlarmSeconds: z.number().int().min(1).max(86_400).default(300),
      })
      .prefault({}),
    monitoring: z
      .object({
        alarmEmail: z.string().email().optional(),
        alarmTopicArn: z.string().startsWith("arn:").optional(),
        driftAlarmThreshold: z.number().int().min(0).default(100),
        logRetentionDays: z
          .number()
          .int()
          .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
            message: `must be one of the values CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(", ")}`,
          })
          .default(30),
        /** Defaults to one derived from the project, stack and component names. */
        dashboardName: z.string().regex(DASHBOARD_NAME, "CloudWatch dashboard names hold only letters, digits, - and _ (at most 255)").optional(),
      })
      .prefault({}),
  })
  .transform((args) => ({
    ...args,
    reconcile: {
      ...args.reconcile,
      backfillRepairsPerSecond: args.reconcile.backfillRepairsPerSecond ?? backfillBudget(args.warmWriteUnitsPerSecond, args.history.enabled),
    },
  }));

export type BucketLedgerArgs = z.input<typeof bucketLedgerArgsSchema>;
export type ResolvedBucketLedgerArgs = z.output<typeof bucketLedgerArgsSchema>;

/** One error for every problem found, as each configuration rule reports them. */
export function configurationError(problems: readonly string[]): BucketLedgerConfigError {
  return new BucketLedgerConfigError(problems.length === 1 ? problems[0]! : `invalid bucket-ledger configuration:\n- ${problems.join("\n- ")}`, problems);
}

/** Where an adopted bucket is, as `aws.s3.getBucket` reports it. */
export interface BucketPlacement {
  name: string;
  region: string;
}

/**
 * What only the provider can tell, checked before anything is wired to a bucket:
 * - S3 event notifications need "the destination queue ... in the same AWS Region as the
 *   bucket" (S3 user guide, "Amazon S3 Event Notifications", destinations), and EventBridge
 *   delivery sends a bucket's events to the default bus of the bucket's Region: a bucket in
 *   another Region than the stack's can be wired neither way;
 * - an SSE-KMS bucket's key is in the bucket's Region (S3 user guide, UsingKMSEncryption:
 *   the key must be in the same Region as the bucket) and in the stack's partition.
 * Every problem at once, as the other configuration rules.
 */
export function placementProblems(
  stack: { region: string; partition: string },
  adopted: readonly BucketPlacement[],
  bucketKeys: Record<string, string>,
): string[] {
  const problems: string[] = [];
  const regionOf = new Map(adopted.map((bucket) => [bucket.name, bucket.region]));
  for (const bucket of adopted) {
    if (bucket.region !== stack.region) {
      problems.push(
        `bucket ${bucket.name} is in ${bucket.region}, the stack in ${stack.region}: S3 delivers a bucket's events only in its own Region; deploy a stack in ${bucket.region} for it`,
      );
    }
  }
  for (const [bucket, key] of Object.entries(bucketKeys)) {
    const [, partition, , region] = key.split(":");
    const bucketRegion = regionOf.get(bucket) ?? stack.region;
    if (partition !== stack.partition) problems.push(`bucketKeys.${bucket}: ${key} is in partition ${partition}, the stack in ${stack.partition}`);
    else if (region !== bucketRegion)
      problems.push(`bucketKeys.${bucket}: ${key} is in ${region}, the bucket in ${bucketRegion}; S3 uses only a key in the bucket's Region`);
  }
  return problems;
}

/**
 * The change stream's subscriptions whose queue is in another account than the stack's. The
 * provider makes a subscription with the stack's credentials, and for a queue in another
 * account "creates the subscription but does not keep state and tries to re-create the
 * subscription at every apply" (Pulumi registry, aws.sns.TopicSubscription: it "must use the AWS
 * provider for the account with the SQS queue"). Such an account subscribes its queue itself,
 * allowed by the topic's policy (`changeStream.subscribers`).
 */
export function subscriptionAccountProblems(stackAccountId: string, subscriptions: readonly { queueArn: string }[]): string[] {
  return subscriptions.flatMap(({ queueArn }, index) => {
    // arn:<partition>:sqs:<region>:<account>:<name> (the schema's SQS_FIFO_ARN).
    const account = queueArn.split(":")[4];
    return account === stackAccountId
      ? []
      : [
          `changeStream.subscriptions[${index}]: queue ${queueArn} is in account ${account}, the stack in ${stackAccountId}; ` +
            `the stack subscribes only its own account's queues (made with this stack's credentials, a subscription to another account's queue is re-created at every deployment): ` +
            `remove it, add ${account} to changeStream.subscribers (changeStreamSubscribers), and subscribe the queue to the topic (output changeTopicArn) from account ${account}`,
        ];
  });
}

/** Validates component arguments: every rule that S3, SQS, Lambda, CloudWatch or Scheduler would enforce later, now, all reported at once. */
export function resolveBucketLedgerArgs(args: BucketLedgerArgs): ResolvedBucketLedgerArgs {
  const parsed = bucketLedgerArgsSchema.safeParse(args);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error, "(args)");
    throw new BucketLedgerConfigError(
      `invalid bucket-ledger configuration: ${problems}`,
      parsed.error.issues.map((issue) => describeIssues(new z.ZodError([issue]), "(args)")),
    );
  }
  const resolved = parsed.data;
  const problems: string[] = [];
  const check = (rule: () => void) => {
    try {
      rule();
    } catch (error) {
      if (!(error instanceof BucketLedgerConfigError)) throw error;
      problems.push(error.message);
    }
  };
  if (!resolved.createBucket && resolved.adoptBuckets.length === 0) {
    problems.push("no bucket to track: set createBucket (the default) or list existing buckets in adoptBuckets");
  }
  const seen = new Set<string>();
  for (const bucket of resolved.adoptBuckets) {
    if (seen.has(bucket.name)) problems.push(`bucket ${bucket.name} is listed twice; list its filters under one entry`);
    seen.add(bucket.name);
    problems.push(...overlapProblems(bucket.name, bucket.filters));
  }
  if (resolved.createBucket) problems.push(...overlapProblems(resolved.createBucket.name ?? "created bucket", resolved.createBucket.filters));
  if (resolved.delivery === "sqs" && resolved.adoptBuckets.length > 0 && !resolved.replaceExistingNotifications) {
    problems.push(
      `delivery "sqs" would replace the whole notification configuration of ${resolved.adoptBuckets.map((b) => b.name).join(", ")} ` +
        `(S3 keeps one per bucket, and anything else configured there would be lost). Use delivery "eventbridge" ` +
        `(safe alongside existing notifications), or set replaceExistingNotifications to true if this stack may own it.`,
    );
  }
  if (resolved.tracker.batchSize > MAX_BATCH_WITHOUT_WINDOW && resolved.tracker.batchingWindowSeconds < 1) {
    problems.push(
      `tracker.batchSize ${resolved.tracker.batchSize} needs tracker.batchingWindowSeconds of at least 1 (Lambda rejects a batch size above ${MAX_BATCH_WITHOUT_WINDOW} without a batching window)`,
    );
  }
  check(() => validateScheduleExpression(resolved.reconcile.schedule));
  check(() => validateTimezone(resolved.reconcile.timezone));
  if (resolved.ingest.rules.length > 0) {
    const tracked = [...resolved.adoptBuckets.map((bucket) => bucket.name), ...(resolved.createBucket?.name !== undefined ? [resolved.createBucket.name] : [])];
    try {
      resolveIngestRules(resolved.ingest.rules, tracked);
    } catch (error) {
      if (!(error instanceof IngestRulesError)) throw error;
      const unnamed =
        resolved.createBucket && resolved.createBucket.name === undefined ? " (to ingest from the created bucket, give it a name: createBucket.name)" : "";
      problems.push(
        ...error.message
          .replace(/^invalid ingestRules:\n- /, "")
          .split("\n- ")
          .map((problem) => problem + (problem.includes("is not tracked") ? unnamed : "")),
      );
    }
  }
  if (resolved.warmWriteUnitsPerSecond !== undefined && resolved.warmWriteUnitsPerSecond > resolved.tableWriteQuota) {
    problems.push(
      `warmWriteUnitsPerSecond ${resolved.warmWriteUnitsPerSecond} is above the account's per-table write quota of ${resolved.tableWriteQuota} ` +
        `(DynamoDB refuses it): ask Service Quotas for more and set tableWriteQuota to the raised quota, or warm less`,
    );
  }
  const tracked = new Set([
    ...resolved.adoptBuckets.map((bucket) => bucket.name),
    ...(resolved.createBucket?.name !== undefined ? [resolved.createBucket.name] : []),
  ]);
  for (const bucket of Object.keys(resolved.bucketKeys)) {
    if (!tracked.has(bucket)) problems.push(`bucketKeys: ${bucket} is not a tracked bucket (adoptBuckets, or createBucket.name)`);
  }
  const created = resolved.createBucket;
  if (created?.accessLogBucket !== undefined && created.accessLogBucket === created.name) {
    // Logs written into the bucket they describe would be logged in turn, without end (enable-server-access-logging).
    problems.push(`accessLogBucket: ${created.accessLogBucket} is the created bucket itself; deliver its access logs to another bucket`);
  }
  const stream = resolved.changeStream;
  if (stream.enabled) {
    if (stream.subscriptions.length > 0 && !stream.targets.includes("sns"))
      problems.push("changeStream.subscriptions: subscriptions are to the SNS topic; add sns to changeStream.targets");
    if (stream.rules.length > 0 && !stream.targets.includes("eventbridge"))
      problems.push("changeStream.rules: rules are on the EventBridge bus; add eventbridge to changeStream.targets");
    const ruleNames = stream.rules.map((rule) => rule.name);
    for (const name of new Set(ruleNames))
      if (ruleNames.indexOf(name) !== ruleNames.lastIndexOf(name)) problems.push(`changeStream.rules: ${name} is named twice`);
    for (const [index, filter] of [...stream.subscriptions, ...stream.rules].entries()) {
      for (const bucket of filter.buckets ?? []) {
        if (!tracked.has(bucket)) {
          const where = index < stream.subscriptions.length ? `subscriptions[${index}]` : `rules[${index - stream.subscriptions.length}]`;
          problems.push(`changeStream.${where}.buckets: ${bucket} is not a tracked bucket (adoptBuckets, or createBucket.name)`);
        }
      }
    }
  }
  if (resolved.monitoring.alarmEmail && resolved.monitoring.alarmTopicArn) {
    problems.push("set alarmEmail or alarmTopicArn, not both");
  }
  if (problems.length > 0) throw configurationError(problems);
  return resolved;
}
