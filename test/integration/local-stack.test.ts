/**
 * The whole local system end to end: S3 writes through the emulator -> notifications -> SQS
 * -> the event source mapping -> the tracker -> DynamoDB Local, then read back through the
 * ledger and the CLI.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeDevFile } from "../../local/dev-file.js";
import { runDemoWorkload } from "../../local/demo.js";
import { TRICKY_KEYS } from "../../local/tricky-keys.js";
import { queueDepth } from "../../local/queues.js";
import { localEnvironment } from "../../local/environment.js";
import { LocalStack } from "../../local/stack.js";
import { createDocumentClient, ledgerTable } from "../../ledger/index.js";
import { readChangeShards, peakChangeRate, RATE_REPORT_FLOOR, RATE_REPORT_INTERVAL_MS } from "../../ledger/change-index/index.js";
import { compareLedgerWithBucket } from "../../local/verify.js";
import { ndjson, runCli } from "../support/cli.js";
import { s3EventRecord } from "../support/events.js";
import { createdAMinuteAgo } from "../support/records.js";

let stack: LocalStack;
let workdir: string;
const bucket = "ledger-demo";
const other = "second-bucket";
let started: Date;

beforeAll(async () => {
  stack = await LocalStack.start({ buckets: [bucket, other], events: { visibilityTimeoutSeconds: 1 }, maxReceiveCount: 2, logLevel: "SILENT" });
  workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-"));
  await writeDevFile(stack.info, join(workdir, ".bucket-ledger", "dev.json"));
  started = new Date();
  await runDemoWorkload(stack.clients.s3, bucket);
  await stack.waitForIdle();
});

afterAll(async () => {
  await stack?.stop();
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

describe("local stack", () => {
  it("keeps the ledger equal to the bucket through puts, multipart, copies, overwrites and deletes", async () => {
    const comparison = await compareLedgerWithBucket(stack.ledger, stack.clients.s3, bucket);
    expect(comparison).toMatchObject({ missing: [], extra: [], different: [], matches: true });
    expect(comparison.bucketObjects).toBe(TRICKY_KEYS.length - 4 + 2); // 4 deleted; multipart + copy added
  });

  it("shows deletes and overwrites in the change feed", async () => {
    const changes = [];
    for await (const change of stack.ledger.changes({ bucket, since: started })) changes.push(change);
    const deleted = changes
      .filter((change) => change.deleted)
      .map((change) => change.key)
      .sort();
    expect(deleted).toEqual(["deep/a/b/c/d/e/f/g/h.json", "emoji/😀 party.txt", "percent/100%.txt", "query/what?x=1&y=2#frag.txt"]);
    const overwritten = changes.find((change) => change.key === "math/1+1=2.txt");
    expect(overwritten).toMatchObject({ deleted: false, size: "overwrite 3".length });
    // One entry per key: the feed is of current states.
    expect(new Set(changes.map((change) => change.key)).size).toBe(changes.length);
  });

  it("keeps buckets apart in one table", async () => {
    await stack.clients.s3.send(new PutObjectCommand({ Bucket: other, Key: "only-here.txt", Body: "x" }));
    await stack.waitForIdle();
    const page = await stack.ledger.listPage({ bucket: other, limit: 10 });
    expect(page.items.map((record) => record.key)).toEqual(["only-here.txt"]);
    expect(page.cursor).toBeUndefined();
  });

  it("counts a busy bucket's changes per minute in its rate partition, from which its change shards are sized", async () => {
    const since = new Date(Date.now() - 60_000);
    const put = (key: string) => stack.clients.s3.send(new PutObjectCommand({ Bucket: other, Key: key, Body: "x" }));
    await Promise.all(Array.from({ length: RATE_REPORT_FLOOR }, (_, index) => put(`busy/${index}`)));
    await stack.waitForIdle();
    // The tracker adds its count at its first write once the interval has passed.
    await new Promise((wait) => setTimeout(wait, RATE_REPORT_INTERVAL_MS + 500));
    await put("busy/after");
    await stack.waitForIdle();
    const ctx = { tableName: stack.info.tableName, documentClient: createDocumentClient(stack.clients.dynamodb), shardCount: ledgerTable.shardCount };
    // At least the 50 (the bucket's earlier changes may be in the same count), over a minute.
    expect(await peakChangeRate(ctx, other, since)).toBeGreaterThanOrEqual(RATE_REPORT_FLOOR / 60);
    expect(await readChangeShards(ctx, other)).toEqual([{ from: "0000-00-00", count: 1 }]);
  }, 30_000);

  it("asks S3 what is current when a specific version is permanently deleted", async () => {
    await stack.clients.s3.send(new PutObjectCommand({ Bucket: other, Key: "versioned.txt", Body: "current version" }));
    await stack.waitForIdle();
    const versionDelete = (key: string) =>
      JSON.stringify({
        Records: [s3EventRecord({ bucket: other, key, eventName: "ObjectRemoved:Delete", versionId: "noncurrent-v1", sequencer: "FFFFFFFFFFFFFFFFFF" })],
      });
    for (const key of ["versioned.txt", "never-existed.txt"]) {
      await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.info.queueUrl, MessageBody: versionDelete(key) }));
    }
    await stack.waitForIdle();
    // The object is still in S3 (only an old version went), so it stays live, re-read by HeadObject.
    expect(await stack.ledger.get(other, "versioned.txt")).toMatchObject({ deleted: false, size: "current version".length, cause: "ObjectRemoved:Delete" });
    expect(await stack.ledger.get(other, "never-existed.txt")).toMatchObject({ deleted: true });
  });

  it("moves a poison message to the DLQ after the redrive limit, and keeps processing the rest", async () => {
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.info.queueUrl, MessageBody: "this is not an S3 event" }));
    await stack.clients.s3.send(new PutObjectCommand({ Bucket: other, Key: "after-poison.txt", Body: "fine" }));
    await stack.waitForIdle(20_000);
    expect(await queueDepth(stack.clients.sqs, stack.info.deadLetterQueueUrl)).toMatchObject({ visible: 1 });
    expect(await stack.ledger.get(other, "after-poison.txt")).toMatchObject({ deleted: false });
  });
});

describe("CLI against the local stack", () => {
  it("ls --local prints NDJSON when piped, in key order", async () => {
    const result = await runCli(["ls", bucket, "--local", "--prefix", "math/"], { cwd: workdir });
    expect(result.code).toBe(0);
    expect(ndjson(result.stdout).map((record) => record.key)).toEqual(["math/1+1=2.txt", "math/a + b = c.txt"]);
  });

  it("ls --limit stops, and --cursor resumes with exactly the remaining objects", async () => {
    const all = ndjson((await runCli(["ls", bucket, "--local"], { cwd: workdir })).stdout).map((record) => record.key);
    const first = await runCli(["ls", bucket, "--local", "--limit", "4"], { cwd: workdir });
    expect(first.code).toBe(0);
    const { cursor } = JSON.parse(first.stderr.trim().split("\n").at(-1)!) as { cursor: string };
    const rest = await runCli(["ls", bucket, "--local", "--cursor", cursor], { cwd: workdir });
    expect([...ndjson(first.stdout), ...ndjson(rest.stdout)].map((record) => record.key)).toEqual(all);
    expect(all).toHaveLength(11);
  });

  it("changes --since lists deletes too, and uses the table from the environment", async () => {
    const env = { ...localEnvironment(stack.info) };
    const result = await runCli(["changes", bucket, "--since", started.toISOString(), "--json"], { env });
    expect(result.code).toBe(0);
    const changes = ndjson(result.stdout);
    expect(changes.filter((change) => change.deleted)).toHaveLength(4);
  });

  it("says so, exit 0, when there is nothing to show", async () => {
    const result = await runCli(["ls", "empty-bucket", "--local"], { cwd: workdir });
    expect(result).toMatchObject({ code: 0, stdout: "" });
  });

  it("exits 2 with a message naming the fix when no table is configured", async () => {
    const result = await runCli(["ls", bucket], { cwd: tmpdir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no ledger table given: pass --table/);
  });

  it("exits 2 on bad arguments and on a cursor from another query", async () => {
    expect((await runCli(["changes", bucket, "--local", "--since", "last tuesday"], { cwd: workdir })).code).toBe(2);
    expect((await runCli(["ls", bucket, "--local", "--limit", "zero"], { cwd: workdir })).code).toBe(2);
    const first = await runCli(["ls", bucket, "--local", "--limit", "1"], { cwd: workdir });
    const { cursor } = JSON.parse(first.stderr.trim()) as { cursor: string };
    const mismatched = await runCli(["ls", other, "--local", "--cursor", cursor], { cwd: workdir });
    expect(mismatched.code).toBe(2);
    expect(mismatched.stderr).toMatch(/cursor belongs to a different list query/);
  });

  it("reconcile --local finds the ledger in sync, then finds and repairs injected drift", async () => {
    const clean = await runCli(["reconcile", bucket, "--local"], { cwd: workdir });
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ bucket, source: "list", missing: 0, stale: 0, orphaned: 0, scanned: 11 });

    // An index entry for an object S3 never had: an orphan, 1 of 12 indexed objects.
    await stack.ledger.apply(createdAMinuteAgo(bucket, "ghost.txt", "x"));
    const dry = await runCli(["reconcile", bucket, "--local", "--dry-run", "--max-delete", "0.5"], { cwd: workdir });
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, orphaned: 1, repaired: 0 });
    expect(await stack.ledger.get(bucket, "ghost.txt")).toMatchObject({ deleted: false });

    const refused = await runCli(["reconcile", bucket, "--local", "--max-delete", "0.05"], { cwd: workdir });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/refusing to tombstone 1 of 12 indexed objects .* nothing was deleted/);

    const repaired = await runCli(["reconcile", bucket, "--local", "--max-delete", "0.5"], { cwd: workdir });
    expect(repaired.code).toBe(0);
    expect(JSON.parse(repaired.stdout)).toMatchObject({ orphaned: 1, repaired: 1 });
    expect(await stack.ledger.get(bucket, "ghost.txt")).toMatchObject({ deleted: true, source: "reconcile" });
  });

  it("reconcile rejects a bad --max-delete as a usage error", async () => {
    const result = await runCli(["reconcile", bucket, "--local", "--max-delete", "150%"], { cwd: workdir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--max-delete must be a fraction between 0 and 1/);
  });

  it("exits 2 when --local finds no running stack", async () => {
    const result = await runCli(["ls", bucket, "--local"], { cwd: tmpdir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no local stack found/);
  });
});
