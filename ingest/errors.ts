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

/** A file the reader cannot go on in (an unclosed quote, invalid UTF-8, no header): the ingestion fails at that line. */
export class FileFormatError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = "FileFormatError";
  }
}
