/**
 * One page of a time-travel answer (`Ledger.asOf`, `Ledger.diff`) for the HTTP API: up to
 * `limit` entries in key order and a cursor after the last key, a ledger listing cursor the
 * reader resumes from. The time-travel generators take no work budget, so the page also ends at
 * the budget's deadline once it holds an entry: what a page reads is then the keys up to its
 * last entry and the journals of those changed since the moment (ledger/time-travel/key-scan.ts).
 */
import type { Page } from "../ledger/index.js";

export async function takeTimeTravelPage<T extends { key: string }>(
  entries: AsyncGenerator<T>,
  options: { limit: number; deadline: number; cursorAfter: (key: string) => string },
): Promise<Page<T>> {
  const items: T[] = [];
  for (;;) {
    const next = await entries.next();
    if (next.done) return { items };
    if (items.length === options.limit || (items.length > 0 && Date.now() >= options.deadline)) {
      await entries.return(undefined);
      return { items, cursor: options.cursorAfter(items.at(-1)!.key) };
    }
    items.push(next.value);
  }
}
