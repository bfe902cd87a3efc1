/**
 * One bucket's state as `status` and `buckets` show it, from a handful of requests whatever the
 * bucket's size: the last complete reconciliation's counts (the bucket's size at its snapshot,
 * so an estimate of now), the newest change (one Query per day looked back), the last run, the
 * watermark, the failed ingestions (counted up to a bound) and the change shards in force.
 */
import type { Ledger } from "../../ledger/index.js";
import type { RunStore } from "../../reconcile/run-store.js";
import { FINISHED, type RunRecord } from "../../reconcile/run-model.js";
import { STATUS_DEFAULTS } from "./defaults.js";

export interface LastRun {
  runId: string;
  status: RunRecord["status"];
  dryRun: boolean;
  startedAt: string;
  finishedAt?: string;
  /** Missing, stale and orphaned keys found. */
  drift: number;
  repaired: number;
  reason?: string;
}

export interface BucketStatus {
  bucket: string;
  /** At the snapshot of the last complete run: an estimate of the bucket now. */
  objects?: { count: number; bytes: number; asOf: string };
  newestChange?: { key: string; recordedAt: string; deleted: boolean };
  lastRun?: LastRun;
  reconciledThrough?: string;
  failedIngestions: { count: number; atLeast: boolean };
  /** Partitions a day of the change index its changes are written to now (ledger/change-index). */
  changeShards: number;
}

function lastRunOf(run: RunRecord): LastRun {
  return {
    runId: run.runId,
    status: run.status,
    dryRun: run.dryRun,
    startedAt: run.startedAt,
    ...(run.finishedAt !== undefined && { finishedAt: run.finishedAt }),
    drift: run.counts.missing + run.counts.stale + run.counts.orphaned,
    repaired: run.counts.repaired,
    ...(run.reason !== undefined && { reason: run.reason }),
  };
}

async function runsOf(runs: RunStore, bucket: string): Promise<{ last?: RunRecord; complete?: RunRecord }> {
  let last: RunRecord | undefined;
  let looked = 0;
  for await (const run of runs.listRuns(bucket)) {
    last ??= run;
    if (run.status === "succeeded") return { last, complete: run };
    if (++looked === STATUS_DEFAULTS.runsLookedBack) break;
  }
  return last ? { last } : {};
}

async function failedIngestions(ledger: Ledger, bucket: string): Promise<BucketStatus["failedIngestions"]> {
  let count = 0;
  for await (const _ of ledger.ingestions({ bucket, failed: true })) {
    if (++count === STATUS_DEFAULTS.failedIngestionsCounted) return { count, atLeast: true };
  }
  return { count, atLeast: false };
}

export async function readBucketStatus(ledger: Ledger, runs: RunStore, bucket: string): Promise<BucketStatus> {
  const [{ last, complete }, newestChange, reconciledThrough, failed, changeShards] = await Promise.all([
    runsOf(runs, bucket),
    ledger.newestChange(bucket),
    ledger.reconciledThrough(bucket),
    failedIngestions(ledger, bucket),
    ledger.changeShardsNow(bucket),
  ]);
  return {
    bucket,
    ...(complete && { objects: { count: complete.counts.scanned, bytes: complete.counts.bytes ?? 0, asOf: complete.snapshotTime } }),
    ...(newestChange && { newestChange }),
    ...(last && { lastRun: lastRunOf(last) }),
    ...(reconciledThrough !== undefined && { reconciledThrough }),
    failedIngestions: failed,
    changeShards,
  };
}

/** A bucket to show, with when the ledger first recorded it (absent: never). */
export interface ShownBucket {
  bucket: string;
  firstSeenAt?: string;
}

/** The buckets to show: those the stack tracks and those the ledger has recorded, in name order. */
export async function bucketsToShow(ledger: Ledger, configured: readonly string[]): Promise<ShownBucket[]> {
  const known = new Map((await ledger.buckets()).map((entry) => [entry.bucket, entry.firstSeenAt]));
  return [...new Set([...configured, ...known.keys()])].sort().map((bucket) => {
    const firstSeenAt = known.get(bucket);
    return firstSeenAt === undefined ? { bucket } : { bucket, firstSeenAt };
  });
}

export async function bucketNames(ledger: Ledger, configured: readonly string[]): Promise<string[]> {
  return (await bucketsToShow(ledger, configured)).map((entry) => entry.bucket);
}

export const isRunning = (run: LastRun) => !FINISHED.includes(run.status);
