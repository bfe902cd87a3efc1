/**
 * Where a reader of the change feed that runs on (`watch`, `replay`) starts, and how it says where
 * it stopped. A position is what the feed's cursors carry (ledger/cursor.ts): a change token
 * (`<recorded at>#<key hash>`), a time, or a day; everything up to it has been read. `--since T`
 * starts at the time T, `--cursor C` after C's position, so a cursor printed by `changes --limit`,
 * `watch` or `replay` resumes any of them.
 */
import { CLOCK_SKEW_MS } from "../../ledger/change-index/index.js";
import { assertChangesCursorWithin, changesCursorAfter, resumeAfter } from "../../ledger/cursor.js";
import { ChangeHorizonError, InvalidCursorError } from "../../ledger/errors.js";
import { UsageError } from "../errors.js";

export interface StartOptions {
  since?: Date;
  cursor?: string;
}

/** The time a position stands for: a day's is its midnight (UTC), a token's its recording time. */
export function positionTime(position: string): string {
  return position.length === 10 ? `${position}T00:00:00.000Z` : position.slice(0, 24);
}

/**
 * The position to read after. A cursor is hostile input: it must be a change-feed cursor of this
 * bucket (`resumeAfter`), inside the feed's horizon, and not in the future; a `--since` before
 * the horizon is refused (tombstones older than it may be gone, so changes would be missed).
 * Either, past the present by more than writers' clocks may run ahead, would wait for a time
 * nobody asked for: a typo or a forged cursor, refused. Neither given: from `now`.
 */
export function startPosition(bucket: string, options: StartOptions, horizon: Date, now: Date): string {
  const { since, cursor } = options;
  if (since !== undefined && cursor !== undefined) throw new UsageError("--since and --cursor both say where to start: give one");
  const latest = new Date(now.getTime() + CLOCK_SKEW_MS).toISOString();
  if (cursor !== undefined) {
    const position = resumeAfter({ bucket, cursor }, "changes")!;
    assertChangesCursorWithin({ bucket, cursor }, horizon);
    if (positionTime(position) > latest)
      throw new InvalidCursorError(`cursor resumes from ${positionTime(position)}, in the future: it is not a cursor the ledger gave`);
    return position;
  }
  if (since !== undefined) {
    if (since < horizon) throw new ChangeHorizonError(since, horizon);
    if (since.toISOString() > latest) throw new UsageError(`--since ${since.toISOString()} is in the future`);
    return since.toISOString();
  }
  return now.toISOString();
}

/** The cursor that resumes after `position`: `--cursor` of `watch`, `replay` and `changes`. */
export function resumeCursor(bucket: string, position: string): string {
  return changesCursorAfter(bucket, position);
}
