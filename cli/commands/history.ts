import type { Command } from "commander";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { formatTime, historyColumns, historyRow, outputMode, writeLine } from "../output.js";
import { LookupFailedError } from "../errors.js";
import { escapeTerminal, toJson } from "../escape.js";
import { bucketArgument } from "../option-parsers.js";

interface HistoryOptions extends TargetOptions {
  json?: boolean;
}

export function registerHistory(program: Command): void {
  withTargetOptions(program.command("history"))
    .description("every change of one key the journal kept, oldest first: when, what, and who (as far as the stack's origin setting keeps it)")
    .addArgument(bucketArgument())
    .argument("<key>", "object key, exactly as in S3 (quote it)")
    .option("--json", "one JSON document: {bucket, key, complete, entries} (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      [
        "",
        "The journal keeps each change for historyDays (stack config, 90 by default). When the oldest",
        "change kept is not the key's first, the history says where it starts (`complete: false`).",
        "Exit code 1 when the journal holds nothing for the key.",
        "",
        "Examples:",
        "  bucket-ledger history my-bucket reports/q3.csv --stack prod",
        "  bucket-ledger history ledger-demo hello.txt --local --json | jq '.entries[] | select(.deleted)'",
      ].join("\n"),
    )
    .action(async (bucket: string, key: string, options: HistoryOptions) => {
      const ledger = await openLedger(options);
      const history = await ledger.history(bucket, key);
      if (history.entries.length === 0)
        throw new LookupFailedError(
          `no history of ${toJson(key)} in ${escapeTerminal(bucket)}: never changed while the journal was on, or longer ago than its retention`,
        );
      if (outputMode(options).json) {
        writeLine(toJson(history));
        return;
      }
      if (!history.complete)
        process.stderr.write(`history starts at ${formatTime(history.entries[0]!.observedAt)}: older changes have expired or predate the journal\n`);
      writeLine(historyColumns);
      for (const entry of history.entries) writeLine(historyRow(entry));
    });
}
