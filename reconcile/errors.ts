import { EXIT, UserError } from "../foundation/user-error.js";

/** Why a reconciliation stopped without deleting anything. */
export class ReconcileError extends UserError {}

/** The source claimed an order it did not keep; a merge-join on it would invent drift. */
export class SourceOrderError extends ReconcileError {}

/** Invariant 3: the run would tombstone more of the index than allowed. */
export class MaxDeleteExceededError extends ReconcileError {
  override get exitCode() {
    return EXIT.refused;
  }

  constructor(
    readonly orphans: number,
    readonly indexed: number,
    readonly maxDeleteFraction: number,
  ) {
    super(
      `refusing to tombstone ${orphans} of ${indexed} indexed objects (${((orphans / Math.max(indexed, 1)) * 100).toFixed(1)}%, ` +
        `limit ${(maxDeleteFraction * 100).toFixed(1)}%); nothing was deleted. Check the source, then rerun with a higher limit or force`,
    );
  }
}

/** Another worker holds the task's lease, or took it over: this worker must stop without writing. */
export class TaskLeaseError extends ReconcileError {}

/** The inventory report is missing, incomplete, corrupt or of a kind we cannot read: nothing is deleted. */
export class InventoryError extends ReconcileError {}

/** No complete inventory report exists yet: S3 delivers the first one up to 48 hours after configuration. */
export class NoInventoryReportError extends InventoryError {}
