/**
 * Merge-join of the bucket (source) and the ledger, both in UTF-8 key order, yielding only
 * the keys that differ. Constant memory: one item from each side at a time.
 */
import type { LedgerRecord } from "../ledger/index.js";
import { compareUtf8 } from "../ledger/index.js";
import { joinByKey } from "../foundation/merge.js";
import { SourceOrderError } from "./errors.js";
import type { SourceObject } from "./source.js";

export type Drift =
  /** `tombstone`: the ledger recorded the object's deletion; absent if it never saw the key. */
  | { kind: "missing"; object: SourceObject; tombstone?: LedgerRecord }
  | { kind: "stale"; object: SourceObject; record: LedgerRecord }
  | { kind: "orphaned"; record: LedgerRecord };

/** Passes items through, failing loudly if the claimed order is broken. */
export async function* assertOrdered<T extends { key: string }>(items: AsyncIterable<T>, what: string): AsyncGenerator<T> {
  let previous: string | undefined;
  for await (const item of items) {
    if (previous !== undefined && compareUtf8(previous, item.key) >= 0) {
      throw new SourceOrderError(`${what} is not in UTF-8 key order (${JSON.stringify(previous)} before ${JSON.stringify(item.key)}); nothing was deleted`);
    }
    previous = item.key;
    yield item;
  }
}

/** Size and ETag decide; event-driven last-modified times are event times and differ by design. */
function differs(object: SourceObject, record: LedgerRecord): boolean {
  return record.deleted || record.size !== object.size || record.etag !== object.etag;
}

export interface DiffCounts {
  scanned: number;
  /** Total size of the source objects scanned. */
  bytes: number;
  indexed: number;
}

/**
 * Called after each key is compared and its drift (if any) consumed, so every key up to and
 * including `key` has been handed on: a resumable task checkpoints here. Returning false ends
 * the diff early (a task out of time).
 */
export type OnAdvance = (key: string) => boolean | Promise<boolean>;

export async function* diffSorted(
  source: AsyncIterable<SourceObject>,
  ledger: AsyncIterable<LedgerRecord>,
  counts: DiffCounts,
  onAdvance?: OnAdvance,
): AsyncGenerator<Drift> {
  // The join releases both readers when the diff ends early (out of time, or the consumer stopped).
  for await (const [found, stored] of joinByKey(source, ledger)) {
    let key: string;
    if (!stored) {
      key = found.key;
      counts.scanned++;
      counts.bytes += found.size;
      yield { kind: "missing", object: found };
    } else if (!found) {
      key = stored.key;
      if (!stored.deleted) {
        counts.indexed++;
        yield { kind: "orphaned", record: stored };
      }
    } else {
      key = found.key;
      counts.scanned++;
      counts.bytes += found.size;
      if (!stored.deleted) counts.indexed++;
      if (differs(found, stored)) {
        yield stored.deleted ? { kind: "missing", object: found, tombstone: stored } : { kind: "stale", object: found, record: stored };
      }
    }
    if (onAdvance && !(await onAdvance(key))) return;
  }
}
