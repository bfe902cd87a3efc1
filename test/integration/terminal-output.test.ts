/**
 * Hostile object keys (and content types, tags, metadata, requesters, reasons) in the ledger,
 * shown by the real CLI on a pseudo-terminal: nothing reaches the terminal raw, and a key that
 * would hide every later line (`report.csv` + ESC[8m) hides nothing. Piped, every record stays
 * one line for any line splitter and parses back to the same value.
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, ingestionItem, type IngestionRecord, type Ledger } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { DynamoDbRunStore } from "../../reconcile/dynamodb-run-store.js";
import { zeroCounts, type RunRecord } from "../../reconcile/run-model.js";
import { runCli, runCliOnTerminal } from "../support/cli.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";

const HIDE_REST = "report.csv\x1b[8m";
const HOSTILE_KEYS = [
  "\x1b[2J\x1b[Hcleared.txt",
  "\x1b[31mred.txt",
  "\x1b]0;window title\x07title.txt",
  "\x1b]8;;https://evil.example/\x1b\\link.txt\x1b]8;;\x1b\\",
  "innocent.txt\roverwritten.txt",
  "invoice\u202Efdp.exe",
  "c1\u009b2J\u0085nel.txt",
  "line\u2028para\u2029.txt",
  "isolate\u2067\u200f.txt",
  "del\x7f.txt",
];
const FIRST = "a-hostile";
const AFTER = "b-after";
const HOSTILE_DETAILS = {
  contentType: "text/\x1b[31mplain",
  tags: { "team\x1b[8m": "data\u202e" },
  userMetadata: { owner: "\x1b]0;meta\x07" },
};

/** What must never reach the terminal raw (the CLI's own colours are off: NO_COLOR). */
const RAW = new RegExp(String.raw`[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]`, "u");
/** Python's str.splitlines() boundaries, where a record must not break. */
const SPLITLINES = new RegExp(String.raw`\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]`);

let dynamodb: TestDynamoDb;
let ledger: Ledger;
let env: Record<string, string>;

beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
  ledger = await dynamodb.createLedger();
  env = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.emulator.endpoint,
    BUCKET_LEDGER_TABLE: ledger.tableName,
    NO_COLOR: "1",
    COLUMNS: "400",
  };
  const documentClient = createDocumentClient(dynamodb.client);
  const at = Date.now() - 60_000;
  const keys = [...HOSTILE_KEYS, "zz-after.txt", HIDE_REST];
  for (const bucket of [FIRST, AFTER]) await ledger.register(bucket);
  for (const [index, key] of keys.entries())
    await ledger.apply({
      kind: "upsert",
      bucket: FIRST,
      key,
      sequencer: "01",
      eventTime: new Date(at + index).toISOString(),
      eventName: "ObjectCreated:Put",
      origin: { requester: "AWS:\x1b[8mAIDAEVIL", sourceIp: "198.51.100.7\u202e" },
      state: { size: 5, etag: "e\x1b[8m", lastModified: new Date(at + index).toISOString(), ...HOSTILE_DETAILS },
    });
  await ledger.apply({
    kind: "upsert",
    bucket: AFTER,
    key: "visible-after.txt",
    sequencer: "01",
    eventTime: new Date(at).toISOString(),
    eventName: "ObjectCreated:Put",
    state: { size: 1, etag: "e", lastModified: new Date(at).toISOString() },
  });
  const now = new Date().toISOString();
  for (const key of [HIDE_REST, "zz-after.txt"]) {
    const ingestion: IngestionRecord = {
      bucket: FIRST,
      key,
      rule: "offers",
      version: "v\x1b[8m",
      status: "failed",
      retryable: false,
      reason: "line 2: \x1b]0;reason\x07bad\u202e",
      attempts: 1,
      startedAt: now,
      updatedAt: now,
      durationMs: 1,
      rowsRead: 1,
      rowsWritten: 0,
      rowsRejected: 1,
      rowsDeleted: 0,
      rowsUnprocessed: 0,
    };
    await documentClient.send(new PutCommand({ TableName: ledger.tableName, Item: ingestionItem(ingestion) }));
  }
  const runs = new DynamoDbRunStore(ledger.tableName, documentClient);
  const run: RunRecord = {
    bucket: FIRST,
    runId: `${now}~hostile0`,
    status: "failed",
    source: { kind: "list" },
    snapshotTime: now,
    dryRun: false,
    force: false,
    maxDeleteFraction: 0.1,
    tasksTotal: 1,
    tasksDone: 1,
    tombstoneTasksTotal: 0,
    tombstoneTasksDone: 0,
    tombstonesQueued: false,
    counts: { ...zeroCounts(), missing: 2 },
    startedAt: now,
    updatedAt: now,
    finishedAt: now,
    reason: "listing failed at \x1b[8mkey\u2028",
  };
  const [task] = await runs.createRun(run, [{}]);
  for (const key of [HIDE_REST, "zz-after.txt"])
    await runs.putDriftSample(task!, { kind: "missing", key, source: { size: 5, etag: "e\u202e", lastModified: now } });
}, 120_000);

afterAll(async () => {
  await dynamodb?.stop();
});

const onTerminal = async (...args: string[]) => {
  const result = await runCliOnTerminal(args, { env });
  expect(result.stderr).toBe("");
  return result;
};

/** Nothing raw; and the escaped forms show, so the rows were printed, not dropped. */
function expectSafe(stdout: string) {
  const raw = RAW.exec(stdout);
  expect(
    raw,
    raw ? `raw U+${raw[0].codePointAt(0)!.toString(16).padStart(4, "0")} near ${JSON.stringify(stdout.slice(raw.index - 40, raw.index + 40))}` : "",
  ).toBeNull();
}

