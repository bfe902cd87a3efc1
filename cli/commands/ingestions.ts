import type { Command } from "commander";
import { openTarget, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { escapeTerminal, padEndDisplay, toJson } from "../escape.js";
import { formatTime, outputMode } from "../output.js";
import { bucketArgument } from "../option-parsers.js";

interface IngestionsOptions extends TargetOptions {
  key?: string;
  failed?: boolean;
  json?: boolean;
}

export function registerIngestions(program: Command): void {
  withTargetOptions(program.command("ingestions"))
    .description("row ingestions of a bucket's files, in key order: the latest of each file, how it ended, and its row counts")
    .addArgument(bucketArgument())
    .option("--key <key>", "only this object")
    .option("--failed", "only ingestions that did not fully succeed (failed or partial)")
    .option("--json", "NDJSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nA partial ingestion wrote its good rows and rejected the rest: its error report (NDJSON, one line per row) is in the\nbucket under the rule's error prefix. A failed one changed nothing (the file could not be parsed); REASON names the line.\n\nExamples:\n  bucket-ledger ingestions my-bucket --stack prod --failed\n  bucket-ledger ingestions ledger-demo --local --key imports/offers.csv --json",
    )
    .action(async (bucket: string, options: IngestionsOptions) => {
      const target = await openTarget(options);
      const mode = outputMode(options);
      let shown = 0;
      const query = { bucket, ...(options.key !== undefined && { key: options.key }), ...(options.failed && { failed: true }) };
      for await (const record of target.ledger.ingestions(query)) {
        const { checkpoint: _, ...visible } = record;
        if (mode.json) {
          process.stdout.write(`${toJson(visible)}\n`);
        } else {
          if (shown === 0)
            process.stdout.write(
              `${"UPDATED".padEnd(21)}${"STATUS".padEnd(10)}${"READ".padStart(9)}${"WRITTEN".padStart(9)}${"REJECTED".padStart(9)}${"DELETED".padStart(9)}  KEY  REASON\n`,
            );
          const status =
            record.status === "running" && record.progress
              ? `${record.status} ${Math.floor((100 * record.progress.offset) / Math.max(1, record.progress.size))}%`
              : record.status;
          process.stdout.write(
            `${formatTime(record.updatedAt).padEnd(21)}${padEndDisplay(escapeTerminal(status), 10)}${String(record.rowsRead).padStart(9)}${String(record.rowsWritten).padStart(9)}${String(record.rowsRejected).padStart(9)}${String(record.rowsDeleted).padStart(9)}  ${escapeTerminal(record.key)}  ${escapeTerminal(record.reason ?? "")}\n`,
          );
        }
        shown++;
      }
      if (shown === 0 && !mode.json)
        process.stderr.write(
          `no ${options.failed ? "failed or partial " : ""}ingestions recorded for ${escapeTerminal(bucket)}${options.key !== undefined ? ` key ${escapeTerminal(options.key)}` : ""}\n`,
        );
    });
}
