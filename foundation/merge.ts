import { compareUtf8 } from "./utf8-order.js";

/**
 * k-way merge of sorted async streams: one stream per shard, each already in order, merged
 * lazily so only one page per shard is held in memory whatever the bucket size.
 */
export async function* mergeSorted<T>(sources: AsyncIterable<T>[], compare: (a: T, b: T) => number): AsyncGenerator<T> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  try {
    const heads = await Promise.all(iterators.map((it) => it.next()));
    const live: { value: T; index: number }[] = [];
    heads.forEach((head, index) => {
      if (!head.done) live.push({ value: head.value, index });
    });
    // Shard counts are small (16), so a linear scan for the minimum beats a heap here.
    while (live.length > 0) {
      let min = 0;
      for (let i = 1; i < live.length; i++) {
        if (compare(live[i]!.value, live[min]!.value) < 0) min = i;
      }
      const head = live[min]!;
      yield head.value;
      const next = await iterators[head.index]!.next();
      if (next.done) live.splice(min, 1);
      else head.value = next.value;
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}

/**
 * Full outer join of two streams each in UTF-8 key order (S3 listings, ledger queries): pairs
 * of the entries that share a key, or one side alone. Stopping early releases both readers.
 */
export async function* joinByKey<A extends { key: string }, B extends { key: string }>(
  left: AsyncIterable<A>,
  right: AsyncIterable<B>,
): AsyncGenerator<[A, B] | [A, undefined] | [undefined, B]> {
  const lefts = left[Symbol.asyncIterator]();
  const rights = right[Symbol.asyncIterator]();
  try {
    let a = await lefts.next();
    let b = await rights.next();
    while (!a.done || !b.done) {
      const order = a.done ? 1 : b.done ? -1 : compareUtf8(a.value.key, b.value.key);
      if (order === 0) {
        yield [a.value as A, b.value as B];
        [a, b] = await Promise.all([lefts.next(), rights.next()]);
      } else if (order < 0) {
        yield [a.value as A, undefined];
        a = await lefts.next();
      } else {
        yield [undefined, b.value as B];
        b = await rights.next();
      }
    }
  } finally {
    await Promise.allSettled([lefts.return?.(), rights.return?.()]);
  }
}
