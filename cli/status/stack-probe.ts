/**
 * The stack's side of `status`: queue depths, the event queue's lag and the alarms.
 *
 * - With `--stack`: SQS GetQueueAttributes for the depths; CloudWatch for the lag (SQS has no
 *   attribute for the oldest message's age: it is the `ApproximateAgeOfOldestMessage` metric,
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html)
 *   and DescribeAlarms for the stack's alarms (the `alarmNames` output).
 * - With `--local`: the same depths from the emulator; no CloudWatch, so no lag, and the alarms
 *   the stack would raise are judged from the queues they watch (a DLQ with messages).
 *
 * An operator may be allowed to read some of this and not the rest (a role without CloudWatch,
 * or without one queue): each part that cannot be read is named with the action it needed and
 * the error it got, and the rest is still read.
 */
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { queueDepth } from "../../local/queues.js";
import { withoutSdkLogger } from "../../aws/lean-client.js";
import type { Operations, OperationsQueues } from "../ledger-target.js";
import { expressionRunSchedule, intervalRunSchedule, type RunSchedule } from "./first-run.js";

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

/** A part of the stack that could not be read: the IAM action it needs, and AWS's error code (or the network's). */
export interface Unreadable {
  /** As `status` names the part: `event queue`, `event queue lag`, `alarms`... */
  part: string;
  action: string;
  error: string;
}

/** What a probe could read, and the parts it could not. */
export interface Reading<T> {
  read: T;
  unreadable: Unreadable[];
}

export interface StackProbe {
  queues(): Promise<Reading<QueueHealth[]>>;
  /** Alarms in ALARM state; undefined when they could not be read. */
  alarms(): Promise<Reading<AlarmState[] | undefined>>;
  /** The stack's reconciliation schedule, to say when a bucket's first run is due; undefined when not known. Asked only while a bucket has no run. */
  runSchedule(): Promise<Reading<RunSchedule | undefined>>;
}

/** How `status` names each queue. */
export const QUEUE_TOPIC: Record<QueueRole, string> = {
  events: "event queue",
  eventDeadLetter: "event DLQ",
  taskDeadLetter: "task DLQ",
  ingestDeadLetter: "ingest DLQ",
};

const MAX_ALARM_NAMES = 100;

const queueNameOf = (url: string) => url.slice(url.lastIndexOf("/") + 1);

/**
 * The error as the operator can act on it: a service's refusal by its code (`AccessDenied`,
 * `AccessDeniedException`, `ThrottlingException`), a network failure by Node's system code
 * (`ECONNREFUSED`, `ENOTFOUND`).
 */
export function errorCodeOf(error: unknown): string {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  if (typeof code === "string") return code;
  return typeof name === "string" ? name : String(error);
}

/** Runs one read; a failure becomes the part's `Unreadable` instead of failing the whole status. */
async function attempt<T>(part: string, action: string, read: () => Promise<T>): Promise<{ value: T } | { unreadable: Unreadable }> {
  try {
    return { value: await read() };
  } catch (error) {
    return { unreadable: { part, action, error: errorCodeOf(error) } };
  }
}

/** Each queue's depth (sqs:GetQueueAttributes), each read on its own: a policy may allow some queues and not others. */
async function depths(ops: Operations): Promise<Reading<QueueHealth[]>> {
  const entries = Object.entries(ops.queues) as [QueueRole, string][];
  const attempts = await Promise.all(
    entries.map(([role, url]) =>
      attempt(QUEUE_TOPIC[role], "sqs:GetQueueAttributes", async (): Promise<QueueHealth> => {
        const depth = await queueDepth(ops.sqs, url);
        return { role, url, visible: depth.visible + depth.delayed, inFlight: depth.inFlight };
      }),
    ),
  );
  return {
    read: attempts.flatMap((result) => ("value" in result ? [result.value] : [])),
    unreadable: attempts.flatMap((result) => ("unreadable" in result ? [result.unreadable] : [])),
  };
}

