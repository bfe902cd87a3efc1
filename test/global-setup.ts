/**
 * Once per `vitest run`: a fresh directory for the AWS calls the functions make (read by the
 * IAM contract test after every other file), removed at the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CALL_LOG_ENV } from "../local/call-recorder.js";

export default function setup(): () => void {
  const directory = mkdtempSync(join(tmpdir(), "bucket-ledger-calls-"));
  // Inherited by the test processes, and by what they spawn (the dev command, the CLI).
  process.env[CALL_LOG_ENV] = directory;
  return () => rmSync(directory, { recursive: true, force: true });
}
