/**
 * The change stream's message: one applied change of a key's current state, as a versioned JSON
 * document, built from the ledger's current-state item (its codec, ledger/record.ts, is the only
 * reader of attribute names) and, on the live stream, the item it replaced.
 *
 * THE DEDUPLICATION RULE a consumer keeps: per (bucket, key), remember the greatest `revision`
 * applied; apply a message only if its `revision` is greater (plain string comparison), else
 * drop it. Why it suffices:
 *
 * - Every write of a current-state item stamps a new `recordedAt` (the writer's clock, to the
 *   millisecond), and `revision` is `<recordedAt>#<sequencer>` (the sequencer empty for a
 *   reconciliation repair, which has none). A repair is written only over an item recorded
 *   before its snapshot, which it takes before it writes, so its `recordedAt` is later than
 *   the item it replaces (ledger/writes.ts applyRepair). Two writes of one key in the same
 *   millisecond: two events order by their sequencers, which the ledger compared to admit the
 *   second; an event over a repair sorts after it (an empty sequencer sorts first); a repair
 *   cannot follow a write in the same millisecond (its snapshot would have to be later).
 *   Between events of one key written by different writers, `recordedAt` follows the writers'
 *   clocks, which the change feed already assumes agree to within seconds (data-model.md);
 *   two writes of one key closer together than the writers' clocks disagree could order wrong.
 * - The same change always carries the same `revision` and `id` (they are made of the item
 *   alone), so a message published again (the publisher's retry, a redrive from the DLQ, a
 *   replay from the change feed) is either an exact duplicate or older than what the consumer
 *   holds: the rule drops both, and a state newer than the one kept is never lost.
 * - DynamoDB Streams gives one record per item write, each "exactly once in the stream", in
 *   "the same sequence as the actual modifications to the item"
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html), and a
 *   write that did not change the item (a failed condition) makes no record. So per key the
 *   messages are published in revision order; only retries repeat them.
 *
 * Across keys the stream promises nothing: no order, no common cut.
 *
 * Only current-state object items are changes. Journal, reconciliation, registry, rate and
 * ingestion items publish nothing, nor does a metadata-only update (ledger/writes.ts
 * applyDescription keeps `recordedAt` and the sequencer, so the revision is unchanged), nor an
 * item's removal (a tombstone's TTL expiry, or a bucket erased from the ledger: neither is a
 * change in S3).
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { attributeNames, fromItem, type ChangeOrigin, type LedgerItem, type LedgerRecord, type RecordSource } from "../ledger/record.js";
import { changeToken, partitionKeyOf } from "../ledger/keys.js";

/** The message format's version: a consumer refuses a version it does not know. */
export const CHANGE_MESSAGE_VERSION = 1;

/**
 * `created`: the key had no live object before (nothing, or a tombstone). `overwritten`: it had
 * one. `deleted`: it has none now. `upserted`: it has this object now, and whether it had one
 * before is not known (a message rebuilt from the change feed, which keeps current states only).
 */
export type ChangeKind = "created" | "overwritten" | "deleted" | "upserted";
export const CHANGE_KINDS = ["created", "overwritten", "deleted", "upserted"] as const satisfies readonly ChangeKind[];

