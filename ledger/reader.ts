/**
 * The ledger's reads: point lookups, listings, the change feed, histories, ingestions, the
 * bucket registry and statistics. Reads need no writer's setting: each bucket's change shards
 * come from its registry item (ledger/change-index).
 */
import { ChangeHorizonError, InvalidMomentError } from "./errors.js";
import { assertChangesCursorWithin, changesCursor, listCursor, readCursorKey } from "./cursor.js";
import { takePage } from "./paging.js";
import {
  getRecord,
  listChanges,
  listObjects,
  changesPageSizeForLimit,
  pageSizeForLimit,
  type ChangesQuery,
  type ListQuery,
  type Page,
  type Stopped,
  type WorkBudget,
} from "./queries.js";
import type { QueryContext } from "./context.js";
import { bucketStats, type BucketStats } from "./stats.js";
import { isRegistered, listKnownBuckets, type KnownBucket } from "./buckets.js";
import { readHistory, type History } from "./history.js";
import { countAt, readChangeShards, readNewestChange, type ChangeShardEpoch } from "./change-index/index.js";
import { getIngestion, listIngestions, type IngestionQuery, type IngestionRecord } from "./ingestions.js";
import type { LedgerRecord, LiveObjectRecord } from "./record.js";
import { assertWithinHorizon, listAsOf, listDiff, readTrackedSince, type AsOfEntry, type DiffEntry } from "./time-travel/index.js";

const MS_PER_DAY = 86_400_000;

export interface ReaderOptions {
  /** How long tombstones are kept: the horizon of the change feed. */
  retentionDays: number;
  /** Days the journal keeps each change, when known: time travel names it as its bound. */
  historyDays?: number;
  now: () => Date;
}

export interface AsOfQuery {
  bucket: string;
  /** The moment asked about. */
  at: Date;
  prefix?: string;
  /** A listing cursor (`listCursor`) to resume after. */
  cursor?: string;
  /** Journal reads in flight at once (JOURNAL_READS_IN_FLIGHT). */
  concurrency?: number;
  /** Bounds on the read (the HTTP API's page): it stops on them and returns where to resume (`takePage`). */
  budget?: WorkBudget;
}

export interface DiffQuery {
  bucket: string;
  from: Date;
  /** Absent: now, as the ledger holds it. */
  to?: Date;
  prefix?: string;
  cursor?: string;
  concurrency?: number;
  budget?: WorkBudget;
}

export class LedgerReader {
  constructor(
    private readonly ctx: QueryContext,
    private readonly options: ReaderOptions,
  ) {}

  /** The stored record for a key: a live object, a tombstone, or undefined if never seen. */
  get(bucket: string, key: string, options?: { consistentRead?: boolean }): Promise<LedgerRecord | undefined> {
    return getRecord(this.ctx, bucket, key, options);
  }

  /** Live objects in key order; with `includeDeleted`, tombstones too. */
  list(query: ListQuery & { includeDeleted?: false }): AsyncGenerator<LiveObjectRecord>;
  list(query: ListQuery & { includeDeleted: true }): AsyncGenerator<LedgerRecord>;
  list(query: ListQuery): AsyncGenerator<LedgerRecord>;
  list(query: ListQuery): AsyncGenerator<LedgerRecord> {
    return listObjects(this.ctx, query);
  }

  listPage(query: ListQuery & { limit: number; includeDeleted?: false }): Promise<Page<LiveObjectRecord>> {
    const pageSize = query.pageSize ?? pageSizeForLimit(query.limit);
    return takePage(this.list({ ...query, pageSize, includeDeleted: false }), query.limit, (last) => listCursor(query.bucket, query.prefix, last));
  }

  /** Oldest `since` the change feed can answer exactly: tombstones older than this may be gone. */
  changeHorizon(): Date {
    return new Date(this.options.now().getTime() - this.options.retentionDays * MS_PER_DAY);
  }

  changes(query: ChangesQuery): AsyncGenerator<LedgerRecord> {
    const horizon = this.changeHorizon();
    if (query.cursor === undefined && query.since < horizon) throw new ChangeHorizonError(query.since, horizon);
    assertChangesCursorWithin(query, horizon);
    return listChanges(this.ctx, query);
  }

  changesPage(query: ChangesQuery & { limit: number }): Promise<Page<LedgerRecord>> {
    const pageSize = query.pageSize ?? changesPageSizeForLimit(query.limit);
    return takePage(this.changes({ ...query, pageSize }), query.limit, (last) => changesCursor(query.bucket, last));
  }

  /** The key the HTTP API signs its cursors with, created on first use (see `readCursorKey`). */
  cursorKey(): Promise<Uint8Array> {
    return readCursorKey(this.ctx);
  }

