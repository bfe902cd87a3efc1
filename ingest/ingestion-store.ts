/**
 * Ingestion records in the ledger table: per object, its latest ingestion (what was ingested,
 * how it ended, and where it stopped if it is still running), and the rows it rejected, which
 * survive across invocations until the error report is written. Only this module knows the
 * attribute names.
 */
import { BatchWriteCommand, GetCommand, PutCommand, paginateQuery, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { compareUtf8, ingestionPartitionKey, ledgerTable, rejectedRowKeys, rejectedRowsPartitionKey } from "../ledger/index.js";
import type { SinkState } from "./object-sink.js";
import type { ReadStart } from "./row-reader.js";

/** Where a running ingestion resumes: the pass (checking the file parses, then writing) and the position in it. */
export interface IngestCheckpoint extends ReadStart {
  phase: "checking" | "writing";
  /** The copy's multipart upload, when the rule makes one. */
  copy?: SinkState;
}

export type IngestionStatus = "running" | "succeeded" | "partial" | "failed" | "removed";

export interface IngestionCounts {
  rowsRead: number;
  rowsWritten: number;
  rowsRejected: number;
  rowsDeleted: number;
}

export interface IngestionRecord extends IngestionCounts {
  bucket: string;
  key: string;
  rule: string;
  /** The version ingested: its version ID, or its ETag in an unversioned bucket. */
  version: string;
  status: IngestionStatus;
  /** Whether ingesting the same version again could end differently (not a malformed file, not bad rows). */
  retryable: boolean;
  reason?: string;
  /** For a failed file, the line it failed on. */
  failedLine?: number;
  /** Ingestions of this version so far, this one included. */
  attempts: number;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Time spent in invocations, summed over continuations. */
  durationMs: number;
  /** S3 key of the error report, when rows were rejected. */
  errorReport?: string;
  /** Where a running ingestion resumes. */
  checkpoint?: IngestCheckpoint;
  /** A running ingestion's latest position, written every few seconds (a heartbeat, and `ingest`'s progress). */
  progress?: { phase: "checking" | "writing"; offset: number; size: number; rowsRead: number };
  /** The `bucket-ledger ingest` request that started this ingestion. */
  requestId?: string;
  /** Whether rows of an older version may be in the table (false: a first ingestion, so `replace` skips the sweep). */
  mayHaveOlderRows?: boolean;
}

export interface RejectedRow {
  line: number;
  reason: string;
}

export const MAX_BATCH = 25;

export class IngestionStore {
  constructor(
    private readonly documentClient: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Rejected rows expire with the ledger's retention. */
    private readonly retentionSeconds: number,
  ) {}

  async get(bucket: string, key: string): Promise<IngestionRecord | undefined> {
    const { Item } = await this.documentClient.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [ledgerTable.partitionKey]: ingestionPartitionKey(bucket), [ledgerTable.sortKey]: key },
        ConsistentRead: true,
      }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async put(record: IngestionRecord): Promise<void> {
    await this.documentClient.send(new PutCommand({ TableName: this.tableName, Item: toItem(record) }));
  }

  /** A bucket's ingestion records in key order, from `prefix` (or one key's with `key`). */
  async *list(bucket: string, options: { prefix?: string; key?: string } = {}): AsyncGenerator<IngestionRecord> {
    const pages = paginateQuery(
      { client: this.documentClient },
      {
        TableName: this.tableName,
        KeyConditionExpression: options.key !== undefined ? "pk = :pk AND sk = :key" : options.prefix ? "pk = :pk AND begins_with(sk, :prefix)" : "pk = :pk",
        ExpressionAttributeValues: {
          ":pk": ingestionPartitionKey(bucket),
          ...(options.key !== undefined ? { ":key": options.key } : options.prefix ? { ":prefix": options.prefix } : {}),
        },
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) yield fromItem(item);
  }

  async addRejected(bucket: string, key: string, version: string, rows: RejectedRow[]): Promise<void> {
    const expiresAt = Math.floor(Date.now() / 1000) + this.retentionSeconds;
    const pk = rejectedRowsPartitionKey(bucket, key);
    const byLine = new Map(rows.map((row) => [row.line, row]));
    const unique = [...byLine.values()];
    for (let i = 0; i < unique.length; i += MAX_BATCH) {
      let requests = unique.slice(i, i + MAX_BATCH).map((row) => ({
        PutRequest: { Item: { pk, sk: rejectedRowKeys.row(version, row.line), line: row.line, reason: row.reason, [ledgerTable.ttlAttribute]: expiresAt } },
      }));
      // Unprocessed items are few and small here; retry them until written.
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt) * Math.random()));
        const response = await this.documentClient.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = (response.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
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
      let requests = batch;
      batch = [];
      while (requests.length > 0) {
        const response = await this.documentClient.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = (response.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    };
    for await (const row of this.rejected(bucket, key, version)) {
      batch.push({ DeleteRequest: { Key: { pk, sk: rejectedRowKeys.row(version, row.line) } } });
      if (batch.length === MAX_BATCH) await send();
    }
    await send();
  }
}

/** Orders records as their sort keys are ordered (UTF-8 byte order), for merging with the ledger. */
export const compareRecordKeys = (a: { key: string }, b: { key: string }) => compareUtf8(a.key, b.key);

function toItem(record: IngestionRecord): Record<string, unknown> {
  const { bucket, key, ...rest } = record;
  return { [ledgerTable.partitionKey]: ingestionPartitionKey(bucket), [ledgerTable.sortKey]: key, bucket, ...rest };
}

function fromItem(item: Record<string, unknown>): IngestionRecord {
  const { [ledgerTable.partitionKey]: _pk, [ledgerTable.sortKey]: key, ...rest } = item;
  return { ...(rest as Omit<IngestionRecord, "key">), key: key as string };
}
