/**
 * One reconciliation of one bucket: stream the source and the ledger, repair what differs.
 *
 * Missing and stale objects are repaired as they are found (they only add what S3 shows).
 * Orphans are held back on disk until the source has been read to the end: an incomplete or
 * failed listing deletes nothing (invariant 3), and neither does a run that would tombstone
 * more than `maxDeleteFraction` of the index, unless forced.
 */
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pLimit from "p-limit";
import type { Ledger, LedgerRecord } from "../ledger/index.js";
import type { DiffCounts } from "./diff.js";
import { driftRecord, type DriftRecord } from "./drift-record.js";
import { BoundedWriter } from "./bounded-writer.js";
import type { ObjectDescriber } from "../sdk/object-details.js";
import { countWithheld, driftChecks, type CheckedRepairOutcome, type EncodingMismatch } from "./drift-checks.js";
import { deleteGuard } from "./delete-guard.js";
import { diffRange } from "./range-diff.js";
import { writeLine } from "./external-sort.js";
import { scratch } from "./scratch.js";
import type { KeyRange, ObjectSource } from "./source.js";
import { RECONCILE_DEFAULTS } from "./defaults.js";

/** Encoding mismatches kept for the summary; the count is always exact. */
export const ENCODING_SAMPLE_SIZE = 10;

export interface ReconcileOptions {
  ledger: Ledger;
  bucket: string;
  source: ObjectSource;
  /** Report what would change, write nothing. */
  dryRun?: boolean;
  /** Largest share of the index one run may tombstone (RECONCILE_DEFAULTS.maxDeleteFraction). */
  maxDeleteFraction?: number;
  force?: boolean;
  /** Repair writes in flight. */
  concurrency?: number;
  /** Key ranges listed and diffed at once (ordered sources that can split). */
  rangeConcurrency?: number;
  onProgress?: (progress: { scanned: number; indexed: number; drift: number }) => void;
  now?: () => Date;
  /** Where the index side comes from; the ledger by default (benchmarks feed generators). */
  index?: (range: KeyRange) => AsyncIterable<LedgerRecord>;
  /** Object metadata for what is repaired (the `enrich` config). */
  describer?: ObjectDescriber;
  /**
   * Called with each drifted key as it is found, before it is repaired; the diff waits for it,
   * so a slow consumer (a pipe) slows the run instead of filling memory.
   */
  onDrift?: (drift: DriftRecord) => void | Promise<void>;
}

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

/** Orphan keys wait on disk until the whole source has been read (memory stays flat). */
class OrphanSpill {
  private file?: { directory: string; path: string; out: WriteStream };
  private opening?: Promise<NonNullable<OrphanSpill["file"]>>;

  async add(key: string): Promise<void> {
    // Ranges add concurrently: open the file once.
    this.opening ??= scratch.directory("orphans").then((directory) => {
      const path = join(directory, "orphans.ndjson");
      this.file = { directory, path, out: createWriteStream(path) };
      return this.file;
    });
    const { directory, out } = await this.opening;
    await writeLine(scratch, directory, out, key, "the keys of orphaned ledger items");
  }

  private async close(): Promise<void> {
    const out = this.file?.out;
    if (!out || out.writableFinished) return;
    if (!out.writableEnded) out.end();
    await once(out, "finish");
  }

  async *keys(): AsyncGenerator<string> {
    if (this.opening) await this.opening;
    if (!this.file) return;
    await this.close();
    for await (const line of createInterface({ input: createReadStream(this.file.path), crlfDelay: Infinity })) yield JSON.parse(line) as string;
  }

  async dispose(): Promise<void> {
    if (this.opening) await this.opening.catch(() => undefined);
    if (!this.file) return;
    // Writes may still be queued (a dry run never reads the file): finish them, then remove.
    await this.close().catch(() => undefined);
    await scratch.remove(this.file.directory);
  }
}

