/**
 * Rows from a file's byte stream, one at a time, each with the line it starts on and the byte
 * offset just past it, so that ingestion can stop after any row and resume there with a ranged
 * GetObject. Nothing holds more than one row (and csv-parse's buffer) in memory.
 *
 * A row that is wrong on its own (a JSON Lines syntax error, a CSV row with the wrong number
 * of fields) is `invalid` and reading goes on; a file that cannot be read on (an unterminated
 * quote, invalid UTF-8, no header) ends with a {@link FileFormatError}.
 */
import { Parser, type Options } from "csv-parse";
import type { IngestRule } from "./rules.js";

export interface ReadPosition {
  /** Bytes of the file before the next row. */
  offset: number;
  /** The line the next row starts on (1-based). */
  line: number;
}

export interface ReadStart extends ReadPosition {
  /** CSV: the header, when resuming past it. */
  columns?: string[];
}

export type RowEvent =
  | { kind: "header"; columns: string[]; next: ReadPosition }
  /** `bytes`: the row's length in the file. */
  | { kind: "row"; line: number; values: Record<string, unknown>; bytes: number; next: ReadPosition }
  | { kind: "invalid"; line: number; reason: string; next: ReadPosition };

export class FileFormatError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = "FileFormatError";
  }
}

/** Longer than any row DynamoDB could store (400 KB), so a longer one is refused unread. */
export const MAX_ROW_BYTES = 1024 * 1024;

function countNewlinesIn(text: string): number {
  let count = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

function countNewlines(chunk: Uint8Array, end = chunk.length): number {
  let count = 0;
  for (let i = chunk.indexOf(0x0a); i !== -1 && i < end; i = chunk.indexOf(0x0a, i + 1)) count++;
  return count;
}

/**
 * Passes the bytes through unchanged and fails on the first invalid UTF-8 sequence, naming its
 * line: csv-parse and JSON.parse would otherwise turn it silently into U+FFFD.
 */
async function* strictUtf8(body: AsyncIterable<Uint8Array>, firstLine: number): AsyncGenerator<Uint8Array> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = firstLine;
  for await (const chunk of body) {
    try {
      decoder.decode(chunk, { stream: true });
    } catch {
      // Only on failure: the longest prefix a fresh decoder accepts locates the bad byte.
      let [low, high] = [0, chunk.length];
      while (low < high) {
        const middle = (low + high + 1) >> 1;
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(chunk.subarray(0, middle), { stream: true });
          low = middle;
        } catch {
          high = middle - 1;
        }
      }
      throw new FileFormatError(line + countNewlines(chunk, low), `invalid UTF-8 at byte ${low} of this line's chunk; the file must be UTF-8`);
    }
    line += countNewlines(chunk);
    yield chunk;
  }
  try {
    decoder.decode();
  } catch {
    throw new FileFormatError(line, "the file ends inside a UTF-8 sequence");
  }
}

export interface ReadOptions {
  /** False: rows come without their values (checking that a file parses needs none). */
  values?: boolean;
}

const NO_VALUES: Record<string, unknown> = Object.freeze({});

export function readRows(
  body: AsyncIterable<Uint8Array>,
  rule: Pick<IngestRule, "format" | "delimiter">,
  start: ReadStart,
  options: ReadOptions = {},
): AsyncGenerator<RowEvent> {
  const bytes = strictUtf8(body, start.line);
  return rule.format === "csv" ? readCsv(bytes, rule.delimiter, start, options.values ?? true) : readJsonLines(bytes, start);
}

/** Resolves when the parser wants more input, or is gone; leaves no listener behind. */
function drainedOrClosed(parser: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      parser.off("drain", done);
      parser.off("close", done);
      resolve();
    };
    parser.once("drain", done);
    parser.once("close", done);
  });
}

interface PositionedRecord {
  record: string[];
  /** Bytes of input consumed through this record (csv-parse's `info.bytes`). */
  bytes: number;
  /** Empty lines skipped so far (`info.empty_lines`). */
  emptyLines: number;
}

/**
 * csv-parse with each record's position, read from the parser's `info` as the record is pushed
 * (csv-parse pushes each record synchronously, right after updating `info`). Its own `info: true`
 * builds a dozen-field object per record by spreading; over a million rows that garbage grew peak
 * RSS 1.58 x where parsing without it grows 1.02 x (bench/ingest-rss.ts).
 */
class PositionedParser extends Parser {
  constructor(options: Options) {
    super({ ...options, info: false });
  }

  override push(record: unknown, encoding?: BufferEncoding): boolean {
    if (record === null) return super.push(null, encoding);
    const positioned: PositionedRecord = { record: record as string[], bytes: this.info.bytes, emptyLines: this.info.empty_lines };
    return super.push(positioned, encoding);
  }
}

