/**
 * What a reconciliation reports when it ends: the counts of its run and how long it took. The
 * deployed function logs it and publishes it as metrics; the CLI prints it.
 */
import type { AuditCounts } from "../ingest/audit.js";
import type { EncodingMismatch } from "./drift-checks.js";
import { zeroCounts, type RunRecord, type RunStatus } from "./run-model.js";
import type { ObjectSource } from "./source.js";

export interface ReconcileSummary {
  bucket: string;
  source: ObjectSource["kind"];
  snapshotTime: string;
  dryRun: boolean;
  scanned: number;
  /** Total size of the objects scanned. */
  bytes: number;
  indexed: number;
  missing: number;
  stale: number;
  orphaned: number;
  repaired: number;
  newerStateKept: number;
  /** Drift a lagging source (S3 Inventory) reported that S3 contradicted: left alone. */
  unconfirmed: number;
  /** Orphans that are another (URL-encoded or decoded) form of a key the bucket holds. */
  encodingMismatches: number;
  /** The first few of them. */
  encodingMismatchSample: EncodingMismatch[];
  /** Repairs of objects S3 would not describe (SSE-C, a refusal), written with the source's fields only. */
  undescribed: number;
  /** Repairs described without the checksum, which S3 withheld (an SSE-KMS key the role may not decrypt with). */
  checksumsWithheld: number;
  durationMs: number;
  objectsPerSecond: number;
}

export interface RunSummary extends ReconcileSummary {
  runId: string;
  status: RunStatus;
  tasks: number;
  /** Planned as a backfill (no run had completed for the bucket). */
  backfill: boolean;
  /** Drifted keys kept in the run's sample (`runs --drift`). */
  sampled: number;
  reason?: string;
  /** With ingestion rules: what the check of ingestion after the run found and queued. */
  ingestAudit?: AuditCounts;
}

/** Encoding mismatches a summary keeps; the count is always exact. */
export const ENCODING_SAMPLE_SIZE = 10;

export function summarizeRun(run: RunRecord, encodingMismatchSample: EncodingMismatch[] = []): RunSummary {
  const durationMs = Math.max(0, new Date(run.finishedAt ?? run.updatedAt).getTime() - new Date(run.startedAt).getTime());
  return {
    runId: run.runId,
    status: run.status,
    tasks: run.tasksTotal,
    backfill: run.backfill ?? false,
    bucket: run.bucket,
    source: run.source.kind,
    snapshotTime: run.snapshotTime,
    dryRun: run.dryRun,
    ...zeroCounts(),
    ...run.counts,
    // A deployed run reports each mismatch as it is found (a log line each): its sample stays empty.
    encodingMismatchSample,
    durationMs,
    objectsPerSecond: Math.round(run.counts.scanned / Math.max(durationMs / 1000, 0.001)),
    ...(run.reason !== undefined && { reason: run.reason }),
  };
}
