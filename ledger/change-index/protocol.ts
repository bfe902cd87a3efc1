/** The protocol's pure rules and margins (described in ./index.ts): no I/O here. */
import { z } from "zod";
import { documentItemSize, writeUnits } from "../item-size.js";
import { ledgerTable } from "../table.js";

/** From `from` on (ISO-8601, or a legacy UTC day YYYY-MM-DD), changes were written with `count` shards. */
export interface ChangeShardEpoch {
  from: string;
  count: number;
}

/** Before the registry recorded shards, every table wrote one change partition per day. */
export const UNSHARDED: ChangeShardEpoch = { from: "0000-00-00", count: 1 };

/** A stack's setting: a fixed count, or sized by the writers from the bucket's observed rate. */
export type ChangeShardSetting = number | "auto";

/** The setting as config and environments give it: "auto", or a whole number of shards (as a number or a string of one). */
export const changeShardSettingSchema = z.union([
  z.literal("auto"),
  z.coerce.number().int().min(1).max(ledgerTable.changeIndex.maxShards, `at most ${ledgerTable.changeIndex.maxShards} change shards`),
]);

/** How far ahead of its recording a new count takes effect. */
export const EPOCH_LEAD_MS = 60_000;
/** Writers re-read the epochs this often at least, well inside the lead. */
export const EPOCHS_FRESH_MS = 20_000;
/** How far past its read of the epochs a reader may return changes: the lead, less a margin for clocks and slow requests. */
export const READ_AHEAD_MS = 30_000;

/**
 * Write units per second each partition is sized for: half of DynamoDB's 1,000 write units/s per
 * partition (bp-partition-key-design.html), because an overwrite writes the index twice: it
 * deletes the key's old entry and puts the new one (GSI.html#GSI.Writes).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html
 */
export const PARTITION_WRITE_UNITS_PER_SECOND = 500;

/**
 * What one change costs its change partition, in write units: its entry (the whole item, as the
 * index projects ALL) in 1 KB steps. An entry over 1 KB (enrichment, long keys) costs 2 or more,
 * so counting changes instead would size a partition for twice what it can take
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations).
 */
export function changeWriteUnits(item: Record<string, unknown>): number {
  return writeUnits(documentItemSize(item));
}

/** The fewest shards, a power of two, that keep each partition at or under its share at `writeUnitsPerSecond`. */
export function shardsForRate(writeUnitsPerSecond: number, max: number = ledgerTable.changeIndex.maxShards): number {
  let count = 1;
  while (count < max && writeUnitsPerSecond > count * PARTITION_WRITE_UNITS_PER_SECOND) count *= 2;
  return Math.min(count, max);
}

export function epochsOrUnsharded(recorded: unknown): ChangeShardEpoch[] {
  return Array.isArray(recorded) && recorded.length > 0 ? (recorded as ChangeShardEpoch[]) : [UNSHARDED];
}

/** The count in force at `at` (ISO-8601). */
export function countAt(epochs: readonly ChangeShardEpoch[], at: string): number {
  let count = UNSHARDED.count;
  for (const epoch of epochs) if (epoch.from <= at) count = epoch.count;
  return count;
}

/** Every count in force at some time of `day` (YYYY-MM-DD, UTC): a day the count changed is read under each. */
export function countsOnDay(epochs: readonly ChangeShardEpoch[], day: string): number[] {
  const dayEnd = `${day}T24`;
  const counts = new Set<number>();
  epochs.forEach((epoch, index) => {
    const until = epochs[index + 1]?.from;
    if (epoch.from < dayEnd && (until === undefined || until > day)) counts.add(epoch.count);
  });
  return counts.size > 0 ? [...counts] : [UNSHARDED.count];
}

/**
 * The epochs with `next` added, dropping those that ended before `keepAfter` (the change feed's
 * horizon: no reader asks for days before it), so the registry item stays small.
 */
export function withEpoch(epochs: readonly ChangeShardEpoch[], next: ChangeShardEpoch, keepAfter: string): ChangeShardEpoch[] {
  const all = [...epochs.filter((epoch) => epoch.from < next.from), next];
  const firstKept = all.findIndex((_, index) => index === all.length - 1 || all[index + 1]!.from > keepAfter);
  return all.slice(firstKept);
}
