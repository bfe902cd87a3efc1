/**
 * Time travel through the real CLI (`ls --as-of`, `diff`) against DynamoDB Local, the ledger
 * written by the tracker's handler from S3 events with explicit event times, a repair, and the
 * reconciliation watermark that sets the horizon: the prefix as it was at several moments, the
 * net change between two, unknown keys listed and exiting 3, moments refused naming the bound,
 * bad times exiting 2 naming the option, NDJSON when piped and escaped keys on a terminal.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ledger } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import type { ObjectLookup } from "../../s3/object-lookup.js";
import { createTrackerHandler } from "../../tracker/handler.js";
import { ndjson, runCli, runCliOnTerminal } from "../support/cli.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { del, put, sqsEventOf, type S3EventSpec } from "../support/events.js";

const BUCKET = "travel";
const UNRECONCILED = "never-reconciled";
const HOUR = 3_600_000;
const HOSTILE = "docs/evil\n\x1b[31mred.txt";

let dynamodb: TestDynamoDb;
let env: Record<string, string>;
/** The moments the test asks about, hours before the test began. */
let base: number;
const ago = (hours: number) => new Date(base - hours * HOUR).toISOString();

const noLookup: ObjectLookup = { head: () => Promise.reject(new Error("no S3 lookups expected in this test")) };

async function deliver(ledger: Ledger, specs: S3EventSpec[]) {
  const handler = createTrackerHandler({
    ledger,
    lookup: noLookup,
    logger: new Logger({ serviceName: "time-travel-cli", logLevel: "SILENT" }),
    concurrency: 4,
  });
  for (const spec of specs) expect((await handler(sqsEventOf(spec))).batchItemFailures).toEqual([]);
}

const at = (hours: number, spec: S3EventSpec): S3EventSpec => ({ ...spec, eventTime: ago(hours) });

beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
  base = Date.now();
  const ledger = await dynamodb.createLedger({ historyDays: 90 });
  env = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.emulator.endpoint,
    BUCKET_LEDGER_TABLE: ledger.tableName,
    NO_COLOR: "1",
    COLUMNS: "400",
  };
  // The ledger holds the whole bucket from 10 hours ago: the horizon.
  await ledger.recordReconciled(BUCKET, new Date(ago(10)));
  await deliver(ledger, [
    at(9, put("docs/a.txt", "01", 1, "a1", BUCKET)),
    at(9, put("docs/b.txt", "01", 1, "b1", BUCKET)),
    at(9, put("docs/c.txt", "01", 2, "c1", BUCKET)),
    at(9, put("docs/keep.txt", "01", 4, "k1", BUCKET)),
    at(9, put(HOSTILE, "01", 3, "e1", BUCKET)),
    at(9, put("other/x.txt", "01", 1, "x1", BUCKET)),
    // After T1 (8 h ago): a overwritten, b deleted, d created, c changed ...
    at(7, put("docs/a.txt", "02", 2, "a2", BUCKET)),
    at(7, del("docs/b.txt", "02", BUCKET)),
    at(7, put("docs/d.txt", "01", 5, "d1", BUCKET)),
    at(7, put("docs/c.txt", "02", 3, "c2", BUCKET)),
    // ... and after T2 (6 h ago) changed back.
    at(5, put("docs/c.txt", "03", 2, "c1", BUCKET)),
    at(1, put("late.txt", "01", 1, "l1", UNRECONCILED)),
  ]);
  // Events lost: reconciliation found docs/lost 4 hours ago, last modified 9 hours ago; when it
  // appeared between the horizon and then is unknown.
  await ledger.repair({
    kind: "missing",
    bucket: BUCKET,
    key: "docs/lost.txt",
    state: { size: 6, etag: "lost1", lastModified: ago(9) },
    snapshotTime: new Date(ago(4)),
  });
}, 120_000);

afterAll(async () => {
  await dynamodb?.stop();
});

const cli = (args: string[]) => runCli(args, { env });
/**
 * What a terminal shows: the progress line (stderr, on the same terminal) is cleared, carriage
 * return and erase line, before each row, so a line shows what follows its last clear.
 */
async function onTerminal(args: string[]) {
  const result = await runCliOnTerminal(args, { env });
  const shown = result.stdout.split("\n").map((line) => line.split("\r\x1b[2K").at(-1)!);
  return { ...result, stdout: shown.join("\n") };
}
/** key -> etag of present entries, key -> "unknown" of the others. */
const view = (stdout: string) => Object.fromEntries(ndjson(stdout).map((entry) => [entry.key, entry.state === "present" ? entry.etag : entry.state]));
const changes = (stdout: string) =>
  Object.fromEntries(
    ndjson(stdout).map((entry) => {
      const from = entry.from as { etag: string } | undefined;
      const to = entry.to as { etag: string } | undefined;
      return [entry.key, entry.change === "unknown" ? "unknown" : `${entry.change as string} ${from?.etag ?? "-"} -> ${to?.etag ?? "-"}`];
    }),
  );

