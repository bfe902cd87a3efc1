/**
 * How much longer an invocation may work before it must save its place and hand over (a
 * reconcile task's checkpoint and continuation, an ingestion's checkpoint): spent once no time
 * is left.
 */
export interface TimeBudget {
  remainingMs(): number;
}

/** The time left, less what is kept back for the last checkpoint and the hand-over. */
export function budgetReserving(remainingMs: () => number, reserveMs: number): TimeBudget {
  return { remainingMs: () => remainingMs() - reserveMs };
}

export function isSpent(budget: TimeBudget): boolean {
  return budget.remainingMs() <= 0;
}
