export * from "./errors.js";
export * from "./keys.js";
export * from "./ledger.js";
export * from "./record.js";
export * from "./sequencer.js";
export * from "./table.js";
export { changesCursor, changesPageSizeForLimit, listCursor, pageSizeForLimit, type BucketStats, type ChangesQuery, type ListQuery, type Page } from "./queries.js";
export type { ApplyOutcome, DeleteMutation, DriftKind, ObjectMutation, RepairMutation, RepairOutcome, UpsertMutation } from "./writes.js";
