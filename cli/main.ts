/** `bucket-ledger`: query the ledger, and run the system locally. */
import { Command, CommanderError } from "commander";
import { EXIT, UserError } from "../foundation/user-error.js";
import { registerChanges } from "./commands/changes.js";
import { registerDemo } from "./commands/demo.js";
import { registerDev } from "./commands/dev.js";
import { registerGet } from "./commands/get.js";
import { registerHistory } from "./commands/history.js";
import { registerErase } from "./commands/erase.js";
import { registerLs } from "./commands/ls.js";
import { registerReconcile } from "./commands/reconcile.js";
import { registerRuns } from "./commands/runs.js";
import { registerIngest } from "./commands/ingest.js";
import { registerIngestions } from "./commands/ingestions.js";
import { registerStat } from "./commands/stat.js";
import { guardStdout, StdoutClosedError, stdoutClosed } from "./pipe.js";
import { escapeTerminalLines } from "./escape.js";
import { VERSION } from "./version.js";
import { registerStatus } from "./commands/status.js";
import { registerBuckets } from "./commands/buckets.js";

function buildProgram(): Command {
  const program = new Command("bucket-ledger")
    .description("An exact, queryable index of every object in an S3 bucket.")
    .version(VERSION, "-V, --version", "print the installed version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerStatus(program);
  registerBuckets(program);
  registerLs(program);
  registerChanges(program);
  registerGet(program);
  registerHistory(program);
  registerErase(program);
  registerStat(program);
  registerReconcile(program);
  registerRuns(program);
  registerIngestions(program);
  registerIngest(program);
  registerDev(program);
  registerDemo(program);
  return program;
}

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
