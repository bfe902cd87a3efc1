/**
 * What the ledger stores for one (bucket, key), and the codec between that record and the
 * DynamoDB item. Only this module knows attribute names.
 */
import type { ChangeOrigin } from "../events/parse.js";
import { itemKeys } from "./keys.js";
import { ledgerTable } from "./table.js";

export type { ChangeOrigin };

/** Who wrote the item last: an S3 event, or a reconciliation repair. */
export type RecordSource = "event" | "reconcile";

/** Object metadata kept when a stack asks for it (the `enrich` config, s3/object-details.ts). */
export interface ObjectDetails {
  contentType?: string;
  /** The `x-amz-meta-*` headers, names lower case without the prefix. */
  userMetadata?: Record<string, string>;
  tags?: Record<string, string>;
  /** The object's additional checksum, when it has one; an inventory report names only its algorithm. */
  checksum?: { algorithm: string; value?: string; type?: string };
  encryption?: { algorithm: string; kmsKeyId?: string };
  storageClass?: string;
  /** S3 Intelligent-Tiering's archive tier, when the object is in one. */
  archiveStatus?: string;
  /** A restore from an archive storage class: in progress, or done until `expiresAt`. */
  restore?: { ongoing: boolean; expiresAt?: string };
  /**
   * When S3 was asked for these details (ISO-8601): of two descriptions of one version, the
   * later asked wins, whatever order they are written in.
   */
  describedAt?: string;
  /** What S3 would not tell when asked (s3/object-details.ts): the fields left out, and why. */
  withheld?: Withheld;
}

/**
 * Why a description lacks fields: `kmsDenied`, the checksum of an SSE-KMS object whose key the
 * caller may not decrypt with; `sseCustomerKey`, an SSE-C object, which S3 describes only to a
 * caller that sends its key; `accessDenied`, any other refusal.
 */
export type WithheldReason = "kmsDenied" | "sseCustomerKey" | "accessDenied";
export interface Withheld {
  reason: WithheldReason;
  fields: string[];
}

/** The details' attribute names, the same as their fields; the tracker replaces them all at once. */
export const DETAIL_ATTRIBUTES = [
  "contentType",
  "userMetadata",
  "tags",
  "checksum",
  "encryption",
  "storageClass",
  "archiveStatus",
  "restore",
  "describedAt",
  "withheld",
] as const satisfies readonly (keyof ObjectDetails)[];
export type DetailAttribute = (typeof DETAIL_ATTRIBUTES)[number];

/** What S3 says about an object's current version. */
export interface ObjectState extends ObjectDetails {
  size: number;
  /** Without the surrounding quotes S3 puts on ETag headers. */
  etag: string;
  /** ISO-8601; for event-driven items, the event time (S3 events carry no Last-Modified). */
  lastModified: string;
  versionId?: string;
}

interface RecordBase {
  bucket: string;
  key: string;
  /** Normalized (upper case, padded) sequencer of the event that wrote this; absent for repairs. */
  sequencer?: string;
  /** S3 event name (`ObjectCreated:Put`, ...) or the reconciliation repair kind. */
  cause: string;
  source: RecordSource;
  /** When S3 says the change happened: event time, or the reconciliation snapshot time. */
  observedAt: string;
  /** When the ledger wrote the item; orders the change feed. */
  recordedAt: string;
  origin?: ChangeOrigin;
  /**
   * When the state was read from S3 rather than told by the event (a version's deletion, after
   * which the tracker asks S3 what is current): the state is S3's at that moment, which may
   * already show changes made after the event (ledger/time-travel).
   */
  readAt?: string;
}

export interface LiveObjectRecord extends RecordBase, ObjectState {
  deleted: false;
}

export interface TombstoneRecord extends RecordBase {
  deleted: true;
  versionId?: string;
  /** Epoch seconds at which DynamoDB TTL may remove the tombstone. */
  expiresAt: number;
}

export type LedgerRecord = LiveObjectRecord | TombstoneRecord;

export type LedgerItem = Record<string, unknown>;

