/**
 * One invocation's share of an ingestion: the record it started or resumed, where it is in the
 * file, its counts and rejected rows, and how it ends: paused at a checkpoint for a continuation
 * to resume, or finished. Only the record is durable; an attempt lives for one invocation.
 */
import type { IngestCheckpoint, IngestionCounts, IngestionRecord, IngestionStore, RejectedRow } from "./ingestion-store.js";
import { isSpent, type TimeBudget } from "../foundation/time-budget.js";

/** What an attempt keeps in the ingestion records. */
export type AttemptStore = Pick<IngestionStore, "put" | "addRejected" | "rejected">;

export interface IngestProgress {
  phase: "checking" | "writing";
  offset: number;
  size: number;
  rowsRead: number;
}

/** How an attempt ends: finished, paused for a continuation, or dropped because its version is gone from S3. */
export type AttemptEnd =
  { outcome: "finished"; record: IngestionRecord } | { outcome: "continuing"; record: IngestionRecord } | { outcome: "skipped"; why: "superseded" };

/** Rows between looks at the clock (and heartbeats): often enough, and cheap. */
export const ROWS_PER_DEADLINE_CHECK = 256;
const HEARTBEAT_MS = 5_000;
/** Rejected rows held in memory before they are saved with the record. */
const REJECTED_FLUSH = 500;

export class IngestionAttempt {
  private stored: IngestionRecord;
  private position: IngestCheckpoint;
  private readonly tally: IngestionCounts;
  private readonly writtenBefore: number;
  private rejectedRows: RejectedRow[] = [];
  private readonly began = Date.now();
  private lastBeat = this.began;

  /** `record`: a running ingestion, as stored, with its checkpoint. */
  constructor(
    private readonly store: AttemptStore,
    record: IngestionRecord,
    private readonly budget: TimeBudget,
    private readonly now: () => Date,
  ) {
    if (!record.checkpoint) throw new Error("an ingestion attempt starts from a checkpoint");
    this.stored = record;
    this.position = record.checkpoint;
    this.writtenBefore = record.rowsWritten;
    this.tally = {
      rowsRead: record.rowsRead,
      rowsWritten: record.rowsWritten,
      rowsRejected: record.rowsRejected,
      rowsUnprocessed: record.rowsUnprocessed,
      rowsDeleted: 0,
    };
  }

  /** The record as stored last. */
  get record(): Readonly<IngestionRecord> {
    return this.stored;
  }

  /** Where this invocation starts its pass: the stored checkpoint, then the write pass's start once the file parsed. */
  get checkpoint(): IngestCheckpoint {
    return this.position;
  }

  get counts(): Readonly<IngestionCounts> {
    return this.tally;
  }

  outOfTime(): boolean {
    return isSpent(this.budget);
  }

  /** The file parsed to its end: the write pass starts at its beginning. */
  checked(): void {
    this.position = { phase: "writing", offset: 0, line: 1 };
  }

  read(): void {
    this.tally.rowsRead++;
  }

  /** `retryable`: left unprocessed by DynamoDB (another try may write it), rather than refused. */
  reject(row: RejectedRow, retryable = false): void {
    this.tally.rowsRejected++;
    if (retryable) this.tally.rowsUnprocessed++;
    this.rejectedRows.push(row);
  }

  /** `rows`: written in this invocation, on top of what the record counted. */
  wrote(rows: number): void {
    this.tally.rowsWritten = this.writtenBefore + rows;
  }

  swept(rows: number): void {
    this.tally.rowsDeleted = rows;
  }

  /** Saves the rejected rows held so far: they outlive the invocation until the error report is written. */
  async saveRejected(): Promise<void> {
    if (this.rejectedRows.length === 0) return;
    const batch = this.rejectedRows;
    this.rejectedRows = [];
    const { bucket, key, version } = this.stored;
    await this.store.addRejected(bucket, key, version, batch);
  }

  /** Saves the rejected rows once many are held, so that memory stays bounded. */
  async saveRejectedIfMany(): Promise<void> {
    if (this.rejectedRows.length >= REJECTED_FLUSH) await this.saveRejected();
  }

  /** Every rejected row of this version, over all invocations, in line order. */
  savedRejected(): AsyncGenerator<RejectedRow> {
    const { bucket, key, version } = this.stored;
    return this.store.rejected(bucket, key, version);
  }

  /**
   * Every few seconds the record shows how far this invocation got: a heartbeat for the audit's
   * "stuck" check, and what `bucket-ledger ingest` shows. Awaited, so it never lands after the end.
   */
  async heartbeat(at: IngestProgress): Promise<void> {
    if (Date.now() - this.lastBeat < HEARTBEAT_MS) return;
    this.lastBeat = Date.now();
    await this.store.put({ ...this.stored, progress: at, updatedAt: this.now().toISOString() });
  }

  /** Stores where the next invocation resumes, with the counts as they were there. */
  async pause(at: IngestCheckpoint, counts: IngestionCounts = { ...this.tally }): Promise<AttemptEnd> {
    this.stored = { ...this.stored, ...counts, checkpoint: at, updatedAt: this.now().toISOString(), durationMs: this.elapsedMs() };
    await this.store.put(this.stored);
    return { outcome: "continuing", record: this.stored };
  }

  async finish(fields: Partial<IngestionRecord>): Promise<AttemptEnd> {
    const finishedAt = this.now().toISOString();
    const { checkpoint: _, progress: __, ...rest } = this.stored;
    const done: IngestionRecord = { ...rest, ...fields, updatedAt: finishedAt, finishedAt, durationMs: this.elapsedMs() };
    await this.store.put(done);
    return { outcome: "finished", record: done };
  }

  private elapsedMs(): number {
    return this.stored.durationMs + (Date.now() - this.began);
  }
}
