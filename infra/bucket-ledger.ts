/**
 * BucketLedger: the whole deployment as one component that other Pulumi programs can use.
 *
 *   new BucketLedger("photos", { adoptBuckets: [{ name: "my-photos" }], delivery: "eventbridge" });
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  BucketLedgerConfigError,
  configurationError,
  defaultDashboardName,
  placementProblems,
  resolveBucketLedgerArgs,
  type BucketLedgerArgs,
} from "./args.js";
import { s3Arn, type Cloud } from "./arns.js";
import { AUTONAME_SUFFIX_LENGTH, fitName } from "./names.js";
import { EventDelivery, type DeliveredBucket } from "./event-delivery.js";
import { LedgerTable } from "./ledger-table.js";
import { Monitoring } from "./monitoring.js";
import { QueryApi } from "./query-api.js";
import { Reconciler } from "./reconciler.js";
import { SecureBucket, type PrefixExpiration } from "./secure-bucket.js";
import { Tracker } from "./tracker.js";
import { Ingestion } from "./ingestion.js";
import { ChangeStream, changeTopicName } from "./change-stream.js";
import type { IngestRule } from "../ingest/rules.js";

/**
 * The longest child name is `<name>-reconcile-scheduler` (an IAM role, 64 characters at most
 * with Pulumi's 8-character suffix; IAM API reference, CreateRole, RoleName).
 */
export const MAX_COMPONENT_NAME_LENGTH = 64 - AUTONAME_SUFFIX_LENGTH - "-reconcile-scheduler".length;

/** AWS's guidance for SQS event sources: visibility timeout at least six times the function timeout, plus the batching window. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

const logicalName = (bucket: string) => bucket.replace(/[^a-z0-9-]/g, "-");

/**
 * Lifecycle rules expiring what ingestion writes into the created bucket (each rule's error
 * reports and copies, one rule per prefix), `days` after it was written; none with `none`, or
 * when no rule names the created bucket (rules name buckets, so only a named created bucket has any).
 */
export function ingestOutputExpirations(rules: readonly IngestRule[], createdBucket: string | undefined, days: number | "none"): PrefixExpiration[] {
  if (days === "none" || createdBucket === undefined) return [];
  const prefixes = new Map<string, "error-reports" | "copies">();
  for (const rule of rules.filter((candidate) => candidate.bucket === createdBucket)) {
    if (!prefixes.has(rule.errorPrefix)) prefixes.set(rule.errorPrefix, "error-reports");
    if (rule.copyPrefix !== undefined && !prefixes.has(rule.copyPrefix)) prefixes.set(rule.copyPrefix, "copies");
  }
  // An ID of its own per prefix, stable and within S3's 255 characters whatever the prefix.
  return [...prefixes].map(([prefix, kind]) => ({ id: fitName(`expire-ingest-${kind}-${prefix}`, 255), prefix, days }));
}

/** Dashboard names are per account and region: two components of one program must not share one. */
const claimedDashboardNames = new Map<string, string>();

function claimDashboardName(component: string, requested: string | undefined): string {
  const dashboardName = requested ?? defaultDashboardName(pulumi.getProject(), pulumi.getStack(), component);
  const holder = claimedDashboardNames.get(dashboardName);
  if (holder !== undefined && holder !== component) {
    throw new BucketLedgerConfigError(
      `monitoring.dashboardName: BucketLedger ${JSON.stringify(component)} would use the dashboard ${JSON.stringify(dashboardName)}, already used by BucketLedger ${JSON.stringify(holder)}; CloudWatch keeps one dashboard per name in an account, so give one of them another dashboardName`,
    );
  }
  claimedDashboardNames.set(dashboardName, component);
  return dashboardName;
}

