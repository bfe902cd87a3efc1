import type { Command } from "commander";
import { DynamoDbRunStore } from "../../reconcile/dynamodb-run-store.js";
import { openTarget, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { toJson } from "../escape.js";
import { outputMode } from "../output.js";
import { collectStatus } from "../status/report.js";
import { renderStatus } from "../status/render.js";
import { awsStackProbe, localStackProbe } from "../status/stack-probe.js";

interface StatusOptions extends TargetOptions {
  json?: boolean;
}

export function registerStatus(program: Command): void {
  withTargetOptions(program.command("status"))
    .description("is the system healthy? each bucket's size, newest change and last reconciliation; the stack's queues, lag and alarms")
    .option("--json", "one JSON document (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      [
        "",
        "Cheap on any bucket: object counts and bytes are those of the last complete reconciliation (an",
        "estimate of now, labelled so), not a read of the index as `stat` does.",
        "",
        "With --stack: queue depths (SQS), the event queue's lag (CloudWatch ApproximateAgeOfOldestMessage)",
        "and the stack's alarms in ALARM (CloudWatch DescribeAlarms). With --local: the same queues, and the",
        "alarms judged from the queues they watch. With --table alone: the buckets only.",
        "",
        "A part of the stack the caller may not read (or cannot reach) is named, with the action it needs",
        "and the error it got, and the rest is still shown. It needs dynamodb:Query and dynamodb:GetItem on",
        "the table and its indexes; with --stack or --local, sqs:GetQueueAttributes on the stack's queues;",
        "with --stack, cloudwatch:GetMetricData and cloudwatch:DescribeAlarms, and while a bucket has never been",
        "reconciled dynamodb:DescribeTable (the table's creation: when the schedule began).",
        "",
        "A bucket not reconciled yet is well until its first run is due, and needs attention once that run is",
        "late. Its first run is the stack's first after both the schedule began (dev: every --reconcile-every",
        "from its start; a deployed stack: its reconcileSchedule from the table's creation, a rate at once) and",
        "the ledger first recorded the bucket, so a bucket adopted into a running stack waits for the next run.",
        "",
        "Exit codes: 0 all is well, 4 something needs attention (a parked message, a failed or missing",
        "reconciliation, lag, an alarm, failed ingestions), 5 all that could be read is well but a part of",
        "the stack could not be read, 1 the ledger could not be read.",
        "",
        "Examples:",
        "  bucket-ledger status --stack prod",
        "  bucket-ledger status --local --json | jq .findings",
        "  bucket-ledger status --stack prod >/dev/null || echo 'bucket-ledger needs attention'",
      ].join("\n"),
    )
    .action(async (options: StatusOptions) => {
      const target = await openTarget(options);
      const ops = target.operations;
      const report = await collectStatus({
        ledger: target.ledger,
        runs: new DynamoDbRunStore(target.ledger.tableName, target.documentClient),
        buckets: ops?.buckets ?? [],
        ...(ops && { stack: { name: ops.name, probe: ops.where === "stack" ? awsStackProbe(ops) : localStackProbe(ops) } }),
      });
      const mode = outputMode(options);
      process.stdout.write(mode.json ? `${toJson(report)}\n` : `${renderStatus(report, mode)}\n`);
      process.exitCode = report.exitCode;
    });
}