async function* readCsv(body: AsyncIterable<Uint8Array>, delimiter: string, start: ReadStart, withValues: boolean): AsyncGenerator<RowEvent> {
  const parser = new PositionedParser({
    bom: start.offset === 0,
    delimiter,
    // Both, so a file with mixed endings still parses: csv-parse otherwise takes the first one seen.
    record_delimiter: ["\r\n", "\n"],
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: MAX_ROW_BYTES,
  });
  const feed = (async () => {
    try {
      for await (const chunk of body) {
        if (parser.destroyed) return;
        // Stops waiting when the reader stopped early (a checkpoint) and destroyed the parser.
        if (!parser.write(chunk)) await drainedOrClosed(parser);
      }
      if (!parser.destroyed) parser.end();
    } catch (error) {
      parser.destroy(error as Error);
    }
  })();
  let columns = start.columns;
  // Lines are counted here: csv-parse counts a quoted CRLF as two. A row starts after the last
  // one's end and the empty lines skipped since, and spans the newlines inside its fields.
  let lastLine = start.line - 1;
  let emptyLines = 0;
  let previousOffset = start.offset;
  try {
    for await (const { record, bytes, emptyLines: skipped } of parser as AsyncIterable<PositionedRecord>) {
      const line = lastLine + 1 + (skipped - emptyLines);
      emptyLines = skipped;
      lastLine = line + record.reduce((sum, field) => sum + countNewlinesIn(field), 0);
      const rowStart = previousOffset;
      const next = { offset: start.offset + bytes, line: lastLine + 1 };
      previousOffset = next.offset;
      if (columns === undefined) {
        columns = record;
        const repeated = columns.find((column, index) => columns!.indexOf(column) !== index);
        if (columns.every((column) => column === "")) throw new FileFormatError(line, "the header row is empty");
        if (repeated !== undefined) throw new FileFormatError(line, `the header names column ${JSON.stringify(repeated)} twice`);
        yield { kind: "header", columns, next };
        continue;
      }
      if (record.length !== columns.length) {
        yield { kind: "invalid", line, reason: `row has ${record.length} fields; the header has ${columns.length}`, next };
        continue;
      }
      let values = NO_VALUES;
      if (withValues) {
        values = {};
        for (let index = 0; index < columns.length; index++) values[columns[index]!] = record[index];
      }
      yield { kind: "row", line, values, bytes: next.offset - rowStart, next };
    }
  } catch (error) {
    if (error instanceof FileFormatError) throw error;
    const failure = error as Error & { code?: string; lines?: number };
    if (failure.code?.startsWith("CSV_")) throw new FileFormatError(start.line - 1 + (failure.lines ?? lastLine - start.line + 2), failure.message);
    throw error;
  } finally {
    parser.destroy();
    await feed;
  }
  if (columns === undefined) throw new FileFormatError(start.line, "the file has no header row");
}

const NEWLINE = 0x0a;

async function* readJsonLines(body: AsyncIterable<Uint8Array>, start: ReadStart): AsyncGenerator<RowEvent> {
  let offset = start.offset;
  let line = start.line;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let oversized = false;

  const finishLine = (length: number): RowEvent | undefined => {
    const text = Buffer.concat(pending, pendingBytes).toString("utf8");
    const at = line;
    offset += length;
    line += 1;
    [pending, pendingBytes] = [[], 0];
    const next = { offset, line };
    if (oversized) {
      oversized = false;
      return { kind: "invalid", line: at, reason: `line is longer than ${MAX_ROW_BYTES} bytes`, next };
    }
    let body = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (at === 1 && offset - length === 0 && body.startsWith("\ufeff")) body = body.slice(1);
    if (body.trim() === "") return undefined;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error) {
      return { kind: "invalid", line: at, reason: `not JSON: ${(error as Error).message}`, next };
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      return { kind: "invalid", line: at, reason: "a JSON Lines row must be an object", next };
    return { kind: "row", line: at, values: value as Record<string, unknown>, bytes: length, next };
  };

  let lineBytes = 0;
  for await (const chunk of body) {
    let from = 0;
    while (from < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, from);
      const end = newline === -1 ? chunk.length : newline;
      lineBytes += end - from + (newline === -1 ? 0 : 1);
      if (!oversized) {
        if (pendingBytes + (end - from) > MAX_ROW_BYTES) {
          oversized = true;
          [pending, pendingBytes] = [[], 0];
        } else {
          pending.push(Buffer.from(chunk.subarray(from, end)));
          pendingBytes += end - from;
        }
      }
      if (newline === -1) break;
      const event = finishLine(lineBytes);
      lineBytes = 0;
      if (event) yield event;
      from = newline + 1;
    }
  }
  if (lineBytes > 0) {
    const event = finishLine(lineBytes);
    if (event) yield event;
  }
}
