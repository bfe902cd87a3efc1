/**
 * Sorts a stream that may be in any order with bounded memory: sorted runs of `runSize`
 * items spill to temporary NDJSON files, then a k-way merge reads them back lazily.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { once } from "node:events";
import { mergeSorted } from "../ledger/merge.js";

async function writeRun(path: string, items: unknown[]): Promise<void> {
  const out = createWriteStream(path);
  for (const item of items) {
    if (!out.write(`${JSON.stringify(item)}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

async function* readRun<T>(path: string): AsyncGenerator<T> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) yield JSON.parse(line) as T;
}

export async function* externalSort<T>(source: AsyncIterable<T>, compare: (a: T, b: T) => number, runSize = 100_000): AsyncGenerator<T> {
  let buffer: T[] = [];
  const runs: string[] = [];
  let directory: string | undefined;
  try {
    for await (const item of source) {
      buffer.push(item);
      if (buffer.length >= runSize) {
        directory ??= await mkdtemp(join(tmpdir(), "bucket-ledger-sort-"));
        const path = join(directory, `run-${runs.length}.ndjson`);
        await writeRun(path, buffer.sort(compare));
        runs.push(path);
        buffer = [];
      }
    }
    buffer.sort(compare);
    if (runs.length === 0) {
      yield* buffer;
      return;
    }
    async function* memoryRun(items: T[]) {
      yield* items;
    }
    yield* mergeSorted([...runs.map((path) => readRun<T>(path)), memoryRun(buffer)], compare);
  } finally {
    if (directory) await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Starts copying a stream to a temporary file at once, in the background, and reads it back
 * when asked. Lets an already-sorted stream (the ledger) be fetched while an unordered one
 * (the listing) is being sorted, without holding either in memory.
 */
export function spoolToDisk<T>(source: AsyncIterable<T>): { read(): AsyncGenerator<T>; discard(): Promise<void> } {
  let discarded = false;
  const written = (async () => {
    const directory = await mkdtemp(join(tmpdir(), "bucket-ledger-spool-"));
    const path = join(directory, "spool.ndjson");
    try {
      const out = createWriteStream(path);
      for await (const item of source) {
        if (discarded) break;
        if (!out.write(`${JSON.stringify(item)}\n`)) await once(out, "drain");
      }
      out.end();
      await once(out, "finish");
      return { directory, path };
    } catch (error) {
      await rm(directory, { recursive: true, force: true });
      throw error;
    }
  })();
  // Observed here so a failure is not reported as unhandled before read() awaits it.
  written.catch(() => undefined);
  return {
    async *read() {
      const { directory, path } = await written;
      try {
        yield* readRun<T>(path);
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
    /** Stops the copy and removes the file; safe after read() too. */
    async discard() {
      discarded = true;
      const result = await written.catch(() => undefined);
      if (result) await rm(result.directory, { recursive: true, force: true });
    },
  };
}