/**
 * Every attribute name the ledger table's items use, spelled once: the current-state items (and
 * the journal entries that share their codec), and the table's other items beside them.
 */
const A = {
  pk: ledgerTable.partitionKey,
  sk: ledgerTable.sortKey,
  changeDay: ledgerTable.changeIndex.partitionKey,
  changeToken: ledgerTable.changeIndex.sortKey,
  expiresAt: ledgerTable.ttlAttribute,
  // A record's fields.
  bucket: "bucket",
  deleted: "deleted",
  cause: "cause",
  source: "source",
  observedAt: "observedAt",
  recordedAt: "recordedAt",
  readAt: "readAt",
  sequencer: "seq",
  versionId: "versionId",
  size: "size",
  etag: "etag",
  lastModified: "lastModified",
  requester: "requester",
  sourceIp: "sourceIp",
  requestId: "requestId",
  describedAt: "describedAt",
  // A journal entry's object key (its sort key orders the entries), and the start's entry.
  objectKey: "objectKey",
  entry: "entry",
  // A bucket's registry item (ledger/buckets.ts) and its change-shard epochs (ledger/change-index).
  firstSeenAt: "firstSeenAt",
  changeShards: "changeShards",
  changeShardsVersion: "changeShardsVersion",
  // A bucket's minute of change-index write units (ledger/change-index); `changes` before units were counted.
  writeUnits: "writeUnits",
  changes: "changes",
  // A bucket's reconciled-through watermark, and the snapshot of its first complete reconciliation.
  reconciledThrough: "reconciledThrough",
  firstReconciledThrough: "firstReconciledThrough",
  // A journal entry's record of the state its change replaced (time travel, ledger/time-travel).
  prior: "prior",
  // The query API's cursor key.
  secret: "secret",
} as const;

/** The origin's attribute names, the same in ledger items and journal entries. */
export const ORIGIN_ATTRIBUTES = [A.requester, A.sourceIp, A.requestId] as const satisfies readonly (keyof ChangeOrigin)[];

/** `changeShards`: the writer's change-index shards per bucket-day (ledgerTable.changeIndex). */
export function toItem(record: LedgerRecord, changeShards = 1): LedgerItem {
  const keys = itemKeys(record.bucket, record.key, record.recordedAt, changeShards);
  const item: LedgerItem = {
    [A.pk]: keys.pk,
    [A.sk]: record.key,
    [A.changeDay]: keys.changeDay,
    [A.changeToken]: keys.changeToken,
    [A.bucket]: record.bucket,
    [A.deleted]: record.deleted,
    [A.cause]: record.cause,
    [A.source]: record.source,
    [A.observedAt]: record.observedAt,
    [A.recordedAt]: record.recordedAt,
  };
  if (record.sequencer !== undefined) item[A.sequencer] = record.sequencer;
  if (record.versionId !== undefined) item[A.versionId] = record.versionId;
  if (record.readAt !== undefined) item[A.readAt] = record.readAt;
  Object.assign(item, originAttributes(record.origin));
  if (record.deleted) {
    item[A.expiresAt] = record.expiresAt;
  } else {
    item[A.size] = record.size;
    item[A.etag] = record.etag;
    item[A.lastModified] = record.lastModified;
    Object.assign(item, detailsAttributes(record));
  }
  return item;
}

/** The attributes of the details present; absent ones are left out. */
export function detailsAttributes(details: ObjectDetails): LedgerItem {
  const item: LedgerItem = {};
  for (const name of DETAIL_ATTRIBUTES) if (details[name] !== undefined) item[name] = details[name];
  return item;
}

function detailsFrom(item: LedgerItem): ObjectDetails {
  const details: Record<string, unknown> = {};
  for (const name of DETAIL_ATTRIBUTES) {
    const value = item[name];
    if (typeof value === "string" || isMap(value)) details[name] = value;
  }
  return details as ObjectDetails;
}

/** The origin's attributes, under the same names in ledger and journal items. */
export function originAttributes(origin: ChangeOrigin | undefined): LedgerItem {
  if (!origin) return {};
  return {
    ...(origin.requester !== undefined && { [A.requester]: origin.requester }),
    ...(origin.sourceIp !== undefined && { [A.sourceIp]: origin.sourceIp }),
    ...(origin.requestId !== undefined && { [A.requestId]: origin.requestId }),
  };
}

