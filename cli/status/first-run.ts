/**
 * When a bucket's first reconciliation is due. A bucket with no run yet is not a problem while
 * its first run is still ahead: `status` says when that run is due, and calls it a problem only
 * once it is late.
 *
 * A bucket's first run is the schedule's first after both the schedule began and the ledger first
 * recorded the bucket (its registry item's `firstSeenAt`, ledger/buckets.ts): a bucket adopted
 * into a stack that has run for months waits for the next run, not for the stack's first.
 *
 * - `dev`: runs every `--reconcile-every` from the moment it is ready (its dev.json records both).
 * - A deployed stack: its EventBridge Scheduler schedule (the `reconcileSchedule` and
 *   `reconcileTimezone` outputs) began when the stack was created, which is when its ledger
 *   table was: DescribeTable's `CreationDateTime`, "the date and time when the table was
 *   created" (DynamoDB API reference, TableDescription:
 *   https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TableDescription.html).
 */
import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { formatDuration } from "../option-parsers.js";
import { firstFiringAfter } from "./schedule.js";

/** What `status` is told of the stack's reconciliation schedule. */
export type ScheduleSource =
  /** `dev`: every `everyMs` (0: never) from `startedAt`. */
  | { kind: "interval"; everyMs: number; startedAt: string }
  /** A deployed stack: its schedule expression, in its time zone, from the creation of its table. */
  | { kind: "expression"; expression: string; timezone: string; tableName: string };

/** A stack's reconciliation schedule, as `status` judges a bucket that has not run yet by it. */
export interface RunSchedule {
  /** The schedule as its user set it: `dev --reconcile-every 5m`, `cron(0 3 * * ? *) UTC`. */
  schedule: string;
  /** When the schedule began: dev's start, the table's creation. */
  began: Date;
  /** The first run due at or after `from` (never before `began`); undefined when nothing schedules a run. */
  firstRunFrom(from: Date): Date | undefined;
}

export interface FirstRun {
  schedule: string;
  /** ISO-8601; absent when nothing schedules a run (`dev --reconcile-every off`). */
  due?: string;
}

/** A bucket's first run: from the later of the schedule's start and when the ledger first recorded the bucket (absent: never). */
export function firstRunOf(runs: RunSchedule, firstSeenAt: string | undefined): FirstRun {
  const seen = firstSeenAt === undefined ? Number.NaN : new Date(firstSeenAt).getTime();
  const from = Number.isNaN(seen) || seen < runs.began.getTime() ? runs.began : new Date(seen);
  const due = runs.firstRunFrom(from);
  return { schedule: runs.schedule, ...(due && { due: due.toISOString() }) };
}

/** `dev`'s schedule, from its dev.json: a run every `everyMs` after it started. */
export function intervalRunSchedule(source: Extract<ScheduleSource, { kind: "interval" }>): RunSchedule {
  const began = new Date(source.startedAt);
  if (source.everyMs === 0) return { schedule: "dev --reconcile-every off", began, firstRunFrom: () => undefined };
  return {
    schedule: `dev --reconcile-every ${formatDuration(source.everyMs)}`,
    began,
    firstRunFrom: (from) => {
      const runsBefore = Math.floor((from.getTime() - began.getTime()) / source.everyMs);
      return new Date(began.getTime() + (runsBefore + 1) * source.everyMs);
    },
  };
}

/** A deployed stack's schedule; undefined when its first time is not known (an expression not evaluated). */
export async function expressionRunSchedule(
  source: Extract<ScheduleSource, { kind: "expression" }>,
  dynamodb: DynamoDBClient,
): Promise<RunSchedule | undefined> {
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: source.tableName }));
  const began = Table?.CreationDateTime;
  if (began === undefined || firstFiringAfter(source.expression, source.timezone, began, began) === undefined) return undefined;
  return {
    schedule: `${source.expression} ${source.timezone}`,
    began,
    firstRunFrom: (from) => firstFiringAfter(source.expression, source.timezone, from, began),
  };
}
