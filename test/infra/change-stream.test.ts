/**
 * The change stream under Pulumi mocks: off by default; with it, the table's stream, the FIFO
 * topic (encrypted with the stack's key, ids set by the publisher), who may subscribe, the
 * subscriptions' filters, EventBridge rules, the event source mapping with its DLQ, the
 * publisher's role (exactly what it calls) and the alarms.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { BucketLedgerConfigError, subscriptionAccountProblems, type BucketLedgerArgs } from "../../infra/args.js";
import { BucketLedger } from "../../infra/bucket-ledger.js";
import { changeEventPattern, changeTopicName, subscriptionFilterPolicy } from "../../infra/change-stream.js";
import { argsFromStackConfig } from "../../infra/stack-config.js";
import { ACCOUNT_ID, installMocks, resolve, type RecordedResource } from "./mocks.js";

const recorded = installMocks();
beforeEach(() => {
  recorded.length = 0;
});

async function deploy(args: BucketLedgerArgs, name = "ledger"): Promise<RecordedResource[]> {
  const ledger = new BucketLedger(name, args);
  const outputs = Object.values(ledger.outputs).filter((output): output is pulumi.Output<unknown> => output !== undefined);
  await resolve(pulumi.all([ledger.placement, ...outputs]));
  await new Promise((r) => setTimeout(r, 250));
  return [...recorded];
}

const ofType = (resources: RecordedResource[], type: string) => resources.filter((resource) => resource.type === type);
const named = (resources: RecordedResource[], type: string, name: string) => {
  const matches = ofType(resources, type).filter((resource) => resource.name === name);
  expect(matches, `${type} ${name}`).toHaveLength(1);
  return matches[0]!.inputs;
};
interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: string | string[];
  Principal?: Record<string, string | string[]>;
  Condition?: Record<string, Record<string, string | string[]>>;
}
const statementsOf = (policy: unknown): PolicyStatement[] => (JSON.parse(policy as string) as { Statement: PolicyStatement[] }).Statement;

const BASE: BucketLedgerArgs = { createBucket: { name: "photos-bucket" } };
const STREAM_ARN = `arn:aws:dynamodb:us-east-1:${ACCOUNT_ID}:table/ledger-ledger-1a2b3c/stream/2026-12-01T00:00:00.000`;
const TOPIC_NAME = "bucket-ledger-bucket-ledger-test-ledger-changes.fifo";
const TOPIC_ARN = `arn:aws:sns:us-east-1:${ACCOUNT_ID}:${TOPIC_NAME}`;
const KEY_ARN = `arn:aws:mock:us-east-1:${ACCOUNT_ID}:Key/ledger-stream-topic-1a2b3c`;
const subscriptionDlqArn = (index: number) => `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:ledger-stream-subscription-${index}-dlq-1a2b3c`;

describe("the change stream, deployed", () => {
  it("is off by default: no stream on the table, no topic, no publisher", async () => {
    const resources = await deploy(BASE);
    const table = named(resources, "aws:dynamodb/table:Table", "ledger-ledger");
    expect(table.streamEnabled).toBeUndefined();
    expect(ofType(resources, "aws:sns/topic:Topic").filter((topic) => topic.inputs.fifoTopic === true)).toEqual([]);
    expect(resources.filter((resource) => resource.name.startsWith("ledger-stream"))).toEqual([]);
  });

  it("with sns: the table's stream with both images, and a FIFO topic encrypted with the stack's own key, ids set by the publisher", async () => {
    const resources = await deploy({ ...BASE, changeStream: { enabled: true } });
    const table = named(resources, "aws:dynamodb/table:Table", "ledger-ledger");
    expect(table).toMatchObject({ streamEnabled: true, streamViewType: "NEW_AND_OLD_IMAGES" });
    const topic = named(resources, "aws:sns/topic:Topic", "ledger-stream-topic");
    expect(topic).toMatchObject({ name: TOPIC_NAME, fifoTopic: true, contentBasedDeduplication: false, fifoThroughputScope: "MessageGroup" });
    const key = named(resources, "aws:kms/key:Key", "ledger-stream-topic");
    expect(key.enableKeyRotation).toBe(true);
    expect(topic.kmsMasterKeyId).toBe(`arn:aws:mock:us-east-1:${ACCOUNT_ID}:Key/ledger-stream-topic-1a2b3c`);
  });

  it("lets only the stack's account subscribe by default, others when listed, and only over TLS", async () => {
    const own = statementsOf(
      named(await deploy({ ...BASE, changeStream: { enabled: true } }), "aws:sns/topicPolicy:TopicPolicy", "ledger-stream-topic").policy,
    );
    expect(own.find((statement) => statement.Sid === "Subscribe")).toEqual({
      Sid: "Subscribe",
      Effect: "Allow",
      Principal: { AWS: [`arn:aws:iam::${ACCOUNT_ID}:root`] },
      Action: ["sns:Subscribe", "sns:GetTopicAttributes"],
      Resource: TOPIC_ARN,
    });
    expect(own.find((statement) => statement.Sid === "DenyInsecureTransport")).toMatchObject({
      Effect: "Deny",
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
    recorded.length = 0;
    const role = "arn:aws:iam::210987654321:role/indexer";
    const others = statementsOf(
      named(
        await deploy({ ...BASE, changeStream: { enabled: true, subscribers: ["111122223333", role] } }),
        "aws:sns/topicPolicy:TopicPolicy",
        "ledger-stream-topic",
      ).policy,
    );
    expect(others.find((statement) => statement.Sid === "Subscribe")?.Principal).toEqual({
      AWS: [`arn:aws:iam::${ACCOUNT_ID}:root`, "arn:aws:iam::111122223333:root", role],
    });
  });

  it("subscribes SQS FIFO queues with raw delivery and a filter on the message body", async () => {
    const queueArn = `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:indexer.fifo`;
    const resources = await deploy({
      ...BASE,
      changeStream: {
        enabled: true,
        subscriptions: [{ queueArn, prefix: "images/", buckets: ["photos-bucket"] }, { queueArn: queueArn.replace("indexer", "all") }],
      },
    });
    expect(named(resources, "aws:sns/topicSubscription:TopicSubscription", "ledger-stream-subscription-0")).toMatchObject({
      topic: TOPIC_ARN,
      protocol: "sqs",
      endpoint: queueArn,
      rawMessageDelivery: true,
      filterPolicyScope: "MessageBody",
      filterPolicy: JSON.stringify({ bucket: ["photos-bucket"], key: [{ prefix: "images/" }] }),
    });
    const unfiltered = named(resources, "aws:sns/topicSubscription:TopicSubscription", "ledger-stream-subscription-1");
    expect(unfiltered.filterPolicy).toBeUndefined();
    expect(unfiltered.filterPolicyScope).toBeUndefined();
  });

  it("gives each subscription a FIFO dead-letter queue of its own, encrypted with the topic's key, that only the topic may send to", async () => {
    const queueArn = `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:indexer.fifo`;
    const resources = await deploy({
      ...BASE,
      changeStream: { enabled: true, subscriptions: [{ queueArn }, { queueArn: queueArn.replace("indexer", "all") }] },
    });
    for (const index of [0, 1]) {
      const subscription = named(resources, "aws:sns/topicSubscription:TopicSubscription", `ledger-stream-subscription-${index}`);
      expect(JSON.parse(subscription.redrivePolicy as string)).toEqual({ deadLetterTargetArn: subscriptionDlqArn(index) });
      expect(named(resources, "aws:sqs/queue:Queue", `ledger-stream-subscription-${index}-dlq`)).toEqual({
        fifoQueue: true,
        contentBasedDeduplication: true,
        deduplicationScope: "messageGroup",
        fifoThroughputLimit: "perMessageGroupId",
        messageRetentionSeconds: 14 * 86_400,
        kmsMasterKeyId: KEY_ARN,
      });
      expect(statementsOf(named(resources, "aws:sqs/queuePolicy:QueuePolicy", `ledger-stream-subscription-${index}-dlq`).policy)).toEqual([
        {
          Sid: "TopicSendsUndelivered",
          Effect: "Allow",
          Principal: { Service: "sns.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: subscriptionDlqArn(index),
          Condition: { ArnEquals: { "aws:SourceArn": TOPIC_ARN } },
        },
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: "sqs:*",
          Resource: subscriptionDlqArn(index),
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      ]);
    }
    expect(ofType(resources, "aws:sqs/queue:Queue").filter((queue) => queue.name.startsWith("ledger-stream-subscription"))).toHaveLength(2);
    // SNS encrypts what it sends to the DLQs with the topic's key: the key policy lets it.
    const keyStatements = statementsOf(named(resources, "aws:kms/key:Key", "ledger-stream-topic").policy);
    expect(keyStatements.find((statement) => statement.Sid === "SnsEncryptsUndeliveredChanges")).toEqual({
      Sid: "SnsEncryptsUndeliveredChanges",
      Effect: "Allow",
      Principal: { Service: "sns.amazonaws.com" },
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: "*",
    });
  });

  it("lets SNS use the topic's key only when the stack has subscriptions", async () => {
    const resources = await deploy({ ...BASE, changeStream: { enabled: true } });
    expect(statementsOf(named(resources, "aws:kms/key:Key", "ledger-stream-topic").policy).map((statement) => statement.Sid)).toEqual(["AccountAdministers"]);
    expect(ofType(resources, "aws:sqs/queue:Queue").filter((queue) => queue.name.startsWith("ledger-stream-subscription"))).toEqual([]);
  });

  it("maps the stream with partial batch responses, bisection, bounded retries and a DLQ, read from the latest record", async () => {
    const resources = await deploy({ ...BASE, changeStream: { enabled: true, batchSize: 500, parallelizationFactor: 4, maximumRetryAttempts: 3 } });
    const mapping = named(resources, "aws:lambda/eventSourceMapping:EventSourceMapping", "ledger-stream");
    expect(mapping).toMatchObject({
      eventSourceArn: STREAM_ARN,
      startingPosition: "LATEST",
      batchSize: 500,
      parallelizationFactor: 4,
      functionResponseTypes: ["ReportBatchItemFailures"],
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 3,
      destinationConfig: { onFailure: { destinationArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:ledger-stream-dlq-1a2b3c` } },
    });
    const dlq = named(resources, "aws:sqs/queue:Queue", "ledger-stream-dlq");
    expect(dlq).toMatchObject({ messageRetentionSeconds: 14 * 86_400, sqsManagedSseEnabled: true });
    const dlqPolicy = statementsOf(named(resources, "aws:sqs/queuePolicy:QueuePolicy", "ledger-stream-dlq").policy);
    expect(dlqPolicy.map((statement) => statement.Sid)).toEqual(["DenyInsecureTransport"]);
    const fn = named(resources, "aws:lambda/function:Function", "ledger-stream");
    expect(fn.environment).toEqual({ variables: { TOPIC_ARN, PUBLISH_ATTEMPTS: "3" } });
  });

  it("grants the publisher exactly what it calls", async () => {
    const resources = await deploy({ ...BASE, changeStream: { enabled: true, targets: ["sns", "eventbridge"] } });
    const statements = statementsOf(named(resources, "aws:iam/rolePolicy:RolePolicy", "ledger-stream").policy);
    expect(statements.filter((statement) => statement.Sid !== "WriteOwnLogs")).toEqual([
      {
        Sid: "ReadLedgerStream",
        Effect: "Allow",
        Action: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
        Resource: STREAM_ARN,
      },
      { Sid: "ReportDiscardedRecords", Effect: "Allow", Action: "sqs:SendMessage", Resource: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:ledger-stream-dlq-1a2b3c` },
      { Sid: "PublishChanges", Effect: "Allow", Action: "sns:Publish", Resource: TOPIC_ARN },
      {
        Sid: "EncryptChanges",
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: `arn:aws:mock:us-east-1:${ACCOUNT_ID}:Key/ledger-stream-topic-1a2b3c`,
      },
      { Sid: "PutChangeEvents", Effect: "Allow", Action: "events:PutEvents", Resource: `arn:aws:events:us-east-1:${ACCOUNT_ID}:event-bus/default` },
    ]);
  });

  it("with eventbridge only: no topic, the stack's own bus when asked, rules by bucket, prefix and change kind", async () => {
    const resources = await deploy({
      ...BASE,
      changeStream: {
        enabled: true,
        targets: ["eventbridge"],
        eventBus: "stack",
        rules: [{ name: "thumbnails", targetArn: "arn:aws:sqs:us-east-1:123456789012:thumbs", prefix: "images/", changes: ["created", "overwritten"] }],
      },
    });
    expect(ofType(resources, "aws:sns/topic:Topic").filter((topic) => topic.name.startsWith("ledger-stream"))).toEqual([]);
    expect(ofType(resources, "aws:cloudwatch/eventBus:EventBus").map((bus) => bus.name)).toEqual(["ledger-stream-bus"]);
    const rule = named(resources, "aws:cloudwatch/eventRule:EventRule", "ledger-stream-rule-thumbnails");
    expect(rule.eventBusName).toBe("ledger-stream-bus-1a2b3c");
    expect(JSON.parse(rule.eventPattern as string)).toEqual({
      source: ["bucket-ledger"],
      "detail-type": ["Ledger Object Created", "Ledger Object Overwritten"],
      detail: { key: [{ prefix: "images/" }] },
    });
    expect(named(resources, "aws:cloudwatch/eventTarget:EventTarget", "ledger-stream-rule-thumbnails")).toMatchObject({
      arn: "arn:aws:sqs:us-east-1:123456789012:thumbs",
    });
    const fn = named(resources, "aws:lambda/function:Function", "ledger-stream");
    expect(fn.environment).toEqual({ variables: { EVENT_BUS: "ledger-stream-bus-1a2b3c", PUBLISH_ATTEMPTS: "3" } });
  });

  it("alarms on the DLQ's depth and on the iterator's age, and outputs the topic", async () => {
    const ledger = new BucketLedger("ledger", { ...BASE, changeStream: { enabled: true, iteratorAgeAlarmSeconds: 120 } });
    expect(await resolve(ledger.outputs.changeTopicArn!)).toBe(TOPIC_ARN);
    await resolve(pulumi.all([ledger.placement, ledger.outputs.alarmNames]));
    await new Promise((r) => setTimeout(r, 250));
    expect(named(recorded, "aws:cloudwatch/metricAlarm:MetricAlarm", "ledger-monitoring-stream-dlq")).toMatchObject({
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: "ledger-stream-dlq-1a2b3c" },
      threshold: 0,
    });
    expect(named(recorded, "aws:cloudwatch/metricAlarm:MetricAlarm", "ledger-monitoring-stream-iterator-age")).toMatchObject({
      namespace: "AWS/Lambda",
      metricName: "IteratorAge",
      dimensions: { FunctionName: "ledger-stream-1a2b3c" },
      statistic: "Maximum",
      threshold: 120_000,
    });
  });

  it("alarms on each subscription's DLQ as on the stream DLQ, naming the queue that missed changes", async () => {
    const queueArn = `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:indexer.fifo`;
    const resources = await deploy({ ...BASE, changeStream: { enabled: true, subscriptions: [{ queueArn }] } });
    const alarm = named(resources, "aws:cloudwatch/metricAlarm:MetricAlarm", "ledger-monitoring-stream-subscription-0-dlq");
    expect(alarm).toMatchObject({
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: "ledger-stream-subscription-0-dlq-1a2b3c" },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
    expect(alarm.alarmDescription).toContain(queueArn);
    expect(ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").filter((each) => each.name.includes("stream-subscription"))).toHaveLength(1);
  });
});

describe("a subscription to another account's queue", () => {
  it("is named with both accounts, and none of the stack's own is refused", () => {
    const own = `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:own.fifo`;
    const other = "arn:aws:sqs:us-east-1:210987654321:indexer.fifo";
    expect(subscriptionAccountProblems(ACCOUNT_ID, [{ queueArn: own }])).toEqual([]);
    expect(subscriptionAccountProblems(ACCOUNT_ID, [])).toEqual([]);
    const problems = subscriptionAccountProblems(ACCOUNT_ID, [{ queueArn: own }, { queueArn: other }]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^changeStream\\.subscriptions\\[1\\]: queue ${other} is in account 210987654321, the stack in ${ACCOUNT_ID}; `));
    expect(problems[0]).toContain("add 210987654321 to changeStream.subscribers (changeStreamSubscribers)");
    expect(problems[0]).toContain("from account 210987654321");
  });

  it("fails the deployment with the account the provider reports, before its subscription is registered", () => {
    // In a process of its own, as pulumi up runs the program: the refusal is the program's failure.
    const run = spawnSync(process.execPath, ["--no-warnings", "--import", "tsx", "test/infra/cross-account-subscription-entry.ts"], {
      cwd: new URL("../..", import.meta.url),
      encoding: "utf8",
      timeout: 60_000,
    });
    const { errors, subscribed } = JSON.parse(run.stdout.split("\n")[0]!) as { errors: string[]; subscribed: string[] };
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toMatch(
        /invalid bucket-ledger configuration:\n- changeStream\.subscriptions\[1\]: queue arn:aws:sqs:us-east-1:210987654321:indexer\.fifo is in account 210987654321, the stack in 123456789012;/,
      );
      expect(error).toMatch(/\n- changeStream\.subscriptions\[2\]: queue arn:aws:sqs:eu-west-1:111122223333:search\.fifo is in account 111122223333/);
      expect(error).not.toContain("subscriptions[0]");
    }
    // None is registered, not even the stack's own: the whole configuration is refused at once.
    expect(subscribed).toEqual([]);
  }, 90_000);
});

describe("the change stream's configuration", () => {
  it("is read from the stack's keys", () => {
    const args = argsFromStackConfig({
      changeStream: "true",
      changeStreamTargets: JSON.stringify(["sns", "eventbridge"]),
      changeStreamEventBus: "stack",
      changeStreamSubscribers: JSON.stringify(["111122223333"]),
      changeStreamSubscriptions: JSON.stringify([{ queueArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:q.fifo`, prefix: "a/" }]),
    });
    expect(args.changeStream).toEqual({
      enabled: true,
      targets: ["sns", "eventbridge"],
      eventBus: "stack",
      subscribers: ["111122223333"],
      subscriptions: [{ queueArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:q.fifo`, prefix: "a/" }],
    });
  });

  it("refuses what cannot work, every problem at once", () => {
    const deployBad = () =>
      new BucketLedger("bad", {
        ...BASE,
        changeStream: {
          enabled: true,
          targets: ["eventbridge"],
          subscriptions: [{ queueArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:q.fifo`, buckets: ["elsewhere"] }],
          rules: [
            { name: "r", targetArn: "arn:aws:sqs:us-east-1:1:q" },
            { name: "r", targetArn: "arn:aws:sqs:us-east-1:1:q" },
          ],
        },
      });
    expect(deployBad).toThrow(BucketLedgerConfigError);
    try {
      deployBad();
    } catch (error) {
      expect((error as BucketLedgerConfigError).problems).toEqual([
        "changeStream.subscriptions: subscriptions are to the SNS topic; add sns to changeStream.targets",
        "changeStream.rules: r is named twice",
        "changeStream.subscriptions[0].buckets: elsewhere is not a tracked bucket (adoptBuckets, or createBucket.name)",
      ]);
    }
    expect(
      () =>
        new BucketLedger("bad2", { ...BASE, changeStream: { enabled: true, subscriptions: [{ queueArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:standard` }] } }),
    ).toThrow(/not an SQS FIFO queue's ARN/);
    expect(() => new BucketLedger("bad3", { ...BASE, changeStream: { enabled: true, targets: [] } })).toThrow(/name sns, eventbridge or both/);
    expect(() => new BucketLedger("bad4", { ...BASE, changeStream: { enabled: true, subscribers: ["someone"] } })).toThrow(
      /12-digit account id or an IAM principal ARN/,
    );
  });

  it("names the topic within SNS's limits, and filters as SNS and EventBridge match", () => {
    const name = changeTopicName("p", "s".repeat(300), "c");
    expect(name.length).toBe(251);
    expect(`${name}.fifo`).toMatch(/^[A-Za-z0-9_-]{1,251}\.fifo$/);
    expect(changeTopicName("my.project", "dev", "ledger")).toBe("bucket-ledger-my-project-dev-ledger-changes");
    expect(subscriptionFilterPolicy({})).toBeUndefined();
    expect(subscriptionFilterPolicy({ changes: ["deleted"] })).toEqual({ change: ["deleted"] });
    expect(changeEventPattern({})).toEqual({ source: ["bucket-ledger"] });
    expect(changeEventPattern({ buckets: ["b"] })).toEqual({ source: ["bucket-ledger"], detail: { bucket: ["b"] } });
  });
});
