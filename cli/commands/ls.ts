import type { Command } from "commander";
import { listCursorAfter } from "../../ledger/cursor.js";
import { listCursor, pageSizeForLimit, type Ledger, type LedgerRecord, type ObjectAsOf } from "../../ledger/index.js";
import { UsageError } from "../errors.js";
import { escapeTerminal, padEndDisplay } from "../escape.js";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { formatBytes, objectColumns, objectRow } from "../output.js";
import { bucketArgument, parseContentTypePattern, parsePositiveInt, parseTagFilter, parseTime, type TagFilter } from "../option-parsers.js";
import { printRecords } from "./records.js";
import { momentText, plural, printTimeTravel, reportOutcome } from "./time-travel.js";
import { noticeIfUnknown } from "../unknown-bucket.js";

interface LsOptions extends TargetOptions {
  prefix?: string;
  limit?: number;
  cursor?: string;
  contentType?: RegExp;
  tag?: TagFilter[];
  json?: boolean;
  asOf?: string;
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

/** The prefix as of a past moment: each object as it was then, where it came from (an event or a repair), the key last as it is unbounded. */
const asOfColumns = `${"SINCE".padEnd(21)}${"SIZE".padStart(11)}  ${"ETAG".padEnd(40)}${"VERSION".padEnd(34)}${"FROM".padEnd(8)}KEY`;

function asOfRow(entry: ObjectAsOf): string {
  const from = entry.reconstructed ? "repair" : "event";
  return `${momentText(entry.since).padEnd(21)}${formatBytes(entry.size).padStart(11)}  ${padEndDisplay(escapeTerminal(entry.etag), 40)}${padEndDisplay(escapeTerminal(entry.versionId ?? "-"), 34)}${from.padEnd(8)}${escapeTerminal(entry.key)}`;
}

async function listAsOf(ledger: Ledger, bucket: string, at: Date, options: LsOptions): Promise<void> {
  const where = `${bucket}${options.prefix ? ` under ${options.prefix}` : ""}`;
  let objects = 0;
  let bytes = 0;
  const outcome = await printTimeTravel(
    {
      entries: ledger.asOf({
        bucket,
        at,
        ...(options.prefix !== undefined && { prefix: options.prefix }),
        ...(options.cursor !== undefined && { cursor: options.cursor }),
      }),
      unknownOf: (entry) => (entry.state === "unknown" ? entry : undefined),
      ...(options.json !== undefined && { json: options.json }),
      ...(options.limit !== undefined && { limit: options.limit }),
      cursorAfter: (last) => listCursorAfter(bucket, options.prefix, last.key),
      header: asOfColumns,
      // Only exact entries become rows: the unknown ones are listed after the answer.
      row: (entry) => asOfRow(entry as ObjectAsOf),
      progress: (read) => `reading ${where} as of ${at.toISOString()}: ${read.toLocaleString("en-US")} keys`,
    },
    (entry) => {
      if (entry.state !== "present") return;
      objects++;
      bytes += entry.size;
    },
  );
  reportOutcome(outcome, `${plural(objects, "object")}, ${formatBytes(bytes)} in ${where} as of ${at.toISOString()}`, options);
}

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
    .option(
      "--as-of <time>",
      "the objects as they were at this moment (ISO-8601, or a duration ago: 2h, 1d), from the journal; a key the ledger cannot vouch for is listed as unknown and exits 3",
    )
    .option("--json", "NDJSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nExamples:\n  bucket-ledger ls my-bucket --prefix logs/2026/ --table ledger-prod\n  bucket-ledger ls my-bucket --tag team=data --content-type 'text/*'\n  bucket-ledger ls my-bucket --prefix reports/ --as-of 2026-12-03T09:00:00Z\n  bucket-ledger ls ledger-demo --local --json | jq .size\n\nWith --as-of: exact or refused. A moment older than the tombstones kept, the journal or the\nbucket's first complete reconciliation exits 3 naming that bound (docs/guides/time-travel.md).",
    )
    .action(async (bucket: string, options: LsOptions) => {
      if (options.asOf !== undefined) {
        const at = parseTime("--as-of", options.asOf);
        if (filtersOf(options).length > 0)
          throw new UsageError("--as-of lists what the journal keeps (size, ETag, version): --content-type and --tag cannot filter it");
        return listAsOf(await openLedger(options), bucket, at, options);
      }
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
