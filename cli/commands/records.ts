/** Shared by `ls` and `changes`: stream records, stop at --limit, report where to resume. */
import type { LedgerRecord } from "../../ledger/index.js";
import { escapeTerminalLines, toJson } from "../escape.js";
import { outputMode, writeLine, type OutputMode } from "../output.js";

export interface RecordListing<T extends LedgerRecord> {
  records: AsyncGenerator<T>;
  limit?: number;
  json?: boolean;
  header: string;
  row: (mode: OutputMode, record: T) => string;
  cursorAfter: (last: T) => string;
  empty: string;
  /** Called when nothing was printed (after `empty`), piped or not. */
  onEmpty?: () => Promise<void>;
}

export async function printRecords<T extends LedgerRecord>(listing: RecordListing<T>): Promise<void> {
  const mode = outputMode(listing);
  let printed = 0;
  let last: T | undefined;
  for await (const record of listing.records) {
    if (listing.limit !== undefined && printed === listing.limit) {
      await listing.records.return(undefined);
      const cursor = listing.cursorAfter(last!);
      // The cursor goes to stderr so stdout stays pure NDJSON for scripts.
      process.stderr.write(mode.json ? `${toJson({ cursor })}\n` : `more results: resume with --cursor ${cursor}\n`);
      return;
    }
    if (printed === 0 && !mode.json) writeLine(listing.header);
    writeLine(mode.json ? toJson(record) : listing.row(mode, record));
    printed++;
    last = record;
  }
  if (printed === 0 && !mode.json) process.stderr.write(`${escapeTerminalLines(listing.empty)}\n`);
  if (printed === 0) await listing.onEmpty?.();
}
