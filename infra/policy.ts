/** Small builders for IAM policy JSON; least privilege is easier to review when it is data. */
import type { ChangeShardSetting } from "../ledger/change-index/index.js";
import type { EnrichmentField } from "../events/enrichment-fields.js";
import * as pulumi from "@pulumi/pulumi";
import { s3ViaService, type Cloud } from "./arns.js";

export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: pulumi.Input<string> | pulumi.Input<string>[];
  Principal?: Record<string, pulumi.Input<string> | pulumi.Input<string>[]>;
  Condition?: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;
}

export function policyDocument(statements: Statement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

/**
 * What a writer of the journal (the tracker, reconciliation) needs: BatchWriteItem, and only in
 * the journal's `journal#` partitions (ledger/keys.ts), never the objects'. Nothing with the
 * journal off. dynamodb:LeadingKeys is the partition keys of the items a request touches:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
 */
export function journalStatements(tableArn: pulumi.Input<string>, historyDays: number): Statement[] {
  if (historyDays === 0) return [];
  return [
    {
      Sid: "WriteJournal",
      Effect: "Allow",
      Action: "dynamodb:BatchWriteItem",
      Resource: tableArn,
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["journal#*"] } },
    },
  ];
}

/**
 * What sizing change shards from a bucket's rate needs of a writer that may not update items
 * otherwise (the tracker): UpdateItem (an atomic ADD), only in the `rate#` partitions
 * (ledger/keys.ts). Nothing with a fixed count.
 */
export function changeRateStatements(tableArn: pulumi.Input<string>, changeShards: ChangeShardSetting): Statement[] {
  if (changeShards !== "auto") return [];
  return [
    {
      Sid: "CountChanges",
      Effect: "Allow",
      Action: "dynamodb:UpdateItem",
      Resource: tableArn,
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["rate#*"] } },
    },
  ];
}

/**
 * What describing objects needs beyond HeadObject (s3:GetObject): GetObjectTagging for a stack
 * that keeps tags, as s3:GetObjectTagging, or s3:GetObjectVersionTagging when pinned to a
 * version (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html).
 */
export function describeStatements(objectArns: pulumi.Input<string>[], enrich: readonly EnrichmentField[]): Statement[] {
  if (!enrich.includes("tags")) return [];
  return [{ Sid: "ReadTrackedObjectTags", Effect: "Allow", Action: ["s3:GetObjectTagging", "s3:GetObjectVersionTagging"], Resource: objectArns }];
}

/**
 * Using tracked buckets' SSE-KMS keys, and only through S3 in this Region. S3 asks KMS on the
 * caller's behalf: GetObject (and HeadObject with checksum mode) needs kms:Decrypt, PutObject
 * kms:GenerateDataKey, a multipart upload both (S3 user guide, UsingKMSEncryption, "Permissions";
 * S3 API reference, CreateMultipartUpload). kms:ViaService limits the grant to requests S3 makes
 * (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
 * Nothing without keys.
 */
export function bucketKeyStatements(
  sid: string,
  keyArns: readonly string[],
  actions: ("kms:Decrypt" | "kms:GenerateDataKey")[],
  cloud: Pick<Cloud, "region" | "dnsSuffix">,
): Statement[] {
  if (keyArns.length === 0) return [];
  return [{ Sid: sid, Effect: "Allow", Action: actions, Resource: [...keyArns], Condition: { StringEquals: { "kms:ViaService": s3ViaService(cloud) } } }];
}

export function assumeRolePolicy(service: string): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] });
}

/**
 * A role only `service` may assume, and only on behalf of `sourceArn` in `sourceAccount`: the
 * confused-deputy guard AWS recommends on a service's execution role (for EventBridge Scheduler:
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html).
 */
export function assumeRolePolicyFor(service: string, source: { account: pulumi.Input<string>; arn: pulumi.Input<string> }): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": source.account }, ArnEquals: { "aws:SourceArn": source.arn } },
      },
    ],
  });
}

/**
 * Refuses every request on `resources` not sent over TLS, whoever sends it: the statement the
 * S3, SQS and SNS security best practices give ("Enforce encryption of data in transit":
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html,
 * https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html#enforce-encryption-data-in-transit).
 */
export function denyInsecureTransport(actions: string | string[], resources: pulumi.Input<string> | pulumi.Input<string>[]): Statement {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: { AWS: "*" },
    Action: actions,
    Resource: resources,
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}
