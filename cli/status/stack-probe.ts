/**
 * The stack's side of `status`: queue depths, the event queue's lag and the alarms.
 *
 * - With `--stack`: SQS GetQueueAttributes for the depths; CloudWatch for the lag (SQS has no
 *   attribute for the oldest message's age: it is the `ApproximateAgeOfOldestMessage` metric,
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html)
 *   and DescribeAlarms for the stack's alarms (the `alarmNames` output).
 * - With `--local`: the same depths from the emulator; no CloudWatch, so no lag, and the alarms
 *   the stack would raise are judged from the queues they watch (a DLQ with messages).
 */
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { queueDepth } from "../../local/queues.js";
import { withoutSdkLogger } from "../../sdk/lean-client.js";
import type { Operations, OperationsQueues } from "../ledger-target.js";

export type QueueRole = keyof OperationsQueues;

export interface QueueHealth {
  role: QueueRole;
  url: string;
  visible: number;
  inFlight: number;
  /** Seconds; absent where it cannot be measured (locally). */
  oldestAgeSeconds?: number;
}

export interface AlarmState {
  name: string;
  state: string;
  reason?: string;
}

export interface StackProbe {
  queues(): Promise<QueueHealth[]>;
  /** Alarms in ALARM state. */
  alarms(): Promise<AlarmState[]>;
}

const MAX_ALARM_NAMES = 100;

async function depths(ops: Operations): Promise<QueueHealth[]> {
  const entries = Object.entries(ops.queues) as [QueueRole, string][];
  return Promise.all(
    entries.map(async ([role, url]) => {
      const depth = await queueDepth(ops.sqs, url);
      return { role, url, visible: depth.visible + depth.delayed, inFlight: depth.inFlight };
    }),
  );
}

const queueNameOf = (url: string) => url.slice(url.lastIndexOf("/") + 1);

export function awsStackProbe(ops: Operations, cloudwatch: CloudWatchClient = withoutSdkLogger(new CloudWatchClient({}))): StackProbe {
  return {
    async queues() {
      const queues = await depths(ops);
      const events = queues.find((queue) => queue.role === "events");
      if (events) {
        const end = new Date();
        const { MetricDataResults = [] } = await cloudwatch.send(
          new GetMetricDataCommand({
            StartTime: new Date(end.getTime() - 10 * 60_000),
            EndTime: end,
            ScanBy: "TimestampDescending",
            MetricDataQueries: [
              {
                Id: "age",
                MetricStat: {
                  Metric: {
                    Namespace: "AWS/SQS",
                    MetricName: "ApproximateAgeOfOldestMessage",
                    Dimensions: [{ Name: "QueueName", Value: queueNameOf(events.url) }],
                  },
                  Period: 60,
                  Stat: "Maximum",
                },
              },
            ],
          }),
        );
        const newest = MetricDataResults[0]?.Values?.[0];
        if (newest !== undefined) events.oldestAgeSeconds = newest;
      }
      return queues;
    },
    async alarms() {
      if (ops.alarmNames.length === 0) return [];
      const { MetricAlarms = [] } = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ops.alarmNames.slice(0, MAX_ALARM_NAMES) }));
      return MetricAlarms.filter((alarm) => alarm.StateValue === "ALARM").map((alarm) => ({
        name: alarm.AlarmName ?? "?",
        state: "ALARM",
        ...(alarm.StateReason !== undefined && { reason: alarm.StateReason }),
      }));
    },
  };
}

/** The deployed stack's DLQ alarms (infra/monitoring.ts), judged from the local queues they watch. */
const LOCAL_ALARMS: Partial<Record<QueueRole, string>> = {
  eventDeadLetter: "dlq-not-empty",
  taskDeadLetter: "reconcile-tasks-dlq",
  ingestDeadLetter: "ingest-dlq",
};

export function localStackProbe(ops: Operations): StackProbe {
  // The alarms are judged from the same depths the queue lines show: one read of each queue.
  let read: Promise<QueueHealth[]> | undefined;
  const queues = () => (read ??= depths(ops));
  return {
    queues,
    async alarms() {
      return (await queues()).flatMap((queue) => {
        const name = LOCAL_ALARMS[queue.role];
        return name && queue.visible > 0 ? [{ name, state: "ALARM", reason: `${queue.visible} messages in ${queueNameOf(queue.url)}` }] : [];
      });
    },
  };
}
