/**
 * The rollback's limit, as reconciliation's delete guard (reconcile/delete-guard.ts) is its
 * run's: a rollback may change at most `maxShare` of the prefix's keys unless forced, so a moment
 * or prefix mistyped cannot rewrite a whole tree unnoticed. The prefix's keys are the more of
 * those it holds now and those it held at the moment (a deleted tree counts what it held).
 */
import { RollbackRefusedError } from "./errors.js";

export const DEFAULT_MAX_SHARE = 0.1;

export interface ShareGuardInput {
  actions: number;
  prefixKeys: number;
  maxShare: number;
  force: boolean;
}

/** The refusal, or undefined if the rollback may go ahead. */
export function shareGuard({ actions, prefixKeys, maxShare, force }: ShareGuardInput): RollbackRefusedError | undefined {
  if (force || actions <= maxShare * prefixKeys) return undefined;
  const share = prefixKeys === 0 ? "all" : `${((actions / prefixKeys) * 100).toFixed(1)}%`;
  return new RollbackRefusedError(
    `the rollback would change ${actions} of the prefix's ${prefixKeys} keys (${share}), over the --max-share of ${maxShare * 100}%: check --to and --prefix, then pass --force to go ahead`,
  );
}

/** The prefix's keys for the guard: the more of now's and the moment's (now's, less those created since, plus those deleted since). */
export function prefixKeysOf(liveNow: number, created: number, deleted: number): number {
  return Math.max(liveNow, liveNow - created + deleted);
}
