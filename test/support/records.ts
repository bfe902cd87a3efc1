/** Ledger records as the tracker writes them, for tests that put items straight into a table. */
import type { LedgerRecord } from "../../ledger/index.js";

/** A live one-byte object created by an event at `recordedAt`. */
export function createdRecord(bucket: string, key: string, recordedAt: string): LedgerRecord {
  return {
    bucket,
    key,
    deleted: false,
    size: 1,
    etag: "e",
    lastModified: recordedAt,
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: recordedAt,
    recordedAt,
    sequencer: "01",
  };
}
