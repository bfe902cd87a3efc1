/**
 * The buckets the ledger knows: a registry the writers fill (the tracker on a bucket's first
 * event in each Lambda instance, reconciliation at the start of each run), so that `buckets`
 * and `status` list them with one Query, and a command can say that a bucket was never seen.
 * Each bucket's item also carries its change-shard epochs, which ledger/change-index reads and
 * writes.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, paginateQuery, PutCommand } from "@aws-sdk/lib-dynamodb";
import { BUCKET_REGISTRY_PARTITION } from "./keys.js";
import type { QueryContext } from "./context.js";
import { attributeNames } from "./record.js";

export interface KnownBucket {
  bucket: string;
  /** When a writer first recorded it (ISO-8601). */
  firstSeenAt: string;
}

const registryKey = (bucket: string) => ({ [attributeNames.pk]: BUCKET_REGISTRY_PARTITION, [attributeNames.sk]: bucket });

/** A bucket's registry item as first written. */
export function registryItem(bucket: string, firstSeenAt: Date): Record<string, unknown> {
  return { ...registryKey(bucket), [attributeNames.bucket]: bucket, [attributeNames.firstSeenAt]: firstSeenAt.toISOString() };
}

export async function readRegistryItem(ctx: QueryContext, bucket: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await ctx.documentClient.send(new GetCommand({ TableName: ctx.tableName, Key: registryKey(bucket), ConsistentRead: true }));
  return Item;
}

/** Records a bucket, once: called before a writer's first change of it. */
export async function registerBucket(ctx: QueryContext, bucket: string, now: Date): Promise<void> {
  try {
    await ctx.documentClient.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: registryItem(bucket, now),
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
  for await (const page of pages)
    for (const item of page.Items ?? []) buckets.push({ bucket: String(item[attributeNames.bucket]), firstSeenAt: String(item[attributeNames.firstSeenAt]) });
  return buckets;
}
