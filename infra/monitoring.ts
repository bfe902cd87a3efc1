/**
 * Alarms that page someone and a dashboard that shows the ledger working: events applied,
 * skipped and failed, queue lag, and drift found by each reconciliation.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import { METRIC_NAMESPACE, METRICS, type MetricService } from "../observability/metrics.js";
import { AlarmTopic } from "./alarm-topic.js";
import type { Cloud } from "./arns.js";

type MetricOf<S extends MetricService> = keyof (typeof METRICS)[S];

const nameOf = <S extends MetricService>(service: S, metric: MetricOf<S>): string => (METRICS[service] as Record<MetricOf<S>, string>)[metric];

/** One of the ledger's own metrics as an alarm selects it: as the function emits it, with the function as `service`. */
function alarmMetric<S extends MetricService>(service: S, metric: MetricOf<S>) {
  return { namespace: METRIC_NAMESPACE, metricName: nameOf(service, metric), dimensions: { service } };
}

/** The same metric as a dashboard widget lists it. */
function widgetMetric<S extends MetricService>(service: S, metric: MetricOf<S>): string[] {
  return [METRIC_NAMESPACE, nameOf(service, metric), "service", service];
}

export interface MonitoringArgs {
  /** CloudWatch dashboard name, validated and unique per account (see args.ts). */
  dashboardName: string;
  cloud: Cloud;
  alarmEmail?: string;
  alarmTopicArn?: string;
  driftAlarmThreshold: number;
  queueName: pulumi.Input<string>;
  deadLetterQueueName: pulumi.Input<string>;
  trackerFunctionName: pulumi.Input<string>;
  reconcileTaskDeadLetterQueueName: pulumi.Input<string>;
  /** With ingestion rules. */
  ingestDeadLetterQueueName?: pulumi.Input<string>;
  /** With the change stream: its publisher, the queue of what it gave up on, and how old a record may wait. */
  changeStream?: {
    functionName: pulumi.Input<string>;
    deadLetterQueueName: pulumi.Input<string>;
    iteratorAgeAlarmSeconds: number;
    /** The DLQ of each subscription the stack made, and the queue subscribed. */
    subscriptionDeadLetterQueues: { queueName: pulumi.Input<string>; subscribedQueueArn: string }[];
  };
}

export class Monitoring extends pulumi.ComponentResource {
  readonly alarmTopicArn?: pulumi.Output<string>;
  readonly dashboard: aws.cloudwatch.Dashboard;
  readonly alarms: aws.cloudwatch.MetricAlarm[] = [];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:Monitoring", name, {}, opts);
    if (args.alarmEmail) {
      const topic = new AlarmTopic(`${name}-alarms`, { cloud: args.cloud }, { parent: this });
      new aws.sns.TopicSubscription(`${name}-alarms-email`, { topic: topic.arn, protocol: "email", endpoint: args.alarmEmail }, { parent: this });
      this.alarmTopicArn = topic.arn;
    } else if (args.alarmTopicArn) {
      this.alarmTopicArn = pulumi.output(args.alarmTopicArn);
    }
    const actions = this.alarmTopicArn ? [this.alarmTopicArn] : [];
    const alarm = (suffix: string, description: string, metric: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "alarmDescription">) =>
      this.alarms.push(
        new aws.cloudwatch.MetricAlarm(
          `${name}-${suffix}`,
          { alarmDescription: description, alarmActions: actions, okActions: actions, treatMissingData: "notBreaching", ...metric },
          { parent: this },
        ),
      );