export function originFrom(item: LedgerItem): ChangeOrigin | undefined {
  const requester = optionalStr(item, A.requester);
  const sourceIp = optionalStr(item, A.sourceIp);
  const requestId = optionalStr(item, A.requestId);
  if (requester === undefined && sourceIp === undefined && requestId === undefined) return undefined;
  return { ...(requester !== undefined && { requester }), ...(sourceIp !== undefined && { sourceIp }), ...(requestId !== undefined && { requestId }) };
}

const isMap = (value: unknown) => typeof value === "object" && value !== null && !Array.isArray(value);

function str(item: LedgerItem, name: string): string {
  const value = item[name];
  if (typeof value !== "string") throw new TypeError(`ledger item attribute ${name} is not a string`);
  return value;
}

function optionalStr(item: LedgerItem, name: string): string | undefined {
  const value = item[name];
  return typeof value === "string" ? value : undefined;
}

export function fromItem(item: LedgerItem): LedgerRecord {
  const sequencer = optionalStr(item, A.sequencer);
  const versionId = optionalStr(item, A.versionId);
  const readAt = optionalStr(item, A.readAt);
  const origin = originFrom(item);
  const base = {
    bucket: str(item, A.bucket),
    key: str(item, A.sk),
    cause: str(item, A.cause),
    source: str(item, A.source) as RecordSource,
    observedAt: str(item, A.observedAt),
    recordedAt: str(item, A.recordedAt),
    ...(sequencer !== undefined && { sequencer }),
    ...(versionId !== undefined && { versionId }),
    ...(origin !== undefined && { origin }),
    ...(readAt !== undefined && { readAt }),
  };
  if (item[A.deleted] === true) {
    return { ...base, deleted: true, expiresAt: Number(item[A.expiresAt]) };
  }
  return {
    ...base,
    deleted: false,
    size: Number(item[A.size]),
    etag: str(item, A.etag),
    lastModified: str(item, A.lastModified),
    ...detailsFrom(item),
  };
}

/**
 * What a change replaced: the content state the ledger held when the change was written over it.
 * A journal entry keeps it, so the state before a key's oldest kept entry is still known after
 * the entries before it expire (ledger/time-travel).
 */
export interface PriorState {
  deleted: boolean;
  /** When S3 says the replaced state began: its event time, or its repair's snapshot time. */
  observedAt: string;
  source: RecordSource;
  versionId?: string;
  size?: number;
  etag?: string;
  lastModified?: string;
}

/** The prior-state attribute of a journal entry, from the item a write replaced (its ReturnValues). */
export function priorAttribute(replaced: LedgerItem): LedgerItem {
  const prior: LedgerItem = {
    [A.deleted]: replaced[A.deleted] === true,
    [A.observedAt]: replaced[A.observedAt],
    [A.source]: replaced[A.source],
  };
  // Only what time travel reads: each byte here is in every journal entry (1 KB write-unit steps).
  for (const name of [A.versionId, A.size, A.etag, A.lastModified]) if (replaced[name] !== undefined) prior[name] = replaced[name];
  return { [A.prior]: prior };
}

export function priorFrom(item: LedgerItem): PriorState | undefined {
  const prior = item[A.prior];
  if (!isMap(prior)) return undefined;
  const map = prior as LedgerItem;
  const size = map[A.size];
  const versionId = optionalStr(map, A.versionId);
  const etag = optionalStr(map, A.etag);
  const lastModified = optionalStr(map, A.lastModified);
  return {
    deleted: map[A.deleted] === true,
    observedAt: str(map, A.observedAt),
    source: str(map, A.source) as RecordSource,
    ...(versionId !== undefined && { versionId }),
    ...(size !== undefined && { size: Number(size) }),
    ...(etag !== undefined && { etag }),
    ...(lastModified !== undefined && { lastModified }),
  };
}

/** Attribute names the write and query modules need in expressions. */
export const attributeNames = A;
