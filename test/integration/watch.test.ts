/**
 * `bucket-ledger watch` against a running `bucket-ledger dev`, written to through the local S3
 * with the SDK: it catches up, follows live writes, stops on Ctrl-C with a cursor, and resumed
 * from that cursor shows neither a gap nor a duplicate.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localStackInfoSchema } from "../../local/dev-file.js";
import { createLocalClients } from "../../local/clients.js";
import { CLI, runCli, runCliIntoClosedPipe, spawnUntilReady, type ReadyProcess } from "../support/cli.js";
import { runCommand } from "../support/run.js";

/** Fast polls, so a test waits seconds, not the defaults' tens of seconds. */
const FAST = ["--interval", "100ms", "--idle-interval", "300ms", "--settle", "500ms"];

let workdir: string;
let dev: ReadyProcess;
let s3: S3Client;

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-watch-"));
  dev = spawnUntilReady(process.execPath, [CLI, "dev", "--bucket", "photos", "--bucket", "quiet", "--reconcile-every", "off"], { cwd: workdir });
  const info = localStackInfoSchema.parse(JSON.parse(await dev.ready));
  s3 = createLocalClients(info.endpoints, info.region).s3;
}, 120_000);

afterAll(async () => {
  dev?.child.kill("SIGINT");
  await dev?.exited;
  await rm(workdir, { recursive: true, force: true });
});

const put = (key: string, body = "x") => s3.send(new PutObjectCommand({ Bucket: "photos", Key: key, Body: body }));
const remove = (key: string) => s3.send(new DeleteObjectCommand({ Bucket: "photos", Key: key }));

interface WatchLine {
  key: string;
  deleted: boolean;
  size?: number;
  recordedAt: string;
  cursor: string;
}

