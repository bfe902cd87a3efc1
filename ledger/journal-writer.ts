/**
 * Writes journal entries in BatchWriteItem calls of up to 25, gathered from every change that
 * finished its current-state write within a few milliseconds: one request per 25 changes
 * instead of one per change, so the journal adds little to the tracker's request count.
 *
 * An entry's promise settles when its batch is written, so a caller acknowledges a change only
 * once its entry is durable. A BatchWriteItem put replaces an entry written before, which for a
 * redelivered event is the same change again (only its recording time moves).
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { batchWrite, MAX_BATCH_WRITE_ITEMS, type RetryOptions } from "../aws/batch-write.js";
import { attributeNames, type LedgerItem, type LedgerRecord } from "./record.js";
import { toEntryItem, toStartItem, type JournalContext } from "./history.js";

/** How long a partly filled batch waits for more entries. */
const LINGER_MS = 2;
/** Calls per batch, the first included, before entries still in UnprocessedItems fail (aws/batch-write.ts). */
const RETRY: RetryOptions = { maxAttempts: 8, baseDelayMs: 25, maxDelayMs: 2_000 };

interface Pending {
  item: LedgerItem;
  settle: { resolve: () => void; reject: (error: Error) => void }[];
}

export class JournalWriter {
  /** By entry key: two deliveries of one event in one batch would be refused as duplicates. */
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: JournalContext) {}

  /**
   * Journals one change; `first`: the ledger held nothing for the key before it. The promise is
   * marked handled, so a caller that gave up on the change (another write failed) leaves no
   * unhandled rejection behind; one that awaits it still sees the failure.
   */
  write(record: LedgerRecord, first: boolean, sortKey?: string, replaced?: LedgerItem): Promise<void> {
    const entry = this.enqueue(toEntryItem(record, this.expiresAt(record), sortKey, replaced));
    // Only a write that found the ledger empty writes the start, so a redelivery (a duplicate
    // then) never replaces it.
    const written = first ? Promise.all([entry, this.enqueue(toStartItem(record, this.expiresAt(record)))]).then(() => undefined) : entry;
    written.catch(() => undefined);
    return written;
  }

  /**
   * Journals a redelivered change only if its entry is missing (its first delivery failed before
   * journaling): one conditional put, so the entry the first delivery wrote, with the state it
   * replaced, is never written over. Redeliveries are rare; batching them would gain nothing.
   */
  writeIfAbsent(record: LedgerRecord): Promise<void> {
    const written = this.ctx.documentClient
      .send(
        new PutCommand({
          TableName: this.ctx.tableName,
          Item: toEntryItem(record, this.expiresAt(record)),
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": attributeNames.pk },
        }),
      )
      .then(
        () => undefined,
        (error: unknown) => {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        },
      );
    written.catch(() => undefined);
    return written;
  }

  private expiresAt(record: LedgerRecord): number {
    return Math.floor(new Date(record.recordedAt).getTime() / 1000) + this.ctx.retentionSeconds;
  }

  private enqueue(item: LedgerItem): Promise<void> {
    return new Promise((resolve, reject) => {
      const id = `${String(item[attributeNames.pk])}\u0000${String(item[attributeNames.sk])}`;
      const existing = this.pending.get(id);
      if (existing) {
        existing.item = item;
        existing.settle.push({ resolve, reject });
      } else {
        this.pending.set(id, { item, settle: [{ resolve, reject }] });
      }
      if (this.pending.size >= MAX_BATCH_WRITE_ITEMS) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), LINGER_MS);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    for (let start = 0; start < batch.length; start += MAX_BATCH_WRITE_ITEMS) void this.send(batch.slice(start, start + MAX_BATCH_WRITE_ITEMS));
  }

  private async send(batch: Pending[]): Promise<void> {
    try {
      await batchWrite(
        this.ctx.documentClient,
        this.ctx.tableName,
        batch.map(({ item }) => ({ PutRequest: { Item: item } })),
        RETRY,
      );
      for (const { settle } of batch) for (const { resolve } of settle) resolve();
    } catch (error) {
      for (const { settle } of batch) for (const { reject } of settle) reject(error as Error);
    }
  }
}
