/**
 * Row ingestion's records in the ledger table: per object, its latest ingestion (what was
 * ingested, how it ended, and where it stopped if it is still running). The codec and the reads
 * live here, with the rest of the table's model, so the typed client can show them; ingest/
 * writes them (ingest/ingestion-store.ts). Only this module knows their attribute names.
 */
import { GetCommand, paginateQuery } from "@aws-sdk/lib-dynamodb";
import { ingestionPartitionKey } from "./keys.js";
import type { QueryContext } from "./context.js";
import { attributeNames } from "./record.js";

/** A multipart upload in progress: where an ingestion's copy resumes. */
export interface UploadState {
  uploadId: string;
  parts: { PartNumber: number; ETag: string }[];
}

/** Where a running ingestion resumes: the pass (checking the file parses, then writing) and the position in it. */
export interface IngestCheckpoint {
  phase: "checking" | "writing";
  /** Bytes of the file before the next row. */
  offset: number;
  /** The line the next row starts on. */
  line: number;
  /** A CSV file's header, once read. */
  columns?: string[];
  /** The copy's multipart upload, when the rule makes one. */
  copy?: UploadState;
}

export type IngestionStatus = "running" | "succeeded" | "partial" | "failed" | "removed";

export interface IngestionCounts {
  rowsRead: number;
  rowsWritten: number;
  rowsRejected: number;
  /** Of the rejected, those DynamoDB never took (still unprocessed after the retries): another try may write them. */
  rowsUnprocessed: number;
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

export interface IngestionQuery {
  bucket: string;
  /** Only keys under this prefix. */
  prefix?: string;
  /** Only this key. */
  key?: string;
  /** Only those that did not fully succeed (failed or partial). */
  failed?: boolean;
}

export function ingestionItem(record: IngestionRecord): Record<string, unknown> {
  const { bucket, key, ...rest } = record;
  return { [attributeNames.pk]: ingestionPartitionKey(bucket), [attributeNames.sk]: key, [attributeNames.bucket]: bucket, ...rest };
}

export function ingestionFromItem(item: Record<string, unknown>): IngestionRecord {
  const { [attributeNames.pk]: _pk, [attributeNames.sk]: key, ...rest } = item;
  return { ...(rest as Omit<IngestionRecord, "key">), key: key as string };
}

export async function getIngestion(ctx: QueryContext, bucket: string, key: string): Promise<IngestionRecord | undefined> {
  const { Item } = await ctx.documentClient.send(
    new GetCommand({
      TableName: ctx.tableName,
      Key: { [attributeNames.pk]: ingestionPartitionKey(bucket), [attributeNames.sk]: key },
      ConsistentRead: true,
    }),
  );
  return Item ? ingestionFromItem(Item) : undefined;
}

/** A bucket's ingestion records in key order (UTF-8 byte order, as the ledger's objects). */
export async function* listIngestions(ctx: QueryContext, query: IngestionQuery): AsyncGenerator<IngestionRecord> {
  const { key, prefix } = query;
  const pages = paginateQuery(
    { client: ctx.documentClient },
    {
      TableName: ctx.tableName,
      KeyConditionExpression: key !== undefined ? "#pk = :pk AND #sk = :key" : prefix ? "#pk = :pk AND begins_with(#sk, :prefix)" : "#pk = :pk",
      ExpressionAttributeNames: { "#pk": attributeNames.pk, ...((key !== undefined || prefix) && { "#sk": attributeNames.sk }) },
      ExpressionAttributeValues: { ":pk": ingestionPartitionKey(query.bucket), ...(key !== undefined ? { ":key": key } : prefix ? { ":prefix": prefix } : {}) },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const record = ingestionFromItem(item);
      if (!query.failed || record.status === "failed" || record.status === "partial") yield record;
    }
  }
}
