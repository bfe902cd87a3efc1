/** What the local stack tells the person running it: each ends the command with exit code 2. */
import { EXIT, UserError } from "../foundation/user-error.js";

/** No `bucket-ledger dev` is running where `--local` looked (its dev.json is missing, stale or foreign). */
export class LocalStackNotRunningError extends UserError {
  override get exitCode() {
    return EXIT.usage;
  }

  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`no local stack found (${reason}); start one with \`bucket-ledger dev\` (it writes ${path})`);
    this.name = "LocalStackNotRunningError";
  }
}

/** A port the user asked for is taken: say which, and how to choose another. */
export class PortInUseError extends UserError {
  override get exitCode() {
    return EXIT.usage;
  }

  constructor(
    readonly port: number,
    what: string,
  ) {
    super(`port ${port} for ${what} is already in use; choose another, or 0 for any free port`);
    this.name = "PortInUseError";
  }
}

/** A stack settings file dev cannot run with, every problem listed (each naming its key). */
export class StackConfigFileError extends UserError {
  override get exitCode() {
    return EXIT.usage;
  }

  constructor(
    readonly path: string,
    readonly problems: readonly string[],
  ) {
    super(
      problems.length === 1
        ? `stack configuration ${path}: ${problems[0]}`
        : `stack configuration ${path}: ${problems.length} problems:\n- ${problems.join("\n- ")}`,
    );
    this.name = "StackConfigFileError";
  }
}
