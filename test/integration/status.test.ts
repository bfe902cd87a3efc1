/**
 * The operator's view against the local stack: `status` healthy, with a message parked in the
 * DLQ, after a failed reconciliation, and (with --stack's CloudWatch answer stood in for) with
 * alarms, and with CloudWatch or SQS refusing or unreachable; `buckets`; and an unknown bucket
 * named on stderr.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { PurgeQueueCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import pLimit from "p-limit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDevFile } from "../../local/dev-file.js";
import { LocalStack } from "../../local/stack.js";
import { createDocumentClient, partitionKeyOf } from "../../ledger/index.js";
import { registerBucket } from "../../ledger/buckets.js";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { DynamoDbRunStore } from "../../reconcile/dynamodb-run-store.js";
import type { RunStore } from "../../reconcile/run-store.js";
import { zeroCounts, type RunRecord } from "../../reconcile/run-model.js";
import { collectStatus, type StatusReport } from "../../cli/status/report.js";
import { awsStackProbe, localStackProbe, type StackProbe } from "../../cli/status/stack-probe.js";
import type { ScheduleSource } from "../../cli/status/first-run.js";
import { renderStatus } from "../../cli/status/render.js";
import { startDenyingEndpoint } from "../support/denying-endpoint.js";
import type { Operations } from "../../cli/ledger-target.js";
import { ndjson, runCli, runCliIntoClosedPipe, runCliOnTerminal } from "../support/cli.js";

const bucket = "status-demo";
const quiet = "status-quiet";
const drifting = "status-drift";
const many = "status-many";
let stack: LocalStack;
let workdir: string;
let runs: RunStore;

beforeAll(async () => {
  stack = await LocalStack.start({ buckets: [bucket, quiet, drifting, many], logLevel: "SILENT", maxReceiveCount: 1 });
  workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-status-"));
  await writeDevFile(stack.info, join(workdir, ".bucket-ledger", "dev.json"));
  runs = new DynamoDbRunStore(stack.info.tableName, createDocumentClient(stack.clients.dynamodb));
  for (const key of ["a.txt", "b/c.txt", "d.bin"]) await stack.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key.repeat(10) }));
  await stack.waitForIdle();
  await stack.reconcileAll();
});

afterAll(async () => {
  await stack?.stop();
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

const status = async (...args: string[]) => {
  const result = await runCli(["status", "--local", ...args], { cwd: workdir });
  return { ...result, report: JSON.parse(result.stdout) as StatusReport };
};

const awsClientOptions = { region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" }, maxAttempts: 1 } as const;

/** `status --stack` over the local stack's table and queues, with SQS and CloudWatch at the endpoints given. */
async function stackStatus(clients: { sqs: SQSClient; cloudwatch: string }): Promise<StatusReport> {
  const ops: Operations = {
    where: "stack",
    name: "stack prod",
    sqs: clients.sqs,
    queues: { events: stack.info.queueUrl, eventDeadLetter: stack.info.deadLetterQueueUrl },
    alarmNames: ["prod-drift", "prod-dlq"],
    buckets: [bucket],
  };
  const cloudwatch = new CloudWatchClient({ ...awsClientOptions, endpoint: clients.cloudwatch });
  return collectStatus({ ledger: stack.ledger, runs, buckets: ops.buckets, stack: { name: ops.name, probe: awsStackProbe(ops, cloudwatch) } });
}

