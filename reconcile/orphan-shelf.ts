/**
 * Where a run kept in memory (memory-run-store.ts) holds the orphans one task found until the
 * delete guard has decided. A run driven in one process shelves them on disk, so that a listing
 * that comes back empty against a large index is refused by the guard instead of running out of
 * memory first; the coordinator's unit tests shelve them in memory.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { compareUtf8 } from "../foundation/utf8-order.js";
import { externalSort, finish, readRun, writeLine } from "./external-sort.js";
import { scratch, type ScratchSpace } from "./scratch.js";

export interface OrphanShelf {
  /** Writing one twice is harmless: it is read back once. */
  add(key: string): Promise<void>;
  /** In UTF-8 byte order (DynamoDB's sort-key order), after `after`. */
  keys(after?: string): AsyncGenerator<string>;
  discardAfter(after: string | undefined): Promise<void>;
  dispose(): Promise<void>;
}

const isAfter = (after: string | undefined) => (key: string) => after === undefined || compareUtf8(key, after) > 0;

export class MemoryOrphanShelf implements OrphanShelf {
  private readonly shelved = new Set<string>();

  async add(key: string): Promise<void> {
    this.shelved.add(key);
  }

  async *keys(after?: string): AsyncGenerator<string> {
    yield* [...this.shelved].sort(compareUtf8).filter(isAfter(after));
  }

  async discardAfter(after: string | undefined): Promise<void> {
    for (const key of [...this.shelved].filter(isAfter(after))) this.shelved.delete(key);
  }

  async dispose(): Promise<void> {
    this.shelved.clear();
  }
}

/** One NDJSON file in scratch space, sorted with bounded memory when read back. */
export class DiskOrphanShelf implements OrphanShelf {
  private file: Promise<{ directory: string; path: string; out: WriteStream }> | undefined;

  constructor(private readonly space: ScratchSpace = scratch) {}

  private open() {
    // Keys are added concurrently: the file is opened once.
    this.file ??= this.space.directory("orphans").then((directory) => {
      const path = join(directory, "orphans.ndjson");
      return { directory, path, out: createWriteStream(path, { flags: "a" }) };
    });
    return this.file;
  }

  async add(key: string): Promise<void> {
    const { directory, out } = await this.open();
    await writeLine(this.space, directory, out, key, "the keys of orphaned ledger items");
  }

  /** Everything added so far, flushed: the file is reopened for what is added after. */
  private async written(): Promise<string | undefined> {
    if (!this.file) return undefined;
    const file = await this.file;
    await finish(file.out);
    file.out = createWriteStream(file.path, { flags: "a" });
    return file.path;
  }

  async *keys(after?: string): AsyncGenerator<string> {
    const path = await this.written();
    if (path === undefined) return;
    let previous: string | undefined;
    for await (const key of externalSort(readRun<string>(path), compareUtf8, undefined, this.space)) {
      if (key !== previous && isAfter(after)(key)) yield key;
      previous = key;
    }
  }

  async discardAfter(after: string | undefined): Promise<void> {
    const kept: string[] = [];
    for await (const key of this.keys()) if (!isAfter(after)(key)) kept.push(key);
    await this.dispose();
    for (const key of kept) await this.add(key);
  }

  async dispose(): Promise<void> {
    if (!this.file) return;
    const { directory, out } = await this.file;
    this.file = undefined;
    await finish(out).catch(() => undefined);
    await this.space.remove(directory);
  }
}
