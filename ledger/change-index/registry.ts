/** The bucket's epochs as its registry item (ledger/buckets.ts) records them. */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { readRegistryItem, registryItem } from "../buckets.js";
import type { QueryContext } from "../context.js";
import { attributeNames } from "../record.js";
import { countAt, epochsOrUnsharded, withEpoch, type ChangeShardEpoch } from "./protocol.js";

/** The bucket's change-shard epochs, read strongly consistently. */
export async function readChangeShards(ctx: QueryContext, bucket: string): Promise<ChangeShardEpoch[]> {
  return epochsOrUnsharded((await readRegistryItem(ctx, bucket))?.[attributeNames.changeShards]);
}

/**
 * Records that the bucket's changes are written with `epoch.count` shards from `epoch.from` on
 * (at least EPOCH_LEAD_MS ahead), unless that count is already in force then; resolves with the
 * epochs recorded.
 */
export async function recordChangeShards(
  ctx: QueryContext,
  bucket: string,
  epoch: ChangeShardEpoch,
  keepAfter: string,
  now: Date,
): Promise<ChangeShardEpoch[]> {
  const item = await readRegistryItem(ctx, bucket);
  const recorded = epochsOrUnsharded(item?.[attributeNames.changeShards]);
  if (countAt(recorded, epoch.from) === epoch.count && recorded.every((known) => known.from <= epoch.from)) return recorded;
  const epochs = withEpoch(recorded, epoch, keepAfter);
  // Each write of the epochs bumps a version: a write conditioned on the epochs' length alone
  // could pass over another writer's that replaced an epoch not yet begun (same length).
  const read = item?.[attributeNames.changeShardsVersion];
  const version = typeof read === "number" ? read : undefined;
  try {
    // A put over the item read, not an update: the writers' roles may put items but not update them.
    await ctx.documentClient.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: {
          ...registryItem(bucket, now),
          ...item,
          [attributeNames.changeShards]: epochs,
          [attributeNames.changeShardsVersion]: (version ?? 0) + 1,
        },
        // Only over the epochs read: two writers changing the count at once cannot lose one.
        ConditionExpression: version === undefined ? "attribute_not_exists(#version)" : "#version = :read",
        ExpressionAttributeNames: { "#version": attributeNames.changeShardsVersion },
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
