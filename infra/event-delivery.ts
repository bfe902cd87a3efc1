/**
 * S3 events -> one SQS queue (with a DLQ), either straight from S3 bucket notifications or
 * through EventBridge rules. The queue only accepts messages from the tracked buckets of this
 * account (or from this stack's rules), over TLS: anyone else, this account's own roles
 * included, is refused sqs:SendMessage, so no one can forge an event the tracker would apply.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { encodeS3Key } from "../aws/s3-key.js";
import { eventBridgeDetailTypes, notificationEvents } from "../events/subscriptions.js";
import type { EnrichmentField } from "../events/enrichment-fields.js";
import type { NotificationFilter } from "./args.js";
import { EVENT_RULE_NAME_MAX, fitAutonamed } from "./names.js";
import type { Statement } from "./policy.js";
import { eventRuleArnPattern, type Cloud } from "./arns.js";
import { QueueWithDeadLetter } from "./queue-with-dead-letter.js";

export interface DeliveredBucket {
  /** Stable logical name for child resources. */
  logicalName: string;
  name: pulumi.Input<string>;
  arn: pulumi.Input<string>;
  filters: NotificationFilter[];
  /** Whether this stack may write the bucket's (single, whole) notification configuration. */
  ownsNotificationConfiguration: boolean;
}

export interface EventDeliveryArgs {
  buckets: DeliveredBucket[];
  mode: "sqs" | "eventbridge";
  cloud: Cloud;
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  /** The enrichment fields kept: their metadata events are delivered too. */
  enrich: readonly EnrichmentField[];
}

const escapeWildcard = (text: string) => text.replace(/\\/g, "\\\\").replace(/\*/g, "\\*");

/** EventBridge key patterns equivalent to S3 prefix/suffix filters (ORed). */
export function eventBridgeKeyPatterns(filters: NotificationFilter[]): Record<string, string>[] | undefined {
  if (filters.length === 0 || filters.some((filter) => !filter.prefix && !filter.suffix)) return undefined;
  return filters.map((filter): Record<string, string> => {
    if (filter.prefix && filter.suffix) return { wildcard: `${escapeWildcard(filter.prefix)}*${escapeWildcard(filter.suffix)}` };
    return filter.prefix ? { prefix: filter.prefix } : { suffix: filter.suffix };
  });
}

/**
 * The event queue's policy statements besides TLS only: who may send, and an explicit deny of
 * sqs:SendMessage to every caller that is not a service acting for this account's resources
 * (S3 mode) or for this account's EventBridge rules (EventBridge mode). The deny names only
 * sqs:SendMessage, so the tracker's ReceiveMessage and DeleteMessage (granted by its role) are
 * untouched.
 *
 * The deny tests one condition key with a negated operator: "If the policy condition requires
 * that the key is not matched, such as StringNotLike or ArnNotLike, and the right key is not
 * present, the condition is true" (IAM user guide, "IAM JSON policy elements: Condition
 * operators", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html),
 * so every IAM user and role, this account's included, which carry no aws:SourceAccount or
 * aws:SourceArn, is denied: no one can forge an event however broad their IAM permissions.
 * S3 notifications carry both keys and EventBridge's carry aws:SourceArn: the S3 guide's queue
 * policy for notifications ("Walkthrough: Configuring a bucket for notifications",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ways-to-add-notification-config-to-bucket.html)
 * and EventBridge's for an SQS target (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions)
 * condition their allow on them.
 *
 * The deny does not repeat the exact list of buckets or rules the allow names: SQS takes a policy
 * of at most 8,192 bytes ("Amazon SQS policy quotas",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html),
 * and 60 adopted buckets named in both came to 14,240. A service request for another of this
 * account's buckets or rules is matched by no allow, so SQS refuses it all the same, and the
 * tracker drops any event about a bucket it does not track (tracker/tracked-buckets.ts).
 */
