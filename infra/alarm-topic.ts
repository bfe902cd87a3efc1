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
import { accountRootArn, cloudWatchAlarmsArn, type Cloud } from "./arns.js";
import { denyInsecureTransport, policyDocument } from "./policy.js";

export interface AlarmTopicArgs {
  cloud: Cloud;
}

export class AlarmTopic extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly topic: aws.sns.Topic;
  readonly arn: pulumi.Output<string>;

  constructor(name: string, args: AlarmTopicArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:AlarmTopic", name, {}, opts);
    // Only this account's alarms may publish (the confused-deputy problem): on the topic policy,
    // where SNS evaluates CloudWatch's sns:Publish.
    const fromOwnAlarms = {
      StringEquals: { "aws:SourceAccount": args.cloud.accountId },
      ArnLike: { "aws:SourceArn": cloudWatchAlarmsArn(args.cloud) },
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
            Principal: { AWS: accountRootArn(args.cloud) },
            Action: "kms:*",
            Resource: "*",
          },
          // The statement AWS documents for a service that publishes to an encrypted topic, as
          // written there: no condition (SNS guide, sns-key-management, "Enable compatibility
          // between event sources from AWS services and encrypted topics"). No AWS page found says
          // aws:SourceAccount or aws:SourceArn reach the KMS request SNS makes for CloudWatch; if
          // they did not, a condition on them would deny it and no alarm would ever be delivered.
          // The key is this topic's alone, and the topic policy admits only this account's alarms.
          {
            Sid: "CloudWatchAlarmsPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Resource: "*",
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
          // The SNS guide's statement as given there (sns-security-best-practices, "Enforce
          // encryption of data in transit"): SNS:Publish over anything but TLS is refused.
          denyInsecureTransport("sns:Publish", this.topic.arn),
        ]),
      },
      { parent: this },
    );
    this.arn = this.topic.arn;
    this.registerOutputs({ arn: this.arn });
  }
}
