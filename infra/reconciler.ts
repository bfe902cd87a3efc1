/**
 * Reconciliation: a Lambda that an EventBridge Scheduler schedule invokes to plan a run per
 * bucket, a task queue (with its DLQ) that carries the run's range tasks back to the same
 * Lambda with bounded concurrency, and, for the inventory source, S3 Inventory reports
 * delivered to a destination bucket.
 */
import type { ChangeShardSetting } from "../ledger/change-index/index.js";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedBucketLedgerArgs } from "./args.js";
import { INVENTORY_CONFIGURATION_ID, INVENTORY_PREFIX, reconcileSettings } from "../functions/settings/reconcile.js";
import { BundledFunction, writeSettings } from "./bundled-function.js";
import { ingestRequestSettings, ingestRequestStatements, type IngestRequestAccess } from "./ingestion.js";
import type { EnrichmentField } from "../events/enrichment-fields.js";
import { assumeRolePolicyFor, describeStatements, journalStatements, policyDocument, type Statement } from "./policy.js";
import { scheduleGroupArn, type Cloud } from "./arns.js";
import { SCRATCH_LIMIT_ENV } from "../reconcile/scratch.js";
import { QueueWithDeadLetter } from "./queue-with-dead-letter.js";
import { SecureBucket } from "./secure-bucket.js";

export { INVENTORY_CONFIGURATION_ID, INVENTORY_PREFIX };

/** The group the schedule is in: the one every account has (Scheduler API reference, CreateSchedule, GroupName). */
export const SCHEDULE_GROUP = "default";

/** Mebibytes of ephemeral storage a function gets unless raised (Lambda developer guide, "Configuring ephemeral storage"). */
export const DEFAULT_EPHEMERAL_STORAGE_MB = 512;

/** Share of /tmp reconciliation's scratch may fill: the rest is for the runtime (reconcile/scratch.ts). */
const SCRATCH_SHARE = 0.9;

/**
 * Reconciliation's scratch budget for a function with `ephemeralStorageMb` of /tmp, in the
 * variable reconcile/scratch.ts reads. Lambda's /tmp is the function's ephemeral storage, 512 to
 * 10,240 MB ("Configuring ephemeral storage for Lambda functions":
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-ephemeral-storage.html).
 */
export function scratchLimitEnvironment(ephemeralStorageMb: number): Record<typeof SCRATCH_LIMIT_ENV, string> {
  return { [SCRATCH_LIMIT_ENV]: String(Math.floor(ephemeralStorageMb * 2 ** 20 * SCRATCH_SHARE)) };
}

export interface ReconcilerArgs {
  settings: ResolvedBucketLedgerArgs["reconcile"];
  logRetentionDays: number;
  retentionDays: number;
  /** Days the journal keeps each change; 0: no journal. */
  historyDays: number;
  changeShards: ChangeShardSetting;
  /** Object metadata asked of S3 for each object repaired (HeadObject: s3:GetObject and s3:ListBucket, which it has). */
  enrich: readonly EnrichmentField[];
  buckets: { logicalName: string; name: pulumi.Input<string>; arn: pulumi.Input<string> }[];
  table: { name: pulumi.Input<string>; arn: pulumi.Input<string>; resourceArns: pulumi.Input<string>[] };
  /** The partition, Region and account the stack is deployed in (its ARNs). */
  cloud: Cloud;
  /** Row ingestion: the rules (JSON, each with its table) and the queue files are queued again on. */
  ingestion?: IngestRequestAccess;
}

export class Reconciler extends pulumi.ComponentResource {
  readonly function: BundledFunction;
  readonly schedule: aws.scheduler.Schedule;
  readonly taskQueue: aws.sqs.Queue;
  readonly taskDeadLetterQueue: aws.sqs.Queue;
  readonly inventoryDestination?: SecureBucket;

