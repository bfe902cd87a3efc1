/**
 * Row ingestion: a target table for each rule that does not name one, the FIFO ingestion queue
 * with its DLQ, and the ingestion function with the least privilege it needs:
 *
 * - read only the objects its rules cover;
 * - write (and abort multipart uploads) only under the rules' error and copy prefixes, and
 *   delete only stale error reports;
 * - only the row actions on the target tables (BatchWriteItem, and DeleteItem and the source
 *   index Query for sweeping);
 * - in the ledger table, read any item (the object's current version) but write only the
 *   `ingest#` partitions (dynamodb:LeadingKeys).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ingestSettings } from "../functions/settings/ingest.js";
import { patternOf, type IngestRule } from "../ingest/rules.js";
import { rowTableDefinition } from "../ingest/row-table.js";
import type { ResolvedBucketLedgerArgs } from "./args.js";
import { dynamodbTableArn, s3Arn, type Cloud } from "./arns.js";
import { BundledFunction, writeSettings } from "./bundled-function.js";
import { bucketKeyStatements, type Statement } from "./policy.js";
import { QueueWithDeadLetter } from "./queue-with-dead-letter.js";

export interface IngestionArgs {
  settings: ResolvedBucketLedgerArgs["ingest"];
  retentionDays: number;
  logRetentionDays: number;
  deletionProtection: boolean;
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  ledgerTable: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
  cloud: Cloud;
  /** SSE-KMS buckets' keys, by bucket name (the component's `bucketKeys`). */
  bucketKeys: Record<string, string>;
}

/** An IAM resource pattern (after the ARN's `arn:<partition>:s3:::`) for every key a rule covers (IAM's `*` spans `/`). */
function coveredObjects(rule: IngestRule): string {
  const { prefix, suffix, exact } = patternOf(rule);
  return `${rule.bucket}/${exact ? prefix : `${prefix}*${suffix}`}`;
}

const unique = (values: string[]) => [...new Set(values)];

/** What a function that asks for ingestions (the tracker, reconciliation) is given: the rules and the queue. */
export interface IngestRequestAccess {
  /** The rules, each with its table's physical name. */
  rules: pulumi.Input<IngestRule[]>;
  queueUrl: pulumi.Input<string>;
  queueArn: pulumi.Input<string>;
}

/** Its settings (functions/settings/ingest-requests.ts), and none without ingestion. */
export function ingestRequestSettings(access: IngestRequestAccess | undefined): {
  ingestRules?: pulumi.Input<IngestRule[]>;
  ingestQueueUrl?: pulumi.Input<string>;
} {
  return access ? { ingestRules: access.rules, ingestQueueUrl: access.queueUrl } : {};
}

/** Its one permission on the queue: sending. */
export function ingestRequestStatements(access: IngestRequestAccess | undefined, sid: string): Statement[] {
  return access ? [{ Sid: sid, Effect: "Allow", Action: "sqs:SendMessage", Resource: access.queueArn }] : [];
}

export class Ingestion extends pulumi.ComponentResource {
  readonly queue: QueueWithDeadLetter;
  readonly function: BundledFunction;
  readonly eventSourceMapping: aws.lambda.EventSourceMapping;
  /** Tables this stack created, by rule name. */
  readonly createdTables: Record<string, aws.dynamodb.Table> = {};
  /** Every rule's table name, by rule name (created or named in the rule). */
  readonly tableNames: pulumi.Output<Record<string, string>>;
  /** The rules as the functions receive them: each with its table's physical name. */
  readonly boundRules: pulumi.Output<IngestRule[]>;
  /** What the tracker and reconciliation need to ask for ingestions. */
  readonly requestAccess: IngestRequestAccess;

