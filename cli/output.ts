/**
 * Terminal vs pipe: a human table when stdout is a terminal, NDJSON (one record per line)
 * when piped or with --json. Rows are written as they arrive, so millions of rows stream.
 * Every string a row takes from the ledger is escaped ({@link escapeTerminal}) and its column
 * measured after escaping, in terminal columns.
 */
import type { HistoryEntry, LedgerRecord } from "../ledger/index.js";
import type { DriftRecord } from "../reconcile/drift-record.js";
import { escapeTerminal, fitDisplay, padEndDisplay } from "./escape.js";
import { StdoutClosedError, stdoutClosed } from "./pipe.js";

export interface OutputMode {
  json: boolean;
  color: boolean;
}

export function outputMode(options: { json?: boolean }, stream: NodeJS.WriteStream = process.stdout): OutputMode {
  const tty = Boolean(stream.isTTY);
  return { json: Boolean(options.json) || !tty, color: tty && !process.env.NO_COLOR };
}

const dim = (mode: OutputMode, text: string) => (mode.color ? `\x1b[2m${text}\x1b[22m` : text);
const red = (mode: OutputMode, text: string) => (mode.color ? `\x1b[31m${text}\x1b[39m` : text);

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Escaped too: a time is read from the ledger, where an event put it. */
export function formatTime(iso: string): string {
  return escapeTerminal(iso.replace("T", " ").replace(/\.\d+Z$/, "Z"));
}

export function writeLine(line: string): void {
  if (stdoutClosed()) throw new StdoutClosedError();
  process.stdout.write(`${line}\n`);
}

const TYPE_WIDTH = 20;

/** The content type (with `enrich: [contentType]`), escaped and cut to its column; `-` when not kept. */
function typeColumn(record: LedgerRecord): string {
  const type = record.deleted ? "" : (record.contentType ?? "-");
  return padEndDisplay(fitDisplay(type, TYPE_WIDTH - 2), TYPE_WIDTH);
}

/** Who made the change, escaped, in its column (a longer one pushes the key along rather than lose its end). */
const byColumn = (record: LedgerRecord | HistoryEntry) => padEndDisplay(escapeTerminal(madeBy(record) ?? "-"), 28);

export const objectColumns = `${"LAST MODIFIED".padEnd(21)}${"SIZE".padStart(11)}  ${"TYPE".padEnd(TYPE_WIDTH)}KEY`;

export function objectRow(mode: OutputMode, record: LedgerRecord): string {
  if (record.deleted)
    return `${dim(mode, formatTime(record.recordedAt).padEnd(21))}${red(mode, "deleted".padStart(11))}  ${typeColumn(record)}${escapeTerminal(record.key)}`;
  return `${formatTime(record.lastModified).padEnd(21)}${formatBytes(record.size).padStart(11)}  ${dim(mode, typeColumn(record))}${escapeTerminal(record.key)}`;
}

/** Who made a change: its event's requester, or reconciliation for a repair; undefined when the event did not say. */
export function madeBy(record: LedgerRecord): string | undefined {
  return record.source === "reconcile" ? "reconciliation" : record.origin?.requester;
}

export const changeColumns = `${"RECORDED AT".padEnd(21)}${"CHANGE".padEnd(34)}${"SIZE".padStart(11)}  ${"TYPE".padEnd(TYPE_WIDTH)}${"BY".padEnd(28)}KEY`;

export function changeRow(mode: OutputMode, record: LedgerRecord): string {
  const change = padEndDisplay(escapeTerminal(record.cause), 34);
  const size = record.deleted ? red(mode, "deleted".padStart(11)) : formatBytes(record.size).padStart(11);
  return `${formatTime(record.recordedAt).padEnd(21)}${record.deleted ? red(mode, change) : change}${size}  ${dim(mode, typeColumn(record))}${dim(mode, byColumn(record))}${escapeTerminal(record.key)}`;
}

export const historyColumns = `${"CHANGED AT (S3)".padEnd(21)}${"CHANGE".padEnd(34)}${"SIZE".padStart(11)}  ${"ETAG".padEnd(34)}${"BY".padEnd(28)}FROM`;

export function historyRow(entry: HistoryEntry): string {
  const size = entry.deleted ? "deleted" : formatBytes(entry.size);
  const etag = entry.deleted ? "" : entry.etag;
  return `${formatTime(entry.observedAt).padEnd(21)}${padEndDisplay(escapeTerminal(entry.cause), 34)}${size.padStart(11)}  ${padEndDisplay(escapeTerminal(etag), 34)}${byColumn(entry)}${escapeTerminal(entry.origin?.sourceIp ?? "")}`;
}

type SeenState = DriftRecord["ledger"] | DriftRecord["source"];

const isTombstone = (state: NonNullable<SeenState>): state is { deleted: true; recordedAt: string } => "deleted" in state && state.deleted;

function stateText(state: SeenState): string {
  if (state === undefined) return "-";
  return isTombstone(state) ? `deleted ${formatTime(state.recordedAt)}` : `${state.size} B ${escapeTerminal(state.etag)}`;
}

/** A drifted key on a terminal (`reconcile --show-drift`, `runs --drift`). */
export const driftColumns = `${"KIND".padEnd(10)}${"LEDGER".padEnd(44)}${"SOURCE".padEnd(44)}KEY`;

export function driftRow(drift: DriftRecord): string {
  return `${drift.kind.padEnd(10)}${padEndDisplay(stateText(drift.ledger), 44)}${padEndDisplay(stateText(drift.source), 44)}${escapeTerminal(drift.key)}`;
}
