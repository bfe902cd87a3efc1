/**
 * The query surface against a running local stack: the HTTP API over real HTTP on loopback
 * (the same handler Lambda runs), and the CLI's get / stat / runs commands, table discovery
 * and terminal vs piped output.
 */
import { request } from "node:http";
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changesCursorAfter, historyCursor, listCursorAfter } from "../../ledger/cursor.js";
import { writeDevFile } from "../../local/dev-file.js";
import { TRICKY_KEYS as DEMO_KEYS } from "../../local/tricky-keys.js";
import { localEnvironment } from "../../local/environment.js";
import { LocalStack } from "../../local/stack.js";
import { CLI, ndjson, runCli, runCliIntoClosedPipe } from "../support/cli.js";

let stack: LocalStack;
let workdir: string;
let api: string;
const bucket = "query-bucket";
// A literal %20 must come back as written, never as a space.
const TRICKY_KEYS = [...DEMO_KEYS, "percent/literal%20not-a-space.txt"];
let started: Date;

beforeAll(async () => {
  // origin "full": the history test reads the source IP too (the default keeps none).
  stack = await LocalStack.start({ buckets: [bucket, "quiet-bucket"], logLevel: "SILENT", reconcile: { tasksPerRun: 2 }, tracker: { origin: "full" } });
  api = stack.info.endpoints.api;
  workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-query-"));
  await writeDevFile(stack.info, join(workdir, ".bucket-ledger", "dev.json"));
  started = new Date();
  await Promise.all(TRICKY_KEYS.map((key, i) => stack.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "x".repeat(i) }))));
  await stack.waitForIdle();
  // Recorded last, after every put: the newest change.
  await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "empty-file.txt" }));
  await stack.waitForIdle();
});

