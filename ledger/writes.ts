/**
 * Conditional writes that keep invariant 1: per key the ledger never goes back.
 * An event is applied only if its sequencer is newer than the stored one; an item last
 * written by reconciliation (no sequencer) yields to any event that happened after the
 * reconciliation's snapshot. Older events and duplicates are no-ops, reported as such.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { assertValidObjectKey, journalKeys, partitionKeyOf, reconcileKeys, reconcilePartitionKey } from "./keys.js";
import {
  attributeNames,
  DETAIL_ATTRIBUTES,
  detailsAttributes,
  toItem,
  type ChangeOrigin,
  type DetailAttribute,
  type LedgerItem,
  type LedgerRecord,
  type ObjectState,
} from "./record.js";
import { normalizeSequencer } from "./sequencer.js";
import type { JournalWriter } from "./journal-writer.js";
import type { ChangeShardSizer } from "./change-index/index.js";
import { keptOrigin, type OriginSetting } from "./origin.js";

interface MutationBase {
  bucket: string;
  key: string;
  /** Raw sequencer from the event; normalized before it is stored or compared. */
  sequencer: string;
  /** ISO-8601 time of the S3 event. */
  eventTime: string;
  eventName: string;
  origin?: ChangeOrigin;
  /** ISO-8601: when the state was read from S3, when it was not told by the event (see `LedgerRecord.readAt`). */
  readAt?: string;
}

/** The object now exists with this state. */
export interface UpsertMutation extends MutationBase {
  kind: "upsert";
  state: ObjectState;
  /**
   * Snapshot time of the bucket's last complete reconciliation. A create older than it, for a
   * key the ledger holds nothing for, predates that reconciliation: it listed the whole bucket and
   * would have recorded the object had it still existed. Without this, an old create replayed
   * from a DLQ after its delete event was lost would resurrect the object.
   */
  reconciledThrough?: string;
  /**
   * How precisely `eventTime` is stated, in ms (1 or absent: to the millisecond): a batch
   * (ledger/write-batch.ts) compares a coarser event with the watermark at that resolution.
   */
  eventTimeResolutionMs?: number;
}

/** The object no longer exists (deleted, expired, or hidden by a delete marker). */
export interface DeleteMutation extends MutationBase {
  kind: "delete";
  versionId?: string;
}

export type ObjectMutation = UpsertMutation | DeleteMutation;

/**
 * `superseded`: the ledger already holds a newer event (a larger sequencer) or a later repair.
 * `predatesReconciliation`: a create for a key the ledger holds nothing for, older than the
 * bucket's last complete reconciliation, which would have recorded it had it still existed.
 * (Drift whose size or ETag differs is `stale`, a DriftKind: a different idea.)
 */
export type ApplyOutcome = "applied" | "superseded" | "predatesReconciliation" | "duplicate";

export interface WriteContext {
  tableName: string;
  documentClient: DynamoDBDocumentClient;
  /** How long tombstones (and so the change feed) are kept. */
  retentionSeconds: number;
  now: () => Date;
  /** With the journal on: every change is also kept in the key's history. */
  journal?: JournalWriter;
  /** Where each change goes in the change index, read fresh before each write (ledger/change-index). */
  shards: ChangeShardSizer;
  /** What of each change's origin is written (ledger/origin.ts); all of it when absent. */
  origin?: OriginSetting;
}

/** The change as captured: only the origin the setting keeps ever reaches an item or an entry. */
function captured<T extends { origin?: ChangeOrigin }>(ctx: WriteContext, change: T): T {
  if (ctx.origin === undefined || ctx.origin === "full") return change;
  const { origin, ...rest } = change;
  const kept = keptOrigin(origin, ctx.origin);
  return (kept ? { ...rest, origin: kept } : rest) as T;
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
    ...(mutation.origin && Object.keys(mutation.origin).length > 0 && { origin: mutation.origin }),
    ...(mutation.readAt !== undefined && { readAt: mutation.readAt }),
  };
  if (mutation.kind === "upsert") return { ...base, ...mutation.state, deleted: false };
  return {
    ...base,
    deleted: true,
    ...(mutation.versionId !== undefined && { versionId: mutation.versionId }),
    expiresAt: Math.floor(recordedAt.getTime() / 1000) + retentionSeconds,
  };
}

/** What a write did, and its journal entry's write (resolved at once with the journal off). */
export interface Applied<Outcome> {
  outcome: Outcome;
  /** Settles when the change's journal entry is durable: acknowledge the change only after it. */
  journaled: Promise<void>;
}

const NOTHING_TO_JOURNAL = Promise.resolve();

