import type { Command } from "commander";
import { DynamoDbRunStore } from "../../reconcile/dynamodb-run-store.js";
import { openTarget, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { escapeTerminal, padEndDisplay, toJson } from "../escape.js";
import { formatBytes, formatTime, outputMode, writeLine } from "../output.js";
import { bucketNames, readBucketStatus, type BucketStatus } from "../status/bucket-status.js";

interface BucketsOptions extends TargetOptions {
  json?: boolean;
}

function row(status: BucketStatus): string {
  const objects = status.objects
    ? `${status.objects.count.toLocaleString("en-US")}`.padStart(12) + `${formatBytes(status.objects.bytes)}`.padStart(11)
    : "-".padStart(12) + "-".padStart(11);
  const change = status.newestChange ? formatTime(status.newestChange.recordedAt) : "-";
  const run = status.lastRun ? `${escapeTerminal(status.lastRun.status)} ${formatTime(status.lastRun.finishedAt ?? status.lastRun.startedAt)}` : "never";
  return `${padEndDisplay(escapeTerminal(status.bucket), 40)}${objects}  ${change.padEnd(22)}${String(status.changeShards).padStart(6)}  ${run}`;
}

export function registerBuckets(program: Command): void {
  withTargetOptions(program.command("buckets"))
    .description(
      "the buckets the ledger has recorded: objects and bytes at the last complete run, the newest change, the change index's partitions a day, the last run",
    )
    .option("--json", "NDJSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nA bucket is recorded by its first event or reconciliation run. Object counts are those of the last\ncomplete reconciliation (an estimate of now).\n\nExamples:\n  bucket-ledger buckets --stack prod\n  bucket-ledger buckets --local --json",
    )
    .action(async (options: BucketsOptions) => {
      const target = await openTarget(options);
      const runs = new DynamoDbRunStore(target.ledger.tableName, target.documentClient);
      const names = await bucketNames(target.ledger, target.operations?.buckets ?? []);
      const mode = outputMode(options);
      if (names.length === 0) {
        process.stderr.write(`the ledger (table ${target.ledger.tableName}) has recorded no buckets yet\n`);
        return;
      }
      if (!mode.json)
        writeLine(`${"BUCKET".padEnd(40)}${"OBJECTS".padStart(12)}${"BYTES".padStart(11)}  ${"NEWEST CHANGE".padEnd(22)}${"SHARDS".padStart(6)}  LAST RUN`);
      for (const name of names) {
        const status = await readBucketStatus(target.ledger, runs, name);
        writeLine(mode.json ? toJson(status) : row(status));
      }
    });
}
