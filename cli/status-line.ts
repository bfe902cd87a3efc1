/**
 * One self-rewriting progress line for operations of unknown length, on a terminal only;
 * silent when the stream is piped, so logs and JSON stay clean. Its text names buckets and keys,
 * so it is escaped and cut to the terminal's width in columns: a CR or newline in it would leave
 * a line behind that the next update does not clear.
 */
import { fitDisplay } from "./escape.js";

export interface StatusLine {
  update(text: string): void;
  done(): void;
}

/** For output that shows its own progress. */
export const NO_STATUS_LINE: StatusLine = { update: () => undefined, done: () => undefined };

export function statusLine(stream: NodeJS.WriteStream, intervalMs = 100): StatusLine {
  if (!stream.isTTY) return NO_STATUS_LINE;
  let last = 0;
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      shown = true;
      stream.write(`\r\x1b[2K${fitDisplay(text, (stream.columns ?? 120) - 1)}`);
    },
    done() {
      if (shown) stream.write("\r\x1b[2K");
    },
  };
}
