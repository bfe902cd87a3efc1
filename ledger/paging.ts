/** Pages over the ledger's streams: a limit, and a cursor to resume after the last item. */
import type { Page } from "./queries.js";

/** Takes up to `limit` items and a cursor to resume after the last one if more remain. */
export async function takePage<T>(source: AsyncGenerator<T>, limit: number, cursorOf: (last: T) => string): Promise<Page<T>> {
  const items: T[] = [];
  for await (const item of source) {
    if (items.length === limit) {
      await source.return(undefined);
      return { items, cursor: cursorOf(items[limit - 1]!) };
    }
    items.push(item);
  }
  return { items };
}
