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
import { FileFormatError } from "./errors.js";
import { parseJsonRow } from "./json-row.js";
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

/**
 * Columns a header may name: far more than any table needs, few enough that building each row's
 * values stays cheap (a header of 1 MiB could otherwise name half a million).
 */
export const MAX_COLUMNS = 10_000;

/** A header is the file's schema: an empty, repeated or excess name makes the file unreadable, not a row. */
function checkedHeader(record: string[], line: number): string[] {
  if (record.every((column) => column === "")) throw new FileFormatError(line, "the header row is empty");
  if (record.length > MAX_COLUMNS) throw new FileFormatError(line, `the header names ${record.length} columns; at most ${MAX_COLUMNS} are read`);
  const seen = new Set<string>();
  record.forEach((column, index) => {
    // DynamoDB attribute names are at least one character (HowItWorks.NamingRulesDataTypes.html#HowItWorks.NamingRules).
    if (column === "") throw new FileFormatError(line, `the header's column ${index + 1} has no name`);
    if (seen.has(column)) throw new FileFormatError(line, `the header names column ${JSON.stringify(column)} twice`);
    seen.add(column);
  });
  return record;
}

/** csv-parse's error codes, as a reason that quotes nothing from the file. */
function csvProblem(code: string | undefined): string {
  switch (code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "Quote Not Closed: the file ends inside a quoted field";
    case "INVALID_OPENING_QUOTE":
      return "a quote inside an unquoted field (quote the whole field and double the quote)";
    case "CSV_INVALID_CLOSING_QUOTE":
      return "a quoted field goes on after its closing quote";
    case "CSV_MAX_RECORD_SIZE":
      return `a row longer than ${MAX_ROW_BYTES} bytes`;
    default:
      return `the file is not CSV the reader can parse (${code ?? "parser error"})`;
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
  let bodyFailure: unknown;
  const feed = (async () => {
    try {
      for await (const chunk of body) {
        if (parser.destroyed) return;
        // Stops waiting when the reader stopped early (a checkpoint) and destroyed the parser.
        if (!parser.write(chunk)) await drainedOrClosed(parser);
      }
      if (!parser.destroyed) parser.end();
    } catch (error) {
      bodyFailure = error;
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
        columns = checkedHeader(record, line);
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
    // What the body stream threw (S3, the network, invalid UTF-8) is not the parser's: it goes on as it is.
    if (error instanceof FileFormatError || error === bodyFailure) throw error;
    // Anything else came from csv-parse, whatever its code (INVALID_OPENING_QUOTE has no CSV_
    // prefix): the file cannot be read on. Its message may quote a field, so only the code is kept.
    const failure = error as Error & { code?: string; lines?: number };
    throw new FileFormatError(start.line - 1 + (failure.lines ?? lastLine - start.line + 2), csvProblem(failure.code));
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
    const parsed = parseJsonRow(body);
    if (!parsed.ok) return { kind: "invalid", line: at, reason: parsed.reason, next };
    return { kind: "row", line: at, values: parsed.values, bytes: length, next };
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
