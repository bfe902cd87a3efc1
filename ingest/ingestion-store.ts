/**
 * What ingestion writes in the ledger table: its records (the model and reads are in
 * ledger/ingestions.ts), and the rows each ingestion rejected, which survive across
 * invocations until the error report is written.
 */
import { PutCommand, paginateQuery, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { batchWrite, type RetryOptions } from "../aws/batch-write.js";
import {
  getIngestion,
  ingestionItem,
  ledgerTable,
  rejectedRowKeys,
  rejectedRowsPartitionKey,
  type IngestionRecord,
  type QueryContext,
} from "../ledger/index.js";

export type { IngestCheckpoint, IngestionCounts, IngestionRecord, IngestionStatus } from "../ledger/index.js";

export interface RejectedRow {
  line: number;
  reason: string;
}

export const MAX_BATCH = 25;

/** Rejected rows are few and small: a short backoff, and a bounded one (aws/batch-write.ts). */
const RETRY: RetryOptions = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 1_000 };

export class IngestionStore {
  /** How the ledger's reads of ingestion records reach the table. */
  private readonly context: QueryContext;

  constructor(
    private readonly documentClient: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Rejected rows expire with the ledger's retention. */
    private readonly retentionSeconds: number,
  ) {
    this.context = { tableName, documentClient, shardCount: ledgerTable.shardCount };
  }

  get(bucket: string, key: string): Promise<IngestionRecord | undefined> {
    return getIngestion(this.context, bucket, key);
  }

  async put(record: IngestionRecord): Promise<void> {
    await this.documentClient.send(new PutCommand({ TableName: this.tableName, Item: ingestionItem(record) }));
  }

  async addRejected(bucket: string, key: string, version: string, rows: RejectedRow[]): Promise<void> {
    const expiresAt = Math.floor(Date.now() / 1000) + this.retentionSeconds;
    const pk = rejectedRowsPartitionKey(bucket, key);
    const byLine = new Map(rows.map((row) => [row.line, row]));
    const unique = [...byLine.values()];
    const requests = unique.map((row) => ({
      PutRequest: { Item: { pk, sk: rejectedRowKeys.row(version, row.line), line: row.line, reason: row.reason, [ledgerTable.ttlAttribute]: expiresAt } },
    }));
    await batchWrite(this.documentClient, this.tableName, requests, RETRY);
  }

  /** The rejected rows of one ingestion, in line order. */
  async *rejected(bucket: string, key: string, version: string): AsyncGenerator<RejectedRow> {
    const pages = paginateQuery(
      { client: this.documentClient },
      {
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :version)",
        ExpressionAttributeValues: { ":pk": rejectedRowsPartitionKey(bucket, key), ":version": rejectedRowKeys.of(version) },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) yield { line: item.line as number, reason: item.reason as string };
  }

  /** Forgets what an earlier ingestion of this version rejected, before it is ingested afresh. */
  async clearRejected(bucket: string, key: string, version: string): Promise<void> {
    const pk = rejectedRowsPartitionKey(bucket, key);
    let batch: { DeleteRequest: { Key: Record<string, string> } }[] = [];
    const send = async () => {
      const requests = batch;
      batch = [];
      await batchWrite(this.documentClient, this.tableName, requests, RETRY);
    };
    for await (const row of this.rejected(bucket, key, version)) {
      batch.push({ DeleteRequest: { Key: { pk, sk: rejectedRowKeys.row(version, row.line) } } });
      if (batch.length === MAX_BATCH) await send();
    }
    await send();
  }
}
