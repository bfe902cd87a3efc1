/** Whole-bucket statistics: exact counts from every shard, and the newest change. */
import { paginateQuery, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { allPartitionKeys } from "./keys.js";
import { changePartitions } from "./buckets.js";
import { CLOCK_SKEW_MS, type QueryContext } from "./queries.js";
import { attributeNames, fromItem } from "./record.js";
import { ledgerTable } from "./table.js";

export interface BucketStats {
  bucket: string;
  /** Live objects. */
  objects: number;
  /** Sum of their sizes. */
  totalBytes: number;
  /** Deletes still remembered (until their TTL, `retentionDays` after the delete). */
  tombstones: number;
  /** The most recently recorded change within the retention window, if any. */
  newestChange?: { key: string; recordedAt: string; deleted: boolean };
}

/**
 * Exact counts for one bucket. Reads every item of the bucket (all shards in parallel, only
 * size and the delete flag projected): cost and time grow with the bucket, about 1 read
 * unit per 20,000 objects (eventually consistent). The newest change is one request per day
 * looked back.
 */
export async function bucketStats(
  ctx: QueryContext,
  bucket: string,
  options: { lookBackDays: number; onProgress?: (itemsRead: number) => void },
): Promise<BucketStats> {
  const stats: BucketStats = { bucket, objects: 0, totalBytes: 0, tombstones: 0 };
  let itemsRead = 0;
  await Promise.all(
    allPartitionKeys(bucket, ctx.shardCount).map(async (pk) => {
      const pages = paginateQuery(
        { client: ctx.documentClient, pageSize: 5000 },
        {
          TableName: ctx.tableName,
          KeyConditionExpression: "#pk = :pk",
          ProjectionExpression: "#size, #deleted",
          ExpressionAttributeNames: { "#pk": attributeNames.pk, "#size": "size", "#deleted": "deleted" },
          ExpressionAttributeValues: { ":pk": pk },
        },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          if (item.deleted) stats.tombstones++;
          else {
            stats.objects++;
            stats.totalBytes += Number(item.size ?? 0);
          }
        }
        itemsRead += page.Items?.length ?? 0;
        options.onProgress?.(itemsRead);
      }
    }),
  );
  const newestChange = await readNewestChange(ctx, bucket, options.lookBackDays);
  if (newestChange) stats.newestChange = newestChange;
  return stats;
}

/** The bucket's most recently recorded change: one request per partition of each day looked back (in parallel), newest day first. */
export async function readNewestChange(ctx: QueryContext, bucket: string, lookBackDays: number): Promise<BucketStats["newestChange"]> {
  const { changeIndex } = ledgerTable;
  const day = new Date(Date.now() + CLOCK_SKEW_MS);
  const { partitionsOf } = await changePartitions(ctx, bucket);
  for (let looked = 0; looked <= lookBackDays; looked++, day.setUTCDate(day.getUTCDate() - 1)) {
    // The newest of the day's partitions' newest: one request each, at once.
    const heads = await Promise.all(
      partitionsOf(day.toISOString().slice(0, 10)).map(async (partition) => {
        const { Items } = await ctx.documentClient.send(
          new QueryCommand({
            TableName: ctx.tableName,
            IndexName: changeIndex.name,
            KeyConditionExpression: "#day = :day",
            ExpressionAttributeNames: { "#day": changeIndex.partitionKey },
            ExpressionAttributeValues: { ":day": partition },
            ScanIndexForward: false,
            Limit: 1,
          }),
        );
        return Items?.[0];
      }),
    );
    const tokenOf = (item: Record<string, unknown>) => String(item[changeIndex.sortKey]);
    const newest = heads.reduce<Record<string, unknown> | undefined>(
      (best, head) => (head && (!best || tokenOf(head) > tokenOf(best)) ? head : best),
      undefined,
    );
    if (newest) {
      const record = fromItem(newest);
      return { key: record.key, recordedAt: record.recordedAt, deleted: record.deleted };
    }
  }
  return undefined;
}
