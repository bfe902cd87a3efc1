/**
 * When the reader of stdout goes away (`bucket-ledger ls b | head -1`), the CLI stops quietly
 * and exits 0, as rg and jq do: the next line written throws {@link StdoutClosedError}, which
 * ends a streaming command's loop (and so its reads of the ledger), and `main` exits 0.
 */
export class StdoutClosedError extends Error {
  constructor() {
    super("stdout was closed by its reader");
    this.name = "StdoutClosedError";
  }
}

let closed = false;

/** Installed once by `main`: without it, Node reports the EPIPE as an unhandled error with a stack trace. */
export function guardStdout(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    closed = true;
  });
}

export function stdoutClosed(): boolean {
  return closed;
}
