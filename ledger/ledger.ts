/**
 * The ledger: one object shared by the tracker, reconciliation, the CLI and tests, wrapping
 * the table's key layout, conditional writes and paged queries.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { withoutSdkLogger } from "../sdk/lean-client.js";
import { ChangeHorizonError } from "./errors.js";
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
  type QueryContext,
} from "./queries.js";
import { bucketStats, readNewestChange, type BucketStats } from "./stats.js";
import { isRegistered, listKnownBuckets, readChangeShards, registerBucket, type KnownBucket } from "./buckets.js";
import { readHistory, type History } from "./history.js";
import { JournalWriter } from "./journal-writer.js";
import { countAt, type ChangeShardEpoch, type ChangeShardSetting } from "./change-shards.js";
import { ChangeShardSizer } from "./shard-sizing.js";
import { getIngestion, listIngestions, type IngestionQuery, type IngestionRecord } from "./ingestions.js";
import type { LedgerRecord, LiveObjectRecord } from "./record.js";
import { originExpired, originRetentionDays, removeOrigin, type OriginSetting } from "./origin.js";
import { partitionKeyOf } from "./keys.js";
import { ledgerTable } from "./table.js";
import {
  applyDescription,
  applyMutation,
  applyRepair,
  readReconciledThrough,
  recordReconciledThrough,
  type Applied,
  type ApplyOutcome,
  type DescriptionApplied,
  type DescriptionUpdate,
  type ObjectMutation,
  type RepairMutation,
  type RepairOutcome,
  type WriteContext,
} from "./writes.js";

export const DEFAULT_RETENTION_DAYS = 30;
/** How long the journal keeps each change of a key, when a stack turns it on (it does by default). */
export const DEFAULT_HISTORY_DAYS = 90;
/**
 * Sized from each bucket's rate (ledger/shard-sizing.ts): one change partition per day, the
 * fewest requests for `changes`, until a bucket records more than 500 changes/s.
 */
export const DEFAULT_CHANGE_SHARDS: ChangeShardSetting = "auto";
const SECONDS_PER_DAY = 86_400;

export interface LedgerOptions {
  tableName: string;
  /** Defaults to a client built from the default credential and endpoint chain. */
  documentClient?: DynamoDBDocumentClient;
  /** How long tombstones are kept; also the horizon of the change feed. */
  retentionDays?: number;
  /**
   * For the ledger's writers: keep every change in its key's history (the journal) for this
   * many days. Absent or 0: no journal is written. Reading history needs no setting.
   */
  historyDays?: number;
  /**
   * For the ledger's writers: change-index partitions per bucket-day, "auto" (sized from each
   * bucket's rate, the default) or a fixed 1 to 32. Above about 1,000 changes/s per bucket, one
   * partition throttles the table's writes; N lift that to about N x 1,000, for N requests per
   * day read. Readers take each bucket's counts from its registry item and need no setting.
   */
  changeShards?: ChangeShardSetting;
  /**
   * For the ledger's writers: what of each change's origin is written (ledger/origin.ts). Absent:
   * all of it; the stacks set it, `DEFAULT_ORIGIN` unless configured.
   */
  origin?: OriginSetting;
  now?: () => Date;
}

/**
 * Builds a document client that keeps `undefined` out of items. The default client is built
 * without the SDK logger middleware (see sdk/lean-client.ts); a client passed in is used as is.
 */
