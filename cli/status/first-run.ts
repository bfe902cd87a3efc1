/**
 * When a stack's first reconciliation is due. A bucket with no run yet is not a problem while
 * its stack is younger than its first run: `status` says when that run is due, and calls it a
 * problem only once it is late.
 *
 * - `dev`: runs every `--reconcile-every` from the moment it is ready (its dev.json records both).
 * - A deployed stack: its EventBridge Scheduler schedule (the `reconcileSchedule` and
 *   `reconcileTimezone` outputs) first fires after the stack was created, which is when its
 *   ledger table was: DescribeTable's `CreationDateTime`, "the date and time when the table was
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

export interface FirstRun {
  /** The schedule as its user set it: `dev --reconcile-every 5m`, `cron(0 3 * * ? *) UTC`. */
  schedule: string;
  /** ISO-8601; absent when nothing schedules a run (`dev --reconcile-every off`). */
  due?: string;
}

/** `dev`'s first run, from its dev.json. */
export function intervalFirstRun(source: Extract<ScheduleSource, { kind: "interval" }>): FirstRun {
  if (source.everyMs === 0) return { schedule: "dev --reconcile-every off" };
  return {
    schedule: `dev --reconcile-every ${formatDuration(source.everyMs)}`,
    due: new Date(new Date(source.startedAt).getTime() + source.everyMs).toISOString(),
  };
}

/** A deployed stack's first run; undefined when its schedule's first time is not known (an expression not evaluated). */
export async function expressionFirstRun(source: Extract<ScheduleSource, { kind: "expression" }>, dynamodb: DynamoDBClient): Promise<FirstRun | undefined> {
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: source.tableName }));
  if (Table?.CreationDateTime === undefined) return undefined;
  const due = firstFiringAfter(source.expression, source.timezone, Table.CreationDateTime);
  return due && { schedule: `${source.expression} ${source.timezone}`, due: due.toISOString() };
}