    alarm("dlq-not-empty", "bucket-ledger: S3 events failed repeatedly and are in the DLQ; the next reconciliation repairs the ledger, then redrive or purge", {
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: args.deadLetterQueueName },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
    alarm(
      "reconcile-tasks-dlq",
      "bucket-ledger: reconciliation tasks failed repeatedly and are in the task DLQ; their run will be failed at the next planning",
      {
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: args.reconcileTaskDeadLetterQueueName },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
      },
    );
    alarm("tracker-errors", "bucket-ledger: the tracker Lambda failed invocations", {
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: args.trackerFunctionName },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
    // Runs, not invocations: a task that fails once and succeeds on retry is not worth a page.
    alarm("reconcile-failed", "bucket-ledger: a reconciliation run failed, was refused by the delete guard, or could not start", {
      ...alarmMetric("reconcile", "runsFailed"),
      statistic: "Sum",
      period: 3600,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
    alarm("drift", `bucket-ledger: a reconciliation found more than ${args.driftAlarmThreshold} objects of drift (events are being lost)`, {
      ...alarmMetric("reconcile", "driftFound"),
      statistic: "Maximum",
      period: 86_400,
      evaluationPeriods: 1,
      threshold: args.driftAlarmThreshold,
      comparisonOperator: "GreaterThanThreshold",
    });

    // The event queue admits only the tracked buckets and the stack's rules (event-delivery.ts): an
    // event about another bucket means a policy, rule or notification changed outside the stack.
    alarm(
      "untracked-bucket-events",
      "bucket-ledger: the tracker received events about buckets this stack does not track and dropped them; the event queue's policy, a rule or a notification was changed outside the stack. See the tracker's WARN lines for the buckets",
      {
        ...alarmMetric("tracker", "eventsUntrackedBucket"),
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
      },
    );

    alarm(
      "key-encoding",
      "bucket-ledger: reconciliation found ledger keys that are the URL-encoded (or decoded) form of bucket keys: S3 event keys are being decoded wrongly, and the same keys will drift every night; see the reconcile function's logs",
      {
        ...alarmMetric("reconcile", "keyEncodingMismatches"),
        statistic: "Maximum",
        period: 86_400,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
      },
    );

    if (args.ingestDeadLetterQueueName) {
      alarm(
        "ingest-failed",
        "bucket-ledger: a file could not be ingested (malformed, or rows DynamoDB never took); see `bucket-ledger ingestions <bucket> --failed`",
        {
          ...alarmMetric("ingest", "ingestionsFailed"),
          statistic: "Sum",
          period: 300,
          evaluationPeriods: 1,
          threshold: 0,
          comparisonOperator: "GreaterThanThreshold",
        },
      );
      alarm("ingest-dlq", "bucket-ledger: ingestion requests failed repeatedly and are in the ingestion DLQ; reconciliation queues their files again", {
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: args.ingestDeadLetterQueueName },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
      });
    }

    if (args.changeStream) {
      alarm(
        "stream-dlq",
        "bucket-ledger: the change stream's publisher gave up on records (their shard and sequence numbers are in the stream DLQ); consumers missed those changes: replay them with `bucket-ledger replay`",
        {
          namespace: "AWS/SQS",
          metricName: "ApproximateNumberOfMessagesVisible",
          dimensions: { QueueName: args.changeStream.deadLetterQueueName },
          statistic: "Maximum",
          period: 300,
          evaluationPeriods: 1,
          threshold: 0,
          comparisonOperator: "GreaterThanThreshold",
        },
      );
      args.changeStream.subscriptionDeadLetterQueues.forEach(({ queueName, subscribedQueueArn }, index) =>
        alarm(
          `stream-subscription-${index}-dlq`,
          `bucket-ledger: SNS gave up delivering changes to ${subscribedQueueArn} (the queue is gone, or its policy or key refuses the topic); they are in this subscription's DLQ: fix the queue, then move them to it or replay them into it with \`bucket-ledger replay\``,
          {
            namespace: "AWS/SQS",
            metricName: "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: queueName },
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 0,
            comparisonOperator: "GreaterThanThreshold",
          },
        ),
      );
      // IteratorAge: "the age of the last record in the event" for stream sources, in milliseconds
      // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).
      alarm("stream-iterator-age", `bucket-ledger: the change stream is more than ${args.changeStream.iteratorAgeAlarmSeconds} s behind the ledger`, {
        namespace: "AWS/Lambda",
        metricName: "IteratorAge",
        dimensions: { FunctionName: args.changeStream.functionName },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 5,
        threshold: args.changeStream.iteratorAgeAlarmSeconds * 1000,
        comparisonOperator: "GreaterThanThreshold",
      });
    }

    this.dashboard = new aws.cloudwatch.Dashboard(
      name,
      {
        dashboardName: args.dashboardName,
        dashboardBody: pulumi.jsonStringify({
          widgets: [
            {
              type: "metric",
              width: 12,
              height: 6,
              properties: {
                title: "S3 events",
                region: args.cloud.region,
                stat: "Sum",
                period: 300,
                metrics: [
                  widgetMetric("tracker", "eventsApplied"),
                  widgetMetric("tracker", "eventsSkippedOlder"),
                  widgetMetric("tracker", "eventsDuplicate"),
                  widgetMetric("tracker", "messagesFailed"),
                ],
              },
            },
            {
              type: "metric",
              width: 12,
              height: 6,
              properties: {
                title: "Lag: oldest event waiting (s) and DLQ depth",
                region: args.cloud.region,
                stat: "Maximum",
                period: 300,
                metrics: [
                  ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", args.queueName],
                  ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", args.deadLetterQueueName],
                ],
              },
            },
            {
              type: "metric",
              width: 24,
              height: 6,
              properties: {
                title: "Drift found per reconciliation",
                region: args.cloud.region,
                stat: "Maximum",
                period: 86_400,
                metrics: [widgetMetric("reconcile", "driftFound"), widgetMetric("reconcile", "repairsMade")],
              },
            },
            ...(args.changeStream
              ? [
                  {
                    type: "metric",
                    width: 24,
                    height: 6,
                    properties: {
                      title: "Change stream: changes published, batches stopped",
                      region: args.cloud.region,
                      stat: "Sum",
                      period: 300,
                      metrics: [widgetMetric("stream", "changesPublished"), widgetMetric("stream", "batchesStopped")],
                    },
                  },
                ]
              : []),
            ...(args.ingestDeadLetterQueueName
              ? [
                  {
                    type: "metric",
                    width: 24,
                    height: 6,
                    properties: {
                      title: "Row ingestion: files and rows",
                      region: args.cloud.region,
                      stat: "Sum",
                      period: 300,
                      metrics: [
                        widgetMetric("ingest", "ingestionsSucceeded"),
                        widgetMetric("ingest", "ingestionsPartial"),
                        widgetMetric("ingest", "ingestionsFailed"),
                        widgetMetric("ingest", "ingestionsContinued"),
                        widgetMetric("ingest", "rowsWritten"),
                        widgetMetric("ingest", "rowsRejected"),
                        widgetMetric("ingest", "rowsDeleted"),
                      ],
                    },
                  },
                ]
              : []),
          ],
        }),
      },
      { parent: this },
    );
    this.registerOutputs({ dashboardName: this.dashboard.dashboardName });
  }
}
