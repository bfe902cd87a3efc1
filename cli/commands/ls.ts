import type { Command } from "commander";
import { listCursor, pageSizeForLimit, type LedgerRecord } from "../../ledger/index.js";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { objectColumns, objectRow } from "../output.js";
import { parseContentTypePattern, parsePositiveInt } from "../option-parsers.js";
import { printRecords } from "./records.js";

interface LsOptions extends TargetOptions {
  prefix?: string;
  limit?: number;
  cursor?: string;
  contentType?: RegExp;
  json?: boolean;
}

/** Only the records whose content type matches; the ledger is still read in full under the prefix. */
async function* withContentType(records: AsyncGenerator<LedgerRecord>, pattern: RegExp): AsyncGenerator<LedgerRecord> {
  for await (const record of records) if (!record.deleted && record.contentType !== undefined && pattern.test(mediaType(record.contentType))) yield record;
}

/** `text/plain; charset=utf-8` -> `text/plain`: a pattern names a media type, not its parameters. */
const mediaType = (contentType: string) => contentType.split(";")[0]!.trim().toLowerCase();

export function registerLs(program: Command): void {
  withTargetOptions(program.command("ls"))
    .description("list the objects the ledger holds for a bucket, in key order")
    .argument("<bucket>", "bucket name")
    .option("-p, --prefix <prefix>", "only keys starting with this prefix")
    .option("-n, --limit <n>", "stop after n objects and print a resume cursor", parsePositiveInt("--limit"))
    .option("--cursor <cursor>", "resume a listing where an earlier --limit stopped")
    .option(
      "--content-type <pattern>",
      "only objects of this media type, * matching anything: 'image/*' (needs enrich: [contentType]; filters the listing, so it reads every key under the prefix)",
      parseContentTypePattern,
    )
    .option("--json", "NDJSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nExamples:\n  bucket-ledger ls my-bucket --prefix logs/2026/ --table ledger-prod\n  bucket-ledger ls ledger-demo --local --json | jq .size",
    )
    .action(async (bucket: string, options: LsOptions) => {
      const ledger = await openLedger(options);
      const listing = ledger.list({
        bucket,
        ...(options.prefix !== undefined && { prefix: options.prefix }),
        ...(options.cursor !== undefined && { cursor: options.cursor }),
        ...(options.limit !== undefined && { pageSize: pageSizeForLimit(options.limit) }),
      });
      await printRecords({
        records: options.contentType ? withContentType(listing, options.contentType) : listing,
        ...(options.limit !== undefined && { limit: options.limit }),
        ...(options.json !== undefined && { json: options.json }),
        header: objectColumns,
        row: objectRow,
        cursorAfter: (last) => listCursor(bucket, options.prefix, last),
        empty: `no objects in ${bucket}${options.prefix ? ` under ${options.prefix}` : ""}${options.contentType ? " of that content type" : ""}`,
      });
    });
}
