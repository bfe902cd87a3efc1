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
