/**
 * `status` on a terminal: one line per finding, grouped by bucket then stack, coloured by level.
 * A finding's text quotes keys and reasons from the ledger: escaped before it is painted, so no
 * key can hide the lines after it.
 */
import { escapeTerminal, padEndDisplay } from "../escape.js";
import type { OutputMode } from "../output.js";
import { STATUS_EXIT, type Level, type StatusReport } from "./report.js";

const MARK: Record<Level, string> = { ok: "✓", warn: "!", bad: "✗", unreadable: "?" };
const COLOUR: Record<Level, number> = { ok: 32, warn: 33, bad: 31, unreadable: 33 };

const paint = (mode: OutputMode, level: Level, text: string) => (mode.color ? `\x1b[${COLOUR[level]}m${text}\x1b[39m` : text);

/** The last line when not all is well: what needs attention, and what could not be read. */
function verdict(report: StatusReport): string {
  const unread = report.unreadable?.length ? `not readable: ${report.unreadable.map((part) => part.part).join(", ")}` : undefined;
  if (report.exitCode === STATUS_EXIT.partlyUnread) return `all that could be read is well; ${unread} (exit ${report.exitCode})`;
  return `needs attention (exit ${report.exitCode})${unread ? `; ${unread}` : ""}`;
}

export function renderStatus(report: StatusReport, mode: OutputMode): string {
  const lines = [escapeTerminal(`bucket-ledger ${report.version} · table ${report.table}${report.stack ? ` · ${report.stack}` : ""} · ${report.checkedAt}`)];
  let subject: string | undefined;
  for (const finding of report.findings) {
    if (finding.subject !== subject) {
      subject = finding.subject;
      lines.push(escapeTerminal(subject));
    }
    lines.push(
      `  ${paint(mode, finding.level, MARK[finding.level])} ${padEndDisplay(escapeTerminal(finding.topic), 16)}${paint(mode, finding.level, escapeTerminal(finding.text))}`,
    );
  }
  if (!report.stack) lines.push("(stack not checked: pass --stack <name> or --local for queues and alarms)");
  lines.push(report.healthy ? paint(mode, "ok", "all well") : paint(mode, "warn", verdict(report)));
  return lines.join("\n");
}
