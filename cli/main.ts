/** `bucket-ledger`: query the ledger, and run the system locally. */
import { CommanderError } from "commander";
import { EXIT, UserError } from "../foundation/user-error.js";
import { guardStdout, StdoutClosedError, stdoutClosed } from "./pipe.js";
import { escapeTerminalLines } from "./escape.js";
import { buildProgram } from "./program.js";

export async function main(argv: string[]): Promise<number> {
  guardStdout();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return stdoutClosed() ? EXIT.ok : Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    // The reader of stdout went away: nothing is wrong, and nothing more can be said.
    if (error instanceof StdoutClosedError || stdoutClosed()) return EXIT.ok;
    if (error instanceof CommanderError) {
      // Commander has printed its message already; help and version exit 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // A user error's message is written for its reader and carries its exit code; any other error is a fault, named.
    const message = error instanceof UserError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
    process.stderr.write(`bucket-ledger: ${escapeTerminalLines(message)}\n`);
    return error instanceof UserError ? error.exitCode : EXIT.failure;
  }
}

process.exitCode = await main(process.argv);
