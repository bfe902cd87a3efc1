/** A prefix as it was at a past moment: each key's version then, or why it cannot be known. */
import type { History } from "../history.js";
import type { Stopped } from "../queries.js";
import type { LedgerRecord } from "../record.js";
import { scanKeys, type KeyScan } from "./key-scan.js";
import { stateAt, type StateAt, type VersionState } from "./timeline.js";

/** A key that existed at the moment asked about, as it was then. */
export interface ObjectAsOf extends VersionState {
  key: string;
  state: "present";
}

/** A key whose state at that moment the ledger cannot vouch for, and why: never a guess. */
export interface UnknownAsOf {
  key: string;
  state: "unknown";
  reason: string;
}

export type AsOfEntry = ObjectAsOf | UnknownAsOf;

/** The state of a key not changed since the moment: its item as it is (a tombstone: absent). */
export function currentState(record: LedgerRecord): StateAt {
  if (record.deleted) {
    return { known: true, exists: false, absent: { since: record.observedAt, ...(record.versionId !== undefined && { deleteMarker: record.versionId }) } };
  }
  return {
    known: true,
    exists: true,
    version: {
      size: record.size,
      etag: record.etag,
      lastModified: record.lastModified,
      ...(record.versionId !== undefined && { versionId: record.versionId }),
      since: record.observedAt,
      reconstructed: record.source === "reconcile",
    },
  };
}

export function entryAsOf(key: string, state: StateAt): AsOfEntry | undefined {
  if (!state.known) return { key, state: "unknown", reason: state.reason };
  return state.exists ? { key, state: "present", ...state.version } : undefined;
}

/** `at` within the horizon (./horizon.ts); `trackedSince` as `stateAt` takes it. */
export function listAsOf(
  ctx: Parameters<typeof scanKeys>[0],
  scan: Omit<KeyScan, "since">,
  at: Date,
  trackedSince: string | undefined,
): AsyncGenerator<AsOfEntry, Stopped | undefined> {
  const moment = at.toISOString();
  const resolve = (record: LedgerRecord, history: History | undefined) =>
    entryAsOf(record.key, history ? stateAt(history, moment, trackedSince) : currentState(record));
  return scanKeys(ctx, { ...scan, since: at }, resolve);
}
