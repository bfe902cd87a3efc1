/**
 * The ledger: one object shared by the tracker, reconciliation, the CLI and tests (and the typed
 * client the package exports), composed of a reader (ledger/reader.ts) and a writer
 * (ledger/writer.ts) over one table and client.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { withoutSdkLogger } from "../aws/lean-client.js";
import type { ChangeShardSetting } from "./change-index/index.js";
import type { OriginSetting } from "./origin.js";
import type { LedgerRecord } from "./record.js";
import { LedgerReader } from "./reader.js";
import { ledgerTable } from "./table.js";
import type { WriteBatch } from "./write-batch.js";
import { LedgerWriter } from "./writer.js";
import type { ApplyOutcome, DescriptionApplied, DescriptionUpdate, ObjectMutation, RepairMutation, RepairOutcome } from "./writes.js";

export const DEFAULT_RETENTION_DAYS = 30;
/** How long the journal keeps each change of a key, when a stack turns it on (it does by default). */
export const DEFAULT_HISTORY_DAYS = 90;
/**
 * Sized from each bucket's rate (ledger/change-index): one change partition per day, the
 * fewest requests for `changes`, until a bucket records more than 500 changes/s.
 */
export const DEFAULT_CHANGE_SHARDS: ChangeShardSetting = "auto";

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
 * without the SDK logger middleware (see aws/lean-client.ts); a client passed in is used as is.
 */
export function createDocumentClient(client: DynamoDBClient = withoutSdkLogger(new DynamoDBClient({}))): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The reads are the reader's own; the writes go to `writer`, which the tracker and reconciliation may also use directly. */
export class Ledger extends LedgerReader {
  readonly tableName: string;
  readonly retentionDays: number;
  /** This instance's change-shard setting, as a writer. */
  readonly changeShards: ChangeShardSetting;
  /** See `LedgerWriter.originDays`. */
  readonly originDays: number | undefined;
  readonly writer: LedgerWriter;

  constructor(options: LedgerOptions) {
    const documentClient = options.documentClient ?? createDocumentClient();
    const now = options.now ?? (() => new Date());
    const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    const query = { tableName: options.tableName, documentClient, shardCount: ledgerTable.shardCount };
    super(query, { retentionDays, now, ...(options.historyDays !== undefined && { historyDays: options.historyDays }) });
    this.tableName = options.tableName;
    this.retentionDays = retentionDays;
    this.writer = new LedgerWriter(query, {
      tableName: this.tableName,
      documentClient,
      retentionDays: this.retentionDays,
      changeShards: options.changeShards ?? DEFAULT_CHANGE_SHARDS,
      now,
      ...(options.historyDays !== undefined && { historyDays: options.historyDays }),
      ...(options.origin && { origin: options.origin }),
    });
    this.changeShards = this.writer.changeShards;
    this.originDays = this.writer.originDays;
  }

  // Writes. `apply` and `repair` resolve once the change is journaled too: the client's
  // one-call form of `writer.apply` / `writer.repair`, which hand back `journaled` instead.

  /** Applies one S3 event under invariant 1 (newer sequencer wins); resolves once it is journaled too. */
  async apply(mutation: ObjectMutation): Promise<ApplyOutcome> {
    const { outcome, journaled } = await this.writer.apply(mutation);
    await journaled;
    return outcome;
  }

  /** See `LedgerWriter.describe`; resolves once it is journaled too, as `apply` and `repair` do. */
  async describe(update: DescriptionUpdate): Promise<DescriptionApplied> {
    const applied = await this.writer.describe(update);
    await applied.journaled;
    return applied;
  }

  /** Writes one reconciliation repair under invariant 2 (never over state newer than the snapshot); resolves once it is journaled too. */
  async repair(repair: RepairMutation): Promise<RepairOutcome> {
    const { outcome, journaled } = await this.writer.repair(repair);
    await journaled;
    return outcome;
  }

  /** See `LedgerWriter.batch`. */
  batch(): WriteBatch {
    return this.writer.batch();
  }

  register(bucket: string): Promise<void> {
    return this.writer.register(bucket);
  }

  resizeChangeShards(bucket: string, atLeastPerSecond = 0): Promise<number> {
    return this.writer.resizeChangeShards(bucket, atLeastPerSecond);
  }

  reconciledThrough(bucket: string): Promise<string | undefined> {
    return this.writer.reconciledThrough(bucket);
  }

  recordReconciled(bucket: string, snapshotTime: Date): Promise<void> {
    return this.writer.recordReconciled(bucket, snapshotTime);
  }

  originExpired(record: LedgerRecord): boolean {
    return this.writer.originExpired(record);
  }

  expireOrigin(record: LedgerRecord): Promise<boolean> {
    return this.writer.expireOrigin(record);
  }
}
