/**
 * The first run as a new user meets it (issue 26, "The first run"): `status` straight after
 * `dev` starts, `ls` without a Region, a bucket name no bucket can have, `dev --help`'s
 * defaults, and what the local stack listens on.
 */
import { readdir, readFile, readlink, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StatusReport } from "../../cli/status/report.js";
import { localStackInfoSchema } from "../../local/dev-file.js";
import { CLI, runCli, spawnUntilReady } from "../support/cli.js";

const workdirs: string[] = [];
afterAll(async () => {
  await Promise.all(workdirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** An environment with no Region anywhere the SDK looks: no variables, no profile, no config file. */
async function regionless(): Promise<Record<string, string | undefined>> {
  const home = await mkdtemp(join(tmpdir(), "bucket-ledger-home-"));
  workdirs.push(home);
  return {
    HOME: home,
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: join(home, "none"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "none"),
    AWS_ACCESS_KEY_ID: "x",
    AWS_SECRET_ACCESS_KEY: "y",
    // Nothing listens here: a request that got as far as the network would fail otherwise.
    AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:9",
    AWS_MAX_ATTEMPTS: "1",
  };
}

describe("without a Region", () => {
  it("ls --table names the fixes (--region, AWS_REGION, a profile) and exits 2, before any request", async () => {
    const result = await runCli(["ls", "ledger-demo", "--table", "t"], { env: await regionless() });
    expect(result.stderr).not.toMatch(/Region is missing/);
    expect(result.stderr).toMatch(/no AWS Region/);
    expect(result.stderr).toMatch(/--region/);
    expect(result.stderr).toMatch(/AWS_REGION/);
    expect(result.stderr).toMatch(/profile/);
    expect(result.code).toBe(2);
  });

  it("takes --region where it takes --table", async () => {
    const result = await runCli(["ls", "ledger-demo", "--table", "t", "--region", "eu-west-1"], { env: await regionless() });
    // Past the Region: the request goes out, to an endpoint nothing listens on.
    expect(result.stderr).not.toMatch(/no AWS Region|Region is missing|unknown option/);
    expect(result.stderr).toMatch(/ECONNREFUSED/);
    expect(result.code).toBe(1);
  });
});

describe("a name no S3 bucket can have", () => {
  it("is a usage error (exit 2) naming the rule it breaks, for every command that takes a bucket", async () => {
    for (const args of [
      ["ls", "Bad_Bucket!"],
      ["changes", "Bad_Bucket!", "--since", "1h"],
      ["stat", "Bad_Bucket!"],
      ["runs", "Bad_Bucket!"],
      ["get", "Bad_Bucket!", "k"],
    ]) {
      const result = await runCli([...args, "--table", "t"], { env: { ...(await regionless()), AWS_REGION: "us-east-1" } });
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toContain(
        '"Bad_Bucket!" is not an S3 bucket name: bucket names can consist only of lowercase letters, numbers, periods (.) and hyphens (-)',
      );
      expect(result.stderr).toContain("https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html");
      expect(result.stderr).not.toMatch(/never seen/);
    }
    const short = await runCli(["ls", "ab", "--table", "t"], { env: { ...(await regionless()), AWS_REGION: "us-east-1" } });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/between 3 and 63 characters/);
  });

  it("dev --bucket refuses one the same way, before it starts anything", async () => {
    const workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-first-run-"));
    workdirs.push(workdir);
    const result = await runCli(["dev", "--bucket", "photos", "Bad_Bucket!"], { cwd: workdir });
    expect(result.stderr).toContain('"Bad_Bucket!" is not an S3 bucket name: bucket names can consist only of lowercase letters');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
  });
});

describe("--help", () => {
  it("shows durations' defaults as durations, not milliseconds", async () => {
    const dev = await runCli(["dev", "--help"]);
    expect(dev.code).toBe(0);
    expect(dev.stdout).toMatch(/--reconcile-every <duration>[\s\S]*?\(default:\s+5m\)/);
    expect(dev.stdout).not.toContain("300000");
    const ingest = await runCli(["ingest", "--help"]);
    expect(ingest.stdout).toMatch(/--timeout <duration>[\s\S]*?\(default:\s+15m\)/);
    expect(ingest.stdout).not.toContain("900000");
  });
});

/** The inodes of the listening TCP sockets of `pids`, with their local addresses, from /proc. */
async function listening(pids: number[]): Promise<string[]> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
    }
  }
  const addresses: string[] = [];
  for (const table of ["tcp", "tcp6"]) {
    const lines = (await readFile(`/proc/net/${table}`, "utf8")).trim().split("\n").slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      // st 0A is LISTEN (include/net/tcp_states.h); the local address is hex, in host byte order per 32-bit word.
      if (fields[3] === "0A" && inodes.has(fields[9]!)) addresses.push(fields[1]!);
    }
  }
  return addresses;
}

/** 127.0.0.0/8, ::1, or ::ffff:127.x.x.x, as /proc/net/tcp{,6} spell them on a little-endian machine. */
const LOOPBACK = /^(?:[0-9A-F]{6}7F|0{24}01000000|0{16}FFFF0000[0-9A-F]{6}7F):[0-9A-F]{4}$/;

describe("straight after dev starts", () => {
  it("status is healthy (exit 0), saying when the first reconciliation is due; and everything dev started listens on loopback only", async () => {
    const workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-first-run-"));
    workdirs.push(workdir);
    const { child, ready: readyLine, exited } = spawnUntilReady(process.execPath, [CLI, "dev", "--reconcile-every", "10m"], { cwd: workdir });
    try {
      const firstLine = await readyLine;
      const ready = localStackInfoSchema.parse(JSON.parse(firstLine));
      const startedAt = new Date(ready.startedAt!).getTime();
      expect(ready.reconcileEveryMs).toBe(600_000);

      const result = await runCli(["status", "--local", "--json"], { cwd: workdir });
      const report = JSON.parse(result.stdout) as StatusReport;
      expect(report.findings).toContainEqual({
        level: "ok",
        subject: "ledger-demo",
        topic: "reconciliation",
        text: `not run yet: the first run is due at ${new Date(startedAt + 600_000).toISOString()} (dev --reconcile-every 10m)`,
      });
      expect(result.code, result.stdout).toBe(0);

      if (process.platform === "linux") {
        const children = (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, "utf8")).trim().split(/\s+/).filter(Boolean).map(Number);
        const addresses = await listening([child.pid!, ...children]);
        expect(addresses.length).toBeGreaterThanOrEqual(3); // S3 + SQS, the query API, DynamoDB Local
        for (const address of addresses) expect(address).toMatch(LOOPBACK);
      }
    } finally {
      child.kill("SIGINT");
      await exited;
    }
  }, 120_000);
});
