/**
 * A change's origin (who made it, from where, which request) is personal data: what of it the
 * ledger keeps, for how long, and the one write that takes it off an item.
 *
 * - `origin` setting: `full` keeps requester, source IP and request id; `principal` the
 *   requester and request id, never the IP; `none` nothing. Applied when a change is captured,
 *   so what is not kept is never written (ledger/writes.ts).
 * - Retention: origin on a current-state item is kept as long as the journal keeps the change
 *   (`historyDays`), or with the journal off as long as the change feed reaches back
 *   (`retentionDays`); nightly reconciliation takes it off older items (reconcile/range-diff.ts).
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { attributeNames, ORIGIN_ATTRIBUTES, type ChangeOrigin } from "./record.js";

export const ORIGIN_SETTINGS = ["full", "principal", "none"] as const;
export const originSettingSchema = z.enum(ORIGIN_SETTINGS, { error: `origin must be one of ${ORIGIN_SETTINGS.join(", ")}` });
export type OriginSetting = z.infer<typeof originSettingSchema>;

/**
 * What a deployed or local stack keeps unless told otherwise: enough to answer "who deleted X?"
 * (the principal, and the request id that finds the request in CloudTrail), not where from.
 */
export const DEFAULT_ORIGIN: OriginSetting = "principal";

/** The part of an event's origin the setting keeps; undefined when nothing is left. */
export function keptOrigin(origin: ChangeOrigin | undefined, setting: OriginSetting): ChangeOrigin | undefined {
  if (!origin || setting === "none") return undefined;
  const { requester, sourceIp, requestId } = origin;
  const kept: ChangeOrigin = {
    ...(requester !== undefined && { requester }),
    ...(setting === "full" && sourceIp !== undefined && { sourceIp }),
    ...(requestId !== undefined && { requestId }),
  };
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** Days origin stays on a current-state item: the journal's retention, or with no journal the change feed's. */
export function originRetentionDays(historyDays: number, retentionDays: number): number {
  return historyDays > 0 ? historyDays : retentionDays;
}

/**
 * Whether an item carries origin older than `keepDays`: the change it belongs to was recorded
 * (`recordedAt`, from which the journal's TTL counts too) that long ago or more.
 */
export function originExpired(record: { origin?: ChangeOrigin; recordedAt: string }, now: Date, keepDays: number): boolean {
  if (!record.origin) return false;
  return new Date(record.recordedAt).getTime() <= now.getTime() - keepDays * 86_400_000;
}

export interface OriginWriteContext {
  tableName: string;
  documentClient: DynamoDBDocumentClient;
}

/**
 * Removes the origin attributes of one item (a ledger item or a journal entry), only if the
 * item still holds the change read: `recordedAt` unchanged (and, with `requester`, still that
 * requester's). A newer change written meanwhile keeps its own origin; an item gone meanwhile
 * is not recreated (a condition on a missing item's attribute is false). `changed` when the
 * condition failed.
 * UpdateItem REMOVE and conditions: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html#Expressions.UpdateExpressions.DELETE
 * and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
 */
export async function removeOrigin(
  ctx: OriginWriteContext,
  key: Record<string, string>,
  held: { recordedAt: string; requester?: string },
): Promise<"removed" | "changed"> {
  const names: Record<string, string> = { "#recordedAt": attributeNames.recordedAt };
  ORIGIN_ATTRIBUTES.forEach((name, index) => (names[`#o${index}`] = name));
  const values: Record<string, string> = { ":recordedAt": held.recordedAt };
  if (held.requester !== undefined) values[":requester"] = held.requester;
  try {
    await ctx.documentClient.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: key,
        UpdateExpression: `REMOVE ${ORIGIN_ATTRIBUTES.map((_, index) => `#o${index}`).join(", ")}`,
        ConditionExpression: `#recordedAt = :recordedAt${held.requester !== undefined ? " AND #o0 = :requester" : ""}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return "removed";
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return "changed";
    throw error;
  }
}
