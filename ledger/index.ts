export * from "./errors.js";
export * from "./keys.js";
// The order of S3 listings and DynamoDB sort keys, part of the typed client's surface.
export { compareUtf8 } from "../foundation/utf8-order.js";
export * from "./ledger.js";
export * from "./record.js";
export * from "./sequencer.js";
export * from "./table.js";
export { changesCursor, listCursor } from "./cursor.js";
export { changesPageSizeForLimit, pageSizeForLimit, type ChangesQuery, type ListQuery, type Page, type QueryContext } from "./queries.js";
export type { BucketStats } from "./stats.js";
export type {
  Applied,
  ApplyOutcome,
  DeleteMutation,
  DescriptionApplied,
  DescriptionOutcome,
  DescriptionUpdate,
  DriftKind,
  ObjectMutation,
  RepairMutation,
  RepairOutcome,
  UpsertMutation,
} from "./writes.js";
export {
  getIngestion,
  ingestionFromItem,
  ingestionItem,
  listIngestions,
  type IngestCheckpoint,
  type IngestionCounts,
  type IngestionQuery,
  type IngestionRecord,
  type IngestionStatus,
  type UploadState,
} from "./ingestions.js";
export type { History, HistoryEntry } from "./history.js";
export type { KnownBucket } from "./buckets.js";
export { changeShardSettingSchema, type ChangeShardEpoch, type ChangeShardSetting } from "./change-index/index.js";
export type { AsOfQuery, DiffQuery, LedgerReader } from "./reader.js";
export type { AsOfEntry, ChangedKey, DiffEntry, KeyChange, ObjectAsOf, UnknownAsOf, UnknownChange, VersionState, AbsentState } from "./time-travel/index.js";
export type { LedgerWriter } from "./writer.js";
export type { WriteBatch } from "./write-batch.js";