export interface BucketLedgerOutputs {
  tableName: pulumi.Output<string>;
  tableArn: pulumi.Output<string>;
  bucketNames: pulumi.Output<string[]>;
  queueUrl: pulumi.Output<string>;
  deadLetterQueueUrl: pulumi.Output<string>;
  trackerFunctionName: pulumi.Output<string>;
  reconcileFunctionName: pulumi.Output<string>;
  reconcileTaskDeadLetterQueueUrl: pulumi.Output<string>;
  scheduleName: pulumi.Output<string>;
  /** The schedule's expression and time zone: `status --stack` says from them when the first run is due. */
  reconcileSchedule: pulumi.Output<string>;
  reconcileTimezone: pulumi.Output<string>;
  /** The stack's CloudWatch alarms, for `bucket-ledger status --stack`. */
  alarmNames: pulumi.Output<string[]>;
  dashboardUrl: pulumi.Output<string>;
  /** With the inventory source. */
  inventoryDestination?: pulumi.Output<string>;
  /** With the query API. */
  apiEndpoint?: pulumi.Output<string>;
  /** With ingestion rules. */
  ingestQueueUrl?: pulumi.Output<string>;
  ingestDeadLetterQueueUrl?: pulumi.Output<string>;
  ingestFunctionName?: pulumi.Output<string>;
  /** Each rule's target table, by rule name. */
  rowTableNames?: pulumi.Output<Record<string, string>>;
  /** The rules as the functions run them (each with its table): what `bucket-ledger ingest --stack` reads. */
  ingestRules?: pulumi.Output<IngestRule[]>;
  /** With the change stream. */
  changeTopicArn?: pulumi.Output<string>;
  changeEventBusName?: pulumi.Output<string>;
  changeStreamDeadLetterQueueUrl?: pulumi.Output<string>;
  changeStreamFunctionName?: pulumi.Output<string>;
}

export class BucketLedger extends pulumi.ComponentResource {
  readonly table: LedgerTable;
  readonly createdBucket?: SecureBucket;
  readonly delivery: EventDelivery;
  readonly tracker: Tracker;
  readonly reconciler: Reconciler;
  readonly monitoring: Monitoring;
  readonly queryApi?: QueryApi;
  readonly ingestion?: Ingestion;
  readonly changeStream?: ChangeStream;
  /**
   * The provider's partition, once the adopted buckets' Regions and the bucket keys are checked
   * against the stack's (args.ts, placementProblems): it fails with every problem found, and
   * nothing wired to an adopted bucket is registered before it succeeds.
   */
  readonly placement: pulumi.Output<string>;

  /** What `pulumi stack output` shows (index.ts exports each). */
  readonly outputs: BucketLedgerOutputs;

