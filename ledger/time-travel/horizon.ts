/**
 * The oldest moment time travel answers for exactly, and why not older: the tombstones kept
 * (retention), the journal (history days, when the reader is told them), and the bucket's first
 * complete reconciliation, since which the ledger has held every key of the bucket.
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { QueryContext } from "../context.js";
import { InvalidMomentError, TimeTravelHorizonError, type TimeTravelBound } from "../errors.js";
import { reconcileKeys, reconcilePartitionKey } from "../keys.js";
import { attributeNames } from "../record.js";

const MS_PER_DAY = 86_400_000;

export interface HorizonSettings {
  retentionDays: number;
  /** Days the journal keeps each change; unknown to a reader not told it (then each key's journal says). */
  historyDays?: number;
}

/**
 * Since when the ledger has held the whole bucket: the snapshot of its first complete
 * reconciliation, or of its latest (every complete run's snapshot is such a moment) for a
 * watermark written before the first was kept. Undefined until a run completes.
 */
export async function readTrackedSince(ctx: Pick<QueryContext, "tableName" | "documentClient">, bucket: string): Promise<string | undefined> {
  const { Item } = await ctx.documentClient.send(
    new GetCommand({
      TableName: ctx.tableName,
      Key: { [attributeNames.pk]: reconcilePartitionKey(bucket), [attributeNames.sk]: reconcileKeys.watermark },
      ConsistentRead: true,
    }),
  );
  const first = Item?.[attributeNames.firstReconciledThrough];
  const latest = Item?.[attributeNames.reconciledThrough];
  return typeof first === "string" ? first : typeof latest === "string" ? latest : undefined;
}

/** Refuses a moment the ledger cannot answer for exactly, naming the bound; returns the moment as ISO-8601. */
export function assertWithinHorizon(at: Date, now: Date, settings: HorizonSettings, trackedSince: string | undefined, bucket: string): string {
  if (Number.isNaN(at.getTime())) throw new InvalidMomentError("time travel needs a valid moment (ISO-8601, e.g. 2026-12-03T09:00:00Z)");
  const refuse = (bound: TimeTravelBound, earliest: Date | undefined, detail: string) => new TimeTravelHorizonError(at, bound, earliest, detail);
  if (at > now) throw refuse("future", undefined, `the ledger answers for moments up to now (${now.toISOString()})`);
  const bounds: { bound: TimeTravelBound; earliest: Date; detail: string }[] = [
    {
      bound: "retention",
      earliest: new Date(now.getTime() - settings.retentionDays * MS_PER_DAY),
      detail: `tombstones are kept ${settings.retentionDays} days, so a deletion since then may be gone`,
    },
  ];
  if (settings.historyDays !== undefined) {
    bounds.push({
      bound: "history",
      earliest: new Date(now.getTime() - settings.historyDays * MS_PER_DAY),
      detail: settings.historyDays === 0 ? "the journal is off" : `the journal keeps each change ${settings.historyDays} days`,
    });
  }
  if (trackedSince === undefined) {
    throw refuse(
      "reconciliation",
      undefined,
      `${bucket} has no complete reconciliation yet, and until one the ledger may not hold every key (run \`bucket-ledger reconcile ${bucket}\`)`,
    );
  }
  bounds.push({
    bound: "reconciliation",
    earliest: new Date(trackedSince),
    detail: `the ledger has held every key of ${bucket} since its first complete reconciliation`,
  });
  const binding = bounds.reduce((latest, next) => (next.earliest > latest.earliest ? next : latest));
  if (at < binding.earliest)
    throw refuse(binding.bound, binding.earliest, `${binding.detail}; the earliest moment answered is ${binding.earliest.toISOString()}`);
  return at.toISOString();
}