describe("ls --as-of", { timeout: 120_000 }, () => {
  it("lists the prefix as it was at each moment: a key changed after shows its old version, deleted after is present, created after is absent", async () => {
    const t1 = await cli(["ls", BUCKET, "--prefix", "docs/", "--as-of", ago(8)]);
    expect(t1.code, t1.stderr).toBe(0);
    expect(view(t1.stdout)).toEqual({
      "docs/a.txt": "a1",
      "docs/b.txt": "b1",
      "docs/c.txt": "c1",
      [HOSTILE]: "e1",
      "docs/keep.txt": "k1",
      "docs/lost.txt": "lost1",
    });
    expect(ndjson(t1.stdout).map((entry) => entry.key)).toEqual(["docs/a.txt", "docs/b.txt", "docs/c.txt", HOSTILE, "docs/keep.txt", "docs/lost.txt"]);
    expect(ndjson(t1.stdout)[0]).toEqual({
      key: "docs/a.txt",
      state: "present",
      size: 1,
      etag: "a1",
      lastModified: ago(9),
      since: ago(9),
      reconstructed: false,
    });
    expect(ndjson(t1.stdout).find((entry) => entry.key === "docs/lost.txt")).toMatchObject({ reconstructed: true, size: 6 });
    expect(JSON.parse(t1.stderr.trim())).toEqual({
      summary: `6 objects, 17 B in ${BUCKET} under docs/ as of ${ago(8)}; no key unknown`,
      unknown: 0,
    });

    const t2 = await cli(["ls", BUCKET, "--prefix", "docs/", "--as-of", ago(6), "--json"]);
    expect(t2.code, t2.stderr).toBe(0);
    expect(view(t2.stdout)).toEqual({
      "docs/a.txt": "a2",
      "docs/c.txt": "c2",
      "docs/d.txt": "d1",
      [HOSTILE]: "e1",
      "docs/keep.txt": "k1",
      "docs/lost.txt": "lost1",
    });

    const now = await cli(["ls", BUCKET, "--as-of", ago(0.5)]);
    expect(view(now.stdout)).toEqual({
      "docs/a.txt": "a2",
      "docs/c.txt": "c1",
      "docs/d.txt": "d1",
      [HOSTILE]: "e1",
      "docs/keep.txt": "k1",
      "docs/lost.txt": "lost1",
      "other/x.txt": "x1",
    });
  });

  it("lists a key it cannot vouch for as unknown on its own NDJSON line, says how many, and exits 3", async () => {
    // 9.5 hours ago: after the horizon, before any put; docs/lost appeared at a moment nobody saw.
    const result = await cli(["ls", BUCKET, "--as-of", ago(9.5)]);
    expect(result.code).toBe(3);
    const entries = ndjson(result.stdout);
    expect(entries).toEqual([{ key: "docs/lost.txt", state: "unknown", reason: expect.stringMatching(/did not see/) }]);
    expect(JSON.parse(result.stderr.trim())).toMatchObject({ unknown: 1, summary: expect.stringMatching(/^0 objects, 0 B in travel as of .*; 1 key unknown/) });
  });

  it("refuses a moment before the first reconciliation with exit 3, naming the bound, and the bucket never reconciled at every moment", async () => {
    const early = await cli(["ls", BUCKET, "--as-of", ago(11)]);
    expect(early.code).toBe(3);
    expect(early.stdout).toBe("");
    expect(early.stderr).toMatch(
      /outside what the ledger keeps: the ledger has held every key of travel since its first complete reconciliation; the earliest moment answered is/,
    );

    const never = await cli(["ls", UNRECONCILED, "--as-of", ago(0.5)]);
    expect(never.code).toBe(3);
    expect(never.stderr).toMatch(/never-reconciled has no complete reconciliation yet/);

    const future = await cli(["diff", BUCKET, "--from", ago(1), "--to", new Date(base + 24 * HOUR).toISOString()]);
    expect(future.code).toBe(3);
    expect(future.stderr).toMatch(/is in the future/);
  });

  it("refuses a time it cannot read with exit 2, naming the option, before reading anything", async () => {
    const bad = await cli(["ls", BUCKET, "--as-of", "yesterday"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--as-of "yesterday" is not a time/);
    const filtered = await cli(["ls", BUCKET, "--as-of", "1h", "--tag", "team=data"]);
    expect(filtered.code).toBe(2);
    expect(filtered.stderr).toMatch(/--content-type and --tag cannot filter it/);
    const from = await cli(["diff", BUCKET, "--from", "2026-13-45"]);
    expect(from.code).toBe(2);
    expect(from.stderr).toMatch(/--from "2026-13-45" is not a time/);
    const to = await cli(["diff", BUCKET, "--from", "2h", "--to", "3h"]);
    expect(to.code).toBe(2);
    expect(to.stderr).toMatch(/--from \(.*\) must come before --to/);
  });

  it("stops at --limit and resumes from the cursor with exactly the rest", async () => {
    const first = await cli(["ls", BUCKET, "--prefix", "docs/", "--as-of", ago(8), "--limit", "4"]);
    expect(first.code).toBe(0);
    const status = JSON.parse(first.stderr.trim().split("\n")[0]!) as { cursor: string };
    const rest = await cli(["ls", BUCKET, "--prefix", "docs/", "--as-of", ago(8), "--cursor", status.cursor]);
    expect([...ndjson(first.stdout), ...ndjson(rest.stdout)].map((entry) => entry.key)).toEqual([
      "docs/a.txt",
      "docs/b.txt",
      "docs/c.txt",
      HOSTILE,
      "docs/keep.txt",
      "docs/lost.txt",
    ]);
  });

  it("shows aligned columns on a terminal, the key escaped, a repair marked, and the unknown keys after the answer", async () => {
    const result = await onTerminal(["ls", BUCKET, "--prefix", "docs/", "--as-of", ago(8)]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^SINCE\s+SIZE\s+ETAG\s+VERSION\s+FROM\s+KEY$/);
    const row = lines.find((line) => line.includes("docs/evil"))!;
    expect(row).toContain("docs/evil\\n\\e[31mred.txt");
    expect(row.indexOf("docs/evil")).toBe(lines[0]!.indexOf("KEY"));
    expect(lines.find((line) => line.endsWith("docs/lost.txt"))).toMatch(/lost1\s+-\s+repair\s+docs\/lost\.txt$/);
    expect(result.stdout).not.toContain("\x1b[31m");
    expect(result.stdout).toContain(`6 objects, 17 B in ${BUCKET} under docs/ as of ${ago(8)}; no key unknown`);

    const unknown = await onTerminal(["ls", BUCKET, "--as-of", ago(9.5)]);
    expect(unknown.code).toBe(3);
    expect(unknown.stdout).toMatch(
      /1 key the ledger cannot vouch for \(not in the answer above\):\n {2}docs\/lost\.txt: the key changed at a moment the ledger did not see/,
    );
    expect(unknown.stdout).toMatch(/1 key unknown, so the answer is incomplete \(exit 3\)/);
  });
});

describe("diff", { timeout: 120_000 }, () => {
  it("lists each key's net change since a moment, omitting a key changed and changed back", async () => {
    const result = await cli(["diff", BUCKET, "--from", ago(8), "--prefix", "docs/"]);
    expect(result.code, result.stderr).toBe(0);
    expect(changes(result.stdout)).toEqual({ "docs/a.txt": "changed a1 -> a2", "docs/b.txt": "deleted b1 -> -", "docs/d.txt": "created - -> d1" });
    expect(ndjson(result.stdout).find((entry) => entry.key === "docs/a.txt")).toMatchObject({ changes: 1 });
    expect(JSON.parse(result.stderr.trim())).toMatchObject({
      unknown: 0,
      summary: expect.stringMatching(/^1 created, 1 deleted, 1 changed in travel under docs\/ between .* and now/),
    });
  });

  it("between two moments, the change a later one undid is listed", async () => {
    const result = await cli(["diff", BUCKET, "--from", ago(8), "--to", ago(6), "--prefix", "docs/c"]);
    expect(result.code, result.stderr).toBe(0);
    expect(changes(result.stdout)).toEqual({ "docs/c.txt": "changed c1 -> c2" });
  });

  it("lists a key unknown at the first moment as unknown, and exits 3", async () => {
    const result = await cli(["diff", BUCKET, "--from", ago(9.5), "--prefix", "docs/l"]);
    expect(result.code).toBe(3);
    expect(ndjson(result.stdout)).toEqual([{ key: "docs/lost.txt", change: "unknown", reason: expect.stringMatching(/did not see/) }]);
  });

  it("on a terminal: + created, - deleted, ~ changed from -> to, a summary with counts per change", async () => {
    const result = await onTerminal(["diff", BUCKET, "--from", ago(8)]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n").filter((line) => /^[+~-] /.test(line));
    expect(lines).toEqual(["~ docs/a.txt  1 B a1 -> 2 B a2", "- docs/b.txt  was 1 B b1", "+ docs/d.txt  5 B d1"]);
    expect(result.stdout).toMatch(/1 created, 1 deleted, 1 changed in travel between .* and now; no key unknown/);
  });
});