  constructor(name: string, args: BucketLedgerArgs, opts?: pulumi.ComponentResourceOptions) {
    // Everything AWS would reject is refused before a single resource is registered.
    const settings = resolveBucketLedgerArgs(args);
    if (name.length > MAX_COMPONENT_NAME_LENGTH) {
      throw new BucketLedgerConfigError(
        `BucketLedger ${JSON.stringify(name)}: at most ${MAX_COMPONENT_NAME_LENGTH} characters; its roles and functions are named after it (${JSON.stringify(`${name}-reconcile-scheduler`)} and a suffix of ${AUTONAME_SUFFIX_LENGTH}) and IAM and Lambda take 64`,
      );
    }
    const dashboardName = claimDashboardName(name, settings.monitoring.dashboardName);
    super("bucket-ledger:index:BucketLedger", name, {}, opts);
    const parent = { parent: this };
    const identity = aws.getCallerIdentityOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    // ARNs and endpoints from the provider's partition (infra/arns.ts).
    const partition = aws.getPartitionOutput({}, parent);
    const cloud: Cloud = { partition: partition.partition, dnsSuffix: partition.dnsSuffix, region: region.region, accountId: identity.accountId };
    // Where each adopted bucket is: S3 reports it (GetBucketLocation), the configuration need not repeat it.
    const adoptedRegions = pulumi.all(settings.adoptBuckets.map((bucket) => aws.s3.getBucketOutput({ bucket: bucket.name }, parent).bucketRegion));
    this.placement = pulumi.all([region.region, partition.partition, adoptedRegions]).apply(([stackRegion, stackPartition, regions]) => {
      const adopted = settings.adoptBuckets.map((bucket, index) => ({ name: bucket.name, region: regions[index]! }));
      const problems = placementProblems({ region: stackRegion, partition: stackPartition }, adopted, settings.bucketKeys);
      if (problems.length > 0) throw configurationError(problems);
      return stackPartition;
    });

    this.table = new LedgerTable(
      `${name}-ledger`,
      {
        deletionProtection: settings.deletionProtection,
        ...(settings.warmWriteUnitsPerSecond !== undefined && { warmWriteUnitsPerSecond: settings.warmWriteUnitsPerSecond }),
        stream: settings.changeStream.enabled,
      },
      parent,
    );

    const buckets: DeliveredBucket[] = [];
    if (settings.createBucket) {
      const { name: bucketName, versioning, forceDestroy, filters, accessLogBucket, ingestOutputExpirationDays } = settings.createBucket;
      this.createdBucket = new SecureBucket(
        `${name}-bucket`,
        {
          versioning,
          forceDestroy,
          ...(bucketName !== undefined && { bucketName }),
          ...(accessLogBucket !== undefined && { accessLogBucket }),
          expirations: ingestOutputExpirations(settings.ingest.rules as IngestRule[], bucketName, ingestOutputExpirationDays),
        },
        parent,
      );
      buckets.push({ logicalName: "created", name: this.createdBucket.name, arn: this.createdBucket.arn, filters, ownsNotificationConfiguration: true });
    }
    for (const adopted of settings.adoptBuckets) {
      buckets.push({
        logicalName: logicalName(adopted.name),
        name: adopted.name,
        arn: s3Arn({ partition: this.placement }, adopted.name),
        filters: adopted.filters,
        // Never written unless the user said this stack may own it (validated in args).
        ownsNotificationConfiguration: settings.replaceExistingNotifications,
      });
    }

    this.delivery = new EventDelivery(
      `${name}-events`,
      {
        buckets,
        mode: settings.delivery,
        cloud,
        visibilityTimeoutSeconds: settings.tracker.timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR + settings.tracker.batchingWindowSeconds,
        maxReceiveCount: settings.maxReceiveCount,
        enrich: settings.enrich,
      },
      parent,
    );

    const logRetentionDays = settings.monitoring.logRetentionDays;
    // The writers' one setting for the journal: 0 turns it off.
    const historyDays = settings.history.enabled ? settings.history.days : 0;
    if (settings.ingest.rules.length > 0) {
      this.ingestion = new Ingestion(
        `${name}-ingest`,
        {
          settings: settings.ingest,
          retentionDays: settings.retentionDays,
          logRetentionDays,
          deletionProtection: settings.deletionProtection,
          visibilityTimeoutSeconds: settings.ingest.timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR,
          maxReceiveCount: settings.maxReceiveCount,
          ledgerTable: { name: this.table.name, arn: this.table.arn },
          cloud,
          bucketKeys: settings.bucketKeys,
        },
        parent,
      );
    }
    this.tracker = new Tracker(
      `${name}-tracker`,
      {
        settings: settings.tracker,
        retentionDays: settings.retentionDays,
        historyDays,
        changeShards: settings.changeShards,
        origin: settings.origin,
        enrich: settings.enrich,
        logRetentionDays,
        table: { name: this.table.name, arn: this.table.arn },
        queueArn: this.delivery.queue.arn,
        buckets,
        formerParent: this,
        ...(this.ingestion && { ingestion: this.ingestion.requestAccess }),
      },
      parent,
    );

    this.reconciler = new Reconciler(
      `${name}-reconcile`,
      {
        settings: settings.reconcile,
        logRetentionDays,
        retentionDays: settings.retentionDays,
        historyDays,
        changeShards: settings.changeShards,
        enrich: settings.enrich,
        buckets: buckets.map(({ logicalName: logical, name: bucketName, arn }) => ({ logicalName: logical, name: bucketName, arn })),
        table: { name: this.table.name, arn: this.table.arn, resourceArns: this.table.resourceArns },
        cloud,
        ...(this.ingestion && { ingestion: this.ingestion.requestAccess }),
      },
      parent,
    );

    if (settings.api.enabled) {
      this.queryApi = new QueryApi(
        `${name}-api`,
        {
          authorization: settings.api.authorization,
          throttlingRateLimit: settings.api.throttlingRateLimit,
          throttlingBurstLimit: settings.api.throttlingBurstLimit,
          reservedConcurrency: settings.api.reservedConcurrency,
          logRetentionDays,
          retentionDays: settings.retentionDays,
          buckets: buckets.map((bucket) => bucket.name),
          table: { name: this.table.name, resourceArns: this.table.resourceArns },
        },
        parent,
      );
    }

    if (settings.changeStream.enabled) {
      this.changeStream = new ChangeStream(
        `${name}-stream`,
        {
          settings: settings.changeStream,
          topicName: changeTopicName(pulumi.getProject(), pulumi.getStack(), name),
          streamArn: this.table.streamArn,
          cloud,
          logRetentionDays,
        },
        parent,
      );
    }

    this.monitoring = new Monitoring(
      `${name}-monitoring`,
      {
        dashboardName,
        cloud,
        ...(settings.monitoring.alarmEmail !== undefined && { alarmEmail: settings.monitoring.alarmEmail }),
        ...(settings.monitoring.alarmTopicArn !== undefined && { alarmTopicArn: settings.monitoring.alarmTopicArn }),
        driftAlarmThreshold: settings.monitoring.driftAlarmThreshold,
        queueName: this.delivery.queue.name,
        deadLetterQueueName: this.delivery.deadLetterQueue.name,
        trackerFunctionName: this.tracker.name,
        reconcileTaskDeadLetterQueueName: this.reconciler.taskDeadLetterQueue.name,
        ...(this.ingestion && { ingestDeadLetterQueueName: this.ingestion.queue.deadLetterQueue.name }),
        ...(this.changeStream && {
          changeStream: {
            functionName: this.changeStream.function.name,
            deadLetterQueueName: this.changeStream.deadLetterQueue.name,
            iteratorAgeAlarmSeconds: settings.changeStream.iteratorAgeAlarmSeconds,
            subscriptionDeadLetterQueues: this.changeStream.subscriptionDeadLetterQueues.map(({ queue, subscribedQueueArn }) => ({
              queueName: queue.name,
              subscribedQueueArn,
            })),
          },
        }),
      },
      parent,
    );

    this.outputs = {
      tableName: this.table.name,
      tableArn: this.table.arn,
      bucketNames: pulumi.all(buckets.map((bucket) => bucket.name)),
      queueUrl: this.delivery.queue.url,
      deadLetterQueueUrl: this.delivery.deadLetterQueue.url,
      trackerFunctionName: this.tracker.name,
      reconcileFunctionName: this.reconciler.function.name,
      reconcileTaskDeadLetterQueueUrl: this.reconciler.taskDeadLetterQueue.url,
      scheduleName: this.reconciler.schedule.name,
      reconcileSchedule: this.reconciler.schedule.scheduleExpression,
      // A schedule without a time zone is evaluated in UTC (aws.scheduler.Schedule, scheduleExpressionTimezone: "Defaults to UTC").
      reconcileTimezone: this.reconciler.schedule.scheduleExpressionTimezone.apply((timezone) => timezone ?? "UTC"),
      // For `bucket-ledger status --stack`: DescribeAlarms by name.
      alarmNames: pulumi.all(this.monitoring.alarms.map((alarm) => alarm.name)),
      dashboardUrl: pulumi.interpolate`https://${region.region}.console.aws.amazon.com/cloudwatch/home?region=${region.region}#dashboards:name=${this.monitoring.dashboard.dashboardName}`,
      ...(this.reconciler.inventoryDestination && { inventoryDestination: this.reconciler.inventoryDestination.name }),
      ...(this.queryApi && { apiEndpoint: this.queryApi.endpoint }),
      ...(this.ingestion && {
        ingestQueueUrl: this.ingestion.queue.queue.url,
        ingestDeadLetterQueueUrl: this.ingestion.queue.deadLetterQueue.url,
        ingestFunctionName: this.ingestion.function.name,
        rowTableNames: this.ingestion.tableNames,
        ingestRules: this.ingestion.boundRules,
      }),
      ...(this.changeStream && {
        ...(this.changeStream.topic && { changeTopicArn: this.changeStream.topic.arn }),
        ...(this.changeStream.eventBusName && { changeEventBusName: this.changeStream.eventBusName }),
        changeStreamDeadLetterQueueUrl: this.changeStream.deadLetterQueue.url,
        changeStreamFunctionName: this.changeStream.function.name,
      }),
    };
    this.registerOutputs(this.outputs);
  }
}
