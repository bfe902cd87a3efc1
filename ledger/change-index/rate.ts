/**
 * The change-index write units per minute writers attempted for a bucket: added to by every
 * writer of a busy bucket, read back as the minute's total so far, so that any writer can tell
 * the bucket's rate and not only its own. Minutes recorded before counted changes (`changes`),
 * each at least one unit, and are read as that many.
 */
import { paginateQuery, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { QueryContext } from "../context.js";
import { changeRateKeys, changeRatePartitionKey } from "../keys.js";
import { attributeNames } from "../record.js";

/** Long enough for a nightly reconciliation to read the day before it. */
const RATE_RETENTION_SECONDS = 2 * 86_400;

/**
 * Adds `units` attempted at `at` to their minute; resolves with the minute's total so far.
 * ADD on a number is atomic and starts from 0 on a new item, and UPDATED_NEW returns the sum:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html#Expressions.UpdateExpressions.ADD
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html#DDB-UpdateItem-request-ReturnValues
 */
export async function addWriteUnits(ctx: QueryContext, bucket: string, at: Date, units: number): Promise<number> {
  const { Attributes } = await ctx.documentClient.send(
    new UpdateCommand({
      TableName: ctx.tableName,
      Key: { [attributeNames.pk]: changeRatePartitionKey(bucket), [attributeNames.sk]: changeRateKeys.minute(at) },
      UpdateExpression: "ADD #units :units SET #expiresAt = if_not_exists(#expiresAt, :expiresAt)",
      ExpressionAttributeNames: { "#units": attributeNames.writeUnits, "#expiresAt": attributeNames.expiresAt },
      ExpressionAttributeValues: { ":units": units, ":expiresAt": Math.floor(at.getTime() / 1000) + RATE_RETENTION_SECONDS },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  return Number(Attributes?.[attributeNames.writeUnits] ?? units);
}

/** Change-index write units per second of the bucket's busiest minute since `since` (0 if none was recorded). */
export async function peakChangeRate(ctx: QueryContext, bucket: string, since: Date): Promise<number> {
  let peak = 0;
  const pages = paginateQuery(
    { client: ctx.documentClient },
    {
      TableName: ctx.tableName,
      KeyConditionExpression: "#pk = :pk AND #sk >= :since",
      ExpressionAttributeNames: { "#pk": attributeNames.pk, "#sk": attributeNames.sk },
      ExpressionAttributeValues: { ":pk": changeRatePartitionKey(bucket), ":since": changeRateKeys.minute(since) },
    },
  );
  for await (const page of pages)
    for (const item of page.Items ?? []) peak = Math.max(peak, Number(item[attributeNames.writeUnits] ?? 0) + Number(item[attributeNames.changes] ?? 0));
  return peak / 60;
}