/** A loopback port nothing listens on: a network failure, as an unreachable endpoint gives. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe("status", () => {
  it("is healthy after a run: exit 0, one JSON document when piped, each bucket's counts from its last run", async () => {
    const { code, report, stderr } = await status();
    expect(code, stderr).toBe(0);
    expect(report).toMatchObject({
      healthy: true,
      exitCode: 0,
      stack: "the local stack",
      table: stack.info.tableName,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    const demo = report.buckets.find((entry) => entry.bucket === bucket)!;
    expect(demo.objects).toMatchObject({ count: 3, bytes: 50 + 70 + 50 });
    expect(demo.newestChange).toMatchObject({ deleted: false });
    expect(demo.lastRun).toMatchObject({ status: "succeeded", drift: 0 });
    expect(demo.reconciledThrough).toEqual(expect.any(String));
    // A quiet bucket keeps one change partition a day, and says so.
    expect(demo.changeShards).toBe(1);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ subject: bucket, topic: "change shards", text: expect.stringMatching(/^1 partition a day in the change index/) }),
    );
    expect(report.queues?.map((queue) => queue.role).sort()).toEqual(["eventDeadLetter", "events", "taskDeadLetter"]);
    expect(report.alarms).toEqual([]);
  });

  it("on a terminal: a line per finding, coloured, and without colour under NO_COLOR", async () => {
    const coloured = await runCliOnTerminal(["status", "--local"], { cwd: workdir });
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toContain("\x1b[32m✓\x1b[39m");
    expect(coloured.stdout).toMatch(/reconciliation\s+.*last run succeeded/);
    const plain = await runCliOnTerminal(["status", "--local"], { cwd: workdir, env: { NO_COLOR: "1" } });
    expect(plain.stdout).not.toContain("\x1b[");
    expect(plain.stdout).toMatch(/^all well$/m);
  });

  it("with --stack and CloudWatch refused (AccessDenied), reports what it could read, names what it could not, and exits 5", async () => {
    const denying = await startDenyingEndpoint();
    try {
      const report = await stackStatus({ sqs: stack.clients.sqs, cloudwatch: denying.endpoint });
      expect(denying.targets.sort()).toEqual(["GraniteServiceVersion20100801.DescribeAlarms", "GraniteServiceVersion20100801.GetMetricData"]);
      // The buckets and the queues were readable, and are all there.
      expect(report.buckets.find((entry) => entry.bucket === bucket)?.objects).toMatchObject({ count: 3 });
      expect(report.queues?.map((queue) => queue.role).sort()).toEqual(["eventDeadLetter", "events"]);
      expect(report.findings).toContainEqual({ level: "ok", subject: "stack", topic: "event DLQ", text: "empty" });
      expect(report.unreadable).toEqual([
        { part: "event queue lag", action: "cloudwatch:GetMetricData", error: "AccessDenied" },
        { part: "alarms", action: "cloudwatch:DescribeAlarms", error: "AccessDenied" },
      ]);
      expect(report).toMatchObject({ healthy: false, exitCode: 5 });
      expect(report).not.toHaveProperty("alarms");
      const screen = renderStatus(report, { json: false, color: false });
      expect(screen).toMatch(/^ {2}\? alarms\s+not readable \(AccessDenied on cloudwatch:DescribeAlarms\)$/m);
      expect(screen).toMatch(/^ {2}\? event queue lag\s+not readable \(AccessDenied on cloudwatch:GetMetricData\)$/m);
      expect(screen).toMatch(/^ {2}✓ event queue\s+0 waiting, 0 in flight/m);
      expect(screen.split("\n").at(-1)).toBe("all that could be read is well; not readable: event queue lag, alarms (exit 5)");
    } finally {
      await denying.stop();
    }
  });

  it("with SQS refused and CloudWatch unreachable, still reports every bucket, each queue named as not readable", async () => {
    const denying = await startDenyingEndpoint();
    const closed = await closedPort();
    try {
      const report = await stackStatus({ sqs: new SQSClient({ ...awsClientOptions, endpoint: denying.endpoint }), cloudwatch: closed });
      expect(report.buckets.map((entry) => entry.bucket)).toEqual(expect.arrayContaining([bucket, quiet, drifting, many]));
      expect(report.queues).toEqual([]);
      expect(report.findings.filter((finding) => finding.subject === "stack")).toEqual([
        { level: "unreadable", subject: "stack", topic: "event queue", text: "not readable (AccessDenied on sqs:GetQueueAttributes)" },
        { level: "unreadable", subject: "stack", topic: "event DLQ", text: "not readable (AccessDenied on sqs:GetQueueAttributes)" },
        { level: "unreadable", subject: "stack", topic: "event queue lag", text: "not readable (ECONNREFUSED on cloudwatch:GetMetricData)" },
        { level: "unreadable", subject: "stack", topic: "alarms", text: "not readable (ECONNREFUSED on cloudwatch:DescribeAlarms)" },
      ]);
      expect(report.exitCode).toBe(5);
    } finally {
      await denying.stop();
    }
  });

  it("with --local and SQS refused, cannot judge the alarms the queues raise, and says so", async () => {
    const denying = await startDenyingEndpoint();
    try {
      const ops: Operations = {
        where: "local",
        name: "the local stack",
        sqs: new SQSClient({ ...awsClientOptions, endpoint: denying.endpoint }),
        queues: { events: stack.info.queueUrl, eventDeadLetter: stack.info.deadLetterQueueUrl },
        alarmNames: [],
        buckets: [bucket],
      };
      const report = await collectStatus({ ledger: stack.ledger, runs, buckets: ops.buckets, stack: { name: ops.name, probe: localStackProbe(ops) } });
      // One read of each queue, for the queue lines and the alarms alike.
      expect(denying.targets).toEqual(["AmazonSQS.GetQueueAttributes", "AmazonSQS.GetQueueAttributes"]);
      expect(report.unreadable).toEqual([
        { part: "event queue", action: "sqs:GetQueueAttributes", error: "AccessDenied" },
        { part: "event DLQ", action: "sqs:GetQueueAttributes", error: "AccessDenied" },
        { part: "alarms", action: "sqs:GetQueueAttributes", error: "AccessDenied" },
      ]);
      expect(report.exitCode).toBe(5);
    } finally {
      await denying.stop();
    }
  });

  it("needs attention (exit 4) with a message parked in the DLQ, naming the queue and the alarm it raises", async () => {
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.info.queueUrl, MessageBody: "not an S3 event" }));
    await stack.waitForIdle(20_000);
    try {
      const { code, report } = await status("--json");
      expect(code).toBe(4);
      expect(report.healthy).toBe(false);
      expect(report.findings).toContainEqual(expect.objectContaining({ level: "bad", topic: "event DLQ", text: "1 messages parked" }));
      expect(report.alarms).toEqual([expect.objectContaining({ name: "dlq-not-empty", state: "ALARM" })]);
    } finally {
      await stack.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.info.deadLetterQueueUrl }));
    }
  });

  it("needs attention when the last reconciliation failed, with its reason", async () => {
    const now = new Date().toISOString();
    const failed: RunRecord = {
      bucket: quiet,
      runId: `${now}~failed00`,
      status: "failed",
      source: { kind: "list" },
      snapshotTime: now,
      dryRun: false,
      force: false,
      maxDeleteFraction: 0.1,
      tasksTotal: 1,
      tasksDone: 0,
      tombstoneTasksTotal: 0,
      tombstoneTasksDone: 0,
      tombstonesQueued: false,
      counts: zeroCounts(),
      startedAt: now,
      updatedAt: now,
      finishedAt: now,
      reason: "tasks died in the task DLQ",
    };
    await runs.createRun(failed, [{}]);
    const { code, report } = await status();
    expect(code).toBe(4);
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        subject: quiet,
        level: "bad",
        topic: "reconciliation",
        text: expect.stringMatching(/last run failed .*tasks died in the task DLQ/),
      }),
    );
  });

  it("with --stack, reports the alarms CloudWatch says are in ALARM and the event queue's lag (CloudWatch's answers stood in for)", async () => {
    const cloudwatch = new CloudWatchClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });
    const asked: string[] = [];
    // Answers in place of CloudWatch, after the SDK built each request (the commands and their inputs are real).
    cloudwatch.middlewareStack.add(
      () => async (args: { input: object }) => {
        const input = args.input as { AlarmNames?: string[]; MetricDataQueries?: unknown[] };
        if (input.AlarmNames) {
          asked.push(...input.AlarmNames);
          return {
            output: {
              $metadata: {},
              MetricAlarms: [
                { AlarmName: "prod-drift", StateValue: "ALARM", StateReason: "Threshold Crossed" },
                { AlarmName: "prod-dlq", StateValue: "OK" },
              ],
            },
            response: {},
          };
        }
        return { output: { $metadata: {}, MetricDataResults: [{ Id: "age", Values: [900, 30] }] }, response: {} };
      },
      { step: "initialize", name: "cloudwatchStandIn" },
    );
    const ops: Operations = {
      where: "stack",
      name: "stack prod",
      sqs: stack.clients.sqs,
      queues: { events: stack.info.queueUrl, eventDeadLetter: stack.info.deadLetterQueueUrl },
      alarmNames: ["prod-drift", "prod-dlq"],
      buckets: [bucket],
    };
    const report = await collectStatus({ ledger: stack.ledger, runs, buckets: ops.buckets, stack: { name: ops.name, probe: awsStackProbe(ops, cloudwatch) } });
    expect(asked).toEqual(["prod-drift", "prod-dlq"]);
    expect(report.exitCode).toBe(4);
    expect(report.alarms).toEqual([{ name: "prod-drift", state: "ALARM", reason: "Threshold Crossed" }]);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ level: "warn", topic: "event queue", text: expect.stringMatching(/oldest message 900 s old/) }),
    );
  });
  it("needs attention (exit 4) when what it read needs it, even with parts unread, and names those on the last line", async () => {
    const denying = await startDenyingEndpoint();
    try {
      // The failed run written above is still the quiet bucket's last.
      const report = await stackStatus({ sqs: stack.clients.sqs, cloudwatch: denying.endpoint });
      expect(report.exitCode).toBe(4);
      expect(report.findings).toContainEqual(expect.objectContaining({ subject: quiet, level: "bad", topic: "reconciliation" }));
      expect(renderStatus(report, { json: false, color: false }).split("\n").at(-1)).toBe("needs attention (exit 4); not readable: event queue lag, alarms");
    } finally {
      await denying.stop();
    }
  });
});

describe("known buckets", () => {
  it("buckets lists what the ledger recorded, with counts from the last run", async () => {
    const result = await runCli(["buckets", "--local"], { cwd: workdir });
    expect(result.code, result.stderr).toBe(0);
    const listed = ndjson(result.stdout);
    expect(listed.map((entry) => entry.bucket)).toEqual([bucket, drifting, many, quiet]);
    expect(listed[0]).toMatchObject({ objects: { count: 3 }, lastRun: { status: "succeeded" }, changeShards: 1 });
    // On a terminal, a column each, the change index's partitions among them.
    const table = await runCliOnTerminal(["buckets", "--local"], { cwd: workdir, env: { NO_COLOR: "1" } });
    expect(table.stdout).toMatch(/BUCKET\s+OBJECTS\s+BYTES\s+NEWEST CHANGE\s+SHARDS\s+LAST RUN/);
    expect(table.stdout).toMatch(new RegExp(`${bucket}\\s+3\\s+\\S+.*\\s1\\s+succeeded`));
  });

  it("ls, changes and stat on a bucket never seen exit 0, and say so on stderr with the buckets known", async () => {
    for (const command of [
      ["ls", "typo-bucket"],
      ["changes", "typo-bucket", "--since", new Date(Date.now() - 3_600_000).toISOString()],
      ["stat", "typo-bucket"],
    ]) {
      const result = await runCli([...command, "--local"], { cwd: workdir });
      expect(result.code, command.join(" ")).toBe(0);
      expect(result.stderr).toMatch(new RegExp(`never seen bucket typo-bucket; it knows ${bucket}, ${drifting}, ${many}, ${quiet}`));
    }
    // A known bucket that is empty is not "never seen".
    const empty = await runCli(["ls", quiet, "--local"], { cwd: workdir });
    expect(empty.code).toBe(0);
    expect(empty.stderr).not.toMatch(/never seen/);
  });
});

describe("reconcile --show-drift", () => {
  beforeAll(async () => {
    const put = (key: string, body: string) => stack.clients.s3.send(new PutObjectCommand({ Bucket: drifting, Key: key, Body: body }));
    await Promise.all([put("missing.txt", "m"), put("resurrected.txt", "r"), put("stale.txt", "s"), put("fine.txt", "f")]);
    await stack.waitForIdle();
    const earlier = new Date(Date.now() - 60_000).toISOString();
    const mutation = { bucket: drifting, eventTime: earlier, eventName: "ObjectCreated:Put", sequencer: "FFFFFFFFFFFFFFFFFF" };
    // Lost events, each kind of drift: the ledger never heard of one object, holds a tombstone
    // for one that exists, another ETag for one, and an object S3 never had.
    await createDocumentClient(stack.clients.dynamodb).send(
      new DeleteCommand({ TableName: stack.info.tableName, Key: { pk: partitionKeyOf(drifting, "missing.txt"), sk: "missing.txt" } }),
    );
    await stack.ledger.apply({ ...mutation, kind: "delete", key: "resurrected.txt", eventName: "ObjectRemoved:Delete" });
    await stack.ledger.apply({ ...mutation, kind: "upsert", key: "stale.txt", state: { size: 9, etag: "old-etag", lastModified: earlier } });
    await stack.ledger.apply({ ...mutation, kind: "upsert", key: "zz-orphan.txt", state: { size: 2, etag: "ghost", lastModified: earlier } });
  });

  const dryRun = ["reconcile", drifting, "--local", "--dry-run", "--show-drift", "--max-delete", "1"];

  it("streams one NDJSON record per drifted key when piped, with the ledger's state and the source's, the summary on stderr", async () => {
    const result = await runCli(dryRun, { cwd: workdir });
    expect(result.code, result.stderr).toBe(0);
    const records = ndjson(result.stdout);
    expect(records.map((record) => [record.kind, record.key])).toEqual([
      ["missing", "missing.txt"],
      ["missing", "resurrected.txt"],
      ["stale", "stale.txt"],
      ["orphaned", "zz-orphan.txt"],
    ]);
    expect(records[0]).toEqual({ kind: "missing", key: "missing.txt", source: { size: 1, etag: expect.any(String), lastModified: expect.any(String) } });
    expect(records[1]).toMatchObject({ ledger: { deleted: true }, source: { size: 1 } });
    expect(records[2]).toMatchObject({ ledger: { deleted: false, size: 9, etag: "old-etag" }, source: { size: 1 } });
    expect(records[3]).toMatchObject({ ledger: { deleted: false, etag: "ghost" } });
    expect(records[3]).not.toHaveProperty("source");
    expect(JSON.parse(result.stderr.trim().split("\n").at(-1)!)).toMatchObject({ dryRun: true, missing: 2, stale: 1, orphaned: 1 });
  });

  it("prints a table on a terminal", async () => {
    const result = await runCliOnTerminal(dryRun, { cwd: workdir, env: { NO_COLOR: "1" } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^KIND\s+LEDGER\s+SOURCE\s+KEY$/m);
    expect(result.stdout).toMatch(/^stale\s+9 B old-etag\s+1 B [0-9a-f]{32}\s+stale\.txt$/m);
    expect(result.stdout).toMatch(/^orphaned\s+2 B ghost\s+-\s+zz-orphan\.txt$/m);
    expect(result.stdout).toMatch(/^missing\s+deleted \S+ \S+\s+1 B/m);
  });

  it("stops quietly when the reader goes away", async () => {
    const result = await runCliIntoClosedPipe(dryRun, { cwd: workdir });
    expect(JSON.parse(result.firstLine)).toMatchObject({ kind: "missing" });
    expect(result.code).toBe(0);
    // No error, no stack trace. The summary is left out when a write found the reader gone; if
    // the four drift lines all reached the pipe before the reader left, nothing could tell, and
    // the summary goes to stderr as after any run (which of the two happens is up to the timing).
    const lines = result.stderr.split("\n").filter((line) => line !== "");
    expect(lines.length).toBeLessThanOrEqual(1);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ bucket: "status-drift", dryRun: true, missing: 2 });
  });
});

describe("a fan-out run's drift sample (runs --drift)", () => {
  it("keeps every drifted key when there are few, and lists them", async () => {
    const [run] = (await stack.reconcileAll({ dryRun: true, force: true })).filter((summary) => summary.bucket === drifting);
    expect(run).toMatchObject({ missing: 2, stale: 1, orphaned: 1, sampled: 4 });
    const result = await runCli(["runs", drifting, "--local", "--drift", "latest"], { cwd: workdir });
    expect(result.code, result.stderr).toBe(0);
    expect(ndjson(result.stdout).map((record) => [record.kind, record.key])).toEqual([
      ["missing", "missing.txt"],
      ["missing", "resurrected.txt"],
      ["stale", "stale.txt"],
      ["orphaned", "zz-orphan.txt"],
    ]);
    expect(result.stderr).toBe("");
    const byId = await runCli(["runs", drifting, "--local", "--drift", run!.runId], { cwd: workdir });
    expect(ndjson(byId.stdout)).toHaveLength(4);
  });

  it("keeps at most its bound, spread over the run's tasks, and says the sample is not the whole", async () => {
    const earlier = new Date(Date.now() - 60_000).toISOString();
    const limit = pLimit(32);
    await Promise.all(
      Array.from({ length: 1_200 }, (_, index) =>
        limit(() =>
          stack.ledger.apply({
            kind: "upsert",
            bucket: many,
            key: `ghost/${String(index).padStart(5, "0")}`,
            sequencer: "01",
            eventTime: earlier,
            eventName: "ObjectCreated:Put",
            state: { size: 1, etag: "ghost", lastModified: earlier },
          }),
        ),
      ),
    );
    const [run] = (await stack.reconcileAll({ dryRun: true, force: true })).filter((summary) => summary.bucket === many);
    expect(run).toMatchObject({ orphaned: 1_200 });
    const result = await runCli(["runs", many, "--local", "--drift", run!.runId], { cwd: workdir });
    const sample = ndjson(result.stdout);
    expect(sample.length).toBeGreaterThan(0);
    expect(sample.length).toBeLessThanOrEqual(1_000);
    expect(sample.length).toBe(run!.sampled);
    expect(result.stderr).toMatch(new RegExp(`the sample holds ${sample.length} of the 1200 drifted keys found: a run keeps up to 1000, shared by its tasks`));
  });

  it("names a run that does not exist, exit 1", async () => {
    const result = await runCli(["runs", many, "--local", "--drift", "2020-01-01T00:00:00.000Z~nope"], { cwd: workdir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no run 2020-01-01T00:00:00.000Z~nope recorded for status-many/);
  });
});

describe("the first run", () => {
  /** A bucket the stack tracks that has never been reconciled (and the ledger never saw). */
  const fresh = "status-fresh";
  const operations = (schedule: ScheduleSource, where: Operations["where"] = "local"): Operations => ({
    where,
    name: where === "local" ? "the local stack" : "stack prod",
    sqs: stack.clients.sqs,
    queues: {},
    alarmNames: [],
    buckets: [fresh],
    schedule,
  });
  const statusAt = (probe: StackProbe, now: string | Date, buckets = [fresh]) =>
    collectStatus({ ledger: stack.ledger, runs, buckets, stack: { name: "stack", probe }, now: new Date(now) });
  const reconciliationOf = (report: StatusReport) => report.findings.find((finding) => finding.subject === fresh && finding.topic === "reconciliation");

  it("locally: healthy, saying when the first run is due, until it is late; and when nothing schedules one", async () => {
    const probe = localStackProbe(operations({ kind: "interval", everyMs: 300_000, startedAt: "2026-12-04T21:00:00.000Z" }));
    expect(reconciliationOf(await statusAt(probe, "2026-12-04T21:02:00Z"))).toMatchObject({
      level: "ok",
      text: "not run yet: the first run is due at 2026-12-04T21:05:00.000Z (dev --reconcile-every 5m)",
    });
    // Late: past the grace a schedule's retries may take.
    expect(reconciliationOf(await statusAt(probe, "2026-12-04T21:25:00Z"))).toMatchObject({
      level: "warn",
      text: "never reconciled: the first run was due at 2026-12-04T21:05:00.000Z (dev --reconcile-every 5m)",
    });
    const off = localStackProbe(operations({ kind: "interval", everyMs: 0, startedAt: "2026-12-04T21:00:00.000Z" }));
    expect(reconciliationOf(await statusAt(off, "2026-12-05T21:00:00Z"))).toMatchObject({
      level: "ok",
      text: "not run yet: no run is scheduled (dev --reconcile-every off); `bucket-ledger reconcile` runs one",
    });
  });

  it("with --stack: from the schedule's expression and the table's creation (DescribeTable)", async () => {
    const { Table } = await stack.clients.dynamodb.send(new DescribeTableCommand({ TableName: stack.info.tableName }));
    const created = Table!.CreationDateTime!;
    const due = new Date(created);
    due.setUTCHours(3, 0, 0, 0);
    if (due <= created) due.setUTCDate(due.getUTCDate() + 1);
    const cloudwatch = new CloudWatchClient({ ...awsClientOptions, endpoint: await closedPort() });
    const schedule = { kind: "expression", expression: "cron(0 3 * * ? *)", timezone: "UTC", tableName: stack.info.tableName } as const;
    const probe = awsStackProbe(operations(schedule, "stack"), cloudwatch, stack.clients.dynamodb);
    const young = await statusAt(probe, new Date(created.getTime() + 60_000));
    expect(reconciliationOf(young)).toMatchObject({ level: "ok", text: `not run yet: the first run is due at ${due.toISOString()} (cron(0 3 * * ? *) UTC)` });
    expect(young.unreadable).toEqual([]);
    const late = await statusAt(probe, new Date(due.getTime() + 86_400_000));
    expect(reconciliationOf(late)).toMatchObject({
      level: "warn",
      text: `never reconciled: the first run was due at ${due.toISOString()} (cron(0 3 * * ? *) UTC)`,
    });
  });

  it("with --stack and the table's age unreadable: names DescribeTable, and asks only while a bucket has no run", async () => {
    const endpoint = await closedPort();
    const cloudwatch = new CloudWatchClient({ ...awsClientOptions, endpoint });
    const dynamodb = new DynamoDBClient({ ...awsClientOptions, endpoint });
    const schedule = { kind: "expression", expression: "cron(0 3 * * ? *)", timezone: "UTC", tableName: stack.info.tableName } as const;
    const probe = awsStackProbe(operations(schedule, "stack"), cloudwatch, dynamodb);
    const report = await statusAt(probe, new Date());
    expect(report.unreadable).toEqual([{ part: "stack age", action: "dynamodb:DescribeTable", error: "ECONNREFUSED" }]);
    expect(reconciliationOf(report)).toMatchObject({ level: "warn", text: "never reconciled" });
    // Every bucket has run: the stack's age is not asked for, so cannot be unreadable.
    const ran = await statusAt(probe, new Date(), [bucket]);
    expect(ran.unreadable).toEqual([]);
  });

  it("with --stack: a bucket adopted into an old stack counts from when the ledger first recorded it", async () => {
    const { Table } = await stack.clients.dynamodb.send(new DescribeTableCommand({ TableName: stack.info.tableName }));
    const adopted = "status-adopted";
    // The stack is ten days old when the ledger first records the bucket.
    const registeredAt = new Date(Table!.CreationDateTime!.getTime() + 10 * 86_400_000);
    await registerBucket(
      { tableName: stack.info.tableName, documentClient: createDocumentClient(stack.clients.dynamodb), shardCount: 16 },
      adopted,
      registeredAt,
    );
    const due = new Date(registeredAt);
    due.setUTCHours(3, 0, 0, 0);
    if (due <= registeredAt) due.setUTCDate(due.getUTCDate() + 1);
    const cloudwatch = new CloudWatchClient({ ...awsClientOptions, endpoint: await closedPort() });
    const schedule = { kind: "expression", expression: "cron(0 3 * * ? *)", timezone: "UTC", tableName: stack.info.tableName } as const;
    const probe = awsStackProbe({ ...operations(schedule, "stack"), buckets: [adopted] }, cloudwatch, stack.clients.dynamodb);
    const report = await statusAt(probe, new Date(registeredAt.getTime() + 60_000), [adopted]);
    expect(report.findings.find((finding) => finding.subject === adopted && finding.topic === "reconciliation")).toMatchObject({
      level: "ok",
      text: `not run yet: the first run is due at ${due.toISOString()} (cron(0 3 * * ? *) UTC)`,
    });
  });
});
