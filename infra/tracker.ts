/**
 * The tracker: the Lambda that applies S3 events to the ledger, its role, and the SQS event
 * source that feeds it batches with partial batch failures and bounded concurrency.
 */
import type { ChangeShardSetting } from "../ledger/change-index/index.js";
import type { OriginSetting } from "../ledger/origin.js";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { trackerSettings } from "../functions/settings/tracker.js";
import type { ResolvedBucketLedgerArgs } from "./args.js";
import { BundledFunction, writeSettings } from "./bundled-function.js";
import { changeRateStatements, describeStatements, journalStatements } from "./policy.js";
import { metadataEventsFor } from "../events/subscriptions.js";
import type { EnrichmentField } from "../events/enrichment-fields.js";
import { ingestRequestSettings, ingestRequestStatements, type IngestRequestAccess } from "./ingestion.js";

export interface TrackerArgs {
  settings: ResolvedBucketLedgerArgs["tracker"];
  retentionDays: number;
  /** Days the journal keeps each change; 0: no journal. */
  historyDays: number;
  changeShards: ChangeShardSetting;
  /** What of each change's origin the tracker writes (ledger/origin.ts). */
  origin: OriginSetting;
  /** Object metadata asked of S3 on each create. HeadObject needs only what the tracker already has (s3:GetObject, s3:ListBucket); tags need GetObjectTagging. */
  enrich: readonly EnrichmentField[];
  logRetentionDays: number;
  table: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
  queueArn: pulumi.Input<string>;
  buckets: { name: pulumi.Input<string>; arn: pulumi.Input<string> }[];
  /** Row ingestion: the rules (each with its table) and the queue the tracker sends requests to. */
  ingestion?: IngestRequestAccess;
  /**
   * Where these resources lived before this component existed (the BucketLedger itself):
   * aliases keep their URNs, so an upgrade does not replace the function or its mapping.
   */
  formerParent?: pulumi.Resource;
}

export class Tracker extends pulumi.ComponentResource {
  readonly function: BundledFunction;
  readonly eventSourceMapping: aws.lambda.EventSourceMapping;
  readonly name: pulumi.Output<string>;

  constructor(name: string, args: TrackerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:Tracker", name, {}, opts);
    const { settings } = args;
    const child = { parent: this, ...(args.formerParent && { aliases: [{ parent: args.formerParent }] }) };
    this.function = new BundledFunction(
      name,
      {
        entry: "tracker",
        description: "bucket-ledger: applies S3 events to the ledger",
        timeoutSeconds: settings.timeoutSeconds,
        memoryMb: settings.memoryMb,
        logRetentionDays: args.logRetentionDays,
        settings: writeSettings(trackerSettings, {
          tableName: args.table.name,
          retentionDays: args.retentionDays,
          historyDays: args.historyDays,
          changeShards: args.changeShards,
          enrich: [...args.enrich],
          writeConcurrency: settings.writeConcurrency,
          origin: args.origin,
          // The tracked buckets: the tracker drops events about any other (tracker/tracked-buckets.ts).
          buckets: pulumi.all(args.buckets.map((bucket) => bucket.name)),
          ...ingestRequestSettings(args.ingestion),
        }),
        statements: [
          {
            Sid: "ConsumeEventQueue",
            Effect: "Allow",
            // What Lambda's SQS event source needs of the function's role, and nothing more.
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            Resource: args.queueArn,
          },
          { Sid: "WriteLedger", Effect: "Allow", Action: "dynamodb:PutItem", Resource: args.table.arn },
          // A metadata event (tagging, transition, restore) replaces the details of the item it describes.
          ...(metadataEventsFor(args.enrich).length > 0
            ? [{ Sid: "DescribeLedgerObjects", Effect: "Allow" as const, Action: "dynamodb:UpdateItem", Resource: args.table.arn }]
            : []),
          ...journalStatements(args.table.arn, args.historyDays),
          ...changeRateStatements(args.table.arn, args.changeShards),
          // Once per batch, the reconciled-through watermark (late creates older than it are stale);
          // every 20 s, the bucket's change-shard epochs.
          { Sid: "ReadReconciledWatermark", Effect: "Allow", Action: "dynamodb:GetItem", Resource: args.table.arn },
          // HeadObject, only after a specific version is deleted, to learn what is current.
          { Sid: "HeadTrackedObjects", Effect: "Allow", Action: "s3:GetObject", Resource: args.buckets.map((bucket) => pulumi.interpolate`${bucket.arn}/*`) },
          ...describeStatements(
            args.buckets.map((bucket) => pulumi.interpolate`${bucket.arn}/*`),
            args.enrich,
          ),
          // Without s3:ListBucket, HeadObject of a key that no longer exists answers 403, not 404
          // (S3 API reference, HeadObject, "Permissions"), and the version-delete path would fail
          // every retry and end in the DLQ.
          { Sid: "LearnThatTrackedObjectsAreGone", Effect: "Allow", Action: "s3:ListBucket", Resource: args.buckets.map((bucket) => bucket.arn) },
          ...ingestRequestStatements(args.ingestion, "RequestIngestion"),
        ],
      },
      child,
    );
    this.eventSourceMapping = new aws.lambda.EventSourceMapping(
      name,
      {
        eventSourceArn: args.queueArn,
        functionName: this.function.function.arn,
        batchSize: settings.batchSize,
        maximumBatchingWindowInSeconds: settings.batchingWindowSeconds,
        functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency: settings.maximumConcurrency },
      },
      child,
    );
    this.name = this.function.name;
    this.registerOutputs({ functionName: this.name });
  }
}
