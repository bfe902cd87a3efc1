/**
 * The change stream: the ledger table's DynamoDB stream read by the publisher (functions/stream.ts),
 * which publishes each applied change to an SNS FIFO topic and, optionally, an EventBridge bus.
 *
 * - The source: DynamoDB Streams (NEW_AND_OLD_IMAGES), one record per write that changed an item,
 *   in order per item (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html).
 * - The event source mapping: partial batch responses (ReportBatchItemFailures), a bounded number
 *   of retries, bisection on error, and the description of what it gave up on sent to an SQS
 *   queue ("Standard Amazon SQS queue or standard Amazon SNS topic destination for discarded
 *   records", https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html). That
 *   message names the shard and the sequence numbers, not the records: they stay readable in
 *   the stream for 24 hours, and in the change feed for the retention (replay).
 * - The topic: FIFO, deduplication ids set by the publisher (content-based deduplication off),
 *   high-throughput mode (FifoThroughputScope MessageGroup: the quota applies per message group,
 *   https://docs.aws.amazon.com/sns/latest/api/API_SetTopicAttributes.html, FifoThroughputScope: Topic, 3,000 messages/s per topic; MessageGroup, the Region's limits), encrypted with a key of
 *   the stack's own (publishers need kms:GenerateDataKey* and kms:Decrypt on it:
 *   https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html), reachable over TLS only,
 *   subscribable by the stack's account and the principals configured.
 * - The stack's subscriptions: each with a dead-letter queue of its own. SNS "discards the
 *   message—unless a dead-letter queue is attached to the subscription" once delivery fails for
 *   good (https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html); one queue per
 *   subscription, as AWS attaches a DLQ to a subscription: "This lets you identify the original
 *   target endpoint for each message more easily" (same page, "How do dead-letter queues
 *   work?"); the changes one consumer missed are then redriven to it alone.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { streamSettings } from "../functions/settings/stream.js";
import { EVENT_SOURCE, DETAIL_TYPES } from "../stream/targets.js";
import { configurationError, subscriptionAccountProblems, type ChangeFilter, type ResolvedBucketLedgerArgs } from "./args.js";
import { accountRootArn, type Cloud } from "./arns.js";
import { BundledFunction, writeSettings } from "./bundled-function.js";
import { EVENT_RULE_NAME_MAX, fitName } from "./names.js";
import { denyInsecureTransport, policyDocument, type Statement } from "./policy.js";

export interface ChangeStreamArgs {
  settings: ResolvedBucketLedgerArgs["changeStream"];
  /** The topic's physical name before `.fifo`: unique per account and Region (SNS topic names are). */
  topicName: string;
  /** The ledger table's stream. */
  streamArn: pulumi.Input<string>;
  cloud: Cloud;
  logRetentionDays: number;
}

/** SNS topic names: at most 256 characters, letters, digits, `-` and `_`, a FIFO topic's ending in `.fifo` (CreateTopic, Name). */
export const MAX_FIFO_TOPIC_BASE = 256 - ".fifo".length;

export function changeTopicName(project: string, stack: string, component: string): string {
  return fitName(`bucket-ledger-${project}-${stack}-${component}-changes`.replace(/[^A-Za-z0-9_-]/g, "-"), MAX_FIFO_TOPIC_BASE);
}

/**
 * A subscription's filter policy on the message body (FilterPolicyScope MessageBody): the
 * operators SNS documents for payload filtering, exact strings and `prefix`
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html; FIFO topics filter as
 * standard ones do: https://docs.aws.amazon.com/sns/latest/dg/fifo-message-filtering.html).
 */
export function subscriptionFilterPolicy(filter: ChangeFilter): Record<string, unknown> | undefined {
  const policy: Record<string, unknown> = {};
  if (filter.buckets) policy.bucket = [...filter.buckets];
  if (filter.prefix !== undefined) policy.key = [{ prefix: filter.prefix }];
  if (filter.changes) policy.change = [...filter.changes];
  return Object.keys(policy).length > 0 ? policy : undefined;
}

/** An EventBridge rule's event pattern for the stream's events: by source, then bucket, prefix and change kind. */
export function changeEventPattern(filter: ChangeFilter): Record<string, unknown> {
  const detail: Record<string, unknown> = {};
  if (filter.buckets) detail.bucket = [...filter.buckets];
  if (filter.prefix !== undefined) detail.key = [{ prefix: filter.prefix }];
  return {
    source: [EVENT_SOURCE],
    ...(filter.changes && { "detail-type": filter.changes.map((change) => DETAIL_TYPES[change]) }),
    ...(Object.keys(detail).length > 0 && { detail }),
  };
}

export class ChangeStream extends pulumi.ComponentResource {
  readonly function: BundledFunction;
  readonly eventSourceMapping: aws.lambda.EventSourceMapping;
  readonly deadLetterQueue: aws.sqs.Queue;
  /** Each stack-made subscription's DLQ, with the queue it is subscribed for (config order). */
  readonly subscriptionDeadLetterQueues: { queue: aws.sqs.Queue; subscribedQueueArn: string }[] = [];
  readonly topic?: aws.sns.Topic;
  readonly key?: aws.kms.Key;
  readonly eventBus?: aws.cloudwatch.EventBus;
  /** The bus the changes go to (name), with EventBridge. */
  readonly eventBusName?: pulumi.Output<string>;

