/**
 * The ledger's writes: events (`apply`, `describe`), reconciliation's repairs, the bucket
 * registry, the reconciled-through watermark and origin expiry. The writer owns what writing
 * needs and reading does not: the journal, the change-shard sizer and the origin setting.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { registerBucket } from "./buckets.js";
import { ChangeShardSizer, type ChangeShardSetting } from "./change-index/index.js";
import type { QueryContext } from "./context.js";
import { JournalWriter } from "./journal-writer.js";
import { partitionKeyOf } from "./keys.js";
import { originExpired, originRetentionDays, removeOrigin, type OriginSetting } from "./origin.js";
import { attributeNames, type LedgerRecord } from "./record.js";
import { ledgerTable } from "./table.js";
import { WriteBatch } from "./write-batch.js";
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

const SECONDS_PER_DAY = 86_400;

export interface WriterOptions {
  tableName: string;
  documentClient: DynamoDBDocumentClient;
  /** How long tombstones (and so the change feed) are kept. */
  retentionDays: number;
  /** Days each change is kept in its key's history; absent or 0: no journal. */
  historyDays?: number;
  changeShards: ChangeShardSetting;
  /** What of each change's origin is written; all of it when absent. */
  origin?: OriginSetting;
  now: () => Date;
}

export class LedgerWriter {
  readonly changeShards: ChangeShardSetting;
  /**
   * Days origin stays on a ledger item (ledger/origin.ts), known to a writer that was told the
   * journal's retention (`historyDays`, 0 included); undefined otherwise, and nothing expires.
   */
  readonly originDays: number | undefined;
  private readonly write: WriteContext;
  private readonly now: () => Date;
  /** Buckets this writer has registered: one write per bucket per instance (per Lambda container). */
  private readonly registered = new Map<string, Promise<void>>();

  constructor(
    private readonly query: QueryContext,
    options: WriterOptions,
  ) {
    const { changeShards } = options;
    if (changeShards !== "auto" && (!Number.isInteger(changeShards) || changeShards < 1 || changeShards > ledgerTable.changeIndex.maxShards))
      throw new RangeError(`changeShards must be "auto" or an integer from 1 to ${ledgerTable.changeIndex.maxShards}, got ${changeShards}`);
    this.changeShards = changeShards;
    this.now = options.now;
    this.originDays = options.historyDays === undefined ? undefined : originRetentionDays(options.historyDays, options.retentionDays);
    const { tableName, documentClient } = options;
    this.write = {
      tableName,
      documentClient,
      retentionSeconds: options.retentionDays * SECONDS_PER_DAY,
      now: this.now,
      ...(options.origin && { origin: options.origin }),
      shards: new ChangeShardSizer(query, { setting: changeShards, now: this.now, retentionMs: options.retentionDays * SECONDS_PER_DAY * 1000 }),
      ...(options.historyDays && { journal: new JournalWriter({ tableName, documentClient, retentionSeconds: options.historyDays * SECONDS_PER_DAY }) }),
    };
  }

  /**
   * Applies one S3 event under invariant 1 (newer sequencer wins). Resolves once the current
   * state is written, with the journal entry maybe still in a batch: a caller that bounds its
   * writes in flight need not hold a slot while the batch fills. Await `journaled` before
   * acknowledging the event.
   */
  apply(mutation: ObjectMutation): Promise<Applied<ApplyOutcome>> {
    return applyMutation(this.write, mutation);
  }

  /**
   * Replaces the details of the version a metadata event (tagging, transition, restore)
   * describes, if the ledger holds that version and no later description of it (see `apply`
   * for `journaled`).
   */
  describe(update: DescriptionUpdate): Promise<DescriptionApplied> {
    return applyDescription(this.write, update);
  }

  /** Writes one reconciliation repair under invariant 2 (never over state newer than the snapshot); see `apply` for `journaled`. */
  repair(repair: RepairMutation): Promise<Applied<RepairOutcome>> {
    return applyRepair(this.write, repair);
  }

  /** A scope for one batch of events: each bucket's watermark is read once, on its first create. */
  batch(): WriteBatch {
    return new WriteBatch(this);
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
   * ledger/change-index). Resolves with the count recorded.
   */
  resizeChangeShards(bucket: string, atLeastPerSecond = 0): Promise<number> {
    return this.write.shards.resize(bucket, new Date(this.now().getTime() - SECONDS_PER_DAY * 1000), atLeastPerSecond);
  }

  /** Snapshot time of the bucket's last complete reconciliation (see `UpsertMutation.reconciledThrough`). */
  reconciledThrough(bucket: string): Promise<string | undefined> {
    return readReconciledThrough(this.write, bucket);
  }

  /** Called by a reconciliation that listed the whole bucket and repaired what was missing. */
  recordReconciled(bucket: string, snapshotTime: Date): Promise<void> {
    return recordReconciledThrough(this.write, bucket, snapshotTime);
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
    const key = { [attributeNames.pk]: partitionKeyOf(record.bucket, record.key), [attributeNames.sk]: record.key };
    return (await removeOrigin(this.write, key, { recordedAt: record.recordedAt })) === "removed";
  }
}
