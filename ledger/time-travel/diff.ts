/**
 * What changed under a prefix between two moments, per key: the net change (created, deleted,
 * changed from one version to another), not the events between. A key changed and changed back
 * is not listed; a key whose state at either moment cannot be known is, as unknown.
 */
import type { History } from "../history.js";
import type { Stopped } from "../queries.js";
import type { LedgerRecord } from "../record.js";
import { currentState } from "./as-of.js";
import { scanKeys, type KeyScan } from "./key-scan.js";
import { changesContent, stateAt, type AbsentState, type StateAt, type VersionState } from "./timeline.js";

export type KeyChange = "created" | "deleted" | "changed";

export interface ChangedKey {
  key: string;
  change: KeyChange;
  /** The version at the first moment (absent for a key created since). */
  from?: VersionState;
  /** The version at the second moment (absent for a key deleted since). */
  to?: VersionState;
  /** For a key deleted since: how it was deleted, with the delete marker that hides it, if any. */
  deletion?: AbsentState;
  /** Content changes the ledger kept between the two moments (events and repairs). */
  changes: number;
}

export interface UnknownChange {
  key: string;
  change: "unknown";
  reason: string;
}

export type DiffEntry = ChangedKey | UnknownChange;

function sameVersion(a: VersionState, b: VersionState): boolean {
  return a.etag === b.etag && a.size === b.size && a.versionId === b.versionId;
}

/** The net change of one key between two known states; undefined when there is none. */
export function netChange(key: string, from: StateAt & { known: true }, to: StateAt & { known: true }, changes: number): ChangedKey | undefined {
  if (!from.exists && !to.exists) return undefined;
  if (!from.exists && to.exists) return { key, change: "created", to: to.version, changes };
  if (from.exists && !to.exists) return { key, change: "deleted", from: from.version, ...(to.absent && { deletion: to.absent }), changes };
  if (from.exists && to.exists && !sameVersion(from.version, to.version)) return { key, change: "changed", from: from.version, to: to.version, changes };
  return undefined;
}

/** Content changes kept with a moment in (from, to]. */
function changesBetween(history: History, from: string, to: string): number {
  return history.entries.filter((entry) => changesContent(entry) && entry.observedAt > from && entry.observedAt <= to).length;
}

function keyDiff(
  record: LedgerRecord,
  history: History | undefined,
  from: string,
  to: string | undefined,
  trackedSince: string | undefined,
): DiffEntry | undefined {
  // Recorded before the first moment (less clock skew): unchanged between the two.
  if (history === undefined) return undefined;
  const before = stateAt(history, from, trackedSince);
  const after = to === undefined ? currentState(record) : stateAt(history, to, trackedSince);
  if (!before.known) return { key: record.key, change: "unknown", reason: before.reason };
  if (!after.known) return { key: record.key, change: "unknown", reason: after.reason };
  return netChange(record.key, before, after, changesBetween(history, from, to ?? "\uffff"));
}

/** `from` (and `to`, absent: now) within the horizon (./horizon.ts). */
export function listDiff(
  ctx: Parameters<typeof scanKeys>[0],
  scan: Omit<KeyScan, "since">,
  range: { from: Date; to?: Date },
  trackedSince: string | undefined,
): AsyncGenerator<DiffEntry, Stopped | undefined> {
  const from = range.from.toISOString();
  const to = range.to?.toISOString();
  return scanKeys(ctx, { ...scan, since: range.from }, (record, history) => keyDiff(record, history, from, to, trackedSince));
}