export interface ChangeMessage {
  version: typeof CHANGE_MESSAGE_VERSION;
  /** Identifies the change: the same for every publication of it (SNS FIFO's deduplication id). */
  id: string;
  bucket: string;
  key: string;
  change: ChangeKind;
  /** The deduplication field: see the rule at the top of stream/message.ts. */
  revision: string;
  /**
   * The revision of the state this change replaced, as the ledger held it; absent when it held
   * nothing for the key, or when that is not known (a message rebuilt from the change feed). A
   * consumer whose kept revision differs from it has missed a change of the key (one the
   * publisher gave up on): replay the key's changes.
   */
  previousRevision?: string;
  /** The ledger's change-feed token of this change (`changes --since` resumes after it). */
  changeToken: string;
  /** Normalized (upper case, padded) S3 sequencer; absent for reconciliation's repairs. */
  sequencer?: string;
  /** S3 event name, or the repair kind (`Reconcile:Missing`, `Reconcile:Stale`, `Reconcile:Orphaned`). */
  cause: string;
  /** `event`: an S3 event; `reconcile`: a repair of what S3 never sent. */
  source: RecordSource;
  /** When S3 says the change happened (event time, or the reconciliation's snapshot). */
  observedAt: string;
  /** When the ledger wrote it. */
  recordedAt: string;
  versionId?: string;
  /** Live objects only. */
  size?: number;
  etag?: string;
  lastModified?: string;
  /** The origin as the stack keeps it (its `origin` setting): absent when none is kept. */
  origin?: ChangeOrigin;
}

/** The previous state of the key, as far as the publisher knows it. */
export type PreviousState = "live" | "absent" | "unknown";

/**
 * The per-key ordering value. ISO-8601 with milliseconds is fixed width, and every stored
 * sequencer has one width (ledger/sequencer.ts), so string order is the order of the rule.
 */
export function revisionOf(record: Pick<LedgerRecord, "recordedAt" | "sequencer">): string {
  return `${record.recordedAt}#${record.sequencer ?? ""}`;
}

/** SNS FIFO's deduplication id: at most 128 characters; a SHA-256 in hex is 64. */
export function changeIdOf(bucket: string, key: string, revision: string): string {
  // JSON spells the parts unambiguously, whatever characters a key holds.
  return createHash("sha256")
    .update(JSON.stringify([bucket, key, revision]), "utf8")
    .digest("hex");
}

/** The message group of a key: one per (bucket, key); 64 hex characters, within SNS FIFO's 128. */
export function messageGroupOf(bucket: string, key: string): string {
  return createHash("sha256")
    .update(JSON.stringify([bucket, key]), "utf8")
    .digest("hex");
}

function changeKind(current: LedgerRecord, previous: PreviousState): ChangeKind {
  if (current.deleted) return "deleted";
  if (previous === "unknown") return "upserted";
  return previous === "live" ? "overwritten" : "created";
}

/** The message of a current-state record; `previousRevision`, that of the state it replaced, when known. */
export function changeMessage(current: LedgerRecord, previous: PreviousState, previousRevision?: string): ChangeMessage {
  const revision = revisionOf(current);
  return {
    version: CHANGE_MESSAGE_VERSION,
    id: changeIdOf(current.bucket, current.key, revision),
    bucket: current.bucket,
    key: current.key,
    change: changeKind(current, previous),
    revision,
    ...(previousRevision !== undefined && { previousRevision }),
    changeToken: changeToken(current.recordedAt, current.key),
    ...(current.sequencer !== undefined && { sequencer: current.sequencer }),
    cause: current.cause,
    source: current.source,
    observedAt: current.observedAt,
    recordedAt: current.recordedAt,
    ...(current.versionId !== undefined && { versionId: current.versionId }),
    ...(!current.deleted && { size: current.size, etag: current.etag, lastModified: current.lastModified }),
    ...(current.origin !== undefined && { origin: current.origin }),
  };
}

/**
 * Whether an item is a key's current state, rather than one of the table's other items (journal
 * entries share the codec but live under their own partitions): its partition is the one the
 * key is placed in.
 */
export function isCurrentStateItem(item: LedgerItem | undefined): item is LedgerItem {
  if (!item) return false;
  const bucket = item[attributeNames.bucket];
  const key = item[attributeNames.sk];
  if (typeof bucket !== "string" || typeof key !== "string" || key.length === 0) return false;
  return item[attributeNames.pk] === partitionKeyOf(bucket, key);
}