  constructor(name: string, args: IngestionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:Ingestion", name, {}, opts);
    const rules = args.settings.rules as IngestRule[];
    const child = { parent: this };

    for (const rule of rules.filter((candidate) => candidate.table === undefined)) {
      const definition = rowTableDefinition(rule);
      this.createdTables[rule.name] = new aws.dynamodb.Table(
        `${name}-${rule.name}`,
        {
          billingMode: "PAY_PER_REQUEST",
          hashKey: definition.hashKey,
          ...(definition.rangeKey !== undefined && { rangeKey: definition.rangeKey }),
          attributes: definition.attributes,
          globalSecondaryIndexes: [definition.sourceIndex],
          pointInTimeRecovery: { enabled: true },
          serverSideEncryption: { enabled: true },
          deletionProtectionEnabled: args.deletionProtection,
        },
        { ...child, protect: args.deletionProtection },
      );
    }
    const tableName = (rule: IngestRule): pulumi.Output<string> => (rule.table !== undefined ? pulumi.output(rule.table) : this.createdTables[rule.name]!.name);
    this.boundRules = pulumi.all(rules.map((rule) => tableName(rule).apply((table) => ({ ...rule, table }))));
    this.tableNames = pulumi.all(Object.fromEntries(rules.map((rule) => [rule.name, tableName(rule)])));
    const rowTableArns = rules.map((rule) => (rule.table !== undefined ? dynamodbTableArn(args.cloud, rule.table) : this.createdTables[rule.name]!.arn));

    this.queue = new QueueWithDeadLetter(
      `${name}-queue`,
      { visibilityTimeoutSeconds: args.visibilityTimeoutSeconds, maxReceiveCount: args.maxReceiveCount, fifo: true },
      child,
    );
    const written = unique(
      rules.flatMap((rule) => [rule.errorPrefix, ...(rule.copyPrefix !== undefined ? [rule.copyPrefix] : [])].map((prefix) => `${rule.bucket}/${prefix}*`)),
    ).map((objects) => s3Arn(args.cloud, objects));
    const keys = unique(rules.flatMap((rule) => (args.bucketKeys[rule.bucket] !== undefined ? [args.bucketKeys[rule.bucket]!] : [])));
    const statements: Statement[] = [
      {
        Sid: "ConsumeIngestQueue",
        Effect: "Allow",
        Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        Resource: this.queue.queue.arn,
      },
      // A file that needs another invocation queues its own continuation.
      { Sid: "QueueContinuations", Effect: "Allow", Action: "sqs:SendMessage", Resource: this.queue.queue.arn },
      {
        Sid: "ReadCoveredObjects",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: unique(rules.map(coveredObjects)).map((objects) => s3Arn(args.cloud, objects)),
      },
      { Sid: "WriteReportsAndCopies", Effect: "Allow", Action: ["s3:PutObject", "s3:AbortMultipartUpload"], Resource: written },
      // A version with no rejected rows removes the report an earlier version left.
      {
        Sid: "RemoveStaleReports",
        Effect: "Allow",
        Action: "s3:DeleteObject",
        Resource: unique(rules.map((rule) => `${rule.bucket}/${rule.errorPrefix}*`)).map((objects) => s3Arn(args.cloud, objects)),
      },
      // Reading SSE-KMS objects, and writing reports and copies (single or multipart) in those buckets.
      ...bucketKeyStatements("UseIngestedBucketKeys", keys, ["kms:Decrypt", "kms:GenerateDataKey"], args.cloud),
      { Sid: "WriteRows", Effect: "Allow", Action: ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem"], Resource: rowTableArns },
      {
        Sid: "FindRowsOfAFile",
        Effect: "Allow",
        Action: "dynamodb:Query",
        Resource: rules.map((rule, index) => pulumi.interpolate`${rowTableArns[index]!}/index/${rule.sourceIndex}`),
      },
      // The object's current version, and its ingestion record.
      { Sid: "ReadLedger", Effect: "Allow", Action: "dynamodb:GetItem", Resource: args.ledgerTable.arn },
      {
        Sid: "RecordIngestions",
        Effect: "Allow",
        Action: ["dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:Query"],
        Resource: args.ledgerTable.arn,
        // Only ingestion's own partitions (`ingest#<bucket>...`), never the objects' (ledger/keys.ts):
        // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
        // (dynamodb:LeadingKeys, the partition keys of the items an action touches).
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["ingest#*"] } },
      },
    ];
    this.function = new BundledFunction(
      `${name}-function`,
      {
        entry: "ingest",
        description: "bucket-ledger: mirrors CSV and JSON Lines objects row by row into DynamoDB",
        timeoutSeconds: args.settings.timeoutSeconds,
        memoryMb: args.settings.memoryMb,
        logRetentionDays: args.logRetentionDays,
        settings: writeSettings(ingestSettings, {
          tableName: args.ledgerTable.name,
          retentionDays: args.retentionDays,
          ingestQueueUrl: this.queue.queue.url,
          writeConcurrency: args.settings.writeConcurrency,
          // A fifth of the timeout, at least 30 s: the last batch, the sweep and the record.
          stopMarginMs: Math.max(30_000, Math.floor((args.settings.timeoutSeconds * 1000) / 5)),
          ingestRules: this.boundRules,
        }),
        statements,
      },
      child,
    );
    // FIFO event sources: "For FIFO queues, the maximum is 10" and "Batching window is not supported
    // for FIFO queues" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html).
    this.eventSourceMapping = new aws.lambda.EventSourceMapping(
      name,
      {
        eventSourceArn: this.queue.queue.arn,
        functionName: this.function.function.arn,
        batchSize: 10,
        functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency: args.settings.maximumConcurrency },
      },
      child,
    );
    this.requestAccess = { rules: this.boundRules, queueUrl: this.queue.queue.url, queueArn: this.queue.queue.arn };
    this.registerOutputs({ queueUrl: this.queue.queue.url, functionName: this.function.name, tableNames: this.tableNames });
  }
}
