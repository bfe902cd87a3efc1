import type { Command } from "commander";
import { listCursor, pageSizeForLimit } from "../../ledger/index.js";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { objectColumns, objectRow } from "../output.js";
import { parsePositiveInt } from "../option-parsers.js";
import { printRecords } from "./records.js";

interface LsOptions extends TargetOptions {
  prefix?: string;
  limit?: number;
  cursor?: string;
  json?: boolean;
}

export function registerLs(program: Command): void {
  withTargetOptions(program.command("ls"))
    .description("list the objects the ledger holds for a bucket, in key order")
    .argument("<bucket>", "bucket name")
    .option("-p, --prefix <prefix>", "only keys starting with this prefix")
    .option("-n, --limit <n>", "stop after n objects and print a resume cursor", parsePositiveInt("--limit"))
    .option("--cursor <cursor>", "resume a listing where an earlier --limit stopped")
    .option("--json", "NDJSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nExamples:\n  bucket-ledger ls my-bucket --prefix logs/2026/ --table ledger-prod\n  bucket-ledger ls ledger-demo --local --json | jq .size",
    )
    .action(async (bucket: string, options: LsOptions) => {
      const ledger = await openLedger(options);
      await printRecords({
        records: ledger.list({
          bucket,
          ...(options.prefix !== undefined && { prefix: options.prefix }),
          ...(options.cursor !== undefined && { cursor: options.cursor }),
          ...(options.limit !== undefined && { pageSize: pageSizeForLimit(options.limit) }),
        }),
        ...(options.limit !== undefined && { limit: options.limit }),
        ...(options.json !== undefined && { json: options.json }),
        header: objectColumns,
        row: objectRow,
        cursorAfter: (last) => listCursor(bucket, options.prefix, last),
        empty: `no objects in ${bucket}${options.prefix ? ` under ${options.prefix}` : ""}`,
      });
    });
}
