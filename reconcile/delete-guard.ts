/**
 * Invariant 3's limit, like rsync's --max-delete: a run may tombstone at most
 * `maxDeleteFraction` of the objects the ledger indexes, unless forced. Checked once the whole
 * source has been read, by the one-process engine and by the fan-out's coordinator alike.
 */
import { MaxDeleteExceededError } from "./errors.js";

export interface DeleteGuardInput {
  orphaned: number;
  indexed: number;
  maxDeleteFraction: number;
  force: boolean;
}

/** The refusal, or undefined if the run may tombstone its orphans. */
export function deleteGuard({ orphaned, indexed, maxDeleteFraction, force }: DeleteGuardInput): MaxDeleteExceededError | undefined {
  if (force || orphaned <= maxDeleteFraction * indexed) return undefined;
  return new MaxDeleteExceededError(orphaned, indexed, maxDeleteFraction);
}