describe("on a terminal, untrusted text is escaped", () => {
  it("ls: every key shown escaped, rows after the hiding key still visible, content types cut after escaping", async () => {
    const { stdout, code } = await onTerminal("ls", FIRST);
    expect(code).toBe(0);
    expectSafe(stdout);
    for (const shown of [
      "\\e[2J\\e[Hcleared.txt",
      "\\e]0;window title\\atitle.txt",
      "innocent.txt\\roverwritten.txt",
      "invoice\\u202efdp.exe",
      "c1\\u009b2J\\u0085nel.txt",
      "line\\u2028para\\u2029.txt",
      "del\\x7f.txt",
    ])
      expect(stdout).toContain(shown);
    const lines = stdout.trimEnd().split("\n");
    expect(lines.at(-2)).toContain("report.csv\\e[8m");
    expect(lines.at(-1)).toMatch(/zz-after\.txt$/);
    // The type column keeps its width, so every key starts in the same column.
    const keyColumn = lines[0]!.indexOf("KEY");
    for (const line of lines.slice(1)) expect(line.slice(0, keyColumn)).toMatch(/text\/\\e\[31mplain +$/);
  });

  it("changes: keys, requesters and types escaped; the rows after the hiding key visible", async () => {
    const { stdout, code } = await onTerminal("changes", FIRST, "--since", "1h");
    expect(code).toBe(0);
    expectSafe(stdout);
    expect(stdout).toContain("AWS:\\e[8mAIDAEVIL");
    expect(stdout.trimEnd().split("\n")).toHaveLength(HOSTILE_KEYS.length + 3);
    expect(stdout.trimEnd().split("\n").at(-1)).toMatch(/report\.csv\\e\[8m$/);
  });

  it("get: the key, tags, user metadata, requester, source IP and ETag escaped", async () => {
    const { stdout, code } = await onTerminal("get", FIRST, HIDE_REST);
    expect(code).toBe(0);
    expectSafe(stdout);
    expect(stdout).toMatch(/^key +report\.csv\\e\[8m$/m);
    expect(stdout).toContain("team\\e[8m=data\\u202e");
    expect(stdout).toContain("owner=\\e]0;meta\\a");
    expect(stdout).toContain("198.51.100.7\\u202e");
    expect(stdout).toMatch(/^recorded at +\d{4}-/m);
  });

  it("status: the newest change's key and the run's reason escaped, and 'needs attention' still shown after them", async () => {
    const { stdout, code } = await onTerminal("status");
    expect(code).toBe(4);
    expectSafe(stdout);
    expect(stdout).toContain("report.csv\\e[8m");
    expect(stdout).toContain("listing failed at \\e[8mkey");
    expect(stdout).toContain(AFTER);
    expect(stdout.trimEnd().split("\n").at(-1)).toBe("needs attention (exit 4)");
  });

  it("ingestions: keys and reasons escaped", async () => {
    const { stdout, code } = await onTerminal("ingestions", FIRST);
    expect(code).toBe(0);
    expectSafe(stdout);
    expect(stdout).toContain("report.csv\\e[8m  line 2: \\e]0;reason\\abad\\u202e");
    expect(stdout.trimEnd().split("\n").at(-1)).toContain("zz-after.txt");
  });

  it("runs and runs --drift: the reason, keys and ETags escaped", async () => {
    const listed = await onTerminal("runs", FIRST);
    expect(listed.code).toBe(0);
    expectSafe(listed.stdout);
    expect(listed.stdout).toContain("listing failed at \\e[8mkey");
    const drift = await onTerminal("runs", FIRST, "--drift", "latest");
    expect(drift.code).toBe(0);
    expectSafe(drift.stdout);
    expect(drift.stdout).toContain("5 B e\\u202e");
    expect(drift.stdout.trimEnd().split("\n").at(-1)).toMatch(/zz-after\.txt$/);
  });
});

describe("on a terminal, what the CLI says on stderr is escaped too", () => {
  it("an unknown bucket's name in the notice, and in an error message", async () => {
    // Under script(1) stderr shares the terminal, so the output holds both streams.
    const notice = await runCliOnTerminal(["ls", "\x1b[8mno-such-bucket"], { env });
    expectSafe(notice.stdout);
    expect(notice.stdout).toContain("\\e[8mno-such-bucket");
    const failed = await runCliOnTerminal(["runs", "xyz", "--drift", "\x1b]0;title\x07run"], { env });
    expect(failed.code).not.toBe(0);
    expectSafe(failed.stdout);
    expect(failed.stdout).toMatch(/bucket-ledger: /);
  });
});

describe("piped, every record is one line of JSON with nothing raw", () => {
  it.each([
    ["ls", ["ls", FIRST], HOSTILE_KEYS.length + 2],
    ["changes", ["changes", FIRST, "--since", "1h"], HOSTILE_KEYS.length + 2],
    ["get", ["get", FIRST, HIDE_REST], 1],
    ["status", ["status"], 1],
    ["ingestions", ["ingestions", FIRST], 2],
    ["runs --drift", ["runs", FIRST, "--drift", "latest"], 2],
  ])("%s", async (_name, args, records) => {
    const { stdout, code } = await runCli(args, { env });
    expect([0, 4]).toContain(code);
    expectSafe(stdout);
    const lines = stdout.trimEnd().split(SPLITLINES);
    expect(lines).toHaveLength(records);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    if (args[0] === "ls") expect(lines.map((line) => (JSON.parse(line) as { key: string }).key)).toContain(HIDE_REST);
  });
});