/** The event queue's oldest message age from CloudWatch (undefined when it has no datapoint yet). */
async function oldestAge(cloudwatch: CloudWatchClient, eventQueueUrl: string): Promise<number | undefined> {
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
              Dimensions: [{ Name: "QueueName", Value: queueNameOf(eventQueueUrl) }],
            },
            Period: 60,
            Stat: "Maximum",
          },
        },
      ],
    }),
  );
  return MetricDataResults[0]?.Values?.[0];
}

export function awsStackProbe(
  ops: Operations,
  cloudwatch: CloudWatchClient = withoutSdkLogger(new CloudWatchClient(ops.region === undefined ? {} : { region: ops.region })),
  dynamodb: DynamoDBClient = withoutSdkLogger(new DynamoDBClient(ops.region === undefined ? {} : { region: ops.region })),
): StackProbe {
  return {
    async runSchedule() {
      const source = ops.schedule;
      if (source?.kind !== "expression") return { read: undefined, unreadable: [] };
      const read = await attempt("stack age", "dynamodb:DescribeTable", () => expressionRunSchedule(source, dynamodb));
      return "value" in read ? { read: read.value, unreadable: [] } : { read: undefined, unreadable: [read.unreadable] };
    },
    async queues() {
      const eventQueueUrl = ops.queues.events;
      // The lag is CloudWatch's, not the queue's: read beside the depths, whichever fails.
      const [queues, age] = await Promise.all([
        depths(ops),
        eventQueueUrl === undefined ? undefined : attempt(`${QUEUE_TOPIC.events} lag`, "cloudwatch:GetMetricData", () => oldestAge(cloudwatch, eventQueueUrl)),
      ]);
      const events = queues.read.find((queue) => queue.role === "events");
      if (events && age && "value" in age && age.value !== undefined) events.oldestAgeSeconds = age.value;
      return { read: queues.read, unreadable: [...queues.unreadable, ...(age && "unreadable" in age ? [age.unreadable] : [])] };
    },
    async alarms() {
      if (ops.alarmNames.length === 0) return { read: [], unreadable: [] };
      const described = await attempt("alarms", "cloudwatch:DescribeAlarms", () =>
        cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ops.alarmNames.slice(0, MAX_ALARM_NAMES) })),
      );
      if ("unreadable" in described) return { read: undefined, unreadable: [described.unreadable] };
      const { MetricAlarms = [] } = described.value;
      const alarms = MetricAlarms.filter((alarm) => alarm.StateValue === "ALARM").map((alarm) => ({
        name: alarm.AlarmName ?? "?",
        state: "ALARM",
        ...(alarm.StateReason !== undefined && { reason: alarm.StateReason }),
      }));
      return { read: alarms, unreadable: [] };
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
  let read: Promise<Reading<QueueHealth[]>> | undefined;
  const queues = () => (read ??= depths(ops));
  return {
    queues,
    async runSchedule() {
      return { read: ops.schedule?.kind === "interval" ? intervalRunSchedule(ops.schedule) : undefined, unreadable: [] };
    },
    async alarms() {
      const { read: readable, unreadable } = await queues();
      const watched = new Set((Object.keys(LOCAL_ALARMS) as QueueRole[]).map((role) => QUEUE_TOPIC[role]));
      // An alarm watching a queue that could not be read cannot be judged.
      const blind = unreadable.find((part) => watched.has(part.part));
      if (blind) return { read: undefined, unreadable: [{ ...blind, part: "alarms" }] };
      const alarms = readable.flatMap((queue) => {
        const name = LOCAL_ALARMS[queue.role];
        return name && queue.visible > 0 ? [{ name, state: "ALARM", reason: `${queue.visible} messages in ${queueNameOf(queue.url)}` }] : [];
      });
      return { read: alarms, unreadable: [] };
    },
  };
}
