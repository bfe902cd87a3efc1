/**
 * Shared by `ls --as-of` and `diff`: stream a time-travel answer (ledger/time-travel), exact
 * entries as rows on a terminal or NDJSON when piped, and the keys the ledger cannot vouch for.
 * Those are never dropped: piped, each is its own NDJSON line where it falls in key order; on a
 * terminal they are listed after the answer with their reasons. Any of them makes the command
 * exit 3 (refused), since the answer is then incomplete, however much of it is exact.
 */
import type { VersionState } from "../../ledger/index.js";
import { EXIT } from "../../foundation/user-error.js";
import { escapeTerminal, toJson } from "../escape.js";
import { formatBytes, formatTime, outputMode, writeLine, type OutputMode } from "../output.js";
import { NO_STATUS_LINE, statusLine } from "../status-line.js";

/** A key whose state the ledger cannot vouch for, and why. */
export interface UnknownKey {
  key: string;
  reason: string;
}

export interface TimeTravelListing<T extends { key: string }> {
  entries: AsyncGenerator<T>;
  /** The entry as an unknown key, or undefined when it is exact. */
  unknownOf: (entry: T) => UnknownKey | undefined;
  json?: boolean;
  /** Stop after this many entries (unknown ones included) and print where to resume. */
  limit?: number;
  cursorAfter: (last: T) => string;
  header: string;
  row: (entry: T) => string;
  /** The progress line after `read` entries (a terminal only). */
  progress: (read: number) => string;
}

export interface TimeTravelOutcome {
  unknown: UnknownKey[];
  /** Where to resume, when `limit` stopped the listing. */
  cursor?: string;
}

/**
 * Prints the entries; `tally` sees each exact one (for the summary). Returns the unknown keys.
 * The progress line is cleared before each row, so rows and progress never share a line.
 */
export async function printTimeTravel<T extends { key: string }>(listing: TimeTravelListing<T>, tally: (entry: T) => void): Promise<TimeTravelOutcome> {
  const mode = outputMode(listing);
  const progress = mode.json ? NO_STATUS_LINE : statusLine(process.stderr);
  const unknown: UnknownKey[] = [];
  let read = 0;
  let rows = 0;
  let last: T | undefined;
  try {
    for await (const entry of listing.entries) {
      if (listing.limit !== undefined && read === listing.limit) {
        await listing.entries.return(undefined);
        return { unknown: await finish(mode, unknown), cursor: listing.cursorAfter(last!) };
      }
      read++;
      last = entry;
      const missing = listing.unknownOf(entry);
      if (missing) unknown.push(missing);
      else tally(entry);
      if (mode.json) writeLine(toJson(entry));
      else if (!missing) {
        progress.done();
        if (rows === 0) writeLine(listing.header);
        writeLine(listing.row(entry));
        rows++;
      }
      progress.update(listing.progress(read));
    }
  } finally {
    progress.done();
  }
  return { unknown: await finish(mode, unknown) };
}

/** On a terminal, the unknown keys after the answer, each with its reason. */
async function finish(mode: OutputMode, unknown: UnknownKey[]): Promise<UnknownKey[]> {
  if (mode.json || unknown.length === 0) return unknown;
  writeLine("");
  writeLine(`${plural(unknown.length, "key")} the ledger cannot vouch for (not in the answer above):`);
  for (const { key, reason } of unknown) writeLine(`  ${escapeTerminal(key)}: ${escapeTerminal(reason)}`);
  return unknown;
}

/**
 * The summary on stderr (stdout stays the answer), where to resume when a limit stopped it, and
 * the exit code: 3 when any key is unknown, as the answer is incomplete.
 */
export function reportOutcome(outcome: TimeTravelOutcome, summary: string, options: { json?: boolean }): void {
  const unknown = outcome.unknown.length;
  const line = `${summary}; ${unknown === 0 ? "no key unknown" : `${plural(unknown, "key")} unknown, so the answer is incomplete (exit 3)`}`;
  // Piped, stderr stays JSON too, as the listings' resume cursor does.
  if (outputMode(options).json) {
    process.stderr.write(`${toJson({ ...(outcome.cursor !== undefined && { cursor: outcome.cursor }), summary: line, unknown })}\n`);
  } else {
    if (outcome.cursor !== undefined) process.stderr.write(`more results: resume with --cursor ${outcome.cursor}\n`);
    process.stderr.write(`${escapeTerminal(line)}\n`);
  }
  if (unknown > 0) process.exitCode = EXIT.refused;
}

export const plural = (count: number, noun: string) => `${count.toLocaleString("en-US")} ${noun}${count === 1 ? "" : "s"}`;

/** A version on one line: size, ETag, version id (when the bucket keeps versions), and whether a repair, not an event, vouches for it. */
export function versionText(version: VersionState): string {
  const id = version.versionId !== undefined ? ` version ${escapeTerminal(version.versionId)}` : "";
  return `${formatBytes(version.size)} ${escapeTerminal(version.etag)}${id}${version.reconstructed ? " (from a repair)" : ""}`;
}

/** A moment as the rows show it (to the second; JSON keeps the milliseconds). */
export const momentText = (iso: string): string => formatTime(iso);
