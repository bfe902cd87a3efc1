/**
 * The error a person can act on: bad input, something asked for that does not exist, a guard
 * that refused to act. Its message is written for that person, so the CLI prints it as it is
 * (any other error is a fault and is printed with its class name) and exits with its code.
 * Domain errors in every layer extend it, so this module imports nothing from the project.
 */

/** The CLI's exit codes: 2 as commander's own usage errors; 3 a safety guard refused to act and nothing was changed. */
export const EXIT = { ok: 0, failure: 1, usage: 2, refused: 3 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class UserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }

  // A getter, not a field: loggers copy an error's own enumerable fields into every log line.
  /** How a command this error ends exits; a subclass with another code overrides it. */
  get exitCode(): ExitCode {
    return EXIT.failure;
  }
}
