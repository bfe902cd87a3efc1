/**
 * BucketLedger: the whole deployment as one component that other Pulumi programs can use.
 *
 *   new BucketLedger("photos", { adoptBuckets: [{ name: "my-photos" }], delivery: "eventbridge" });
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BucketLedgerConfigError, defaultDashboardName, resolveBucketLedgerArgs, type BucketLedgerArgs } from "./args.js";
import type { TrackerVariables } from "../functions/environment.js";
import { BundledFunction } from "./bundled-function.js";
import { EventDelivery, type DeliveredBucket } from "./event-delivery.js";
import { LedgerTable } from "./ledger-table.js";
import { Monitoring } from "./monitoring.js";
import { QueryApi } from "./query-api.js";
import { Reconciler } from "./reconciler.js";
import { SecureBucket } from "./secure-bucket.js";

/** AWS's guidance for SQS event sources: visibility timeout at least six times the function timeout, plus the batching window. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

const logicalName = (bucket: string) => bucket.replace(/[^a-z0-9-]/g, "-");

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

export class BucketLedger extends pulumi.ComponentResource {
  readonly table: LedgerTable;
  readonly createdBucket?: SecureBucket;
  readonly delivery: EventDelivery;
  readonly tracker: BundledFunction;
  readonly reconciler: Reconciler;
  readonly monitoring: Monitoring;
  readonly queryApi?: QueryApi;

  readonly tableName: pulumi.Output<string>;
  readonly tableArn: pulumi.Output<string>;
  readonly bucketNames: pulumi.Output<string[]>;
  readonly queueUrl: pulumi.Output<string>;
  readonly deadLetterQueueUrl: pulumi.Output<string>;
  readonly trackerFunctionName: pulumi.Output<string>;
  readonly reconcileFunctionName: pulumi.Output<string>;
  readonly reconcileTaskDeadLetterQueueUrl: pulumi.Output<string>;
  readonly scheduleName: pulumi.Output<string>;
  readonly dashboardUrl: pulumi.Output<string>;
  readonly inventoryDestination?: pulumi.Output<string>;
  readonly apiEndpoint?: pulumi.Output<string>;

  constructor(name: string, args: BucketLedgerArgs, opts?: pulumi.ComponentResourceOptions) {
    // Everything AWS would reject is refused before a single resource is registered.
    const settings = resolveBucketLedgerArgs(args);
    const dashboardName = claimDashboardName(name, settings.monitoring.dashboardName);
    super("bucket-ledger:index:BucketLedger", name, {}, opts);
    const parent = { parent: this };
    const identity = aws.getCallerIdentityOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);

    this.table = new LedgerTable(`${name}-ledger`, { deletionProtection: settings.deletionProtection }, parent);

    const buckets: DeliveredBucket[] = [];
    if (settings.createBucket) {
      const { name: bucketName, versioning, forceDestroy, filters } = settings.createBucket;
      this.createdBucket = new SecureBucket(`${name}-bucket`, { versioning, forceDestroy, ...(bucketName !== undefined && { bucketName }) }, parent);
      buckets.push({ logicalName: "created", name: this.createdBucket.name, arn: this.createdBucket.arn, filters, ownsNotificationConfiguration: true });
    }
    for (const adopted of settings.adoptBuckets) {
      buckets.push({
        logicalName: logicalName(adopted.name),
        name: adopted.name,
        arn: `arn:aws:s3:::${adopted.name}`,
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
        accountId: identity.accountId,
        visibilityTimeoutSeconds: settings.tracker.timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR + settings.tracker.batchingWindowSeconds,
        maxReceiveCount: settings.maxReceiveCount,
      },
      parent,
    );

    const logRetentionDays = settings.monitoring.logRetentionDays;
    this.tracker = new BundledFunction(
      `${name}-tracker`,
      {
        entry: "tracker",
        description: "bucket-ledger: applies S3 events to the ledger",
        timeoutSeconds: settings.tracker.timeoutSeconds,
        memoryMb: settings.tracker.memoryMb,
        logRetentionDays,
        environment: {
          TABLE_NAME: this.table.name,
          RETENTION_DAYS: String(settings.retentionDays),
          WRITE_CONCURRENCY: String(settings.tracker.writeConcurrency),
        } satisfies TrackerVariables<pulumi.Input<string>>,
        statements: [
          {
            Sid: "ConsumeEventQueue",
            Effect: "Allow",
            // What Lambda's SQS event source needs of the function's role, and nothing more.
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            Resource: this.delivery.queue.arn,
          },
          { Sid: "WriteLedger", Effect: "Allow", Action: "dynamodb:PutItem", Resource: this.table.arn },
          // The reconciled-through watermark, once per batch: late creates older than it are stale.
          { Sid: "ReadReconciledWatermark", Effect: "Allow", Action: "dynamodb:GetItem", Resource: this.table.arn },
          // HeadObject, only after a specific version is deleted, to learn what is current.
          { Sid: "HeadTrackedObjects", Effect: "Allow", Action: "s3:GetObject", Resource: buckets.map((bucket) => pulumi.interpolate`${bucket.arn}/*`) },
          // Without s3:ListBucket, HeadObject of a key that no longer exists answers 403, not 404
          // (S3 API reference, HeadObject, "Permissions"), and the version-delete path would fail
          // every retry and end in the DLQ.
          { Sid: "LearnThatTrackedObjectsAreGone", Effect: "Allow", Action: "s3:ListBucket", Resource: buckets.map((bucket) => bucket.arn) },
        ],
      },
      parent,
    );
    new aws.lambda.EventSourceMapping(
      `${name}-tracker`,
      {
        eventSourceArn: this.delivery.queue.arn,
        functionName: this.tracker.function.arn,
        batchSize: settings.tracker.batchSize,
        maximumBatchingWindowInSeconds: settings.tracker.batchingWindowSeconds,
        functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency: settings.tracker.maximumConcurrency },
      },
      parent,
    );

    this.reconciler = new Reconciler(
      `${name}-reconcile`,
      {
        settings: settings.reconcile,
        logRetentionDays,
        retentionDays: settings.retentionDays,
        buckets: buckets.map(({ logicalName: logical, name: bucketName, arn }) => ({ logicalName: logical, name: bucketName, arn })),
        table: { name: this.table.name, resourceArns: this.table.resourceArns },
        accountId: identity.accountId,
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
          logRetentionDays,
          retentionDays: settings.retentionDays,
          buckets: buckets.map((bucket) => bucket.name),
          table: { name: this.table.name, resourceArns: this.table.resourceArns },
        },
        parent,
      );
      this.apiEndpoint = this.queryApi.endpoint;
    }

    this.monitoring = new Monitoring(
      `${name}-monitoring`,
      {
        dashboardName,
        accountId: identity.accountId,
        ...(settings.monitoring.alarmEmail !== undefined && { alarmEmail: settings.monitoring.alarmEmail }),
        ...(settings.monitoring.alarmTopicArn !== undefined && { alarmTopicArn: settings.monitoring.alarmTopicArn }),
        driftAlarmThreshold: settings.monitoring.driftAlarmThreshold,
        region: region.region,
        queueName: this.delivery.queue.name,
        deadLetterQueueName: this.delivery.deadLetterQueue.name,
        trackerFunctionName: this.tracker.name,
        reconcileTaskDeadLetterQueueName: this.reconciler.taskDeadLetterQueue.name,
      },
      parent,
    );

    this.tableName = this.table.name;
    this.tableArn = this.table.arn;
    this.bucketNames = pulumi.all(buckets.map((bucket) => bucket.name));
    this.queueUrl = this.delivery.queue.url;
    this.deadLetterQueueUrl = this.delivery.deadLetterQueue.url;
    this.trackerFunctionName = this.tracker.name;
    this.reconcileFunctionName = this.reconciler.function.name;
    this.reconcileTaskDeadLetterQueueUrl = this.reconciler.taskDeadLetterQueue.url;
    this.scheduleName = this.reconciler.schedule.name;
    this.dashboardUrl = pulumi.interpolate`https://${region.region}.console.aws.amazon.com/cloudwatch/home?region=${region.region}#dashboards:name=${this.monitoring.dashboard.dashboardName}`;
    if (this.reconciler.inventoryDestination) this.inventoryDestination = this.reconciler.inventoryDestination.name;
    this.registerOutputs({
      tableName: this.tableName,
      tableArn: this.tableArn,
      bucketNames: this.bucketNames,
      queueUrl: this.queueUrl,
      deadLetterQueueUrl: this.deadLetterQueueUrl,
      trackerFunctionName: this.trackerFunctionName,
      reconcileFunctionName: this.reconcileFunctionName,
      reconcileTaskDeadLetterQueueUrl: this.reconcileTaskDeadLetterQueueUrl,
      scheduleName: this.scheduleName,
      dashboardUrl: this.dashboardUrl,
      inventoryDestination: this.inventoryDestination,
      apiEndpoint: this.apiEndpoint,
    });
  }
}
