/**
 * One drifted key as an operator sees it: its kind, the ledger's state and the source's. What
 * `reconcile --show-drift` streams and what a fan-out run keeps in its sample.
 */
import type { LedgerRecord } from "../ledger/index.js";
import type { Drift } from "./diff.js";
import type { SourceObject } from "./source.js";

export interface StateSeen {
  size: number;
  etag: string;
  lastModified: string;
}

export interface DriftRecord {
  kind: Drift["kind"];
  key: string;
  /** What the ledger holds: a live object, a tombstone (`deleted`), or nothing (absent). */
  ledger?: (StateSeen & { deleted: false }) | { deleted: true; recordedAt: string };
  /** What the source (listing or inventory) reports; absent for an orphan. */
  source?: StateSeen;
}

const seen = (object: SourceObject): StateSeen => ({ size: object.size, etag: object.etag, lastModified: object.lastModified });

function held(record: LedgerRecord): NonNullable<DriftRecord["ledger"]> {
  return record.deleted
    ? { deleted: true, recordedAt: record.recordedAt }
    : { deleted: false, size: record.size, etag: record.etag, lastModified: record.lastModified };
}

export function driftRecord(drift: Drift): DriftRecord {
  switch (drift.kind) {
    case "missing":
      return { kind: "missing", key: drift.object.key, ...(drift.tombstone && { ledger: held(drift.tombstone) }), source: seen(drift.object) };
    case "stale":
      return { kind: "stale", key: drift.object.key, ledger: held(drift.record), source: seen(drift.object) };
    case "orphaned":
      return { kind: "orphaned", key: drift.record.key, ledger: held(drift.record) };
  }
}
