/**
 * Erasure of personal data on request: a key's history, or one requester's origin everywhere.
 * Every write is conditional on the item still holding what was read, so a change recorded
 * after the erasure read it (a newer event, a redelivery) is never touched; such an item is
 * counted as `skipped`. A dry run reads the same and writes nothing.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, GetCommand, paginateScan, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import { journalItems } from "./history.js";
import { journalKeys, partitionKeyOf } from "./keys.js";
import { removeOrigin } from "./origin.js";
import { attributeNames, originFrom, type LedgerItem } from "./record.js";

export interface EraseContext {
  tableName: string;
  documentClient: DynamoDBDocumentClient;
}

export interface KeyErasure {
  bucket: string;
  key: string;
  dryRun: boolean;
  /** Journal entries (the key's start marker included) removed, or that a run would remove. */
  historyEntries: number;
  /** Whether the key's ledger item carried origin, now removed (or to be). */
  itemOrigin: boolean;
  /** Changed since read: left as they are. */
  skipped: number;
}

const ITEM_KEY = (item: LedgerItem) => ({ [attributeNames.pk]: item[attributeNames.pk] as string, [attributeNames.sk]: item[attributeNames.sk] as string });

/** Deletes one journal item if it still holds what was read: an entry its `recordedAt`, the start marker its `entry`. */
async function deleteUnchanged(ctx: EraseContext, item: LedgerItem): Promise<boolean> {
  const isStart = item[attributeNames.sk] === journalKeys.start;
  const attribute = isStart ? attributeNames.entry : attributeNames.recordedAt;
  const value = item[attribute];
  try {
    await ctx.documentClient.send(
      new DeleteCommand({
        TableName: ctx.tableName,
        Key: ITEM_KEY(item),
        ConditionExpression: "#held = :held",
        ExpressionAttributeNames: { "#held": attribute },
        ExpressionAttributeValues: { ":held": value },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * Removes every journal entry of one key and the origin on its ledger item (a live object or a
 * tombstone). The item itself stays: it is the bucket's current state, not a record of who.
 */
export async function eraseKey(ctx: EraseContext, target: { bucket: string; key: string; dryRun: boolean }): Promise<KeyErasure> {
  const { bucket, key, dryRun } = target;
  const result: KeyErasure = { bucket, key, dryRun, historyEntries: 0, itemOrigin: false, skipped: 0 };
  for await (const item of journalItems(ctx, bucket, key, { consistentRead: true })) {
    if (dryRun || (await deleteUnchanged(ctx, item))) result.historyEntries++;
    else result.skipped++;
  }
  const { Item } = await ctx.documentClient.send(
    new GetCommand({ TableName: ctx.tableName, Key: { [attributeNames.pk]: partitionKeyOf(bucket, key), [attributeNames.sk]: key }, ConsistentRead: true }),
  );
  if (Item && hasOrigin(Item)) {
    if (dryRun || (await removeOrigin(ctx, ITEM_KEY(Item), { recordedAt: Item[attributeNames.recordedAt] as string })) === "removed") result.itemOrigin = true;
    else result.skipped++;
  }
  return result;
}

const hasOrigin = (item: LedgerItem) => originFrom(item) !== undefined;

export interface RequesterErasure {
  requester: string;
  dryRun: boolean;
  /** Items the Scan read (every item of the table). */
  scanned: number;
  /** Ledger items and journal entries whose origin named the requester, now without origin (or to be). */
  erased: number;
  skipped: number;
}

/** Scan segments at most: each is one reader and a few writers at once. */
export const MAX_ERASE_SEGMENTS = 16;
/** Conditional writes in flight per segment. */
const WRITES_PER_SEGMENT = 4;

/**
 * Removes the origin of every ledger item and journal entry whose requester is `requester`.
 * The ledger has no index by requester, so this is a Scan of the whole table in parallel
 * segments: a filter expression is applied after the read, so the Scan consumes read capacity
 * for every item, matching or not (DynamoDB developer guide, "Scanning tables", Filter
 * expressions for Scan: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.FilterExpression;
 * parallel scan: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.ParallelScan).
 */
export async function eraseRequester(
  ctx: EraseContext,
  target: { requester: string; dryRun: boolean; segments: number; onProgress?: (progress: RequesterErasure) => void },
): Promise<RequesterErasure> {
  const { requester, dryRun } = target;
  if (!Number.isInteger(target.segments) || target.segments < 1 || target.segments > MAX_ERASE_SEGMENTS)
    throw new RangeError(`segments must be an integer from 1 to ${MAX_ERASE_SEGMENTS}, got ${target.segments}`);
  const result: RequesterErasure = { requester, dryRun, scanned: 0, erased: 0, skipped: 0 };
  const segment = async (index: number) => {
    const limit = pLimit(WRITES_PER_SEGMENT);
    const pages = paginateScan(
      { client: ctx.documentClient },
      {
        TableName: ctx.tableName,
        Segment: index,
        TotalSegments: target.segments,
        FilterExpression: "#requester = :requester",
        ProjectionExpression: "#pk, #sk, #recordedAt, #requester",
        ExpressionAttributeNames: {
          "#pk": attributeNames.pk,
          "#sk": attributeNames.sk,
          "#recordedAt": attributeNames.recordedAt,
          "#requester": attributeNames.requester,
        },
        ExpressionAttributeValues: { ":requester": requester },
      },
    );
    for await (const page of pages) {
      result.scanned += page.ScannedCount ?? 0;
      await Promise.all(
        (page.Items ?? []).map((item) =>
          limit(async () => {
            const outcome = dryRun ? "removed" : await removeOrigin(ctx, ITEM_KEY(item), { recordedAt: item[attributeNames.recordedAt] as string, requester });
            if (outcome === "removed") result.erased++;
            else result.skipped++;
          }),
        ),
      );
      target.onProgress?.(result);
    }
  };
  await Promise.all(Array.from({ length: target.segments }, (_, index) => segment(index)));
  return result;
}
