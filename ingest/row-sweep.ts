/**
 * Removes a file's rows that no longer belong to it: after a `replace` ingestion, the rows of
 * older versions; after a delete under `delete`, all of them. Rows are found through the
 * target table's source index, in every partition a file's rows can be in: each shard, and the
 * legacy partition of rows written before sharding (row-table.ts). The index is eventually
 * consistent, so each delete is conditional: the row is removed only if it still carries the
 * `_source` it was found under and is not of the version being kept. A row another file has
 * since written, or that the new version rewrote, fails the condition and stays.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, paginateQuery, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import { backoffDelay } from "../aws/batch-write.js";
import { BoundedWriter } from "../foundation/bounded-writer.js";
import { INGEST_DEFAULTS } from "./defaults.js";
import { rowKey } from "./row-item.js";
import { sourcePartitions } from "./row-table.js";
import { ROW_ATTRIBUTES, type IngestRule } from "./rules.js";

export interface SweepTarget {
  documentClient: DynamoDBDocumentClient;
  tableName: string;
  rule: Pick<IngestRule, "partitionKey" | "sortKey" | "sourceIndex">;
  concurrency: number;
  /** DeleteItem calls per row, the first included, while DynamoDB throttles it (the writer's budget by default). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * What DynamoDB answers when a partition (of the table or of its index) is out of units: the
 * delete is retried "using an exponential backoff algorithm" as for BatchWriteItem
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.RetryAndBackoff).
 * A sweep of rows written before sharding deletes them all from one index partition, which
 * takes 1,000 a second: without this, the SDK's three retries ran out and the file's message failed.
 */
const THROTTLED = new Set(["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withBackoff<T>(target: SweepTarget, call: () => Promise<T>): Promise<T> {
  const maxAttempts = target.maxAttempts ?? INGEST_DEFAULTS.maxWriteAttempts;
  const base = target.baseDelayMs ?? INGEST_DEFAULTS.retryBaseDelayMs;
  const cap = target.maxDelayMs ?? INGEST_DEFAULTS.retryMaxDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!THROTTLED.has((error as Error).name) || attempt >= maxAttempts) throw error;
      await (target.sleep ?? defaultSleep)(backoffDelay(attempt, { baseDelayMs: base, maxDelayMs: cap }));
    }
  }
}

export interface SweepCounts {
  deleted: number;
  /** Rows the index listed that had meanwhile been rewritten or taken over by another file. */
  kept: number;
}

/** Partitions queried at once: most are empty (a small file), so the sweep costs a few round trips, not 33. */
const PARTITIONS_IN_FLIGHT = 8;

/** Deletes the rows of `source` whose version is not `keepVersion` (all of them when it is absent). */
export async function sweepRows(target: SweepTarget, source: string, keepVersion?: string): Promise<SweepCounts> {
  const counts: SweepCounts = { deleted: 0, kept: 0 };
  const writer = new BoundedWriter(target.concurrency);
  const limit = pLimit(PARTITIONS_IN_FLIGHT);
  await Promise.all(sourcePartitions(source).map((partition) => limit(() => sweepPartition(target, partition, keepVersion, writer, counts))));
  await writer.drain();
  return counts;
}

async function sweepPartition(target: SweepTarget, partition: string, keepVersion: string | undefined, writer: BoundedWriter, counts: SweepCounts) {
  const { documentClient, tableName, rule } = target;
  const names = { "#source": ROW_ATTRIBUTES.source, ...(keepVersion !== undefined && { "#version": ROW_ATTRIBUTES.version }) };
  const pages = paginateQuery(
    { client: documentClient },
    {
      TableName: tableName,
      IndexName: rule.sourceIndex,
      // `_version` is the index's sort key, which a filter may not name: the kept version's rows are skipped here.
      KeyConditionExpression: "#source = :source",
      ExpressionAttributeNames: { "#source": ROW_ATTRIBUTES.source },
      ExpressionAttributeValues: { ":source": partition },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      if (item[ROW_ATTRIBUTES.version] === keepVersion) continue;
      await writer.submit(async () => {
        try {
          await withBackoff(target, () =>
            documentClient.send(
              new DeleteCommand({
                TableName: tableName,
                Key: rowKey(rule, item),
                ConditionExpression: keepVersion === undefined ? "#source = :source" : "#source = :source AND #version <> :keep",
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: { ":source": partition, ...(keepVersion !== undefined && { ":keep": keepVersion }) },
              }),
            ),
          );
          counts.deleted++;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
          counts.kept++;
        }
      });
    }
  }
}
