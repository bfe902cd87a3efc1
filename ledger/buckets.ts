/**
 * The buckets the ledger knows: a registry the writers fill (the tracker on a bucket's first
 * event in each Lambda instance, reconciliation at the start of each run), so that `buckets`
 * and `status` list them with one Query, and a command can say that a bucket was never seen.
 *
 * Each bucket's item also records how its change index is sharded, and since when
 * (`changeShards`, a list of epochs, ledger/change-shards.ts): readers of the change feed take
 * the partitions of each day from it, so they need no setting, and the count may change at any
 * time, by a stack's setting or with the bucket's rate.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, paginateQuery, PutCommand } from "@aws-sdk/lib-dynamodb";
import { countAt, countsOnDay, epochsOrUnsharded, withEpoch, type ChangeShardEpoch } from "./change-shards.js";
import { BUCKET_REGISTRY_PARTITION, changeDayKeys } from "./keys.js";
import type { QueryContext } from "./queries.js";
import { attributeNames } from "./record.js";

export interface KnownBucket {
  bucket: string;
  /** When a writer first recorded it (ISO-8601). */
  firstSeenAt: string;
}

const registryKey = (bucket: string) => ({ [attributeNames.pk]: BUCKET_REGISTRY_PARTITION, [attributeNames.sk]: bucket });

async function readRegistryItem(ctx: QueryContext, bucket: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await ctx.documentClient.send(new GetCommand({ TableName: ctx.tableName, Key: registryKey(bucket), ConsistentRead: true }));
  return Item;
}

/** Records a bucket, once: called before a writer's first change of it. */
export async function registerBucket(ctx: QueryContext, bucket: string, now: Date): Promise<void> {
  try {
    await ctx.documentClient.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: { ...registryKey(bucket), bucket, firstSeenAt: now.toISOString() },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": attributeNames.pk },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

export async function isRegistered(ctx: QueryContext, bucket: string): Promise<boolean> {
  return (await readRegistryItem(ctx, bucket)) !== undefined;
}

/** The bucket's change-shard epochs, read strongly consistently (see ledger/change-shards.ts). */
export async function readChangeShards(ctx: QueryContext, bucket: string): Promise<ChangeShardEpoch[]> {
  return epochsOrUnsharded((await readRegistryItem(ctx, bucket))?.changeShards);
}

/**
 * Records that the bucket's changes are written with `epoch.count` shards from `epoch.from` on
 * (at least EPOCH_LEAD_MS ahead: see ledger/change-shards.ts), unless that count is already in
 * force then; resolves with the epochs recorded.
 */
export async function recordChangeShards(
  ctx: QueryContext,
  bucket: string,
  epoch: ChangeShardEpoch,
  keepAfter: string,
  now: Date,
): Promise<ChangeShardEpoch[]> {
  const item = await readRegistryItem(ctx, bucket);
  const recorded = epochsOrUnsharded(item?.changeShards);
  if (countAt(recorded, epoch.from) === epoch.count && recorded.every((known) => known.from <= epoch.from)) return recorded;
  const epochs = withEpoch(recorded, epoch, keepAfter);
  // Each write of the epochs bumps a version: a write conditioned on the epochs' length alone
  // could pass over another writer's that replaced an epoch not yet begun (same length).
  const version = typeof item?.changeShardsVersion === "number" ? item.changeShardsVersion : undefined;
  try {
    // A put over the item read, not an update: the writers' roles may put items but not update them.
    await ctx.documentClient.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: { bucket, firstSeenAt: now.toISOString(), ...item, ...registryKey(bucket), changeShards: epochs, changeShardsVersion: (version ?? 0) + 1 },
        // Only over the epochs read: two writers changing the count at once cannot lose one.
        ConditionExpression: version === undefined ? "attribute_not_exists(#version)" : "#version = :read",
        ExpressionAttributeNames: { "#version": "changeShardsVersion" },
        ...(version !== undefined && { ExpressionAttributeValues: { ":read": version } }),
      }),
    );
    return epochs;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // Another writer recorded an epoch meanwhile: decide again over what it recorded.
    return recordChangeShards(ctx, bucket, epoch, keepAfter, now);
  }
}

/** The change-index partitions of each day of the bucket, and when they were read (see READ_AHEAD_MS). */
export async function changePartitions(ctx: QueryContext, bucket: string): Promise<{ partitionsOf: (day: string) => string[]; readAt: Date }> {
  const readAt = new Date();
  const epochs = await readChangeShards(ctx, bucket);
  return { readAt, partitionsOf: (day) => countsOnDay(epochs, day).flatMap((count) => changeDayKeys(bucket, day, count)) };
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
