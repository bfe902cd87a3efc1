import { noticeIfUnknown } from "../unknown-bucket.js";
import type { Command } from "commander";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { formatBytes, formatTime, outputMode } from "../output.js";
import { statusLine } from "../status-line.js";
import { escapeTerminal, toJson } from "../escape.js";
import { bucketArgument } from "../option-parsers.js";

interface StatOptions extends TargetOptions {
  json?: boolean;
}

export function registerStat(program: Command): void {
  withTargetOptions(program.command("stat"))
    .description("object count, total bytes, tombstones held and the newest change of a bucket")
    .addArgument(bucketArgument())
    .option("--json", "JSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nExact: reads the bucket's whole index (size and delete flag only), about one read unit per 20,000\nobjects; progress shows on a terminal.\n\nExamples:\n  bucket-ledger stat my-bucket --stack prod\n  bucket-ledger stat ledger-demo --local --json",
    )
    .action(async (bucket: string, options: StatOptions) => {
      const ledger = await openLedger(options);
      const progress = statusLine(process.stderr);
      const stats = await ledger
        .stats({ bucket, onProgress: (read) => progress.update(`reading the index of ${bucket}: ${read} items`) })
        .finally(() => progress.done());
      if (stats.objects === 0 && stats.tombstones === 0) await noticeIfUnknown(ledger, bucket);
      if (outputMode(options).json) {
        process.stdout.write(`${toJson(stats)}\n`);
        return;
      }
      const newest = stats.newestChange;
      const rows: [string, string][] = [
        ["bucket", bucket],
        ["objects", stats.objects.toLocaleString("en-US")],
        ["total size", `${formatBytes(stats.totalBytes)} (${stats.totalBytes.toLocaleString("en-US")} bytes)`],
        ["tombstones held", stats.tombstones.toLocaleString("en-US")],
        [
          "newest change",
          newest ? `${formatTime(newest.recordedAt)}  ${newest.deleted ? "deleted " : ""}${newest.key}` : `none in the last ${ledger.retentionDays} days`,
        ],
      ];
      for (const [name, value] of rows) process.stdout.write(`${name.padEnd(18)}${escapeTerminal(value)}\n`);
    });
}