export function createDocumentClient(client: DynamoDBClient = withoutSdkLogger(new DynamoDBClient({}))): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export class Ledger {
  readonly tableName: string;
  readonly retentionDays: number;
  /** This instance's change-shard setting, as a writer. */
  readonly changeShards: ChangeShardSetting;
  /**
   * Days origin stays on a ledger item (ledger/origin.ts), known to a writer that was told the
   * journal's retention (`historyDays`, 0 included); undefined otherwise, and nothing expires.
   */
  readonly originDays: number | undefined;
  private readonly query: QueryContext;
  private readonly write: WriteContext;
  private readonly now: () => Date;
  /** Buckets this instance has registered: one write per bucket per instance (per Lambda container). */
  private readonly registered = new Map<string, Promise<void>>();

  constructor(options: LedgerOptions) {
    const documentClient = options.documentClient ?? createDocumentClient();
    this.tableName = options.tableName;
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.now = options.now ?? (() => new Date());
    this.changeShards = options.changeShards ?? DEFAULT_CHANGE_SHARDS;
    this.originDays = options.historyDays === undefined ? undefined : originRetentionDays(options.historyDays, this.retentionDays);
    if (
      this.changeShards !== "auto" &&
      (!Number.isInteger(this.changeShards) || this.changeShards < 1 || this.changeShards > ledgerTable.changeIndex.maxShards)
    )
      throw new RangeError(`changeShards must be "auto" or an integer from 1 to ${ledgerTable.changeIndex.maxShards}, got ${this.changeShards}`);
    this.query = { tableName: this.tableName, documentClient, shardCount: ledgerTable.shardCount };
    this.write = {
      tableName: this.tableName,
      documentClient,
      retentionSeconds: this.retentionDays * SECONDS_PER_DAY,
      now: this.now,
      ...(options.origin && { origin: options.origin }),
      shards: new ChangeShardSizer(this.query, {
        setting: this.changeShards,
        now: this.now,
        retentionMs: this.retentionDays * SECONDS_PER_DAY * 1000,
      }),
      ...(options.historyDays && {
        journal: new JournalWriter({ tableName: this.tableName, documentClient, retentionSeconds: options.historyDays * SECONDS_PER_DAY }),
      }),
    };
  }

  /** Applies one S3 event under invariant 1 (newer sequencer wins); resolves once it is journaled too. */
  async apply(mutation: ObjectMutation): Promise<ApplyOutcome> {
    const { outcome, journaled } = await this.applyJournaledLater(mutation);
    await journaled;
    return outcome;
  }

  /**
   * `apply`, resolving as soon as the current-state write is done, with the journal entry still
   * in a batch: for a caller that bounds its writes in flight and should not hold a slot while
   * the batch fills. Await `journaled` before acknowledging the event.
   */
  applyJournaledLater(mutation: ObjectMutation): Promise<Applied<ApplyOutcome>> {
    return applyMutation(this.write, mutation);
  }

  /**
   * Replaces the details of the version a metadata event (tagging, transition, restore)
   * describes, if the ledger holds that version and no later description of it. Resolves with
   * the current-state write; await `journaled` before acknowledging the event.
   */
  describeJournaledLater(update: DescriptionUpdate): Promise<DescriptionApplied> {
    return applyDescription(this.write, update);
  }

  /** `repair`, resolving with the current-state write (see `applyJournaledLater`). */
  repairJournaledLater(repair: RepairMutation): Promise<Applied<RepairOutcome>> {
    return applyRepair(this.write, repair);
  }

  /** Writes one reconciliation repair under invariant 2 (never over state newer than the snapshot); resolves once it is journaled too. */
  async repair(repair: RepairMutation): Promise<RepairOutcome> {
    const { outcome, journaled } = await applyRepair(this.write, repair);
    await journaled;
    return outcome;
  }

  /** Whether a record read from the ledger carries origin past `originDays`. */
  originExpired(record: LedgerRecord): boolean {
    return this.originDays !== undefined && originExpired(record, this.now(), this.originDays);
  }

  /**
   * Takes expired origin off a ledger item, unless a newer change replaced it since it was read
   * (then false): reconciliation's call for each item it reads.
   */
  async expireOrigin(record: LedgerRecord): Promise<boolean> {
    if (!this.originExpired(record)) return false;
    const key = { [ledgerTable.partitionKey]: partitionKeyOf(record.bucket, record.key), [ledgerTable.sortKey]: record.key };
    return (await removeOrigin(this.write, key, { recordedAt: record.recordedAt })) === "removed";
  }

  /** Snapshot time of the bucket's last complete reconciliation (see `UpsertMutation.reconciledThrough`). */
  reconciledThrough(bucket: string): Promise<string | undefined> {
    return readReconciledThrough(this.write, bucket);
  }

  /** Called by a reconciliation that listed the whole bucket and repaired what was missing. */
  recordReconciled(bucket: string, snapshotTime: Date): Promise<void> {
    return recordReconciledThrough(this.write, bucket, snapshotTime);
  }

  /** The stored record for a key: a live object, a tombstone, or undefined if never seen. */
  get(bucket: string, key: string, options?: { consistentRead?: boolean }): Promise<LedgerRecord | undefined> {
    return getRecord(this.query, bucket, key, options);
  }

  /** Live objects in key order; with `includeDeleted`, tombstones too. */
  list(query: ListQuery & { includeDeleted?: false }): AsyncGenerator<LiveObjectRecord>;
  list(query: ListQuery & { includeDeleted: true }): AsyncGenerator<LedgerRecord>;
  list(query: ListQuery): AsyncGenerator<LedgerRecord> {
    return listObjects(this.query, query);
  }

  listPage(query: ListQuery & { limit: number; includeDeleted?: false }): Promise<Page<LiveObjectRecord>> {
    const pageSize = query.pageSize ?? pageSizeForLimit(query.limit);
    return takePage(this.list({ ...query, pageSize, includeDeleted: false }), query.limit, (last) => listCursor(query.bucket, query.prefix, last));
  }

  /** Oldest `since` the change feed can answer exactly: tombstones older than this may be gone. */
  changeHorizon(): Date {
    return new Date(this.now().getTime() - this.retentionDays * SECONDS_PER_DAY * 1000);
  }

  changes(query: ChangesQuery): AsyncGenerator<LedgerRecord> {
    const horizon = this.changeHorizon();
    if (query.cursor === undefined && query.since < horizon) throw new ChangeHorizonError(query.since, horizon);
    assertChangesCursorWithin(query, horizon);
    return listChanges(this.query, query);
  }

  changesPage(query: ChangesQuery & { limit: number }): Promise<Page<LedgerRecord>> {
    const pageSize = query.pageSize ?? changesPageSizeForLimit(query.limit);
    return takePage(this.changes({ ...query, pageSize }), query.limit, (last) => changesCursor(query.bucket, last));
  }

  /** The key the HTTP API signs its cursors with, created on first use (see `readCursorKey`). */
  cursorKey(): Promise<Uint8Array> {
    return readCursorKey(this.query);
  }

  /** Every change kept in a key's journal, oldest first, and whether it reaches back to the key's first. */
  history(bucket: string, key: string): Promise<History> {
    return readHistory(this.query, bucket, key, this.now());
  }

  /** The latest row ingestion of an object, if a rule covers it and it was ingested. */
  ingestion(bucket: string, key: string): Promise<IngestionRecord | undefined> {
    return getIngestion(this.query, bucket, key);
  }

  /** A bucket's row ingestions (the latest of each file) in key order. */
  ingestions(query: IngestionQuery): AsyncGenerator<IngestionRecord> {
    return listIngestions(this.query, query);
  }

  /**
   * Records that the ledger tracks `bucket` (once; see ledger/buckets.ts). A failure is
   * forgotten, so the next call tries again.
   */
  register(bucket: string): Promise<void> {
    let write = this.registered.get(bucket);
    if (!write) {
      write = registerBucket(this.query, bucket, this.now());
      write.catch(() => this.registered.delete(bucket));
      this.registered.set(bucket, write);
    }
    return write;
  }

  /**
   * Sizes the bucket's change shards from its busiest minute of the last day, and for at least
   * `atLeastPerSecond` changes/s: reconciliation's call at the start of a run (see
   * ledger/shard-sizing.ts). Resolves with the count recorded.
   */
  resizeChangeShards(bucket: string, atLeastPerSecond = 0): Promise<number> {
    return this.write.shards.resize(bucket, new Date(this.now().getTime() - SECONDS_PER_DAY * 1000), atLeastPerSecond);
  }

  /** The bucket's change-shard epochs (ledger/change-shards.ts), oldest first. */
  changeShardEpochs(bucket: string): Promise<ChangeShardEpoch[]> {
    return readChangeShards(this.query, bucket);
  }

  /** How many partitions a day of the change index the bucket's changes are written to now. */
  async changeShardsNow(bucket: string): Promise<number> {
    return countAt(await this.changeShardEpochs(bucket), this.now().toISOString());
  }

  /** The buckets writers have recorded, in name order. */
  buckets(): Promise<KnownBucket[]> {
    return listKnownBuckets(this.query);
  }

  /**
   * Whether the ledger has ever recorded `bucket`: registered, or holding any item for it (a
   * stack deployed before the registry existed registers its buckets at their next change or run).
   */
  async hasSeen(bucket: string): Promise<boolean> {
    if (await isRegistered(this.query, bucket)) return true;
    for await (const record of this.list({ bucket, includeDeleted: true, pageSize: 1 })) return record !== undefined;
    return false;
  }

  /** The bucket's most recently recorded change within the retention window: a few requests, one per day looked back. */
  newestChange(bucket: string): Promise<BucketStats["newestChange"]> {
    return readNewestChange(this.query, bucket, this.retentionDays);
  }

  /** Exact object count, bytes and tombstones of a bucket; reads the whole bucket's index (see `bucketStats`). */
  stats(query: { bucket: string; onProgress?: (itemsRead: number) => void }): Promise<BucketStats> {
    return bucketStats(this.query, query.bucket, { lookBackDays: this.retentionDays, ...(query.onProgress && { onProgress: query.onProgress }) });
  }
}