  /** Every change kept in a key's journal, oldest first, and whether it reaches back to the key's first. */
  history(bucket: string, key: string): Promise<History> {
    return readHistory(this.ctx, bucket, key, this.options.now());
  }

  /**
   * The prefix as it was at `query.at`, in key order: each key that existed then with its version
   * then, or as unknown with the reason when the ledger cannot vouch for it (ledger/time-travel).
   * Refuses a moment outside what the ledger keeps with TimeTravelHorizonError, naming the bound.
   */
  async *asOf(query: AsOfQuery): AsyncGenerator<AsOfEntry, Stopped | undefined> {
    const { now, trackedSince } = await this.timeTravelTo(query.bucket, [query.at]);
    return yield* listAsOf(this.ctx, { ...this.scanOf(query), now }, query.at, trackedSince);
  }

  /** The net change of each key under the prefix between `from` and `to` (now when absent), in key order; see `asOf`. */
  async *diff(query: DiffQuery): AsyncGenerator<DiffEntry, Stopped | undefined> {
    if (query.to !== undefined && !(query.from < query.to))
      throw new InvalidMomentError(`the first moment (${query.from.toISOString()}) must come before the second (${query.to.toISOString()})`);
    const { now, trackedSince } = await this.timeTravelTo(query.bucket, query.to ? [query.from, query.to] : [query.from]);
    return yield* listDiff(this.ctx, { ...this.scanOf(query), now }, { from: query.from, ...(query.to && { to: query.to }) }, trackedSince);
  }

  private async timeTravelTo(bucket: string, moments: Date[]): Promise<{ now: Date; trackedSince: string | undefined }> {
    const now = this.options.now();
    const trackedSince = await readTrackedSince(this.ctx, bucket);
    const settings = { retentionDays: this.options.retentionDays, ...(this.options.historyDays !== undefined && { historyDays: this.options.historyDays }) };
    for (const moment of moments) assertWithinHorizon(moment, now, settings, trackedSince, bucket);
    return { now, trackedSince };
  }

  private scanOf(query: { bucket: string; prefix?: string; cursor?: string; concurrency?: number; budget?: WorkBudget }) {
    return {
      ...(query.budget !== undefined && { budget: query.budget }),
      bucket: query.bucket,
      ...(query.prefix !== undefined && { prefix: query.prefix }),
      ...(query.cursor !== undefined && { cursor: query.cursor }),
      ...(query.concurrency !== undefined && { concurrency: query.concurrency }),
    };
  }

  /** The latest row ingestion of an object, if a rule covers it and it was ingested. */
  ingestion(bucket: string, key: string): Promise<IngestionRecord | undefined> {
    return getIngestion(this.ctx, bucket, key);
  }

  /** A bucket's row ingestions (the latest of each file) in key order. */
  ingestions(query: IngestionQuery): AsyncGenerator<IngestionRecord> {
    return listIngestions(this.ctx, query);
  }

  /** The buckets writers have recorded, in name order. */
  buckets(): Promise<KnownBucket[]> {
    return listKnownBuckets(this.ctx);
  }

  /**
   * Whether the ledger has ever recorded `bucket`: registered, or holding any item for it (a
   * stack deployed before the registry existed registers its buckets at their next change or run).
   */
  async hasSeen(bucket: string): Promise<boolean> {
    if (await isRegistered(this.ctx, bucket)) return true;
    for await (const record of this.list({ bucket, includeDeleted: true, pageSize: 1 })) return record !== undefined;
    return false;
  }

  /** The bucket's most recently recorded change within the retention window: a few requests, one per day looked back. */
  newestChange(bucket: string): Promise<BucketStats["newestChange"]> {
    return readNewestChange(this.ctx, bucket, this.options.retentionDays);
  }

  /** Exact object count, bytes and tombstones of a bucket; reads the whole bucket's index (see `bucketStats`). */
  stats(query: { bucket: string; onProgress?: (itemsRead: number) => void }): Promise<BucketStats> {
    return bucketStats(this.ctx, query.bucket, { lookBackDays: this.options.retentionDays, ...(query.onProgress && { onProgress: query.onProgress }) });
  }

  /** The bucket's change-shard epochs (ledger/change-index), oldest first. */
  changeShardEpochs(bucket: string): Promise<ChangeShardEpoch[]> {
    return readChangeShards(this.ctx, bucket);
  }

  /** How many partitions a day of the change index the bucket's changes are written to now. */
  async changeShardsNow(bucket: string): Promise<number> {
    return countAt(await this.changeShardEpochs(bucket), this.options.now().toISOString());
  }
}
