/** Ledger records as the tracker writes them, for tests that put items straight into a table. */
import type { LedgerRecord, UpsertMutation } from "../../ledger/index.js";

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

/** The create of a one-byte object the ledger indexed a minute ago: before any snapshot a test then takes. */
export function createdAMinuteAgo(bucket: string, key: string, etag: string): UpsertMutation {
  return {
    kind: "upsert",
    bucket,
    key,
    sequencer: "01",
    eventTime: new Date(Date.now() - 60_000).toISOString(),
    eventName: "ObjectCreated:Put",
    state: { size: 1, etag, lastModified: new Date().toISOString() },
  };
}
