import { EXIT, UserError } from "../foundation/user-error.js";

/** Bad command-line input: exit code 2, as with commander's own usage errors. */
export class UsageError extends UserError {
  override get exitCode() {
    return EXIT.usage;
  }
}

/** The thing asked for does not exist (e.g. `get` of a key never seen): exit code 1. */
export class LookupFailedError extends UserError {}
