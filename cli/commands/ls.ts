import type { Command } from "commander";
import { listCursor, pageSizeForLimit, type LedgerRecord } from "../../ledger/index.js";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { objectColumns, objectRow } from "../output.js";
import { bucketArgument, parseContentTypePattern, parsePositiveInt, parseTagFilter, type TagFilter } from "../option-parsers.js";
import { printRecords } from "./records.js";
import { noticeIfUnknown } from "../unknown-bucket.js";

interface LsOptions extends TargetOptions {
  prefix?: string;
  limit?: number;
  cursor?: string;
  contentType?: RegExp;
  tag?: TagFilter[];
  json?: boolean;
}

type LiveRecord = Extract<LedgerRecord, { deleted: false }>;

/** Only the records every filter takes; the ledger is still read in full under the prefix. */
async function* filtered(records: AsyncGenerator<LedgerRecord>, filters: ((record: LiveRecord) => boolean)[]): AsyncGenerator<LedgerRecord> {
  for await (const record of records) if (!record.deleted && filters.every((filter) => filter(record))) yield record;
}

function filtersOf(options: LsOptions): ((record: LiveRecord) => boolean)[] {
  const filters: ((record: LiveRecord) => boolean)[] = [];
  const { contentType, tag } = options;
  if (contentType) filters.push((record) => record.contentType !== undefined && contentType.test(mediaType(record.contentType)));
  for (const { key, value } of tag ?? []) filters.push((record) => record.tags?.[key] !== undefined && (value === undefined || record.tags[key] === value));
  return filters;
}

/** `text/plain; charset=utf-8` -> `text/plain`: a pattern names a media type, not its parameters. */
const mediaType = (contentType: string) => contentType.split(";")[0]!.trim().toLowerCase();

export function registerLs(program: Command): void {
  withTargetOptions(program.command("ls"))
    .description("list the objects the ledger holds for a bucket, in key order")
    .addArgument(bucketArgument())
    .option("-p, --prefix <prefix>", "only keys starting with this prefix")
    .option("-n, --limit <n>", "stop after n objects and print a resume cursor", parsePositiveInt("--limit"))
    .option("--cursor <cursor>", "resume a listing where an earlier --limit stopped")
    .option(
      "--content-type <pattern>",
      "only objects of this media type, * matching anything: 'image/*' (needs enrich: [contentType]; filters the listing, so it reads every key under the prefix)",
      parseContentTypePattern,
    )
    .option(
      "--tag <key=value>",
      "only objects with this tag (key=value), or any value of it (key); repeat to require several (needs enrich: [tags]; filters the listing too)",
      parseTagFilter,
    )
    .option("--json", "NDJSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nExamples:\n  bucket-ledger ls my-bucket --prefix logs/2026/ --table ledger-prod\n  bucket-ledger ls my-bucket --tag team=data --content-type 'text/*'\n  bucket-ledger ls ledger-demo --local --json | jq .size",
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
        records: filtersOf(options).length > 0 ? filtered(listing, filtersOf(options)) : listing,
        ...(options.limit !== undefined && { limit: options.limit }),
        ...(options.json !== undefined && { json: options.json }),
        header: objectColumns,
        row: objectRow,
        cursorAfter: (last) => listCursor(bucket, options.prefix, last),
        empty: `no objects in ${bucket}${options.prefix ? ` under ${options.prefix}` : ""}${filtersOf(options).length > 0 ? " matching the filters" : ""}`,
        onEmpty: () => noticeIfUnknown(ledger, bucket),
      });
    });
}
