/** `bucket-ledger dev` as a user runs it: ready line, dev.json, Ctrl-C stops everything. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, expect, it } from "vitest";
import { localStackInfoSchema } from "../../local/dev-file.js";
import { CLI, runCli, ndjson } from "../support/cli.js";

const workdirs: string[] = [];
afterAll(async () => {
  await Promise.all(workdirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function portAnswers(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

async function unusedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

it("prints one ready JSON line, writes dev.json, serves --local, and stops cleanly on SIGINT", async () => {
  const workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-dev-"));
  workdirs.push(workdir);
  const child = spawn(process.execPath, [CLI, "dev", "--bucket", "photos"], { cwd: workdir, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", resolve);
    void exited.then((code) => reject(new Error(`dev exited with ${code} before ready: ${stderr}`)));
  });
  const ready = localStackInfoSchema.parse(JSON.parse(firstLine));
  expect(ready).toMatchObject({ ready: true, buckets: ["photos"], region: "us-east-1" });
  const devFile = join(workdir, ".bucket-ledger", "dev.json");
  expect(JSON.parse(await readFile(devFile, "utf8"))).toEqual(ready);

  const listed = await runCli(["ls", "photos", "--local"], { cwd: workdir });
  expect(listed.code).toBe(0);
  expect(ndjson(listed.stdout)).toEqual([]);
  expect(await portAnswers(ready.endpoints.dynamodb)).toBe(true);

  child.kill("SIGINT");
  expect(await exited).toBe(0);
  expect(existsSync(devFile)).toBe(false);
  // The Java process is gone with it.
  expect(await portAnswers(ready.endpoints.dynamodb)).toBe(false);
  expect(await portAnswers(ready.endpoints.s3)).toBe(false);
});

it("stops what it started when Ctrl-C comes before it is ready: no JVM outlives it", async () => {
  const dynamodbPort = await unusedPort();
  const dynamodb = `http://127.0.0.1:${dynamodbPort}`;

  const workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-dev-"));
  workdirs.push(workdir);
  const child = spawn(process.execPath, [CLI, "dev", "--dynamodb-port", String(dynamodbPort)], { cwd: workdir, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

  // DynamoDB Local answering while the rest still starts: the moment a user gives up waiting.
  while (!(await portAnswers(dynamodb))) await new Promise((resolve) => setTimeout(resolve, 10));
  child.kill("SIGINT");
  expect(stdout).toBe(""); // it was not ready yet, so this is the startup path

  expect(await exited).toBe(0);
  expect(stdout).toBe(""); // never announced itself ready
  expect(existsSync(join(workdir, ".bucket-ledger", "dev.json"))).toBe(false);
  expect(await portAnswers(dynamodb)).toBe(false);
});

it("stops the emulators and names the file when it cannot write dev.json", async () => {
  const workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-dev-"));
  workdirs.push(workdir);
  await writeFile(join(workdir, ".bucket-ledger"), "a file where dev.json's directory should be");
  const dynamodbPort = await unusedPort();
  const result = await runCli(["dev", "--dynamodb-port", String(dynamodbPort)], { cwd: workdir });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`cannot write ${join(workdir, ".bucket-ledger", "dev.json")}`);
  expect(result.stdout).toBe("");
  expect(await portAnswers(`http://127.0.0.1:${dynamodbPort}`)).toBe(false);
});

it("refuses a port that is already taken, naming it, and leaves nothing running", async () => {
  const { createServer } = await import("node:net");
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-dev-"));
    workdirs.push(workdir);
    const result = await runCli(["dev", "--dynamodb-port", String(port)], { cwd: workdir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`port ${port} for DynamoDB Local (--dynamodb-port) is already in use`);
    expect(existsSync(join(workdir, ".bucket-ledger", "dev.json"))).toBe(false);
  } finally {
    blocker.close();
  }
});

it("announces chaos flags on stderr even when piped, and rejects a fraction above 1", async () => {
  const workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-chaos-"));
  workdirs.push(workdir);
  const child = spawn(
    process.execPath,
    [CLI, "dev", "--drop-events", "0.1", "--duplicate-events", "0.05", "--max-delay", "500ms", "--table-outage", "1s", "--fault-seed", "9"],
    {
      cwd: workdir,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    void exited.then((code) => reject(new Error(`dev exited with ${code} before ready: ${stderr}`)));
  });
  child.kill("SIGINT");
  expect(await exited).toBe(0);
  expect(stderr).toContain(
    "CHAOS: dropping 10% of S3 event notifications, duplicating 5%, delaying each by up to 500 ms (so they arrive out of order) (seed 9)",
  );
  expect(stderr).toMatch(/CHAOS: the table is unreachable for the tracker for 1000 ms \(kill -USR1 \d+ to repeat\)/);

  const refused = await runCli(["dev", "--drop-events", "1.5"], { cwd: workdir });
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/--drop-events must be a fraction between 0 and 1/);
});