  constructor(name: string, args: ReconcilerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:Reconciler", name, {}, opts);
    const { settings } = args;
    const bucketArns = args.buckets.map((bucket) => bucket.arn);

    let inventoryStatements: Statement[] = [];
    if (settings.source === "inventory") {
      const destination = new SecureBucket(
        `${name}-inventory`,
        {
          // Daily reports kept a few days past the newest one a run reads (reconcile/inventory-source.ts), not forever.
          expirations: [{ id: "expire-inventory-reports", prefix: `${INVENTORY_PREFIX}/`, days: settings.inventoryReportExpirationDays }],
          extraStatements: (destinationArn) => [
            {
              Sid: "S3InventoryDelivery",
              Effect: "Allow",
              Principal: { Service: "s3.amazonaws.com" },
              Action: "s3:PutObject",
              Resource: pulumi.interpolate`${destinationArn}/${INVENTORY_PREFIX}/*`,
              Condition: { ArnLike: { "aws:SourceArn": bucketArns }, StringEquals: { "aws:SourceAccount": args.cloud.accountId } },
            },
          ],
        },
        { parent: this },
      );
      this.inventoryDestination = destination;
      for (const bucket of args.buckets) {
        new aws.s3.Inventory(
          `${name}-${bucket.logicalName}`,
          {
            bucket: bucket.name,
            name: INVENTORY_CONFIGURATION_ID,
            includedObjectVersions: "Current",
            schedule: { frequency: "Daily" },
            // Encryption and checksum too when they are kept: reconciliation takes them from the
            // report rather than a HEAD per object repaired.
            optionalFields: [
              "Size",
              "LastModifiedDate",
              "ETag",
              "StorageClass",
              ...(args.enrich.includes("encryption") ? ["EncryptionStatus"] : []),
              ...(args.enrich.includes("checksum") ? ["ChecksumAlgorithm"] : []),
            ],
            destination: { bucket: { bucketArn: destination.arn, format: "CSV", prefix: INVENTORY_PREFIX } },
          },
          { parent: this },
        );
      }
      inventoryStatements = [
        { Sid: "ReadInventoryReports", Effect: "Allow", Action: "s3:GetObject", Resource: pulumi.interpolate`${destination.arn}/${INVENTORY_PREFIX}/*` },
        { Sid: "FindInventoryReports", Effect: "Allow", Action: "s3:ListBucket", Resource: destination.arn },
      ];
    }

    const tasks = new QueueWithDeadLetter(
      `${name}-tasks`,
      // Lambda's guidance for SQS sources; a redelivered task also waits for the dead worker's lease.
      { visibilityTimeoutSeconds: settings.timeoutSeconds * 6, maxReceiveCount: 5, formerParent: this },
      { parent: this },
    );
    this.taskQueue = tasks.queue;
    this.taskDeadLetterQueue = tasks.deadLetterQueue;

    this.function = new BundledFunction(
      `${name}-function`,
      {
        entry: "reconcile",
        description: "bucket-ledger: repairs drift between the ledger and the buckets",
        timeoutSeconds: settings.timeoutSeconds,
        memoryMb: settings.memoryMb,
        ephemeralStorageMb: settings.ephemeralStorageMb,
        logRetentionDays: args.logRetentionDays,
        extraEnvironment: scratchLimitEnvironment(settings.ephemeralStorageMb),
        settings: writeSettings(reconcileSettings, {
          tableName: args.table.name,
          retentionDays: args.retentionDays,
          historyDays: args.historyDays,
          changeShards: args.changeShards,
          enrich: [...args.enrich],
          source: settings.source,
          maxDeleteFraction: settings.maxDeleteFraction,
          taskQueueUrl: this.taskQueue.url,
          tasksPerRun: settings.tasksPerRun,
          backfillRepairsPerSecond: settings.backfillRepairsPerSecond,
          taskConcurrency: settings.maximumConcurrency,
          ...(this.inventoryDestination && {
            inventoryBucket: this.inventoryDestination.name,
            inventoryPrefix: INVENTORY_PREFIX,
            inventoryConfigurationId: INVENTORY_CONFIGURATION_ID,
          }),
          buckets: pulumi.all(args.buckets.map((bucket) => bucket.name)),
          ...ingestRequestSettings(args.ingestion),
        }),
        statements: [
          // ListBucket also makes HeadObject of a missing key answer 404 rather than 403.
          { Sid: "ListTrackedBuckets", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArns },
          // HeadObject: confirming an inventory report's drift, and orphans that may be another encoding of a bucket key.
          { Sid: "HeadTrackedObjects", Effect: "Allow", Action: "s3:GetObject", Resource: bucketArns.map((arn) => pulumi.interpolate`${arn}/*`) },
          ...describeStatements(
            bucketArns.map((arn) => pulumi.interpolate`${arn}/*`),
            args.enrich,
          ),
          // UpdateItem: run and task bookkeeping (leases, checkpoints, totals), also inside
          // TransactWriteItems, which IAM authorizes item by item. DeleteItem: a resumed task
          // forgets the orphans its dead predecessor recorded past the checkpoint.
          {
            Sid: "ReadAndRepairLedger",
            Effect: "Allow",
            Action: ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            Resource: args.table.resourceArns,
          },
          ...journalStatements(args.table.arn, args.historyDays),
          { Sid: "QueueTasks", Effect: "Allow", Action: "sqs:SendMessage", Resource: this.taskQueue.arn },
          {
            Sid: "ConsumeTaskQueue",
            Effect: "Allow",
            // What Lambda's SQS event source needs of the function's role, and nothing more.
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            Resource: this.taskQueue.arn,
          },
          ...inventoryStatements,
          // After a run: the files whose current version is not ingested are queued again.
          ...ingestRequestStatements(args.ingestion, "RequeueIngestion"),
        ],
      },
      { parent: this },
    );

    new aws.lambda.EventSourceMapping(
      `${name}-tasks`,
      {
        eventSourceArn: this.taskQueue.arn,
        functionName: this.function.arn,
        // One task per invocation: each gets the whole time budget.
        batchSize: 1,
        functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency: settings.maximumConcurrency },
      },
      { parent: this },
    );

    // Only Scheduler, and only for a schedule of this account's group (confused deputy).
    const schedulerRole = new aws.iam.Role(
      `${name}-scheduler`,
      {
        assumeRolePolicy: assumeRolePolicyFor("scheduler.amazonaws.com", { account: args.cloud.accountId, arn: scheduleGroupArn(args.cloud, SCHEDULE_GROUP) }),
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-scheduler`,
      {
        role: schedulerRole.id,
        policy: policyDocument([{ Sid: "InvokeReconciler", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: this.function.arn }]),
      },
      { parent: this },
    );
    this.schedule = new aws.scheduler.Schedule(
      name,
      {
        description: "bucket-ledger nightly reconciliation",
        groupName: SCHEDULE_GROUP,
        scheduleExpression: settings.schedule,
        scheduleExpressionTimezone: settings.timezone,
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: this.function.arn,
          roleArn: schedulerRole.arn,
          input: JSON.stringify({ source: "schedule" }),
          retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 },
        },
      },
      { parent: this },
    );
    this.registerOutputs({ functionName: this.function.name, scheduleName: this.schedule.name, taskQueueUrl: this.taskQueue.url });
  }
}
