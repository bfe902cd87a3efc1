/** The plan's and the run's figures, as summary.json holds them and `--json` prints them. */
import type { RollbackActionKind } from "./decide.js";
import type { ApplySummary } from "./apply.js";
import type { RollbackPlan } from "./plan.js";

export interface RollbackSummary {
  bucket: string;
  prefix: string;
  to: string;
  plannedAt: string;
  /** Actions planned, by kind. */
  actions: Record<RollbackActionKind, number>;
  refused: number;
  /** Keys already as at the moment (an earlier run's, or the same content under another version). */
  done: number;
  prefixKeys: number;
  /** Only with --apply. */
  applied?: { applied: number; conflicts: number; failures: number };
}

export function summaryOf(plan: RollbackPlan, applied?: ApplySummary): RollbackSummary {
  const actions: Record<RollbackActionKind, number> = { "copy-version": 0, "delete-current": 0, "remove-delete-marker": 0 };
  for (const action of plan.actions) actions[action.kind]++;
  return {
    bucket: plan.bucket,
    prefix: plan.prefix,
    to: plan.to,
    plannedAt: plan.plannedAt,
    actions,
    refused: plan.refused.length,
    done: plan.done.length,
    prefixKeys: plan.prefixKeys,
    ...(applied && { applied: { applied: applied.applied, conflicts: applied.conflicts.length, failures: applied.failures.length } }),
  };
}
