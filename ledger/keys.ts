/** Key layout of the ledger table: shard placement, change tokens and UTF-8 ordering. */
import { createHash } from "node:crypto";
import { InvalidObjectKeyError } from "./errors.js";
import { ledgerTable } from "./table.js";

export const MAX_OBJECT_KEY_BYTES = 1024;

export function assertValidObjectKey(key: string): void {
  const bytes = Buffer.byteLength(key, "utf8");
  if (bytes === 0 || bytes > MAX_OBJECT_KEY_BYTES) {
    throw new InvalidObjectKeyError(`object key must be 1 to ${MAX_OBJECT_KEY_BYTES} UTF-8 bytes, got ${bytes}`);
  }
}

function keyDigest(key: string): Buffer {
  return createHash("sha1").update(key, "utf8").digest();
}

/** The partition a key lives in; stable for the life of the table. */
export function shardOf(key: string, shardCount: number = ledgerTable.shardCount): number {
  return shardFromDigest(keyDigest(key), shardCount);
}

function shardFromDigest(digest: Buffer, shardCount: number): number {
  return digest.readUInt32BE(0) % shardCount;
}

export function partitionKey(bucket: string, shard: number): string {
  return `${bucket}#${shard.toString(16).padStart(2, "0")}`;
}

export function partitionKeyOf(bucket: string, key: string, shardCount?: number): string {
  return partitionKey(bucket, shardOf(key, shardCount));
}

export function allPartitionKeys(bucket: string, shardCount: number = ledgerTable.shardCount): string[] {
  return Array.from({ length: shardCount }, (_, shard) => partitionKey(bucket, shard));
}

/**
 * Sort key of the change index: the time the ledger recorded the change, then 64 bits of
 * the key's hash so that tokens are unique per key and a resume cursor is a single string.
 * ISO-8601 UTC with milliseconds is fixed-width, so string order is time order.
 */
export function changeToken(recordedAt: string, key: string): string {
  return changeTokenFromDigest(recordedAt, keyDigest(key));
}

function changeTokenFromDigest(recordedAt: string, digest: Buffer): string {
  return `${recordedAt}#${digest.subarray(4, 12).toString("hex")}`;
}

/**
 * The keys of reconciliation's bookkeeping, beside the objects in the ledger table:
 *
 *   reconcile#<bucket>                        run#<runId>, task#<runId>#<00000>, watermark
 *   reconcile#<bucket>#<runId>#<task>         one item per orphan, sort key the object key
 *   reconcile#<bucket>#<runId>#drift          the run's drift sample, sort key the object key
 *
 * Bucket names cannot contain `#`, so none of these collides with an object's
 * `<bucket>#<shard>` partition.
 */
export function reconcilePartitionKey(bucket: string): string {
  return `reconcile#${bucket}`;
}

export const reconcileKeys = {
  run: (runId: string) => `run#${runId}`,
  /** Prefix of a bucket's run items, newest last (run ids start with their snapshot time). */
  runs: "run#",
  task: (runId: string, task: number) => `task#${runId}#${String(task).padStart(5, "0")}`,
  tasksOf: (runId: string) => `task#${runId}#`,
  watermark: "watermark",
  orphanPartition: (bucket: string, runId: string, task: number) => `${reconcilePartitionKey(bucket)}#${runId}#${task}`,
  driftPartition: (bucket: string, runId: string) => `${reconcilePartitionKey(bucket)}#${runId}#drift`,
} as const;

/**
 * The buckets the ledger has recorded, one item each under one partition (ledger/buckets.ts):
 *
 *   registry#buckets                 sort key the bucket name
 *
 * Written once per bucket (a conditional put), so the partition sees a write per new bucket,
 * never one per change.
 */
export const BUCKET_REGISTRY_PARTITION = "registry#buckets";

/**
 * How many changes the writers recorded for a bucket, per minute (ledger/change-index), from
 * which they size its change shards:
 *
 *   rate#<bucket>                    sort key the minute, YYYY-MM-DDTHH:MM (UTC)
 *
 * Each writer adds its count at most every few seconds, so the item sees a few writes a second
 * however busy the bucket is.
 */
export function changeRatePartitionKey(bucket: string): string {
  return `rate#${bucket}`;
}

export const changeRateKeys = {
  minute: (at: Date) => at.toISOString().slice(0, 16),
} as const;

/**
 * The keys of row ingestion's records, beside the objects in the ledger table:
 *
 *   ingest#<bucket>                  sort key the object key: its latest ingestion
 *   ingest#<bucket>#<key hash>       <version>#<line>: the rows that ingestion rejected
 */
export function ingestionPartitionKey(bucket: string): string {
  return `ingest#${bucket}`;
}

export function rejectedRowsPartitionKey(bucket: string, key: string): string {
  return `${ingestionPartitionKey(bucket)}#${keyDigest(key).subarray(0, 12).toString("hex")}`;
}

export const rejectedRowKeys = {
  row: (version: string, line: number) => `${version}#${String(line).padStart(12, "0")}`,
  of: (version: string) => `${version}#`,
} as const;

/**
 * The journal (ledger/history.ts), beside the objects in the ledger table:
 *
 *   journal#<bucket>#<key hash>      e#<sequencer> per event, r#<recorded at> per repair,
 *                                    d#<event time>#<request id> per metadata event, start
 */
export function journalPartitionKey(bucket: string, key: string): string {
  return `journal#${bucket}#${keyDigest(key).subarray(0, 12).toString("hex")}`;
}

export const journalKeys = {
  event: (sequencer: string) => `e#${sequencer}`,
  repair: (recordedAt: string) => `r#${recordedAt}`,
  /** A metadata event has no sequencer: its time and request id name it, so a redelivery rewrites its entry. */
  described: (eventTime: string, requestId: string) => `d#${eventTime}#${requestId}`,
  start: "start",
} as const;

/**
 * Partition of the change index holding the changes recorded on `day` (YYYY-MM-DD, UTC): the
 * day's one partition, or with shards the one of `shard`.
 */
export function changeDayKey(bucket: string, day: string, shard?: number): string {
  return shard === undefined ? `${bucket}#${day}` : `${bucket}#${day}#${String(shard).padStart(2, "0")}`;
}

/** The partitions of a day written with `shards` change shards (1: the day's one partition). */
export function changeDayKeys(bucket: string, day: string, shards: number): string[] {
  return shards === 1 ? [changeDayKey(bucket, day)] : Array.from({ length: shards }, (_, shard) => changeDayKey(bucket, day, shard));
}

/** UTC day of an ISO-8601 timestamp or change token. */
export function dayOf(isoOrToken: string): string {
  return isoOrToken.slice(0, 10);
}

/** The keys an item needs, from one hash of the object key (the tracker's hot path). */
export function itemKeys(
  bucket: string,
  key: string,
  recordedAt: string,
  changeShards = 1,
  shardCount: number = ledgerTable.shardCount,
): { pk: string; changeDay: string; changeToken: string } {
  const digest = keyDigest(key);
  return {
    pk: partitionKey(bucket, shardFromDigest(digest, shardCount)),
    changeDay: changeDayKey(bucket, dayOf(recordedAt), changeShards === 1 ? undefined : shardFromDigest(digest, changeShards)),
    changeToken: changeTokenFromDigest(recordedAt, digest),
  };
}