  constructor(name: string, args: ChangeStreamArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:ChangeStream", name, {}, opts);
    const { settings, cloud } = args;
    const child = { parent: this };
    const statements: Statement[] = [
      {
        Sid: "ReadLedgerStream",
        Effect: "Allow",
        // What Lambda's DynamoDB Streams event source needs of the function's role
        // (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, "Execution role permissions").
        Action: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
        Resource: args.streamArn,
      },
    ];

    // What the event source mapping gave up on: 14 days to look, SSE, TLS only.
    this.deadLetterQueue = new aws.sqs.Queue(`${name}-dlq`, { messageRetentionSeconds: 14 * 86_400, sqsManagedSseEnabled: true }, child);
    new aws.sqs.QueuePolicy(
      `${name}-dlq`,
      { queueUrl: this.deadLetterQueue.url, policy: policyDocument([denyInsecureTransport("sqs:*", this.deadLetterQueue.arn)]) },
      child,
    );
    // Lambda sends the on-failure record with the function's role (services-ddb-params, DestinationConfig;
    // with-ddb, "Execution role permissions": sqs:SendMessage for an SQS destination).
    statements.push({ Sid: "ReportDiscardedRecords", Effect: "Allow", Action: "sqs:SendMessage", Resource: this.deadLetterQueue.arn });

    let topicArn: pulumi.Output<string> | undefined;
    if (settings.targets.includes("sns")) {
      this.key = new aws.kms.Key(
        `${name}-topic`,
        {
          description: "bucket-ledger: encrypts the change stream's topic",
          enableKeyRotation: true,
          deletionWindowInDays: 30,
          // The account administers the key and grants its use through IAM (the publisher's role).
          policy: policyDocument([
            { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: accountRootArn(cloud) }, Action: "kms:*", Resource: "*" },
            // The subscriptions' DLQs are encrypted with this key: SNS sends to an encrypted DLQ only
            // with "a custom KMS [key] with a key policy that grants the Amazon SNS service principal
            // access" (sns-dead-letter-queues), these two actions (SQS developer guide,
            // sqs-key-management, "Configure KMS permissions for AWS services").
            ...(settings.subscriptions.length > 0
              ? [
                  {
                    Sid: "SnsEncryptsUndeliveredChanges",
                    Effect: "Allow" as const,
                    Principal: { Service: "sns.amazonaws.com" },
                    Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                    Resource: "*",
                  },
                ]
              : []),
          ]),
        },
        child,
      );
      this.topic = new aws.sns.Topic(
        `${name}-topic`,
        {
          name: `${args.topicName}.fifo`,
          fifoTopic: true,
          // The publisher sets each message's deduplication id: the change's id (stream/message.ts).
          contentBasedDeduplication: false,
          fifoThroughputScope: "MessageGroup",
          kmsMasterKeyId: this.key.arn,
        },
        child,
      );
      topicArn = this.topic.arn;
      const subscribers = [
        accountRootArn(cloud),
        ...settings.subscribers.map((principal) =>
          /^\d{12}$/.test(principal) ? accountRootArn({ partition: cloud.partition, accountId: principal }) : principal,
        ),
      ];
      new aws.sns.TopicPolicy(
        `${name}-topic`,
        {
          arn: this.topic.arn,
          policy: policyDocument([
            // Who may subscribe (and see the topic): the stack's account, and the principals configured.
            {
              Sid: "Subscribe",
              Effect: "Allow",
              Principal: { AWS: subscribers },
              Action: ["sns:Subscribe", "sns:GetTopicAttributes"],
              Resource: this.topic.arn,
            },
            denyInsecureTransport(["sns:Publish", "sns:Subscribe"], this.topic.arn),
          ]),
        },
        child,
      );
      statements.push(
        { Sid: "PublishChanges", Effect: "Allow", Action: "sns:Publish", Resource: this.topic.arn },
        { Sid: "EncryptChanges", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: this.key.arn },
      );
      // The stack's account is known only from the provider: a queue of another account fails the
      // deployment before its subscription is registered (args.ts, subscriptionAccountProblems).
      const ownAccount = pulumi.output(cloud.accountId).apply((accountId) => {
        const problems = subscriptionAccountProblems(accountId, settings.subscriptions);
        if (problems.length > 0) throw configurationError(problems);
        return accountId;
      });
      settings.subscriptions.forEach((subscription, index) => {
        const filterPolicy = subscriptionFilterPolicy(subscription);
        // What SNS gave up delivering to this subscription. A FIFO topic's subscription takes a FIFO
        // queue as its DLQ, in the subscription's account and Region (sns-dead-letter-queues);
        // fourteen days, the retention AWS recommends for them (same page). Content-based
        // deduplication, so a send without a deduplication id is accepted; an id SNS sends
        // overrides it (SQS API reference, SendMessage, MessageDeduplicationId). High throughput:
        // a subscribed queue gone or refusing SNS sends the whole stream here.
        const deadLetterQueue = new aws.sqs.Queue(
          `${name}-subscription-${index}-dlq`,
          {
            fifoQueue: true,
            contentBasedDeduplication: true,
            deduplicationScope: "messageGroup",
            fifoThroughputLimit: "perMessageGroupId",
            messageRetentionSeconds: 14 * 86_400,
            kmsMasterKeyId: this.key!.arn,
          },
          child,
        );
        new aws.sqs.QueuePolicy(
          `${name}-subscription-${index}-dlq`,
          {
            queueUrl: deadLetterQueue.url,
            policy: policyDocument([
              // The queue policy AWS gives for an SNS DLQ (sns-configure-dead-letter-queue, Prerequisites).
              {
                Sid: "TopicSendsUndelivered",
                Effect: "Allow",
                Principal: { Service: "sns.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: deadLetterQueue.arn,
                Condition: { ArnEquals: { "aws:SourceArn": this.topic!.arn } },
              },
              denyInsecureTransport("sqs:*", deadLetterQueue.arn),
            ]),
          },
          child,
        );
        this.subscriptionDeadLetterQueues.push({ queue: deadLetterQueue, subscribedQueueArn: subscription.queueArn });
        new aws.sns.TopicSubscription(
          `${name}-subscription-${index}`,
          {
            topic: this.topic!.arn,
            protocol: "sqs",
            endpoint: ownAccount.apply(() => subscription.queueArn),
            // The message as published, not inside SNS's envelope (SNS guide, sns-large-payload-raw-message-delivery).
            rawMessageDelivery: true,
            ...(filterPolicy && { filterPolicy: JSON.stringify(filterPolicy), filterPolicyScope: "MessageBody" }),
            // A redrive policy names the DLQ (sns-dead-letter-queues, "How are messages moved into a dead-letter queue?").
            redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: deadLetterQueue.arn }),
          },
          child,
        );
      });
    }

    if (settings.targets.includes("eventbridge")) {
      if (settings.eventBus === "stack") {
        this.eventBus = new aws.cloudwatch.EventBus(`${name}-bus`, {}, child);
        this.eventBusName = this.eventBus.name;
      } else {
        this.eventBusName = pulumi.output(settings.eventBus);
      }
      const busArn = settings.eventBus.startsWith("arn:")
        ? pulumi.output(settings.eventBus)
        : pulumi.interpolate`arn:${cloud.partition}:events:${cloud.region}:${cloud.accountId}:event-bus/${this.eventBusName}`;
      statements.push({ Sid: "PutChangeEvents", Effect: "Allow", Action: "events:PutEvents", Resource: busArn });
      for (const rule of settings.rules) {
        const eventRule = new aws.cloudwatch.EventRule(
          `${name}-rule-${rule.name}`,
          {
            name: fitName(`${name}-${rule.name}`, EVENT_RULE_NAME_MAX),
            eventBusName: this.eventBusName,
            description: `bucket-ledger: changes ${rule.prefix !== undefined ? `under ${rule.prefix} ` : ""}to ${rule.targetArn}`,
            eventPattern: JSON.stringify(changeEventPattern(rule)),
          },
          child,
        );
        new aws.cloudwatch.EventTarget(`${name}-rule-${rule.name}`, { rule: eventRule.name, eventBusName: this.eventBusName, arn: rule.targetArn }, child);
      }
    }

    this.function = new BundledFunction(
      name,
      {
        entry: "stream",
        description: "bucket-ledger: publishes the ledger's changes (DynamoDB stream -> SNS FIFO / EventBridge)",
        timeoutSeconds: settings.timeoutSeconds,
        memoryMb: settings.memoryMb,
        logRetentionDays: args.logRetentionDays,
        settings: writeSettings(streamSettings, {
          ...(topicArn && { topicArn }),
          ...(this.eventBusName && { eventBusName: this.eventBusName }),
          publishAttempts: settings.publishAttempts,
        }),
        statements,
      },
      child,
    );
    this.eventSourceMapping = new aws.lambda.EventSourceMapping(
      name,
      {
        eventSourceArn: args.streamArn,
        functionName: this.function.function.arn,
        // Every change from the mapping's creation on; what came before is in the change feed (replay).
        startingPosition: "LATEST",
        batchSize: settings.batchSize,
        parallelizationFactor: settings.parallelizationFactor,
        functionResponseTypes: ["ReportBatchItemFailures"],
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: settings.maximumRetryAttempts,
        destinationConfig: { onFailure: { destinationArn: this.deadLetterQueue.arn } },
      },
      child,
    );
    this.registerOutputs({
      functionName: this.function.name,
      deadLetterQueueUrl: this.deadLetterQueue.url,
      ...(this.topic && { topicArn: this.topic.arn }),
      ...(this.eventBusName && { eventBusName: this.eventBusName }),
    });
  }
}
