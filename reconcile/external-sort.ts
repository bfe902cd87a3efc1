/**
 * Sorts a stream that may be in any order with bounded memory: sorted runs of `runSize`
 * items spill to temporary NDJSON files, then a k-way merge reads them back lazily.
 */
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { once } from "node:events";
import { mergeSorted } from "../foundation/merge.js";
import { scratch, type ScratchSpace } from "./scratch.js";

/** Writes one NDJSON line into a scratch directory, charged to the scratch budget first. */
export async function writeLine(space: ScratchSpace, directory: string, out: WriteStream, item: unknown, what: string): Promise<void> {
  const line = `${JSON.stringify(item)}\n`;
  space.charge(directory, Buffer.byteLength(line), what);
  if (!out.write(line)) await once(out, "drain");
}

export async function finish(out: WriteStream): Promise<void> {
  out.end();
  await once(out, "finish");
}

async function writeRun(space: ScratchSpace, directory: string, path: string, items: unknown[]): Promise<void> {
  const out = createWriteStream(path);
  try {
    for (const item of items) await writeLine(space, directory, out, item, "an unordered source's sorted runs");
  } finally {
    await finish(out);
  }
}

export async function* readRun<T>(path: string): AsyncGenerator<T> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) yield JSON.parse(line) as T;
}

export async function* externalSort<T>(
  source: AsyncIterable<T>,
  compare: (a: T, b: T) => number,
  runSize = 100_000,
  space: ScratchSpace = scratch,
): AsyncGenerator<T> {
  let buffer: T[] = [];
  const runs: string[] = [];
  let directory: string | undefined;
  try {
    for await (const item of source) {
      buffer.push(item);
      if (buffer.length >= runSize) {
        directory ??= await space.directory("sort");
        const path = join(directory, `run-${runs.length}.ndjson`);
        await writeRun(space, directory, path, buffer.sort(compare));
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
    if (directory) await space.remove(directory);
  }
}

/**
 * Starts copying a stream to a temporary file at once, in the background, and reads it back
 * when asked. Lets an already-sorted stream (the ledger) be fetched while an unordered one
 * (the listing) is being sorted, without holding either in memory.
 */
export function spoolToDisk<T>(source: AsyncIterable<T>, space: ScratchSpace = scratch): { read(): AsyncGenerator<T>; discard(): Promise<void> } {
  let discarded = false;
  const written = (async () => {
    const directory = await space.directory("spool");
    const path = join(directory, "spool.ndjson");
    try {
      const out = createWriteStream(path);
      try {
        for await (const item of source) {
          if (discarded) break;
          await writeLine(space, directory, out, item, "the ledger's side of an unordered diff");
        }
      } finally {
        await finish(out);
      }
      return { directory, path };
    } catch (error) {
      await space.remove(directory);
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
        await space.remove(directory);
      }
    },
    /** Stops the copy and removes the file; safe after read() too. */
    async discard() {
      discarded = true;
      const result = await written.catch(() => undefined);
      if (result) await space.remove(result.directory);
    },
  };
}
