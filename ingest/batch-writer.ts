/**
 * Writes row items with BatchWriteItem the way its documentation asks
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html):
 * at most 25 requests per call, no two for the same key in one call ("you cannot put and
 * delete the same item in the same BatchWriteItem request" and duplicates are a
 * ValidationException), and UnprocessedItems retried "using an exponential backoff algorithm".
 * Throttling errors are retried by the SDK first, then by the same backoff.
 *
 * Rows are written in file order per key: a group holding a key still in flight in an earlier
 * group waits for it, so the last row of a file with a repeated key is the one that stays.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { MAX_BATCH_WRITE_ITEMS, sendUntilProcessed, UnprocessedItemsError } from "../aws/batch-write.js";
import { BoundedWriter } from "../foundation/bounded-writer.js";
import type { RowItem } from "./row-item.js";

export const MAX_BATCH_ITEMS = MAX_BATCH_WRITE_ITEMS;

export interface PendingRow {
  item: RowItem;
  /** The item's table key as a string: rows with the same identity are the same item. */
  identity: string;
  line: number;
  /** About how large the row is (its bytes in the file): what the in-flight byte bound counts. */
  bytes?: number;
}

export interface RejectedRow {
  line: number;
  reason: string;
  /** Left unprocessed (another try may write it), rather than refused. */
  retryable?: boolean;
}

export interface BatchWriterOptions {
  documentClient: DynamoDBDocumentClient;
  tableName: string;
  /** BatchWriteItem calls in flight. */
  concurrency: number;
  /**
   * Bytes of rows queued or in flight at most (beyond the group being filled): 16 calls of 25
   * rows near 400 KB each would otherwise hold 160 MB, and twice that queued.
   */
  maxBytesInFlight?: number;
  /** Calls per group, the first included, before what is still unprocessed is rejected. */
  maxAttempts: number;
  /** Backoff base and cap (full jitter: a random delay up to min(cap, base x 2^attempt)). */
  baseDelayMs: number;
  maxDelayMs: number;
  identify: (item: RowItem) => string;
  onRejected: (row: RejectedRow) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface BatchWriterCounts {
  written: number;
  /** Rows replaced by a later row with the same key in the same group (only the later is sent). */
  collapsed: number;
  calls: number;
  retries: number;
}

const RETRYABLE = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
]);

/**
 * Whether the error came from sending the request (DynamoDB's answer, or the network), as
 * opposed to the document client refusing to marshal a value before anything was sent: the
 * SDK puts `$metadata` on the former only.
 */
function isServiceError(error: unknown): boolean {
  return (error as { $metadata?: unknown }).$metadata !== undefined;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RowBatchWriter {
  readonly counts: BatchWriterCounts = { written: 0, collapsed: 0, calls: 0, retries: 0 };
  private group = new Map<string, PendingRow>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Groups handed to the pool and not yet done, with their bytes. */
  private readonly groups = new Map<Promise<void>, number>();
  private bytesInFlight = 0;
  private readonly pool: BoundedWriter;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: BatchWriterOptions) {
    this.pool = new BoundedWriter(options.concurrency);
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** A promise only when the row filled a group, to wait on before adding more: most rows cost no promise. */
  add(row: PendingRow): Promise<void> | undefined {
    if (this.group.has(row.identity)) {
      this.counts.collapsed++;
      this.group.delete(row.identity);
    }
    this.group.set(row.identity, row);
    return this.group.size >= MAX_BATCH_ITEMS ? this.dispatch() : undefined;
  }

  /** Sends what is buffered and waits for every write; after it, every row added is written or rejected. */
  async flush(): Promise<void> {
    if (this.group.size > 0) await this.dispatch();
    await this.pool.drain();
  }

  private async dispatch(): Promise<void> {
    const rows = [...this.group.values()];
    this.group = new Map();
    const bytes = rows.reduce((sum, row) => sum + (row.bytes ?? 0), 0);
    const maxBytes = this.options.maxBytesInFlight ?? Infinity;
    while (this.groups.size > 0 && this.bytesInFlight + bytes > maxBytes) await Promise.race(this.groups.keys());
    const earlier = new Set(rows.map((row) => this.inFlight.get(row.identity)).filter((write) => write !== undefined));
    let done!: () => void;
    const written = new Promise<void>((resolve) => (done = resolve));
    for (const row of rows) this.inFlight.set(row.identity, written);
    this.bytesInFlight += bytes;
    this.groups.set(written, bytes);
    void written.then(() => {
      this.bytesInFlight -= bytes;
      this.groups.delete(written);
    });
    await this.pool.submit(async () => {
      try {
        await Promise.all(earlier);
        await this.write(rows);
      } finally {
        for (const row of rows) if (this.inFlight.get(row.identity) === written) this.inFlight.delete(row.identity);
        done();
      }
    });
  }

  /** `isolate`: on a refused call, retry its rows one by one (off for a call of one row). */
  private async write(rows: PendingRow[], isolate = true): Promise<void> {
    const { documentClient, tableName, identify, maxAttempts, baseDelayMs, maxDelayMs } = this.options;
    const byIdentity = new Map(rows.map((row) => [row.identity, row]));
    /** What the last call sent: the rows to isolate if it was refused. */
    let pending = rows;
    let calls = 0;
    const send = async (requests: PendingRow[]) => {
      if (calls++ > 0) this.counts.retries++;
      pending = requests;
      this.counts.calls++;
      const response = await documentClient.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: requests.map((row) => ({ PutRequest: { Item: row.item } })) } }),
      );
      const unprocessed = (response.UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
        request.PutRequest?.Item ? [byIdentity.get(identify(request.PutRequest.Item))!] : [],
      );
      this.counts.written += requests.length - unprocessed.length;
      return unprocessed;
    };
    try {
      // Throttling still failing after the SDK's retries costs one attempt, as an unprocessed group does.
      const retryable = (error: unknown) => RETRYABLE.has((error as Error).name) && isServiceError(error);
      await sendUntilProcessed(rows, send, { maxAttempts, baseDelayMs, maxDelayMs, retryable, sleep: this.sleep });
    } catch (error) {
      if (error instanceof UnprocessedItemsError) {
        const lastProblem = error.lastError !== undefined ? `${(error.lastError as Error).name} after the SDK's retries` : "left in UnprocessedItems";
        for (const row of error.remaining as PendingRow[])
          this.options.onRejected({ line: row.line, reason: `not written after ${maxAttempts} BatchWriteItem attempts (${lastProblem})`, retryable: true });
        return;
      }
      // One bad item refuses the whole call: DynamoDB's ValidationException, or the document
      // client's own refusal to marshal a value (an error with no HTTP response).
      if ((error as Error).name === "ValidationException" || !isServiceError(error)) {
        if (!isolate) throw error;
        return this.writeOneByOne(pending);
      }
      throw error;
    }
  }

  /**
   * A group refused as a whole: each row in a call of its own (BatchWriteItem still, so the
   * role needs no PutItem), so only the bad one is rejected.
   */
  private async writeOneByOne(rows: PendingRow[]): Promise<void> {
    for (const row of rows) {
      try {
        await this.write([row], false);
      } catch (error) {
        if ((error as Error).name !== "ValidationException" && isServiceError(error)) throw error;
        // DynamoDB's own message names what it refused (a type, a size, a key); the document
        // client's refusal to marshal a value may quote the value, so only its kind is kept.
        this.options.onRejected({
          line: row.line,
          reason: isServiceError(error)
            ? `DynamoDB refused the row: ${(error as Error).message}`
            : `the row holds a value the document client cannot send to DynamoDB (${(error as Error).name})`,
        });
      }
    }
  }
}
