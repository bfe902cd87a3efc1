import type { Command } from "commander";
import { listCursorAfter } from "../../ledger/cursor.js";
import type { ChangedKey, DiffEntry, KeyChange } from "../../ledger/index.js";
import { UsageError } from "../errors.js";
import { escapeTerminal } from "../escape.js";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { bucketArgument, parsePositiveInt, parseTime } from "../option-parsers.js";
import { printTimeTravel, reportOutcome, versionText } from "./time-travel.js";

interface DiffOptions extends TargetOptions {
  from: string;
  to?: string;
  prefix?: string;
  limit?: number;
  cursor?: string;
  json?: boolean;
}

/** One net change on a terminal: the mark, the key, then what it was and became. */
export function diffLine(entry: ChangedKey): string {
  const key = escapeTerminal(entry.key);
  switch (entry.change) {
    case "created":
      return `+ ${key}  ${versionText(entry.to!)}`;
    case "deleted": {
      const marker = entry.deletion?.deleteMarker !== undefined ? ` (delete marker ${escapeTerminal(entry.deletion.deleteMarker)})` : "";
      return `- ${key}  was ${versionText(entry.from!)}${marker}`;
    }
    case "changed":
      return `~ ${key}  ${versionText(entry.from!)} -> ${versionText(entry.to!)}`;
  }
}

/** Both moments as options: a bad one is a usage error naming its option, as is a range that does not go forward. */
function momentsOf(options: DiffOptions): { from: Date; to?: Date } {
  const from = parseTime("--from", options.from);
  if (options.to === undefined) return { from };
  const to = parseTime("--to", options.to);
  if (!(from < to)) throw new UsageError(`--from (${from.toISOString()}) must come before --to (${to.toISOString()})`);
  return { from, to };
}

export function registerDiff(program: Command): void {
  withTargetOptions(program.command("diff"))
    .description("the net change of each key between two moments (created, deleted, changed from -> to), from the journal")
    .addArgument(bucketArgument())
    .requiredOption("--from <time>", "the first moment: ISO-8601, or a duration ago (2h, 1d)")
    .option("--to <time>", "the second moment (default: now)")
    .option("-p, --prefix <prefix>", "only keys starting with this prefix")
    .option("-n, --limit <n>", "stop after n keys and print a resume cursor", parsePositiveInt("--limit"))
    .option("--cursor <cursor>", "resume where an earlier --limit stopped")
    .option("--json", "NDJSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nA key changed and changed back is not listed; a key whose state at either moment the ledger\ncannot vouch for is listed as unknown with the reason, and the command then exits 3. A moment\nolder than the tombstones kept, the journal or the bucket's first complete reconciliation exits 3\nnaming that bound (docs/guides/time-travel.md).\n\nExamples:\n  bucket-ledger diff my-bucket --from 2026-12-03T09:00:00Z --prefix reports/\n  bucket-ledger diff my-bucket --from 1d --to 2h --json | jq 'select(.change == \"deleted\") | .key'",
    )
    .action(async (bucket: string, options: DiffOptions) => {
      const { from, to } = momentsOf(options);
      const ledger = await openLedger(options);
      const where = `${bucket}${options.prefix ? ` under ${options.prefix}` : ""}`;
      const range = `between ${from.toISOString()} and ${to ? to.toISOString() : "now"}`;
      const counts: Record<KeyChange, number> = { created: 0, deleted: 0, changed: 0 };
      const outcome = await printTimeTravel<DiffEntry>(
        {
          entries: ledger.diff({
            bucket,
            from,
            ...(to && { to }),
            ...(options.prefix !== undefined && { prefix: options.prefix }),
            ...(options.cursor !== undefined && { cursor: options.cursor }),
          }),
          unknownOf: (entry) => (entry.change === "unknown" ? entry : undefined),
          ...(options.json !== undefined && { json: options.json }),
          ...(options.limit !== undefined && { limit: options.limit }),
          cursorAfter: (last) => listCursorAfter(bucket, options.prefix, last.key),
          header: `changes in ${escapeTerminal(where)} ${range} (+ created, - deleted, ~ changed):`,
          // Only exact entries become rows: the unknown ones are listed after the answer.
          row: (entry) => diffLine(entry as ChangedKey),
          progress: (read) => `comparing ${where} ${range}: ${read.toLocaleString("en-US")} keys changed`,
        },
        (entry) => {
          if (entry.change !== "unknown") counts[entry.change]++;
        },
      );
      const total = counts.created + counts.deleted + counts.changed;
      const summary = `${total === 0 ? "no change" : `${counts.created} created, ${counts.deleted} deleted, ${counts.changed} changed`} in ${where} ${range}`;
      reportOutcome(outcome, summary, options);
    });
}
