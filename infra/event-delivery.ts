/**
 * S3 events -> one SQS queue (with a DLQ), either straight from S3 bucket notifications or
 * through EventBridge rules. The queue only accepts messages from the tracked buckets of this
 * account (or from this stack's rules), over TLS.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { encodeS3EventKey } from "../events/object-key.js";
import { eventBridgeDetailTypes, notificationEvents } from "../events/subscriptions.js";
import type { EnrichmentField } from "../sdk/object-details.js";
import type { NotificationFilter } from "./args.js";
import { EVENT_RULE_NAME_MAX, fitAutonamed } from "./names.js";
import { policyDocument, type Statement } from "./policy.js";
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
  accountId: pulumi.Input<string>;
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

export class EventDelivery extends pulumi.ComponentResource {
  readonly queue: aws.sqs.Queue;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly rules: aws.cloudwatch.EventRule[] = [];

  constructor(name: string, args: EventDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:EventDelivery", name, {}, opts);
    const queues = new QueueWithDeadLetter(
      name,
      { visibilityTimeoutSeconds: args.visibilityTimeoutSeconds, maxReceiveCount: args.maxReceiveCount, formerParent: this },
      { parent: this },
    );
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;

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
        new aws.cloudwatch.EventTarget(ruleName, { rule: rule.name, arn: this.queue.arn }, { parent: this });
        this.rules.push(rule);
      }
    }

    const senders: Statement[] =
      args.mode === "sqs"
        ? [
            {
              Sid: "S3NotificationsFromTrackedBuckets",
              Effect: "Allow",
              Principal: { Service: "s3.amazonaws.com" },
              Action: "sqs:SendMessage",
              Resource: this.queue.arn,
              // Without both conditions any bucket in any account could write here (confused deputy).
              Condition: { ArnLike: { "aws:SourceArn": args.buckets.map((bucket) => bucket.arn) }, StringEquals: { "aws:SourceAccount": args.accountId } },
            },
          ]
        : [
            {
              Sid: "EventBridgeRulesOfThisStack",
              Effect: "Allow",
              Principal: { Service: "events.amazonaws.com" },
              Action: "sqs:SendMessage",
              Resource: this.queue.arn,
              Condition: { ArnEquals: { "aws:SourceArn": this.rules.map((rule) => rule.arn) } },
            },
          ];
    const queuePolicy = new aws.sqs.QueuePolicy(
      name,
      {
        queueUrl: this.queue.url,
        policy: policyDocument([
          ...senders,
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "sqs:*",
            Resource: this.queue.arn,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ]),
      },
      { parent: this },
    );

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
                ...(filter.prefix && { filterPrefix: encodeS3EventKey(filter.prefix) }),
                ...(filter.suffix && { filterSuffix: encodeS3EventKey(filter.suffix) }),
              })),
            },
        // S3 sends a test message when the configuration is saved: the queue must already accept it.
        { parent: this, dependsOn: [queuePolicy] },
      );
    }
    this.registerOutputs({ queueUrl: this.queue.url, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}
