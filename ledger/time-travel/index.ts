/**
 * Time travel: a prefix as it was at a past moment, and what changed between two, read from the
 * current state and the journal; exact, or refused with the bound named. The rest of the code
 * imports this folder through this door only.
 *
 * Cost: one listing of the prefix (tombstones included) plus one journal Query per key recorded
 * since the moment (./key-scan.ts). Exactness: ./timeline.ts says when a key's past state is
 * known, ./horizon.ts which moments the ledger answers for at all.
 */
export { listAsOf, type AsOfEntry, type ObjectAsOf, type UnknownAsOf } from "./as-of.js";
export { listDiff, type ChangedKey, type DiffEntry, type KeyChange, type UnknownChange } from "./diff.js";
export { assertWithinHorizon, readTrackedSince, type HorizonSettings } from "./horizon.js";
export { JOURNAL_READS_IN_FLIGHT } from "./key-scan.js";
export { stateAt, type AbsentState, type StateAt, type VersionState } from "./timeline.js";
