/**
 * One batch of events written together (an SQS batch, in the tracker): a create is compared
 * with its bucket's reconciled-through watermark (`UpsertMutation.reconciledThrough`), which the
 * batch reads once per bucket, on the first create that needs it.
 */
import type { Applied, ApplyOutcome, ObjectMutation } from "./writes.js";

/** What a batch needs of the writer (ledger/writer.ts). */
export interface BatchWriter {
  apply(mutation: ObjectMutation): Promise<Applied<ApplyOutcome>>;
  reconciledThrough(bucket: string): Promise<string | undefined>;
}

export class WriteBatch {
  private readonly watermarks = new Map<string, Promise<string | undefined>>();

  constructor(private readonly writer: BatchWriter) {}

  /** `LedgerWriter.apply`, a create carrying the bucket's watermark unless it states its own. */
  async apply(mutation: ObjectMutation): Promise<Applied<ApplyOutcome>> {
    if (mutation.kind !== "upsert" || mutation.reconciledThrough !== undefined) return this.writer.apply(mutation);
    const watermark = comparableWatermark(await this.watermark(mutation.bucket), mutation.eventTimeResolutionMs ?? 1);
    return this.writer.apply(watermark === undefined ? mutation : { ...mutation, reconciledThrough: watermark });
  }

  private watermark(bucket: string): Promise<string | undefined> {
    let read = this.watermarks.get(bucket);
    if (!read) {
      read = this.writer.reconciledThrough(bucket);
      // A failed read fails only the events that needed it, and is retried with them.
      read.catch(() => this.watermarks.delete(bucket));
      this.watermarks.set(bucket, read);
    }
    return read;
  }
}

/**
 * The watermark as an event can be compared with it: an event stated to the second may have
 * happened anywhere in that second, so only a watermark in a later second makes it stale.
 */
function comparableWatermark(reconciledThrough: string | undefined, resolutionMs: number): string | undefined {
  if (reconciledThrough === undefined || resolutionMs <= 1) return reconciledThrough;
  const time = new Date(reconciledThrough).getTime();
  return new Date(time - (time % resolutionMs)).toISOString();
}