/**
 * The same test on an item's key alone (a stream record's Keys), before its images are read:
 * the partition `<bucket>#<shard>` of a key is the one `partitionKeyOf` places it in.
 */
export function isCurrentStateKey(partitionKey: string | undefined, sortKey: string | undefined): boolean {
  if (partitionKey === undefined || sortKey === undefined || sortKey.length === 0) return false;
  const hash = partitionKey.lastIndexOf("#");
  return hash > 0 && partitionKeyOf(partitionKey.slice(0, hash), sortKey) === partitionKey;
}

/**
 * The message of one write of the table, from the item before and after it (DynamoDB Streams'
 * OldImage and NewImage, unmarshalled); undefined when the write is no change of a key's state.
 */
export function messageOfWrite(oldItem: LedgerItem | undefined, newItem: LedgerItem | undefined): ChangeMessage | undefined {
  if (!isCurrentStateItem(newItem)) return undefined;
  const current = fromItem(newItem);
  const previous = isCurrentStateItem(oldItem) ? fromItem(oldItem) : undefined;
  if (previous && revisionOf(previous) === revisionOf(current)) return undefined;
  return changeMessage(current, previous && !previous.deleted ? "live" : "absent", previous && revisionOf(previous));
}

/** The message of a current-state item read back (the change feed), whose previous state is not known. */
export function messageOfItem(item: LedgerItem): ChangeMessage {
  if (!isCurrentStateItem(item)) throw new TypeError("not a key's current-state item");
  return changeMessage(fromItem(item), "unknown");
}

const isoMillis = z.iso.datetime({ precision: 3 });
const messageSchema = z.strictObject({
  version: z.literal(CHANGE_MESSAGE_VERSION),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  bucket: z.string().min(1),
  key: z.string().min(1),
  change: z.enum(CHANGE_KINDS),
  revision: z.string().min(1),
  previousRevision: z.string().min(1).optional(),
  changeToken: z.string().min(1),
  sequencer: z.string().optional(),
  cause: z.string(),
  source: z.enum(["event", "reconcile"]),
  observedAt: isoMillis,
  recordedAt: isoMillis,
  versionId: z.string().optional(),
  size: z.number().int().nonnegative().optional(),
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  origin: z.strictObject({ requester: z.string().optional(), sourceIp: z.string().optional(), requestId: z.string().optional() }).optional(),
});

export class ChangeMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChangeMessageError";
  }
}

/** A message's body read back: refused, naming the problem, unless it is a message of this version. */
export function parseChangeMessage(body: string): ChangeMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ChangeMessageError("change message is not JSON");
  }
  const parsed = messageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ChangeMessageError(`change message: ${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data as ChangeMessage;
}

/**
 * The deduplication rule as code: what a consumer keeps per key, and whether a message is new.
 * Memory grows with the keys seen; a consumer with its own store keeps the revision beside each
 * key's state instead.
 */
export class ChangeDeduplicator {
  private readonly revisions = new Map<string, string>();

  /** True (and remembered) when the message is newer than every one applied for its key. */
  accept(message: Pick<ChangeMessage, "bucket" | "key" | "revision">): boolean {
    const slot = `${message.bucket}\0${message.key}`;
    const kept = this.revisions.get(slot);
    if (kept !== undefined && message.revision <= kept) return false;
    this.revisions.set(slot, message.revision);
    return true;
  }
}

/**
 * A message's body as every target sends it: JSON whose characters SQS accepts, for a topic
 * delivers to SQS queues raw. SQS refuses characters outside #x9, #xA, #xD, #x20-#xD7FF,
 * #xE000-#xFFFD and #x10000-#x10FFFF (SendMessage, MessageBody:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 * JSON already escapes the controls and lone surrogates; U+FFFE and U+FFFF, which a key may hold,
 * are escaped here too and parse back to the same key.
 */
export function messageBody(message: object): string {
  return JSON.stringify(message).replace(/[\ufffe\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16)}`);
}
