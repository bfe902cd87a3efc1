/**
 * Rollback of a prefix of a versioned bucket to a past moment (issue 27): a plan from the
 * ledger's net change since then, checked against S3 (./plan.ts, ./decide.ts); the plan as S3
 * Batch Operations manifests and job commands (./manifest.ts); and its guarded, resumable
 * application with the SDK (./guard.ts, ./apply.ts, ./out-dir.ts). It talks to S3, so it lives
 * outside ledger/, which stays S3-free; the package exports it as `bucket-ledger/rollback`.
 */
export { applyRollback, APPLY_CONCURRENCY, type ApplyInput, type ApplySummary } from "./apply.js";
export { COPY_OBJECT_MAX_BYTES, NULL_VERSION, type RefusedKey, type RollbackAction, type RollbackActionKind } from "./decide.js";
export { RollbackOutputError, RollbackRefusedError } from "./errors.js";
export { DEFAULT_MAX_SHARE, shareGuard } from "./guard.js";
export { jobCommands, manifestsOf, manifestText, type Manifest } from "./manifest.js";
export { Journal, JOURNAL_FILE, writeFilesAtomically, type RollbackIdentity } from "./out-dir.js";
export { assertVersioned, planRollback, PLAN_READS_IN_FLIGHT, type PlanRollbackInput, type RollbackPlan } from "./plan.js";
export { summaryOf, type RollbackSummary } from "./summary.js";
