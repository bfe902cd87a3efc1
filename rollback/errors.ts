/** Why a rollback did not start: each names what to do instead. Nothing was changed in S3. */
import { EXIT, UserError } from "../foundation/user-error.js";

/** A guard refused (a bucket without versioning, refused keys, too large a share): exit 3, nothing changed. */
export class RollbackRefusedError extends UserError {
  override get exitCode() {
    return EXIT.refused;
  }
}

/** The output directory holds another rollback's journal, or cannot be written: exit 2. */
export class RollbackOutputError extends UserError {
  override get exitCode() {
    return EXIT.usage;
  }
}