/** A watch with stdout piped: its NDJSON lines as they come, and a way to wait for some. */
function watch(args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [CLI, "watch", ...args, "--local", ...FAST], { cwd: workdir, stdio: ["ignore", "pipe", "pipe"] });
  const lines: WatchLine[] = [];
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on("line", (line) => lines.push(JSON.parse(line) as WatchLine));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const until = async (done: () => boolean, what: string, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`watch never showed ${what}: ${JSON.stringify(lines.map((line) => line.key))} ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async () => {
    child.kill("SIGINT");
    const code = await exited;
    return { code, stderr };
  };
  return { lines, until, stop, stderr: () => stderr };
}

const shown = (lines: WatchLine[]) => lines.map((line) => `${line.key}${line.deleted ? " (deleted)" : ""}`);

/** Long enough for anything still to come: a poll after the settle window, several times over. */
const quietPeriod = () => new Promise((resolve) => setTimeout(resolve, 2_000));

describe("watch", () => {
  it("catches up, follows live writes, stops on SIGINT with a cursor, and resumes from it with no gap and no duplicate", async () => {
    await put("a.txt");
    await put("dir/b c.txt");
    const first = watch(["photos", "--since", "10m"]);
    await first.until(() => first.lines.length >= 2, "the changes made before it started");
    expect(shown(first.lines).sort()).toEqual(["a.txt", "dir/b c.txt"]);

    // Live: written after it has shown the catch-up.
    await put("live.txt", "live");
    await remove("a.txt");
    await first.until(() => first.lines.length >= 4, "the live changes");
    await quietPeriod();
    expect(shown(first.lines).slice(2).sort()).toEqual(["a.txt (deleted)", "live.txt"]);
    expect(first.lines).toHaveLength(4);
    const { code, stderr } = await first.stop();
    expect(code).toBe(0);
    const { cursor } = JSON.parse(stderr.trim().split("\n").at(-1)!) as { cursor: string };
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);

    // While nothing watches: a new key and an overwrite.
    await put("after-stop.txt");
    await put("dir/b c.txt", "bigger body");
    const resumed = watch(["photos", "--cursor", cursor]);
    await resumed.until(() => resumed.lines.length >= 2, "the changes made while it was stopped");
    await quietPeriod();
    expect(shown(resumed.lines).sort()).toEqual(["after-stop.txt", "dir/b c.txt"]);
    expect(resumed.lines.find((line) => line.key === "dir/b c.txt")!.size).toBe("bigger body".length);
    expect((await resumed.stop()).code).toBe(0);
  }, 90_000);

  it("prints each record as NDJSON with the cursor that resumes right after it", async () => {
    await put("cursor/1");
    await put("cursor/2");
    await put("cursor/3");
    const all = watch(["photos", "--since", "10m", "--prefix", "cursor/"]);
    await all.until(() => all.lines.length >= 3, "three keys under cursor/");
    await all.stop();
    // In recording order, which the tracker's concurrent writes need not keep from the PUTs'.
    const keys = all.lines.map((line) => line.key);
    expect([...keys].sort()).toEqual(["cursor/1", "cursor/2", "cursor/3"]);

    // Resumed from the first line's cursor: the second and third, and nothing outside the prefix.
    const after = watch(["photos", "--cursor", all.lines[0]!.cursor, "--prefix", "cursor/"]);
    await after.until(() => after.lines.length >= 2, "the keys after the first");
    await quietPeriod();
    expect(after.lines.map((line) => line.key)).toEqual(keys.slice(1));
    await after.stop();
  }, 60_000);

  it("stops quietly when the reader of its pipe goes away, printing where it stopped", async () => {
    await put("pipe/1");
    await put("pipe/2");
    await put("pipe/3");
    const running = runCliIntoClosedPipe(["watch", "photos", "--local", "--since", "10m", "--prefix", "pipe/", ...FAST], { cwd: workdir });
    // A writer learns its reader has gone only when it writes (EPIPE): if the first three lines
    // left in one write, watch notices at the next change, so changes keep coming until it ends.
    let ended = false;
    const feeding = (async () => {
      for (let next = 4; !ended && next < 60; next++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (!ended) await put(`pipe/${next}`);
      }
    })();
    const result = await running;
    ended = true;
    await feeding;
    expect(result.code).toBe(0);
    // The feed is in recording order, which need not be the PUTs'.
    expect(JSON.parse(result.firstLine)).toMatchObject({ key: expect.stringMatching(/^pipe\/\d+$/) });
    expect(result.stderr).toMatch(/^\{"cursor":"[A-Za-z0-9_-]+"\}\n$/);
  }, 60_000);

  it("on a terminal: a table, keys escaped, and on Ctrl-C the cursor to resume with", async () => {
    await put("tty/\x1b[31mred");
    const command = ["timeout", "-s", "INT", "6", process.execPath, CLI, "watch", "photos", "--local", "--since", "10m", "--prefix", "tty/", ...FAST]
      .map((part) => `'${part.replaceAll("'", "'\\''")}'`)
      .join(" ");
    const result = await runCommand("script", ["-qec", command, "/dev/null"], { cwd: workdir });
    const output = result.stdout.replaceAll("\r\n", "\n");
    expect(output).toMatch(/^RECORDED AT +CHANGE +SIZE +TYPE +BY +KEY\n/);
    expect(output).toContain("tty/\\e[31mred\n");
    expect(output).not.toContain("\x1b[31mred");
    expect(output).toMatch(/caught up to \S+; following photos \(Ctrl-C stops\)\n/);
    expect(output).toMatch(/stopped at \S+: resume with --cursor [A-Za-z0-9_-]+\n/);
  }, 60_000);

  it("says so when the bucket was never seen, and follows it anyway", async () => {
    const never = watch(["never-seen-bucket"]);
    await never.until(() => never.stderr().includes("never seen"), "a notice", 20_000);
    expect(never.stderr()).toContain("has never seen bucket never-seen-bucket; it knows");
    expect((await never.stop()).code).toBe(0);
  }, 60_000);
});

describe("watch refuses bad input with exit 2, before printing anything", () => {
  const refused = async (args: string[], message: RegExp) => {
    const result = await runCli(["watch", ...args, "--local"], { cwd: workdir });
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe("");
    expect(result.code).toBe(2);
  };

  it("a cursor that is not one", () => refused(["photos", "--cursor", "bm90IGEgY3Vyc29y"], /cursor is not a bucket-ledger cursor/));

  it("another bucket's cursor", async () => {
    const first = watch(["quiet"]);
    await quietPeriod();
    const { stderr } = await first.stop();
    const { cursor } = JSON.parse(stderr.trim().split("\n").at(-1)!) as { cursor: string };
    await refused(["photos", "--cursor", cursor], /cursor belongs to a different changes query/);
  }, 30_000);

  it("a --since before the change feed's horizon, naming it", () =>
    refused(["photos", "--since", "400d"], /older than the change-feed horizon \d{4}-\d{2}-\d{2}T/));

  it("a --since that is not a time", () => refused(["photos", "--since", "yesterday"], /--since "yesterday" is not a time/));

  it("--since and --cursor together", () => refused(["photos", "--since", "1h", "--cursor", "x"], /--since and --cursor both say where to start/));
});
