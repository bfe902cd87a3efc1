/** Whole-bucket statistics: exact counts from every shard, and the newest change. */
import { paginateQuery } from "@aws-sdk/lib-dynamodb";
import { readNewestChange, type NewestChange } from "./change-index/index.js";
import type { QueryContext } from "./context.js";
import { allPartitionKeys } from "./keys.js";
import { attributeNames } from "./record.js";

export interface BucketStats {
  bucket: string;
  /** Live objects. */
  objects: number;
  /** Sum of their sizes. */
  totalBytes: number;
  /** Deletes still remembered (until their TTL, `retentionDays` after the delete). */
  tombstones: number;
  /** The most recently recorded change within the retention window, if any. */
  newestChange?: NewestChange;
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
          ExpressionAttributeNames: { "#pk": attributeNames.pk, "#size": attributeNames.size, "#deleted": attributeNames.deleted },
          ExpressionAttributeValues: { ":pk": pk },
        },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          if (item[attributeNames.deleted]) stats.tombstones++;
          else {
            stats.objects++;
            stats.totalBytes += Number(item[attributeNames.size] ?? 0);
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
