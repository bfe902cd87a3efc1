/**
 * The check pass: the file is read to its end, without keeping any values, before anything is
 * written, so that a malformed file changes nothing in the table and an earlier good version's
 * rows stay. It stops near the deadline and resumes from its checkpoint.
 */
import { ROWS_PER_DEADLINE_CHECK, type AttemptEnd, type IngestionAttempt } from "./attempt.js";
import { FileFormatError } from "./errors.js";
import { readRows } from "./row-reader.js";
import type { IngestRule } from "./rules.js";
import type { SourceFile } from "./source-file.js";

/** "parsed": the file reads to its end, and the attempt goes on to the write pass. */
export async function checkRows(attempt: IngestionAttempt, source: Pick<SourceFile, "open" | "size">, rule: IngestRule): Promise<"parsed" | AttemptEnd> {
  const from = attempt.checkpoint;
  const body = await source.open(from.offset);
  if (!body) return { outcome: "skipped", why: "superseded" };
  let columns = from.columns;
  let rows = 0;
  try {
    for await (const { next, ...event } of readRows(body, rule, from, { values: false })) {
      if (event.kind === "header") columns = event.columns;
      if (++rows % ROWS_PER_DEADLINE_CHECK === 0) {
        await attempt.heartbeat({ phase: "checking", offset: next.offset, size: source.size, rowsRead: 0 });
        if (attempt.outOfTime()) return attempt.pause({ ...next, ...(columns && { columns }), phase: "checking" });
      }
    }
  } catch (error) {
    if (!(error instanceof FileFormatError)) throw error;
    return attempt.finish({ status: "failed", retryable: false, reason: error.reason, failedLine: error.line });
  }
  attempt.checked();
  return "parsed";
}
