/**
 * Where a bucket's changes are, for a reader: each day's partitions under the epochs read, the
 * read-ahead cut past which none is returned, and the newest change.
 */
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { QueryContext } from "../context.js";
import { changeDayKeys } from "../keys.js";
import { attributeNames, fromItem } from "../record.js";
import { ledgerTable } from "../table.js";
import { countsOnDay, READ_AHEAD_MS } from "./protocol.js";
import { readChangeShards } from "./registry.js";

/** A writer's clock a little ahead of ours must not hide its changes at midnight. */
export const CLOCK_SKEW_MS = 5 * 60_000;

export interface ChangePartitions {
  /** The change-index partitions of `day` (YYYY-MM-DD, UTC): one per count in force that day. */
  partitionsOf: (day: string) => string[];
  /**
   * The read-ahead cut (a time, ISO-8601): changes recorded at or after it may be in partitions of
   * a count recorded since the epochs were read, so a reader returns none of them.
   */
  readable: string;
}

/** The bucket's change partitions, as of now. */
export async function changePartitions(ctx: QueryContext, bucket: string): Promise<ChangePartitions> {
  const readAt = Date.now();
  const epochs = await readChangeShards(ctx, bucket);
  return {
    readable: new Date(readAt + READ_AHEAD_MS).toISOString(),
    partitionsOf: (day) => countsOnDay(epochs, day).flatMap((count) => changeDayKeys(bucket, day, count)),
  };
}

/** A bucket's most recently recorded change. */
export interface NewestChange {
  key: string;
  recordedAt: string;
  deleted: boolean;
}

/** The bucket's most recently recorded change: one request per partition of each day looked back (in parallel), newest day first. */
export async function readNewestChange(ctx: QueryContext, bucket: string, lookBackDays: number): Promise<NewestChange | undefined> {
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
            ExpressionAttributeNames: { "#day": attributeNames.changeDay },
            ExpressionAttributeValues: { ":day": partition },
            ScanIndexForward: false,
            Limit: 1,
          }),
        );
        return Items?.[0];
      }),
    );
    const tokenOf = (item: Record<string, unknown>) => String(item[attributeNames.changeToken]);
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
