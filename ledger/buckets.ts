/**
 * The buckets the ledger knows: a registry the writers fill (the tracker on a bucket's first
 * event in each Lambda instance, reconciliation at the start of each run), so that `buckets`
 * and `status` list them with one Query, and a command can say that a bucket was never seen.
 *
 * Each bucket's item also records how its change index is sharded, and since when
 * (`changeShards`, a list of epochs): readers of the change feed take the partitions of each day
 * from it, so they need no setting, and a stack may change its `changeShards` at any time.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, paginateQuery, PutCommand } from "@aws-sdk/lib-dynamodb";
import { BUCKET_REGISTRY_PARTITION, changeDayKeys } from "./keys.js";
import type { QueryContext } from "./queries.js";
import { attributeNames } from "./record.js";

export interface KnownBucket {
  bucket: string;
  /** When a writer first recorded it (ISO-8601). */
  firstSeenAt: string;
}

/** From `from` (a UTC day, YYYY-MM-DD) on, the bucket's changes were written with `count` shards. */
export interface ChangeShardEpoch {
  from: string;
  count: number;
}

/** Before the registry recorded shards, every table wrote one change partition per day. */
const UNSHARDED: ChangeShardEpoch = { from: "0000-00-00", count: 1 };

const registryKey = (bucket: string) => ({ [attributeNames.pk]: BUCKET_REGISTRY_PARTITION, [attributeNames.sk]: bucket });

async function readRegistryItem(ctx: QueryContext, bucket: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await ctx.documentClient.send(new GetCommand({ TableName: ctx.tableName, Key: registryKey(bucket), ConsistentRead: true }));
  return Item;
}

const epochsOf = (item: Record<string, unknown> | undefined): ChangeShardEpoch[] =>
  Array.isArray(item?.changeShards) && item.changeShards.length > 0 ? (item.changeShards as ChangeShardEpoch[]) : [UNSHARDED];

/**
 * Records a bucket, and the change shards its writers use from today; called before a writer's
 * first change of the bucket. A new shard count starts an epoch today: today's changes may be
 * under either count, and readers query both for that day.
 */
export async function registerBucket(ctx: QueryContext, bucket: string, now: Date, changeShards = 1): Promise<void> {
  const today = now.toISOString().slice(0, 10);
  const epochs = changeShards === 1 ? [UNSHARDED] : [UNSHARDED, { from: today, count: changeShards }];
  try {
    await ctx.documentClient.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: { ...registryKey(bucket), bucket, firstSeenAt: now.toISOString(), changeShards: epochs },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": attributeNames.pk },
      }),
    );
    return;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  const item = await readRegistryItem(ctx, bucket);
  const recorded = epochsOf(item);
  if (recorded.at(-1)!.count === changeShards) return;
  const stored = Array.isArray(item?.changeShards) ? item.changeShards.length : 0;
  try {
    // A put over the item read, not an update: the writers' roles may put items but not update them.
    await ctx.documentClient.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: { ...item, ...registryKey(bucket), changeShards: [...recorded, { from: today, count: changeShards }] },
        // Only over the epochs read: two writers changing the count at once cannot lose one.
        ConditionExpression: stored === 0 ? "attribute_not_exists(#epochs)" : "size(#epochs) = :read",
        ExpressionAttributeNames: { "#epochs": "changeShards" },
        ...(stored > 0 && { ExpressionAttributeValues: { ":read": stored } }),
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // Another writer recorded an epoch meanwhile: read it again.
    return registerBucket(ctx, bucket, now, changeShards);
  }
}

export async function isRegistered(ctx: QueryContext, bucket: string): Promise<boolean> {
  return (await readRegistryItem(ctx, bucket)) !== undefined;
}

/** The change-index partitions each day of the bucket may be in, from its recorded epochs. */
export async function changePartitions(ctx: QueryContext, bucket: string): Promise<(day: string) => string[]> {
  const epochs = epochsOf(await readRegistryItem(ctx, bucket));
  return (day) => {
    const counts = new Set(epochs.filter((epoch, index) => epoch.from <= day && (epochs[index + 1]?.from ?? "9999") >= day).map((epoch) => epoch.count));
    return [...counts].flatMap((count) => changeDayKeys(bucket, day, count));
  };
}

/** Every bucket recorded, in name order. */
export async function listKnownBuckets(ctx: QueryContext): Promise<KnownBucket[]> {
  const buckets: KnownBucket[] = [];
  const pages = paginateQuery(
    { client: ctx.documentClient },
    {
      TableName: ctx.tableName,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": attributeNames.pk },
      ExpressionAttributeValues: { ":pk": BUCKET_REGISTRY_PARTITION },
    },
  );
  for await (const page of pages) for (const item of page.Items ?? []) buckets.push({ bucket: String(item.bucket), firstSeenAt: String(item.firstSeenAt) });
  return buckets;
}