afterAll(async () => {
  await stack?.stop();
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

const live = TRICKY_KEYS.filter((key) => key !== "empty-file.txt");

async function get(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${api}${path}`, init);
  expect(response.headers.get("content-type")).toBe("application/json");
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("HTTP API on loopback", () => {
  it("lists objects in S3 key order, and a cursor resumes with exactly the remaining ones", async () => {
    const all = await get(`/buckets/${bucket}/objects?limit=1000`);
    expect(all.status).toBe(200);
    const keys = (all.body.items as { key: string }[]).map((item) => item.key);
    expect(new Set(keys)).toEqual(new Set(live));
    expect(all.body.cursor).toBeUndefined();

    const collected: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await get(`/buckets/${bucket}/objects?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.status).toBe(200);
      collected.push(...(page.body.items as { key: string }[]).map((item) => item.key));
      cursor = page.body.cursor as string | undefined;
    } while (cursor);
    expect(collected).toEqual(keys);
  });

  it("filters by prefix, including prefixes that need encoding", async () => {
    const page = await get(`/buckets/${bucket}/objects?prefix=${encodeURIComponent("math/a + b")}`);
    expect((page.body.items as { key: string }[]).map((item) => item.key)).toEqual(["math/a + b = c.txt"]);
  });

  it("returns one object's record for keys with spaces, plus signs, percent signs, ? and # and astral characters, from the query string", async () => {
    for (const key of [
      "math/1+1=2.txt",
      "percent/100%.txt",
      "percent/literal%20not-a-space.txt",
      "query/what?x=1&y=2#frag.txt",
      "emoji/😀 party.txt",
      "reports/2026/q1 summary.pdf",
    ]) {
      const response = await get(`/buckets/${bucket}/object?key=${encodeURIComponent(key)}`);
      expect(response.status, key).toBe(200);
      expect(response.body).toMatchObject({ bucket, key, deleted: false, size: TRICKY_KEYS.indexOf(key) });
    }
    expect((await get(`/buckets/${bucket}/object?key=empty-file.txt`)).body).toMatchObject({ deleted: true, cause: "ObjectRemoved:Delete" });
  });

  it("refuses a key in the path, which an HTTP API would hand over decoded and cut at a ?", async () => {
    const response = await get(`/buckets/${bucket}/objects/${encodeURIComponent("query/what?x=1")}`);
    expect(response).toMatchObject({ status: 404, body: { message: expect.stringMatching(/object keys go in the query string/) } });
  });

  it("answers 400 for a missing, empty or repeated key", async () => {
    expect((await get(`/buckets/${bucket}/object`)).body).toMatchObject({ error: "BadRequest", message: expect.stringMatching(/key is required/) });
    expect((await get(`/buckets/${bucket}/object?key=`)).body).toMatchObject({ error: "BadRequest", message: expect.stringMatching(/key must not be empty/) });
    expect((await get(`/buckets/${bucket}/object?key=a&key=b`)).body).toMatchObject({
      error: "BadRequest",
      message: expect.stringMatching(/key is given more than once/),
    });
  });

  it("lists changes since a time, deletes included", async () => {
    const changes = await get(`/buckets/${bucket}/changes?since=${encodeURIComponent(started.toISOString())}&limit=1000`);
    expect(changes.status).toBe(200);
    const items = changes.body.items as { key: string; deleted: boolean }[];
    expect(items).toHaveLength(TRICKY_KEYS.length);
    expect(items.find((item) => item.key === "empty-file.txt")).toMatchObject({ deleted: true });
    const later = await get(`/buckets/${bucket}/changes?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(later.body).toEqual({ items: [] });
  });

  it("answers who deleted a key: its history, with the requester and source IP the local S3 put in its events", async () => {
    const history = await get(`/buckets/${bucket}/history?key=empty-file.txt`);
    expect(history.status).toBe(200);
    const entries = history.body.entries as { cause: string; deleted: boolean; origin: Record<string, string> }[];
    expect(entries.map((entry) => [entry.cause, entry.deleted])).toEqual([
      ["ObjectCreated:Put", false],
      ["ObjectRemoved:Delete", true],
    ]);
    expect(entries[1]!.origin).toMatchObject({ requester: "AWS:LOCAL", sourceIp: "127.0.0.1", requestId: expect.stringMatching(/^[0-9A-F]{16}$/) });
    expect(history.body.complete).toBe(true);
  });

  it("pages a history: a limit, and a signed cursor that resumes after the last entry", async () => {
    const first = await get(`/buckets/${bucket}/history?key=empty-file.txt&limit=1`);
    expect(first.status).toBe(200);
    expect((first.body.entries as { cause: string }[]).map((entry) => entry.cause)).toEqual(["ObjectCreated:Put"]);
    expect(first.body.cursor).toMatch(/^v1\./);
    const second = await get(`/buckets/${bucket}/history?key=empty-file.txt&limit=1&cursor=${encodeURIComponent(first.body.cursor as string)}`);
    expect((second.body.entries as { cause: string }[]).map((entry) => entry.cause)).toEqual(["ObjectRemoved:Delete"]);
    expect(second.body.cursor).toBeUndefined();
    // A cursor names its key: another key's history refuses it.
    const other = await get(`/buckets/${bucket}/history?key=a.txt&cursor=${encodeURIComponent(first.body.cursor as string)}`);
    expect(other).toMatchObject({ status: 400, body: { message: expect.stringMatching(/different history query/) } });
  });

  it.each([
    ["a limit of 0", `/buckets/${bucket}/objects?limit=0`, /limit must be at least 1/],
    ["a limit that is not a number", `/buckets/${bucket}/objects?limit=ten`, /limit must be a number/],
    ["a limit above 1000", `/buckets/${bucket}/objects?limit=5000`, /at most 1000/],
    ["an unknown parameter", `/buckets/${bucket}/objects?prefx=a`, /unknown parameter prefx/],
    ["a corrupt cursor", `/buckets/${bucket}/objects?cursor=not-a-cursor`, /cursor/],
    ["changes without since", `/buckets/${bucket}/changes`, /since is required/],
    ["since that is not a time", `/buckets/${bucket}/changes?since=yesterday`, /ISO-8601/],
    ["since beyond the retention window", `/buckets/${bucket}/changes?since=2020-01-01T00:00:00Z`, /horizon/],
    // The ledger's own cursors are unsigned base64 JSON: the API takes back only those it signed.
    ["a forged listing cursor", `/buckets/${bucket}/objects?cursor=${listCursorAfter(bucket, undefined, "")}`, /not one this API issued/],
    [
      "a forged change cursor from 2000",
      `/buckets/${bucket}/changes?cursor=${changesCursorAfter(bucket, "2000-01-01T00:00:00.000Z")}`,
      /not one this API issued/,
    ],
    ["a history cursor for another key", `/buckets/${bucket}/history?key=a&cursor=${historyCursor(bucket, "0".repeat(24), "e#01")}`, /not one this API issued/],
  ])("answers 400 with a JSON error for %s", async (_what, path, message) => {
    const response = await get(path);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: "BadRequest", message: expect.stringMatching(message) });
  });

  it("answers 404 for an untracked bucket, an unknown route and a key never seen; 405 for writes", async () => {
    expect(await get("/buckets/not-tracked/objects")).toMatchObject({
      status: 404,
      body: { error: "NotFound", message: expect.stringMatching(/not tracked/) },
    });
    expect((await get(`/buckets/${bucket}/versions`)).status).toBe(404);
    expect((await get(`/buckets/${bucket}/object?key=${encodeURIComponent("never/seen.txt")}`)).status).toBe(404);
    expect((await get(`/buckets/${bucket}/objects`, { method: "POST" })).status).toBe(405);
  });

  it("serves this machine's clients only: a foreign Host (DNS rebinding) and any Origin (a web page) get 403", async () => {
    const port = new URL(api).port;
    const asked = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const outgoing = request({ host: "127.0.0.1", port, path: `/buckets/${bucket}/objects`, headers }, (incoming) => {
          incoming.resume();
          resolve(incoming.statusCode ?? 0);
        });
        outgoing.on("error", reject);
        outgoing.end();
      });
    expect(await asked({ host: `127.0.0.1:${port}` })).toBe(200);
    expect(await asked({ host: `attacker.example:${port}` })).toBe(403);
    expect(await asked({ host: `localhost:${port}`, origin: "http://attacker.example" })).toBe(403);
  });
});

describe("CLI: get, stat, runs and finding the table", () => {
  it("get prints one record as JSON when piped, and exits 1 for a key never seen", async () => {
    const found = await runCli(["get", bucket, "unicode/café/ﬁle.txt", "--local"], { cwd: workdir });
    expect(found.code).toBe(0);
    expect(JSON.parse(found.stdout)).toMatchObject({ key: "unicode/café/ﬁle.txt", deleted: false });
    const missing = await runCli(["get", bucket, "nope.txt", "--local"], { cwd: workdir });
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toMatch(/no record of "nope.txt" in query-bucket/);
  });

  it("history prints one JSON document when piped, a table with who and from where on a terminal, and exits 1 for a key with none", async () => {
    const piped = await runCli(["history", bucket, "empty-file.txt", "--local"], { cwd: workdir });
    expect(piped.code).toBe(0);
    const history = JSON.parse(piped.stdout) as { complete: boolean; entries: { deleted: boolean; origin: { requester: string } }[] };
    expect(history.complete).toBe(true);
    expect(history.entries.at(-1)).toMatchObject({ deleted: true, origin: { requester: "AWS:LOCAL" } });
    const table = execFileSync(
      "script",
      ["-qec", `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} history ${bucket} empty-file.txt --local`, "/dev/null"],
      {
        cwd: workdir,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    expect(table).toMatch(/CHANGED AT \(S3\)\s+CHANGE\s+SIZE\s+ETAG\s+BY\s+FROM/);
    expect(table).toMatch(/ObjectRemoved:Delete\s+deleted\s+AWS:LOCAL\s+127\.0\.0\.1/);
    const none = await runCli(["history", bucket, "nope.txt", "--local"], { cwd: workdir });
    expect(none).toMatchObject({ code: 1, stdout: "" });
    expect(none.stderr).toMatch(/no history of "nope.txt"/);
  });

  it("stat counts live objects, bytes and tombstones exactly, and names the newest change", async () => {
    const result = await runCli(["stat", bucket, "--local", "--json"], { cwd: workdir });
    expect(result.code).toBe(0);
    const stats = JSON.parse(result.stdout) as Record<string, unknown>;
    const bytes = live.reduce((sum, key) => sum + TRICKY_KEYS.indexOf(key), 0);
    expect(stats).toMatchObject({ bucket, objects: live.length, totalBytes: bytes, tombstones: 1, newestChange: { key: "empty-file.txt", deleted: true } });
    const empty = await runCli(["stat", "quiet-bucket", "--local", "--json"], { cwd: workdir });
    expect(JSON.parse(empty.stdout)).toEqual({ bucket: "quiet-bucket", objects: 0, totalBytes: 0, tombstones: 0 });
  });

  it("runs shows the fan-out runs the local reconciler recorded", async () => {
    const [summary] = await stack.reconcileAll();
    const result = await runCli(["runs", bucket, "--local"], { cwd: workdir });
    expect(result.code).toBe(0);
    const [run] = ndjson(result.stdout);
    expect(run).toMatchObject({ runId: summary!.runId, status: "succeeded", tasks: summary!.tasks, scanned: live.length, tasksDone: summary!.tasks });
  });

  it("reads the table from `pulumi stack output` with --stack, and says what is wrong when it cannot", async () => {
    const bin = await mkdtemp(join(tmpdir(), "fake-pulumi-"));
    try {
      // Stands in for the Pulumi CLI, which these machines do not have: prints what `pulumi stack output --json` prints.
      await writeFile(
        join(bin, "pulumi"),
        `#!/bin/sh\nif [ "$5" = "prod" ]; then echo '{"tableName":"${stack.info.tableName}","bucketNames":["${bucket}"]}'; else echo "error: no stack named '$5' found" >&2; exit 255; fi\n`,
      );
      await chmod(join(bin, "pulumi"), 0o755);
      const env = { ...localEnvironment(stack.info), BUCKET_LEDGER_TABLE: undefined, PATH: `${bin}:${process.env.PATH}` };
      const result = await runCli(["ls", bucket, "--stack", "prod", "--prefix", "math/"], { env });
      expect(result.code).toBe(0);
      expect(ndjson(result.stdout).map((record) => record.key)).toEqual(["math/1+1=2.txt", "math/a + b = c.txt"]);
      const unknown = await runCli(["ls", bucket, "--stack", "staging"], { env });
      expect(unknown).toMatchObject({ code: 2 });
      expect(unknown.stderr).toMatch(/pulumi stack output --stack staging failed: error: no stack named 'staging' found/);
      const noPulumi = await runCli(["ls", bucket, "--stack", "prod"], { env: { ...env, PATH: "/nonexistent" } });
      expect(noPulumi).toMatchObject({ code: 2 });
      expect(noPulumi.stderr).toMatch(/--stack needs the Pulumi CLI on PATH/);
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });

  it("refuses two ways of naming the table at once", async () => {
    const result = await runCli(["stat", bucket, "--local", "--table", "other"], { cwd: workdir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--table and --local both name a table/);
  });

  it("prints aligned, readable columns on a terminal and NDJSON when piped", () => {
    // `script` gives the CLI a pseudo-terminal, as an interactive shell would.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} ls ${bucket} --local --prefix math/`;
    const terminal = execFileSync("script", ["-qec", command, "/dev/null"], {
      cwd: workdir,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", BUCKET_LEDGER_TABLE: "" },
    });
    const lines = terminal.replace(/\r/g, "").trim().split("\n");
    expect(lines[0]).toMatch(/^LAST MODIFIED\s+SIZE {2}TYPE\s+KEY$/);
    // No content type without enrichment: the column says so.
    expect(lines[1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z\s+1 B {2}-\s+math\/1\+1=2\.txt$/);
    expect(terminal).not.toContain("{");
    const piped = execFileSync(process.execPath, [CLI, "ls", bucket, "--local", "--prefix", "math/"], {
      cwd: workdir,
      encoding: "utf8",
      env: { ...process.env, BUCKET_LEDGER_TABLE: "" },
    });
    expect(ndjson(piped)).toHaveLength(2);
  });
});

describe("pipes and the version", () => {
  it("stops quietly, exit 0, when the reader of stdout goes away: ls, changes and --help", async () => {
    // Enough records that the listing is still being read when the pipe closes.
    const pipeBucket = "pipe-bucket";
    const eventTime = new Date().toISOString();
    for (let i = 0; i < 3000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          stack.ledger.apply({
            kind: "upsert",
            bucket: pipeBucket,
            key: `k/${String(i + j).padStart(5, "0")}`,
            sequencer: "0A",
            eventTime,
            eventName: "ObjectCreated:Put",
            state: { size: 1, etag: "e", lastModified: eventTime },
          }),
        ),
      );
    }
    for (const args of [["ls", pipeBucket, "--local", "--json"], ["changes", pipeBucket, "--since", "1h", "--local", "--json"], ["--help"], ["ls", "--help"]]) {
      const result = await runCliIntoClosedPipe(args, { cwd: workdir });
      expect(result.stderr, args.join(" ")).toBe("");
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.firstLine.length, args.join(" ")).toBeGreaterThan(0);
    }
  }, 120_000);

  it("prints the installed version", async () => {
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe((JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version);
  });
});
