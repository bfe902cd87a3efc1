/** Runs the real CLI as a child process, the way a user or a script would. */
import { fileURLToPath } from "node:url";
import { runCommand, type RunResult } from "./run.js";

export const CLI = fileURLToPath(new URL("../../bin/bucket-ledger.js", import.meta.url));

export type CliResult = RunResult;

export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  return runCommand(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, BUCKET_LEDGER_TABLE: undefined, ...options.env },
  });
}

export const ndjson = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