export async function applyMutation(ctx: WriteContext, change: ObjectMutation): Promise<Applied<ApplyOutcome>> {
  const mutation = captured(ctx, change);
  assertValidObjectKey(mutation.key);
  const placement = await ctx.shards.placement(mutation.bucket);
  const record = mutationToRecord(mutation, placement.recordedAt, ctx.retentionSeconds);
  const watermark = mutation.kind === "upsert" ? mutation.reconciledThrough : undefined;
  const firstWrite = watermark === undefined ? "attribute_not_exists(#pk)" : "(attribute_not_exists(#pk) AND :observedAt >= :reconciledThrough)";
  let outcome: ApplyOutcome = "applied";
  let first = false;
  let replaced: LedgerItem | undefined;
  const item = toItem(record, placement.shards);
  try {
    // Counted toward the bucket's change shards when admitted or throttled (ledger/change-index).
    const { Attributes } = await ctx.shards.attempt(mutation.bucket, item, () =>
      ctx.documentClient.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: item,
          ConditionExpression: `${firstWrite} OR #seq < :seq OR (attribute_not_exists(#seq) AND #observedAt < :observedAt)`,
          ExpressionAttributeNames: { "#pk": attributeNames.pk, "#seq": attributeNames.sequencer, "#observedAt": attributeNames.observedAt },
          ExpressionAttributeValues: {
            ":seq": record.sequencer,
            ":observedAt": record.observedAt,
            ...(watermark !== undefined && { ":reconciledThrough": watermark }),
          },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          // The item replaced (none for a new key), to tell the journal whether this change starts
          // the key's history: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#DDB-PutItem-request-ReturnValues
          ...(ctx.journal && { ReturnValues: "ALL_OLD" }),
        }),
      ),
    );
    first = Attributes === undefined;
    replaced = Attributes;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    if (!error.Item) outcome = "predatesReconciliation";
    else outcome = error.Item[attributeNames.sequencer]?.S === record.sequencer ? "duplicate" : "superseded";
  }
  // After the item, so that a failure here fails the message and its redelivery (a duplicate
  // then) writes the entry. Every outcome is journaled: a change the item skipped happened too.
  // A duplicate's entry is written only where none is, so the state the first delivery replaced stays on it.
  if (!ctx.journal) return { outcome, journaled: NOTHING_TO_JOURNAL };
  if (outcome === "duplicate") return { outcome, journaled: ctx.journal.writeIfAbsent(record) };
  const journaled = ctx.journal.write(record, first, undefined, replaced);
  if (outcome === "predatesReconciliation" && watermark !== undefined) {
    // The reconciliation behind the watermark saw the key absent: keep that, as a repair would
    // have had the ledger held the object, so its history does not answer this create for
    // moments after the key was gone (ledger/time-travel). A tombstone, which the listing and
    // so time travel find; a newer state written meanwhile is kept (invariant 2).
    const absent = await applyRepair(ctx, { kind: "orphaned", bucket: mutation.bucket, key: mutation.key, snapshotTime: new Date(watermark) });
    return { outcome, journaled: Promise.all([journaled, absent.journaled]).then(() => undefined) };
  }
  return { outcome, journaled };
}

/**
 * A fresh description of a key's current version, taken for an event that changes its metadata
 * only: tagging, a storage class transition, a restore. S3 gives such events no sequencer
 * ("only used with PUTs and DELETEs":
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html),
 * so they are ordered by what they read instead: the tracker asks S3 for the key's details
 * after the event, and of two descriptions of one version the later asked (`describedAt`) wins.
 */
export interface DescriptionUpdate {
  bucket: string;
  key: string;
  /** What S3 holds now, with `describedAt` set. */
  state: ObjectState & { describedAt: string };
  /** The detail attributes this description covers (the fields kept): only these are replaced. */
  replaces: readonly DetailAttribute[];
  eventName: string;
  /** ISO-8601 time of the S3 event. */
  eventTime: string;
  origin?: ChangeOrigin;
}

/**
 * `superseded`: a later description of the version is stored already.
 * `versionNotHeld`: the ledger holds another version, a tombstone or nothing, so it is behind
 * S3 (the event of the version described is still on its way, or lost); nothing was written.
 */
export type DescriptionOutcome = "applied" | "superseded" | "versionNotHeld";

export interface DescriptionApplied extends Applied<DescriptionOutcome> {
  /** With `versionNotHeld`: the ledger holds another live version (rather than a tombstone or nothing). */
  heldLive?: boolean;
}

/**
 * Replaces the details of the item holding the version described. Content fields, the
 * sequencer and the change feed are left as they are: the feed lists content changes, and a
 * metadata change is kept in the key's history.
 */
