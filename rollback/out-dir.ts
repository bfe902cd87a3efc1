/**
 * The rollback's output directory: the plan's files, each written whole or not at all (a
 * temporary file beside it, flushed, then renamed over it: a rename within one directory is
 * atomic on POSIX file systems), and the journal of the actions done, one line each, flushed
 * before the next action starts, so an interrupted `--apply` resumes where it stopped.
 */
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { RollbackOutputError } from "./errors.js";

/** Writes every file whole; a file of a failed write keeps its old content (or stays absent). */
export async function writeFilesAtomically(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const staged: [string, string][] = [];
  try {
    for (const [name, content] of Object.entries(files)) {
      const temporary = join(dir, `.${name}.${process.pid}.tmp`);
      staged.push([temporary, join(dir, name)]);
      const handle = await open(temporary, "w", 0o644);
      try {
        await handle.writeFile(content, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const [temporary, final] of staged) await rename(temporary, final);
  } catch (error) {
    await Promise.all(staged.map(([temporary]) => rm(temporary, { force: true })));
    throw error;
  }
}

/** Which rollback a journal belongs to: its lines count only for the same bucket, prefix and moment. */
export interface RollbackIdentity {
  bucket: string;
  prefix: string;
  to: string;
}

/** One action done: the key, what was done, and the entry it left current (a copy's new version, a delete marker, the version a removed marker uncovered). */
export interface JournalLine {
  key: string;
  kind: string;
  result: string;
}

export const JOURNAL_FILE = "journal.ndjson";

export class Journal {
  private constructor(
    private readonly path: string,
    /** Per key, the entry the last action done left current. */
    readonly results: Map<string, string>,
  ) {}

  /**
   * Opens (or starts) the journal in `dir`. A journal of another rollback is refused: its lines
   * would mark this one's actions done. A last line cut short by a crash is the action that was
   * under way, not known done, so it is left out (and S3's state decides it again).
   */
  static async open(dir: string, identity: RollbackIdentity): Promise<Journal> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, JOURNAL_FILE);
    const results = new Map<string, string>();
    let text: string | undefined;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    if (text === undefined || text.length === 0) {
      await appendLine(path, JSON.stringify({ rollback: identity }));
      return new Journal(path, results);
    }
    // A line cut short by a crash has no newline: end it, so the next line starts on its own.
    if (!text.endsWith("\n")) await appendLine(path, "");
    const lines = text.split("\n");
    const header = parseLine(lines[0]!) as { rollback?: RollbackIdentity } | undefined;
    const theirs = header?.rollback;
    if (!theirs || theirs.bucket !== identity.bucket || theirs.prefix !== identity.prefix || theirs.to !== identity.to) {
      throw new RollbackOutputError(
        theirs
          ? `${path} is the journal of another rollback (${JSON.stringify(theirs)}), not of ${JSON.stringify(identity)}: to resume that one, give its bucket, --prefix and --to ${theirs.to}; else use another --out directory`
          : `${path} is not a rollback journal (its first line names no rollback): use another --out directory`,
      );
    }
    for (const line of lines.slice(1)) {
      const done = parseLine(line) as Partial<JournalLine> | undefined;
      if (typeof done?.key === "string" && typeof done.result === "string") results.set(done.key, done.result);
    }
    return new Journal(path, results);
  }

  async record(line: JournalLine): Promise<void> {
    await appendLine(this.path, JSON.stringify(line));
    this.results.set(line.key, line.result);
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

async function appendLine(path: string, line: string): Promise<void> {
  const handle = await open(path, "a", 0o644);
  try {
    await handle.write(`${line}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
