/**
 * Merge-join of the bucket (source) and the ledger, both in UTF-8 key order, yielding only
 * the keys that differ. Constant memory: one item from each side at a time.
 */
import type { LedgerRecord } from "../ledger/index.js";
import { compareUtf8 } from "../ledger/index.js";
import { SourceOrderError } from "./errors.js";
import type { SourceObject } from "./source.js";

export type Drift =
  | { kind: "missing"; object: SourceObject }
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
  indexed: number;
}

export async function* diffSorted(
  source: AsyncIterable<SourceObject>,
  ledger: AsyncIterable<LedgerRecord>,
  counts: DiffCounts,
): AsyncGenerator<Drift> {
  const objects = source[Symbol.asyncIterator]();
  const records = ledger[Symbol.asyncIterator]();
  let object = await objects.next();
  let record = await records.next();
  while (!object.done || !record.done) {
    const order = object.done ? 1 : record.done ? -1 : compareUtf8(object.value.key, record.value.key);
    if (order < 0) {
      counts.scanned++;
      yield { kind: "missing", object: object.value as SourceObject };
      object = await objects.next();
    } else if (order > 0) {
      const stored = record.value as LedgerRecord;
      if (!stored.deleted) {
        counts.indexed++;
        yield { kind: "orphaned", record: stored };
      }
      record = await records.next();
    } else {
      counts.scanned++;
      const stored = record.value as LedgerRecord;
      if (!stored.deleted) counts.indexed++;
      if (differs(object.value as SourceObject, stored)) {
        yield stored.deleted ? { kind: "missing", object: object.value as SourceObject } : { kind: "stale", object: object.value as SourceObject, record: stored };
      }
      object = await objects.next();
      record = await records.next();
    }
  }
}