export async function applyDescription(ctx: WriteContext, change: DescriptionUpdate): Promise<DescriptionApplied> {
  // Before the entry's key is made: it names the request id, which `none` does not keep.
  const update = captured(ctx, change);
  assertValidObjectKey(update.key);
  const present = detailsAttributes(update.state);
  const names: Record<string, string> = {
    "#pk": attributeNames.pk,
    "#deleted": attributeNames.deleted,
    "#etag": attributeNames.etag,
    "#describedAt": attributeNames.describedAt,
  };
  const values: Record<string, unknown> = { ":false": false, ":etag": update.state.etag, ":describedAt": update.state.describedAt };
  const set: string[] = [];
  const remove: string[] = [];
  const replaced = new Set<DetailAttribute>([...update.replaces, "describedAt"]);
  DETAIL_ATTRIBUTES.forEach((name, index) => {
    if (!replaced.has(name)) return;
    names[`#d${index}`] = name;
    if (name in present) {
      values[`:d${index}`] = present[name];
      set.push(`#d${index} = :d${index}`);
    } else {
      remove.push(`#d${index}`);
    }
  });
  let outcome: DescriptionOutcome = "applied";
  try {
    await ctx.documentClient.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: { [attributeNames.pk]: partitionKeyOf(update.bucket, update.key), [attributeNames.sk]: update.key },
        UpdateExpression: `SET ${set.join(", ")}${remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""}`,
        ConditionExpression:
          "attribute_exists(#pk) AND #deleted = :false AND #etag = :etag AND (attribute_not_exists(#describedAt) OR #describedAt < :describedAt)",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const held = error.Item;
    const heldLive = held !== undefined && held[attributeNames.deleted]?.BOOL === false;
    if (!heldLive || held[attributeNames.etag]?.S !== update.state.etag) return { outcome: "versionNotHeld", heldLive, journaled: NOTHING_TO_JOURNAL };
    outcome = "superseded";
  }
  // Superseded too: the change happened; its entry holds what was read for it.
  const record = describedRecord(update, ctx.now());
  const entry = journalKeys.described(record.observedAt, update.origin?.requestId ?? record.recordedAt);
  return { outcome, journaled: ctx.journal ? ctx.journal.write(record, false, entry) : NOTHING_TO_JOURNAL };
}

function describedRecord(update: DescriptionUpdate, recordedAt: Date): LedgerRecord {
  return {
    bucket: update.bucket,
    key: update.key,
    ...update.state,
    deleted: false,
    cause: update.eventName,
    source: "event",
    observedAt: new Date(update.eventTime).toISOString(),
    recordedAt: recordedAt.toISOString(),
    ...(update.origin && Object.keys(update.origin).length > 0 && { origin: update.origin }),
  };
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
export async function applyRepair(ctx: WriteContext, repair: RepairMutation): Promise<Applied<RepairOutcome>> {
  const placement = await ctx.shards.placement(repair.bucket);
  const { recordedAt } = placement;
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
  let first: boolean;
  let replaced: LedgerItem | undefined;
  const item = toItem(record, placement.shards);
  try {
    const { Attributes } = await ctx.shards.attempt(repair.bucket, item, () =>
      ctx.documentClient.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: item,
          ConditionExpression: "attribute_not_exists(#pk) OR #recordedAt < :snapshot",
          ExpressionAttributeNames: { "#pk": attributeNames.pk, "#recordedAt": attributeNames.recordedAt },
          ExpressionAttributeValues: { ":snapshot": base.observedAt },
          ...(ctx.journal && { ReturnValues: "ALL_OLD" }),
        }),
      ),
    );
    first = Attributes === undefined;
    replaced = Attributes;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return { outcome: "newerStateKept", journaled: NOTHING_TO_JOURNAL };
    throw error;
  }
  // If this fails, so does the task; its retry finds the key repaired and journals nothing. A
  // repair's entry can be lost that way, never made up.
  return { outcome: "repaired", journaled: ctx.journal ? ctx.journal.write(record, first, undefined, replaced) : NOTHING_TO_JOURNAL };
}

/** The reconciled-through watermark of a bucket: one item beside its reconciliation runs. */
export const watermarkKey = (bucket: string) => ({ [attributeNames.pk]: reconcilePartitionKey(bucket), [attributeNames.sk]: reconcileKeys.watermark });

export async function readReconciledThrough(ctx: WriteContext, bucket: string): Promise<string | undefined> {
  const { Item } = await ctx.documentClient.send(new GetCommand({ TableName: ctx.tableName, Key: watermarkKey(bucket), ConsistentRead: true }));
  return Item?.[attributeNames.reconciledThrough] as string | undefined;
}

/**
 * Moves the watermark forward only: runs may finish out of order. The first snapshot recorded
 * stays beside it: since then the ledger has held the whole bucket, which is where time travel's
 * answers begin (ledger/time-travel).
 */
export async function recordReconciledThrough(ctx: WriteContext, bucket: string, snapshotTime: Date): Promise<void> {
  try {
    await ctx.documentClient.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: watermarkKey(bucket),
        UpdateExpression:
          "SET #bucket = :bucket, #reconciledThrough = :snapshot, #recordedAt = :now, #firstReconciledThrough = if_not_exists(#firstReconciledThrough, :snapshot)",
        ConditionExpression: "attribute_not_exists(#pk) OR #reconciledThrough < :snapshot",
        ExpressionAttributeNames: {
          "#pk": attributeNames.pk,
          "#bucket": attributeNames.bucket,
          "#reconciledThrough": attributeNames.reconciledThrough,
          "#recordedAt": attributeNames.recordedAt,
          "#firstReconciledThrough": attributeNames.firstReconciledThrough,
        },
        ExpressionAttributeValues: { ":bucket": bucket, ":snapshot": snapshotTime.toISOString(), ":now": ctx.now().toISOString() },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
