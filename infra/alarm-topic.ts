/**
 * The SNS topic alarms notify, encrypted with a key of the stack's own.
 *
 * CloudWatch cannot publish to a topic encrypted with the AWS-managed key `alias/aws/sns`:
 * that key's policy cannot be changed to admit `cloudwatch.amazonaws.com`, so every alarm
 * notification would be dropped without an error. AWS's SNS guide, "Enable compatibility
 * between event sources from AWS services and encrypted topics"
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services),
 * asks for a customer-managed key whose policy grants the service `kms:Decrypt` and
 * `kms:GenerateDataKey*`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "./policy.js";

export interface AlarmTopicArgs {
  region: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
}

export class AlarmTopic extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly topic: aws.sns.Topic;
  readonly arn: pulumi.Output<string>;

  constructor(name: string, args: AlarmTopicArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:AlarmTopic", name, {}, opts);
    // Only this account's alarms may use the key or publish (the confused-deputy problem).
    const fromOwnAlarms = {
      StringEquals: { "aws:SourceAccount": args.accountId },
      ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:aws:cloudwatch:${args.region}:${args.accountId}:alarm:*` },
    };
    this.key = new aws.kms.Key(
      name,
      {
        description: "bucket-ledger: encrypts the alarm topic; CloudWatch may use it to publish",
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: policyDocument([
          // Without this statement the key could become unmanageable (KMS default key policy).
          {
            Sid: "AccountAdministers",
            Effect: "Allow",
            Principal: { AWS: pulumi.interpolate`arn:aws:iam::${args.accountId}:root` },
            Action: "kms:*",
            Resource: "*",
          },
          {
            Sid: "CloudWatchAlarmsPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Resource: "*",
            Condition: fromOwnAlarms,
          },
        ]),
      },
      { parent: this },
    );
    this.topic = new aws.sns.Topic(name, { kmsMasterKeyId: this.key.arn }, { parent: this });
    new aws.sns.TopicPolicy(
      name,
      {
        arn: this.topic.arn,
        policy: policyDocument([
          {
            Sid: "CloudWatchAlarmsPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: this.topic.arn,
            Condition: fromOwnAlarms,
          },
        ]),
      },
      { parent: this },
    );
    this.arn = this.topic.arn;
    this.registerOutputs({ arn: this.arn });
  }
}
