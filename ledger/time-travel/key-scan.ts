/**
 * What time travel reads: the prefix once, tombstones included (the listing reads them anyway and
 * filters them out), and the journal of each key whose item was recorded since the moment asked
 * about; every other key is as it is now. So the cost grows with the keys changed since then,
 * not with the bucket: one listing plus one journal Query per changed key, those overlapping.
 */
import { readAhead } from "../../foundation/read-ahead.js";
import { CLOCK_SKEW_MS } from "../change-index/index.js";
import type { QueryContext } from "../context.js";
import { readHistory, type History } from "../history.js";
import { listCursorAfter } from "../cursor.js";
import { listObjects, type Stopped, type WorkBudget } from "../queries.js";
import type { LedgerRecord } from "../record.js";

/** Journal reads in flight at once: enough to hide their latency behind the listing's pages. */
export const JOURNAL_READS_IN_FLIGHT = 32;

export interface KeyScan {
  bucket: string;
  prefix?: string;
  /** A listing cursor (ledger/cursor.ts) to resume after. */
  cursor?: string;
  /** The earliest moment asked about: a key recorded since then (less clock skew) has its journal read. */
  since: Date;
  now: Date;
  concurrency?: number;
  /** Bounds on one read (the HTTP API's page); see `scanKeys`. */
  budget?: WorkBudget;
}

/**
 * Each key under the prefix in UTF-8 byte order, with its journal when it changed since
 * `scan.since`, through `resolve`; what it returns is yielded in key order (undefined: nothing).
 * A writer's clock may run up to CLOCK_SKEW_MS behind S3's, so a change S3 timed after `since`
 * can carry a recording time a little before it: the margin reads those journals too.
 *
 * With a budget (the HTTP API's), the listing stops on it as `listObjects` does, and the journal
 * reads stop at its `maxQueries` or deadline, after the key whose read was the last allowed;
 * the scan then returns where to resume, exactly. A key that yields nothing (a tombstone, a key
 * unchanged between the moments) still counts, so a page's cost is bounded however sparse its
 * answer. The first key's journal is always read, so a stopped scan has always moved on.
 */
export async function* scanKeys<T>(
  ctx: QueryContext,
  scan: KeyScan,
  resolve: (record: LedgerRecord, history: History | undefined) => T | undefined,
): AsyncGenerator<T, Stopped | undefined> {
  const changedFrom = new Date(scan.since.getTime() - CLOCK_SKEW_MS).toISOString();
  const { budget } = scan;
  const listing = listObjects(ctx, {
    bucket: scan.bucket,
    ...(scan.prefix !== undefined && { prefix: scan.prefix }),
    ...(scan.cursor !== undefined && { cursor: scan.cursor }),
    ...(budget && { budget }),
    includeDeleted: true,
    prefetch: true,
  });
  let stopped: Stopped | undefined;
  let journalReads = 0;
  const journalsSpent = () =>
    journalReads > 0 &&
    ((budget?.maxQueries !== undefined && journalReads >= budget.maxQueries) || (budget?.deadline !== undefined && Date.now() >= budget.deadline));
  // Each promise travels in a box: an async generator awaits a promise it yields, which would read one journal at a time.
  async function* resolving(): AsyncGenerator<{ settled: Promise<T | undefined> }> {
    for (;;) {
      const next = await listing.next();
      if (next.done) {
        stopped = next.value;
        return;
      }
      const record = next.value;
      const changed = record.recordedAt >= changedFrom;
      if (changed && journalsSpent()) {
        await listing.return(undefined);
        // Set by then: the first changed key's journal is always read.
        stopped = { cursor: previousCursor! };
        return;
      }
      if (changed) journalReads += 1;
      const settled = changed
        ? readHistory(ctx, scan.bucket, record.key, scan.now).then((history) => resolve(record, history))
        : Promise.resolve(resolve(record, undefined));
      // Awaited in order below; marked handled so a failure waiting its turn is not reported twice.
      settled.catch(() => undefined);
      previousCursor = listCursorAfter(scan.bucket, scan.prefix, record.key);
      yield { settled };
    }
  }
  // Where a scan stopped before a key resumes: after the key before it.
  let previousCursor: string | undefined;
  for await (const { settled } of readAhead(resolving(), scan.concurrency ?? JOURNAL_READS_IN_FLIGHT)) {
    const value = await settled;
    if (value !== undefined) yield value;
  }
  return stopped;
}
