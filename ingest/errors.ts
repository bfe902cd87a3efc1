import { EXIT, UserError } from "../foundation/user-error.js";

/** Ingestion rules that cannot be used, every problem listed: a usage error wherever the rules were given. */
export class IngestRulesError extends UserError {
  override get exitCode() {
    return EXIT.usage;
  }

  constructor(message: string) {
    super(message);
    this.name = "IngestRulesError";
  }
}

/** An ingestion queue message that is not a request this version understands; fails only its own message. */
export class IngestRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IngestRequestError";
  }
}
