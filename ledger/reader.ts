/**
 * The ledger's reads: point lookups, listings, the change feed, histories, ingestions, the
 * bucket registry and statistics. Reads need no writer's setting: each bucket's change shards
 * come from its registry item (ledger/change-index).
 */
import { ChangeHorizonError } from "./errors.js";
import { assertChangesCursorWithin, changesCursor, listCursor, readCursorKey } from "./cursor.js";
import { takePage } from "./paging.js";
import { getRecord, listChanges, listObjects, changesPageSizeForLimit, pageSizeForLimit, type ChangesQuery, type ListQuery, type Page } from "./queries.js";
import type { QueryContext } from "./context.js";
import { bucketStats, type BucketStats } from "./stats.js";
import { isRegistered, listKnownBuckets, type KnownBucket } from "./buckets.js";
import { readHistory, type History } from "./history.js";
import { countAt, readChangeShards, readNewestChange, type ChangeShardEpoch } from "./change-index/index.js";
import { getIngestion, listIngestions, type IngestionQuery, type IngestionRecord } from "./ingestions.js";
import type { LedgerRecord, LiveObjectRecord } from "./record.js";

const MS_PER_DAY = 86_400_000;

export interface ReaderOptions {
  /** How long tombstones are kept: the horizon of the change feed. */
  retentionDays: number;
  now: () => Date;
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
