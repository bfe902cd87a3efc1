/**
 * ARNs and service endpoints built from the provider's partition, never a literal `aws`: the
 * same program deploys to `aws-cn` (China) and `aws-us-gov` (GovCloud), whose ARNs begin
 * `arn:aws-cn:` and `arn:aws-us-gov:` ("Identify AWS resources with Amazon Resource Names",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html). The partition and its
 * DNS suffix come from `aws.getPartition` (BucketLedger reads it once).
 */
import * as pulumi from "@pulumi/pulumi";

export interface Cloud {
  partition: pulumi.Input<string>;
  /** `amazonaws.com`, or `amazonaws.com.cn` in China. */
  dnsSuffix: pulumi.Input<string>;
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
}

/** A bucket, or objects in it (`bucket/prefix*`): S3 ARNs carry no Region or account. */
export const s3Arn = (cloud: Pick<Cloud, "partition">, resource: pulumi.Input<string>): pulumi.Output<string> =>
  pulumi.interpolate`arn:${cloud.partition}:s3:::${resource}`;

export const dynamodbTableArn = (cloud: Cloud, table: pulumi.Input<string>): pulumi.Output<string> =>
  pulumi.interpolate`arn:${cloud.partition}:dynamodb:${cloud.region}:${cloud.accountId}:table/${table}`;

export const accountRootArn = (cloud: Pick<Cloud, "partition" | "accountId">): pulumi.Output<string> =>
  pulumi.interpolate`arn:${cloud.partition}:iam::${cloud.accountId}:root`;

export const cloudWatchAlarmsArn = (cloud: Cloud): pulumi.Output<string> =>
  pulumi.interpolate`arn:${cloud.partition}:cloudwatch:${cloud.region}:${cloud.accountId}:alarm:*`;

/**
 * The value `kms:ViaService` takes for requests S3 makes on a caller's behalf in this Region:
 * "s3.<region>.amazonaws.com" (KMS developer guide, conditions-kms-via-service; the suffix is
 * the partition's DNS suffix).
 */
export const s3ViaService = (cloud: Pick<Cloud, "region" | "dnsSuffix">): pulumi.Output<string> => pulumi.interpolate`s3.${cloud.region}.${cloud.dnsSuffix}`;

/**
 * An EventBridge Scheduler schedule group: `arn:<partition>:scheduler:<region>:<account>:schedule-group/<name>`
 * (Service Authorization Reference, "Resource types defined by Amazon EventBridge Scheduler").
 */
export const scheduleGroupArn = (cloud: Cloud, group: pulumi.Input<string>): pulumi.Output<string> =>
  pulumi.interpolate`arn:${cloud.partition}:scheduler:${cloud.region}:${cloud.accountId}:schedule-group/${group}`;

/**
 * Every EventBridge rule of the account's default bus in this Region:
 * `arn:<partition>:events:<region>:<account>:rule/<name>` (Service Authorization Reference,
 * "Resource types defined by Amazon EventBridge", rule-on-default-event-bus).
 */
export const eventRuleArnPattern = (cloud: Pick<Cloud, "partition" | "region" | "accountId">): pulumi.Output<string> =>
  pulumi.interpolate`arn:${cloud.partition}:events:${cloud.region}:${cloud.accountId}:rule/*`;
