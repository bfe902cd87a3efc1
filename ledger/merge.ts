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
