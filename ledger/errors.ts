/** Named errors of the index model, so callers can tell bad input from infrastructure faults. */
import { EXIT, UserError } from "../foundation/user-error.js";

export class LedgerError extends UserError {}

/** A cursor that is not ours, is corrupt, or belongs to a different query. */
export class InvalidCursorError extends LedgerError {
  override get exitCode() {
    return EXIT.usage;
  }
}

/** A sequencer that is not a hex string we can compare. */
export class InvalidSequencerError extends LedgerError {}

/** An S3 key that S3 itself would reject (empty or over 1,024 UTF-8 bytes). */
export class InvalidObjectKeyError extends LedgerError {}

/** `changes(since)` asked for history older than the tombstone retention window. */
export class ChangeHorizonError extends LedgerError {
  override get exitCode() {
    return EXIT.usage;
  }

  constructor(
    readonly since: Date,
    readonly horizon: Date,
  ) {
    super(
      `changes since ${since.toISOString()} are older than the change-feed horizon ` +
        `${horizon.toISOString()} (tombstones are kept for the retention window only); ` +
        `run a full listing instead, or ask for changes since ${horizon.toISOString()} or later`,
    );
  }
}

/** Which of the ledger's bounds a moment is past: what time travel cannot answer exactly. */
export type TimeTravelBound = "retention" | "history" | "reconciliation" | "future";

/**
 * Time travel to a moment the ledger cannot answer for exactly: older than the tombstones kept
 * (a deletion since could be gone), than the journal, or than the bucket's first complete
 * reconciliation (before it the ledger did not hold the whole bucket); or still to come.
 */
export class TimeTravelHorizonError extends LedgerError {
  override get exitCode() {
    return EXIT.refused;
  }

  constructor(
    readonly at: Date,
    readonly bound: TimeTravelBound,
    /** The earliest moment the ledger answers for; absent when it answers for none yet. */
    readonly earliest: Date | undefined,
    detail: string,
  ) {
    super(`${at.toISOString()} is ${bound === "future" ? "in the future" : "outside what the ledger keeps"}: ${detail}`);
  }
}

/** A moment time travel cannot read: not a time, or a range whose first moment is not before its second. */
export class InvalidMomentError extends LedgerError {
  override get exitCode() {
    return EXIT.usage;
  }
}
