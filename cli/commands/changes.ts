import type { Command } from "commander";
import { changesCursor, changesPageSizeForLimit } from "../../ledger/index.js";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { changeColumns, changeRow } from "../output.js";
import { bucketArgument, parsePositiveInt, parseSince } from "../option-parsers.js";
import { printRecords } from "./records.js";
import { noticeIfUnknown } from "../unknown-bucket.js";

interface ChangesOptions extends TargetOptions {
  since: string;
  limit?: number;
  cursor?: string;
  json?: boolean;
}

export function registerChanges(program: Command): void {
  withTargetOptions(program.command("changes"))
    .description("objects created, overwritten or deleted since a time, in the order the ledger recorded them")
    .addArgument(bucketArgument())
    .requiredOption("-s, --since <time>", "ISO-8601 time, or a duration ago: 15m, 6h, 2d")
    .option("-n, --limit <n>", "stop after n changes and print a resume cursor", parsePositiveInt("--limit"))
    .option("--cursor <cursor>", "resume where an earlier --limit stopped")
    .option("--json", "NDJSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nExamples:\n  bucket-ledger changes my-bucket --since 24h --table ledger-prod\n  bucket-ledger changes ledger-demo --since 2026-11-21T00:00:00Z --local --json",
    )
    .action(async (bucket: string, options: ChangesOptions) => {
      const since = parseSince(options.since);
      const ledger = await openLedger(options);
      await printRecords({
        records: ledger.changes({
          bucket,
          since,
          ...(options.cursor !== undefined && { cursor: options.cursor }),
          ...(options.limit !== undefined && { pageSize: changesPageSizeForLimit(options.limit) }),
        }),
        ...(options.limit !== undefined && { limit: options.limit }),
        ...(options.json !== undefined && { json: options.json }),
        header: changeColumns,
        row: changeRow,
        cursorAfter: (last) => changesCursor(bucket, last),
        empty: `no changes in ${bucket} since ${since.toISOString()}`,
        onEmpty: () => noticeIfUnknown(ledger, bucket),
      });
    });
}