export async function reconcileBucket(options: ReconcileOptions): Promise<ReconcileSummary> {
  const now = options.now ?? (() => new Date());
  const started = now();
  const { ledger, bucket, source } = options;
  const dryRun = options.dryRun ?? false;
  const maxDeleteFraction = options.maxDeleteFraction ?? RECONCILE_DEFAULTS.maxDeleteFraction;
  const counts: DiffCounts = { scanned: 0, bytes: 0, indexed: 0 };
  const summary = {
    missing: 0,
    stale: 0,
    orphaned: 0,
    repaired: 0,
    newerStateKept: 0,
    unconfirmed: 0,
    encodingMismatches: 0,
    undescribed: 0,
    checksumsWithheld: 0,
  };
  const encodingMismatchSample: EncodingMismatch[] = [];
  const writer = new BoundedWriter(options.concurrency ?? RECONCILE_DEFAULTS.writeConcurrency);
  const orphans = new OrphanSpill();
  const snapshotTime = source.snapshotTime;
  const checks = driftChecks({ ledger, bucket, source, ...(options.describer && { describer: options.describer }), onWithheld: countWithheld(summary) });
  if (!dryRun) {
    await ledger.register(bucket);
    await ledger.resizeChangeShards(bucket);
  }
  const count = (outcome: CheckedRepairOutcome) => {
    summary[outcome]++;
  };
  const checkEncoding = async (key: string) => {
    const mismatch = await checks.encodingMismatch(key);
    if (!mismatch) return;
    summary.encodingMismatches++;
    if (encodingMismatchSample.length < ENCODING_SAMPLE_SIZE) encodingMismatchSample.push(mismatch);
  };

  const stopped = new AbortController();
  const rangeConcurrency = options.rangeConcurrency ?? 8;
  // Larger index pages mean fewer requests; fewer when many ranges read at once, to bound memory.
  const indexPageSize = Math.min(1000, Math.max(100, Math.floor(2000 / rangeConcurrency)));
  const reconcileRange = async (range: KeyRange) => {
    const drifts = diffRange({ ledger, bucket, source, range, counts, indexPageSize, dryRun, ...(options.index && { index: options.index }) });
    for await (const drift of drifts) {
      if (stopped.signal.aborted) return;
      summary[drift.kind]++;
      options.onProgress?.({ ...counts, drift: summary.missing + summary.stale + summary.orphaned });
      if (options.onDrift) await options.onDrift(driftRecord(drift));
      if (drift.kind === "orphaned") {
        const { key } = drift.record;
        await orphans.add(key);
        await writer.submit(() => checkEncoding(key));
      } else if (!dryRun) {
        const { kind } = drift;
        const { key, ...state } = drift.object;
        const known = drift.kind === "stale" || drift.tombstone !== undefined;
        await writer.submit(async () => count(await checks.repairPresent(kind, key, state, known)));
      }
    }
  };

  try {
    const ranges = source.ordered && source.planRanges ? await source.planRanges(rangeConcurrency * 2) : [{}];
    const limit = pLimit(rangeConcurrency);
    const results = await Promise.allSettled(
      ranges.map((range) =>
        limit(() =>
          reconcileRange(range).catch((error: unknown) => {
            // One failed range fails the run: the others stop at their next key.
            stopped.abort();
            throw error;
          }),
        ),
      ),
    );
    const failure = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    await writer.drain();
    if (failure) throw failure.reason;

    // The source has been read to its end: only now may anything be deleted.
    const refusal = deleteGuard({ orphaned: summary.orphaned, indexed: counts.indexed, maxDeleteFraction, force: options.force ?? false });
    if (refusal) throw refusal;
    if (!dryRun) {
      for await (const key of orphans.keys()) await writer.submit(async () => count(await checks.tombstone(key)));
      await writer.drain();
    }
    if (!dryRun && !options.index) await ledger.recordReconciled(bucket, snapshotTime);
  } finally {
    await orphans.dispose();
  }

  const durationMs = now().getTime() - started.getTime();
  return {
    bucket,
    source: source.kind,
    snapshotTime: snapshotTime.toISOString(),
    dryRun,
    scanned: counts.scanned,
    bytes: counts.bytes,
    indexed: counts.indexed,
    ...summary,
    encodingMismatchSample,
    durationMs,
    objectsPerSecond: Math.round(counts.scanned / Math.max(durationMs / 1000, 0.001)),
  };
}
