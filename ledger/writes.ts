/**
 * Conditional writes that keep invariant 1: per key the ledger never goes back.
 * An event is applied only if its sequencer is newer than the stored one; an item last
 * written by reconciliation (no sequencer) yields to any event that happened after the
 * reconciliation's snapshot. Older events and duplicates are no-ops, reported as such.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { assertValidObjectKey } from "./keys.js";
import { attributeNames, toItem, type LedgerRecord, type ObjectState } from "./record.js";
import { normalizeSequencer } from "./sequencer.js";

interface MutationBase {
  bucket: string;
  key: string;
  /** Raw sequencer from the event; normalized before it is stored or compared. */
  sequencer: string;
  /** ISO-8601 time of the S3 event. */
  eventTime: string;
  eventName: string;
}

/** The object now exists with this state. */
export interface UpsertMutation extends MutationBase {
  kind: "upsert";
  state: ObjectState;
}

/** The object no longer exists (deleted, expired, or hidden by a delete marker). */
export interface DeleteMutation extends MutationBase {
  kind: "delete";
  versionId?: string;
}

export type ObjectMutation = UpsertMutation | DeleteMutation;

/** `stale`: an event with a newer sequencer (or a later snapshot) is already stored. */
export type ApplyOutcome = "applied" | "stale" | "duplicate";

export interface WriteContext {
  tableName: string;
  documentClient: DynamoDBDocumentClient;
  /** How long tombstones (and so the change feed) are kept. */
  retentionSeconds: number;
  now: () => Date;
}

export function mutationToRecord(mutation: ObjectMutation, recordedAt: Date, retentionSeconds: number): LedgerRecord {
  const base = {
    bucket: mutation.bucket,
    key: mutation.key,
    sequencer: normalizeSequencer(mutation.sequencer),
    cause: mutation.eventName,
    source: "event" as const,
    observedAt: new Date(mutation.eventTime).toISOString(),
    recordedAt: recordedAt.toISOString(),
  };
  if (mutation.kind === "upsert") return { ...base, ...mutation.state, deleted: false };
  return {
    ...base,
    deleted: true,
    ...(mutation.versionId !== undefined && { versionId: mutation.versionId }),
    expiresAt: Math.floor(recordedAt.getTime() / 1000) + retentionSeconds,
  };
}

export async function applyMutation(ctx: WriteContext, mutation: ObjectMutation): Promise<ApplyOutcome> {
  assertValidObjectKey(mutation.key);
  const record = mutationToRecord(mutation, ctx.now(), ctx.retentionSeconds);
  try {
    await ctx.documentClient.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: toItem(record),
        ConditionExpression:
          "attribute_not_exists(#pk) OR #seq < :seq OR (attribute_not_exists(#seq) AND #observedAt < :observedAt)",
        ExpressionAttributeNames: { "#pk": attributeNames.pk, "#seq": "seq", "#observedAt": "observedAt" },
        ExpressionAttributeValues: { ":seq": record.sequencer, ":observedAt": record.observedAt },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return "applied";
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      const stored = error.Item?.seq?.S;
      return stored === record.sequencer ? "duplicate" : "stale";
    }
    throw error;
  }
}

/** What reconciliation found wrong with one key. */
export type DriftKind = "missing" | "stale" | "orphaned";

export interface RepairMutation {
  kind: DriftKind;
  bucket: string;
  key: string;
  /** The state the source reports; absent for orphans (which become tombstones). */
  state?: ObjectState;
  /** When the source's view began: the listing's start, or the inventory's creationTimestamp. */
  snapshotTime: Date;
}

/** `newerStateKept`: the item was written after the snapshot began, so it is not touched. */
export type RepairOutcome = "repaired" | "newerStateKept";

const REPAIR_CAUSE: Record<DriftKind, string> = { missing: "Reconcile:Missing", stale: "Reconcile:Stale", orphaned: "Reconcile:Orphaned" };

/**
 * Invariant 2: a repair succeeds only if the item was last written before the snapshot began.
 * It carries no sequencer, so any later event still wins over it.
 */
export async function applyRepair(ctx: WriteContext, repair: RepairMutation): Promise<RepairOutcome> {
  const recordedAt = ctx.now();
  const base = {
    bucket: repair.bucket,
    key: repair.key,
    cause: REPAIR_CAUSE[repair.kind],
    source: "reconcile" as const,
    observedAt: repair.snapshotTime.toISOString(),
    recordedAt: recordedAt.toISOString(),
  };
  const record: LedgerRecord = repair.state
    ? { ...base, ...repair.state, deleted: false }
    : { ...base, deleted: true, expiresAt: Math.floor(recordedAt.getTime() / 1000) + ctx.retentionSeconds };
  try {
    await ctx.documentClient.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: toItem(record),
        ConditionExpression: "attribute_not_exists(#pk) OR #recordedAt < :snapshot",
        ExpressionAttributeNames: { "#pk": attributeNames.pk, "#recordedAt": "recordedAt" },
        ExpressionAttributeValues: { ":snapshot": base.observedAt },
      }),
    );
    return "repaired";
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return "newerStateKept";
    throw error;
  }
}
