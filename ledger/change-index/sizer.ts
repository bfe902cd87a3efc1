/**
 * A writer's view of each bucket's change shards: the epochs it writes with, read again once
 * EPOCHS_FRESH_MS old, and, with the setting "auto", the count sized from the bucket's rate
 * (the sizing is described in ./index.ts).
 */
import type { QueryContext } from "../context.js";
import { ledgerTable } from "../table.js";
import { changeWriteUnits, countAt, EPOCH_LEAD_MS, EPOCHS_FRESH_MS, shardsForRate, type ChangeShardEpoch, type ChangeShardSetting } from "./protocol.js";
import { addWriteUnits, peakChangeRate } from "./rate.js";
import { readChangeShards, recordChangeShards } from "./registry.js";

export const RATE_REPORT_INTERVAL_MS = 10_000;
/** A writer attempting fewer write units than this per interval (5/s) leaves the bucket's rate to busier writers. */
export const RATE_REPORT_FLOOR = 50;
/** Seconds of a minute before its total is taken as a rate: the first reports of a minute are too few to judge by. */
const RATE_MIN_SECONDS = 10;

interface BucketView {
  epochs: ChangeShardEpoch[];
  /** performance.now() of the read: a monotonic clock, as the view's age must not follow wall-clock steps. */
  readAt: number;
  unreported: number;
  reportedAt: number;
  /** A read of the epochs or a report in flight, which concurrent writes wait for rather than repeat. */
  pending?: Promise<void>;
}

export interface ShardSizingOptions {
  setting: ChangeShardSetting;
  now: () => Date;
  /** How long the change feed reaches back: epochs that ended before it are dropped. */
  retentionMs: number;
  monotonic?: () => number;
}

/** Where a change goes in the change index: its recording time, and the shard count in force at it. */
export interface ChangePlacement {
  recordedAt: Date;
  shards: number;
}

export class ChangeShardSizer {
  private readonly views = new Map<string, BucketView>();
  private readonly monotonic: () => number;

  constructor(
    private readonly ctx: QueryContext,
    private readonly options: ShardSizingOptions,
  ) {
    this.monotonic = options.monotonic ?? (() => performance.now());
  }

  /** The epochs to write the bucket's next change with: take the change's `recordedAt` after this resolves. */
  async epochsFor(bucket: string): Promise<ChangeShardEpoch[]> {
    for (;;) {
      const view = this.views.get(bucket);
      if (view?.pending) {
        await view.pending;
        continue;
      }
      if (!view || this.monotonic() - view.readAt > EPOCHS_FRESH_MS) {
        await this.settle(bucket, this.refresh(bucket));
        continue;
      }
      if (this.reportDue(view)) {
        await this.settle(bucket, this.report(bucket, view));
        continue;
      }
      return view.epochs;
    }
  }

  /**
   * When the bucket's next change is recorded, and the count in force then: the time is taken
   * only once the epochs are fresh, which is what lets readers trust the read-ahead cut.
   */
  async placement(bucket: string): Promise<ChangePlacement> {
    const epochs = await this.epochsFor(bucket);
    const recordedAt = this.options.now();
    return { recordedAt, shards: countAt(epochs, recordedAt.toISOString()) };
  }

  /** Counts `units` attempted on the bucket's change index. */
  observe(bucket: string, units = 1): void {
    const view = this.views.get(bucket);
    if (view) view.unreported += units;
  }

  /**
   * Runs a write of `item` (a change: its change-index entry) and counts its units as attempted
   * when it is admitted or throttled; a write refused for its condition writes no index entry.
   */
  async attempt<T>(bucket: string, item: Record<string, unknown>, write: () => Promise<T>): Promise<T> {
    const units = changeWriteUnits(item);
    try {
      const result = await write();
      this.observe(bucket, units);
      return result;
    } catch (error) {
      if (isThrottling(error)) this.observe(bucket, units);
      throw error;
    }
  }

  /**
   * Sizes the bucket's count from its busiest minute since `since`, and at least for
   * `atLeastPerSecond` changes/s (a backfill's budget, each change taken as one write unit, the
   * least it costs): the only way a count goes down. A fixed setting is recorded as is.
   */
  async resize(bucket: string, since: Date, atLeastPerSecond = 0): Promise<number> {
    const count =
      this.options.setting === "auto" ? shardsForRate(Math.max(await peakChangeRate(this.ctx, bucket, since), atLeastPerSecond)) : this.options.setting;
    const epochs = await this.record(bucket, count);
    this.views.set(bucket, { epochs, readAt: this.monotonic(), unreported: 0, reportedAt: this.monotonic() });
    return count;
  }

  private settle(bucket: string, work: Promise<void>): Promise<void> {
    const view = this.views.get(bucket);
    const pending = work.finally(() => {
      const current = this.views.get(bucket);
      if (current?.pending === pending) delete current.pending;
    });
    if (view) view.pending = pending;
    else this.views.set(bucket, { epochs: [], readAt: -Infinity, unreported: 0, reportedAt: this.monotonic(), pending });
    return pending;
  }

  private reportDue(view: BucketView): boolean {
    return this.options.setting === "auto" && view.unreported >= RATE_REPORT_FLOOR && this.monotonic() - view.reportedAt >= RATE_REPORT_INTERVAL_MS;
  }

  private async refresh(bucket: string): Promise<void> {
    const readAt = this.monotonic();
    const { setting } = this.options;
    const read = await readChangeShards(this.ctx, bucket);
    const epochs = setting !== "auto" && countAt(read, this.ahead()) !== setting ? await this.record(bucket, setting) : read;
    const previous = this.views.get(bucket);
    this.views.set(bucket, {
      epochs,
      readAt,
      unreported: previous?.unreported ?? 0,
      reportedAt: previous?.reportedAt ?? readAt,
      ...(previous?.pending && { pending: previous.pending }),
    });
  }

  /** Sizing is for throughput, never for correctness: a report that fails is retried with the next interval's count, and the write goes on. */
  private async report(bucket: string, view: BucketView): Promise<void> {
    const count = view.unreported;
    view.unreported = 0;
    view.reportedAt = this.monotonic();
    const now = this.options.now();
    try {
      const total = await addWriteUnits(this.ctx, bucket, now, count);
      const seconds = Math.max(now.getUTCSeconds() + now.getUTCMilliseconds() / 1000, RATE_MIN_SECONDS);
      const needed = shardsForRate(total / seconds);
      if (needed > countAt(view.epochs, this.ahead())) {
        view.epochs = await this.record(bucket, needed);
        view.readAt = this.monotonic();
      }
    } catch {
      view.unreported += count;
    }
  }

  private record(bucket: string, count: number): Promise<ChangeShardEpoch[]> {
    if (!Number.isInteger(count) || count < 1 || count > ledgerTable.changeIndex.maxShards) throw new RangeError(`no such change shard count: ${count}`);
    const now = this.options.now();
    const keepAfter = new Date(now.getTime() - this.options.retentionMs).toISOString();
    return recordChangeShards(this.ctx, bucket, { from: this.ahead(), count }, keepAfter, now);
  }

  private ahead(): string {
    return new Date(this.options.now().getTime() + EPOCH_LEAD_MS).toISOString();
  }
}

/**
 * DynamoDB's throttling errors: ProvisionedThroughputExceededException (also on-demand tables'
 * per-partition limits), ThrottlingException and RequestLimitExceeded
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.MessagesAndCodes).
 */
const THROTTLING_ERRORS = new Set(["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]);

function isThrottling(error: unknown): boolean {
  return error instanceof Error && THROTTLING_ERRORS.has(error.name);
}
