/** Pages over the ledger's streams: a limit, and a cursor to resume after the last item. */
import type { Page, Stopped } from "./queries.js";

function isStopped(value: unknown): value is Stopped {
  return typeof value === "object" && value !== null && typeof (value as Stopped).cursor === "string";
}

/**
 * Takes up to `limit` items and a cursor to resume after the last one if more remain. A stream
 * that stopped on its work budget (queries.ts, `WorkBudget`) returns its own cursor, which the
 * page carries even when it holds fewer items than `limit`, or none.
 */
export async function takePage<T>(source: AsyncGenerator<T, unknown>, limit: number, cursorOf: (last: T) => string): Promise<Page<T>> {
  const items: T[] = [];
  for (;;) {
    const next = await source.next();
    if (next.done) return isStopped(next.value) ? { items, cursor: next.value.cursor } : { items };
    if (items.length === limit) {
      await source.return(undefined);
      return { items, cursor: cursorOf(items[limit - 1]!) };
    }
    items.push(next.value);
  }
}
