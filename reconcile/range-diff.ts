/**
 * The drift of one key range: the source and the ledger read side by side (the ledger in key
 * order, the source either verified to be in key order or sorted with bounded memory), merged
 * into the keys that differ: what each scan task of a run diffs.
 */
import { compareUtf8, type Ledger, type LedgerRecord } from "../ledger/index.js";
import { readAhead } from "../foundation/read-ahead.js";
import { assertOrdered, diffSorted, type DiffCounts, type Drift, type OnAdvance } from "./diff.js";
import { externalSort, spoolToDisk } from "./external-sort.js";
import type { KeyRange, ObjectSource, SourceObject } from "./source.js";
import { BoundedWriter } from "../foundation/bounded-writer.js";

/** Items each side may be read ahead of the diff: overlaps S3 and DynamoDB I/O. */
const READ_AHEAD = 2000;
/** Removals of expired origin in flight at once, beside the diff's own reads and repairs. */
const ORIGIN_REMOVALS_IN_FLIGHT = 8;

export interface RangeDiffOptions {
  ledger: Ledger;
  bucket: string;
  source: ObjectSource;
  range: KeyRange;
  counts: DiffCounts;
  /** Ledger items per Query page. */
  indexPageSize?: number;
  /** Where the index side comes from; the ledger by default (benchmarks feed generators). */
  index?: (range: KeyRange) => AsyncIterable<LedgerRecord>;
  onAdvance?: OnAdvance;
  /** A dry run: expired origin is left on the items too, as everything else. */
  dryRun?: boolean;
}

/**
 * The ledger's records, passed through as read; origin past its retention (ledger/origin.ts) is
 * taken off each item on the way, every item being read here each night anyway.
 */
async function* expiringOrigins(ledger: Ledger, records: AsyncIterable<LedgerRecord>): AsyncGenerator<LedgerRecord> {
  const writer = new BoundedWriter(ORIGIN_REMOVALS_IN_FLIGHT);
  for await (const record of records) {
    if (ledger.originExpired(record)) await writer.submit(async () => void (await ledger.expireOrigin(record)));
    yield record;
  }
  await writer.drain();
}

export function describeRange(bucket: string, range: KeyRange): string {
  return range.after !== undefined || range.through !== undefined ? `${bucket} (${range.after ?? ""}, ${range.through ?? ""}]` : bucket;
}

export async function* diffRange(options: RangeDiffOptions): AsyncGenerator<Drift> {
  const { ledger, bucket, source, range } = options;
  const where = describeRange(bucket, range);
  const listed = (records: AsyncIterable<LedgerRecord>) => (options.dryRun ? records : expiringOrigins(ledger, records));
  const stored =
    options.index?.(range) ??
    listed(
      ledger.list({
        bucket,
        includeDeleted: true,
        pageSize: options.indexPageSize ?? 1000,
        prefetch: true,
        ...(range.after !== undefined && { after: range.after }),
        ...(range.through !== undefined && { through: range.through }),
      }),
    );
  const index = readAhead(assertOrdered(stored, `the ledger for ${where}`), READ_AHEAD);
  if (source.ordered) {
    const objects = readAhead(assertOrdered(source.objects(range), `the ${source.kind} source for ${where}`), READ_AHEAD);
    yield* diffSorted(objects, index, options.counts, options.onAdvance);
    return;
  }
  // The ledger is fetched to disk while the unordered source is sorted, so neither waits.
  const spooled = spoolToDisk(index);
  try {
    const objects: AsyncIterable<SourceObject> = externalSort(source.objects(range), (a, b) => compareUtf8(a.key, b.key));
    yield* diffSorted(objects, spooled.read(), options.counts, options.onAdvance);
  } finally {
    await spooled.discard();
  }
}
