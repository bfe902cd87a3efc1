/** Runs the real CLI as a child process, the way a user or a script would. */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
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

/**
 * Runs the CLI with a reader that takes the first line of stdout and closes the pipe, as
 * `| head -1` does; resolves with that line, what went to stderr, and the exit code.
 */
export function runCliIntoClosedPipe(args: string[], options: { cwd?: string } = {}): Promise<{ firstLine: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, BUCKET_LEDGER_TABLE: undefined },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let pending = "";
    let firstLine: string | undefined;
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      if (firstLine !== undefined) return;
      pending += chunk.toString();
      const newline = pending.indexOf("\n");
      if (newline === -1) return;
      firstLine = pending.slice(0, newline);
      child.stdout.destroy();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ firstLine: firstLine ?? "", stderr, code }));
  });
}

const shellQuote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;

/**
 * Runs the CLI with stdout on a pseudo-terminal (util-linux `script`), as a user at a terminal
 * runs it: tables and colours instead of NDJSON. Line endings come back as the terminal makes
 * them (CRLF), normalized here to LF.
 */
export async function runCliOnTerminal(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const command = [process.execPath, CLI, ...args].map(shellQuote).join(" ");
  const result = await runCommand("script", ["-qec", command, "/dev/null"], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, BUCKET_LEDGER_TABLE: undefined, ...options.env },
  });
  return { ...result, stdout: result.stdout.replaceAll("\r\n", "\n") };
}

/** A long-running command (`dev`) that says it is ready with its first line on stdout. */
export interface ReadyProcess {
  child: ChildProcess;
  /** Its first line on stdout; rejects with what it wrote to stderr if it exits first. */
  ready: Promise<string>;
  exited: Promise<number | null>;
  stderr(): string;
}

export function spawnUntilReady(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ReadyProcess {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    void exited.then((code) => reject(new Error(`${args.join(" ")} exited with ${code} before it was ready: ${stderr}`)));
  });
  // Observed here so that a test failing before it awaits `ready` reports its own error.
  ready.catch(() => undefined);
  return { child, ready, exited, stderr: () => stderr };
}