export function eventQueueStatements(args: {
  mode: "sqs" | "eventbridge";
  queueArn: pulumi.Input<string>;
  bucketArns: pulumi.Input<string>[];
  ruleArns: pulumi.Input<string>[];
  cloud: Pick<Cloud, "partition" | "region" | "accountId">;
}): Statement[] {
  const denySend = (sid: string, condition: Statement["Condition"]): Statement => ({
    Sid: sid,
    Effect: "Deny",
    Principal: { AWS: "*" },
    Action: "sqs:SendMessage",
    Resource: args.queueArn,
    Condition: condition!,
  });
  if (args.mode === "sqs") {
    return [
      {
        Sid: "S3NotificationsFromTrackedBuckets",
        Effect: "Allow",
        Principal: { Service: "s3.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: args.queueArn,
        // Without both conditions any bucket in any account could write here (confused deputy).
        Condition: { ArnLike: { "aws:SourceArn": args.bucketArns }, StringEquals: { "aws:SourceAccount": args.cloud.accountId } },
      },
      denySend("NoSenderButThisAccountsBuckets", { StringNotEquals: { "aws:SourceAccount": args.cloud.accountId } }),
    ];
  }
  return [
    {
      Sid: "EventBridgeRulesOfThisStack",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: args.queueArn,
      Condition: { ArnEquals: { "aws:SourceArn": args.ruleArns } },
    },
    denySend("NoSenderButThisAccountsRules", { ArnNotLike: { "aws:SourceArn": eventRuleArnPattern(args.cloud) } }),
  ];
}

export class EventDelivery extends pulumi.ComponentResource {
  readonly queue: aws.sqs.Queue;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly rules: aws.cloudwatch.EventRule[] = [];

  constructor(name: string, args: EventDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:EventDelivery", name, {}, opts);
    // The rules first: the queue's policy names them.
    const ruleNames: string[] = [];
    if (args.mode === "eventbridge") {
      for (const bucket of args.buckets) {
        const keyPatterns = eventBridgeKeyPatterns(bucket.filters);
        // A bucket name may take 63 of the rule name's 64 characters: longer names are cut and hashed.
        const ruleName = fitAutonamed(`${name}-${bucket.logicalName}`, EVENT_RULE_NAME_MAX);
        const rule = new aws.cloudwatch.EventRule(
          ruleName,
          {
            description: pulumi.interpolate`bucket-ledger: object changes in ${bucket.name}`,
            eventPattern: pulumi.jsonStringify({
              source: ["aws.s3"],
              "detail-type": eventBridgeDetailTypes(args.enrich),
              detail: { bucket: { name: [bucket.name] }, ...(keyPatterns && { object: { key: keyPatterns } }) },
            }),
          },
          { parent: this },
        );
        this.rules.push(rule);
        ruleNames.push(ruleName);
      }
    }
    const queues = new QueueWithDeadLetter(
      name,
      {
        visibilityTimeoutSeconds: args.visibilityTimeoutSeconds,
        maxReceiveCount: args.maxReceiveCount,
        // The queue policy lived beside the queues before: the alias keeps its URN too.
        formerParent: this,
        statements: (queueArn) =>
          eventQueueStatements({
            mode: args.mode,
            queueArn,
            bucketArns: args.buckets.map((bucket) => bucket.arn),
            ruleArns: this.rules.map((rule) => rule.arn),
            cloud: args.cloud,
          }),
      },
      { parent: this },
    );
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    this.rules.forEach((rule, index) => new aws.cloudwatch.EventTarget(ruleNames[index]!, { rule: rule.name, arn: this.queue.arn }, { parent: this }));

    for (const bucket of args.buckets.filter((b) => b.ownsNotificationConfiguration)) {
      const filters = bucket.filters.length > 0 ? bucket.filters : [{ prefix: "", suffix: "" }];
      new aws.s3.BucketNotification(
        `${name}-${bucket.logicalName}`,
        args.mode === "eventbridge"
          ? { bucket: bucket.name, eventbridge: true }
          : {
              bucket: bucket.name,
              queues: filters.map((filter) => ({
                queueArn: this.queue.arn,
                events: notificationEvents(args.enrich),
                // S3 matches filters against the URL-encoded key, so special characters must be
                // sent encoded, a space as `+` (S3 user guide, "Configuring event notifications
                // using object key name filtering"). EventBridge patterns match the raw key.
                ...(filter.prefix && { filterPrefix: encodeS3Key(filter.prefix) }),
                ...(filter.suffix && { filterSuffix: encodeS3Key(filter.suffix) }),
              })),
            },
        // S3 sends a test message when the configuration is saved: the queue must already accept it.
        { parent: this, dependsOn: [queues.queuePolicy] },
      );
    }
    this.registerOutputs({ queueUrl: this.queue.url, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}
