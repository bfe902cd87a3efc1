/** An ingestion record of `imports/offers/a.csv` under the rule `offers`, running its first attempt of v2 with nothing counted: each test says what differs. */
import type { IngestionRecord } from "../../ledger/index.js";

export function ingestionRecord(fields: Partial<IngestionRecord> = {}): IngestionRecord {
  return {
    bucket: "imports",
    key: "offers/a.csv",
    rule: "offers",
    version: "v2",
    status: "running",
    retryable: true,
    attempts: 1,
    startedAt: "2026-12-04T21:00:00.000Z",
    updatedAt: "2026-12-04T21:00:00.000Z",
    durationMs: 0,
    rowsRead: 0,
    rowsWritten: 0,
    rowsRejected: 0,
    rowsUnprocessed: 0,
    rowsDeleted: 0,
    ...fields,
  };
}
