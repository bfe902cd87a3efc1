/**
 * Row ingestion through the whole local stack, as deployed: S3 notifications to the tracker,
 * the tracker's requests on the FIFO ingestion queue, the ingestion function with its own role,
 * reconciliation's audit, and the CLI (`ingestions`, `ingest`) against it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { DeleteCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, ingestionPartitionKey } from "../../ledger/index.js";
import { writeDevFile } from "../../local/dev-file.js";
import { LocalStack } from "../../local/stack.js";
import { createdTableName } from "../../ingest/row-table.js";
import { MIN_PART_BYTES } from "../../ingest/object-sink.js";
import { ndjson, runCli } from "../support/cli.js";
import { localTestRules } from "../support/ingest-rules.js";

const bucket = "ingest-local";
let stack: LocalStack;
let workdir: string;

beforeAll(async () => {
  stack = await LocalStack.start({
    buckets: [bucket],
    logLevel: "SILENT",
    reconcile: { tasksPerRun: 2 },
    ingest: { copyPartBytes: MIN_PART_BYTES, rules: localTestRules(bucket) },
  });
  workdir = await mkdtemp(join(tmpdir(), "ingest-cli-"));
  await writeDevFile(stack.info, join(workdir, ".bucket-ledger", "dev.json"));
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

const put = (key: string, body: string) => stack.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

async function rows(rule: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await createDocumentClient(stack.clients.dynamodb).send(
    new ScanCommand({ TableName: createdTableName({ name: rule }), ConsistentRead: true }),
  );
  return Items.map(({ _source, _version, _line, ...row }) => row).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe("a file longer than one invocation, in the local stack", () => {
  it("continues through the FIFO queue until done", async () => {
    // Every invocation is out of time at its first check (every 256 rows): 700 rows take three.
    const short = await LocalStack.start({
      buckets: ["ingest-short"],
      logLevel: "SILENT",
      reconcile: { tasksPerRun: 1 },
      ingest: { invocationMs: 1, stopMarginMs: 0, rules: localTestRules("ingest-short") },
    });
    try {
      await short.clients.s3.send(
        new PutObjectCommand({ Bucket: "ingest-short", Key: "long/rows.csv", Body: ["id", ...Array.from({ length: 700 }, (_, i) => `r${i}`)].join("\n") }),
      );
      await short.waitForIdle();
      expect(await short.ingestion!.store.get("ingest-short", "long/rows.csv")).toMatchObject({ status: "succeeded", rowsRead: 700, rowsWritten: 700 });
      const { Count } = await createDocumentClient(short.clients.dynamodb).send(
        new ScanCommand({ TableName: createdTableName({ name: "long" }), Select: "COUNT" }),
      );
      expect(Count).toBe(700);
    } finally {
      await short.stop();
    }
  }, 60_000);
});

describe("row ingestion in the local stack", () => {
  it("mirrors an upload, replaces on overwrite, removes on delete, and reports a bad row", async () => {
    await put("imports/offers.csv", "account,offer_id,product_name,price\nacc123,offer001,Widget A,19.99\nacc456,offer002,Gadget B,29.50\n");
    await put("events/day.jsonl", '{"id":"e1","n":1}\n{"id":"e2","n":2}\n');
    await put("other/not-covered.csv", "account,offer_id\nx,y\n");
    await stack.waitForIdle();
    expect(await rows("offers")).toEqual([
      { account: "acc123", offer_id: "offer001", product_name: "Widget A", price: 19.99 },
      { account: "acc456", offer_id: "offer002", product_name: "Gadget B", price: 29.5 },
    ]);
    expect(await rows("events")).toHaveLength(2);

    await put("imports/offers.csv", "account,offer_id,product_name,price\nacc123,offer001,Widget A,21\nacc789,,No offer,1\n");
    await stack.waitForIdle();
    expect(await rows("offers")).toEqual([{ account: "acc123", offer_id: "offer001", product_name: "Widget A", price: 21 }]);
    const report = await stack.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "bucket-ledger/ingest-errors/imports/offers.csv.errors.ndjson" }));
    expect(JSON.parse(await report.Body!.transformToString())).toMatchObject({ line: 3, reason: "key column offer_id is missing or empty" });

    const listed = await runCli(["ingestions", bucket, "--local", "--failed"], { cwd: workdir });
    expect(listed.code, listed.stderr).toBe(0);
    expect(ndjson(listed.stdout)).toEqual([
      expect.objectContaining({ key: "imports/offers.csv", status: "partial", rowsWritten: 1, rowsRejected: 1, rowsDeleted: 1 }),
    ]);

    await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "imports/offers.csv" }));
    await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "events/day.jsonl" }));
    await stack.waitForIdle();
    expect(await rows("offers")).toEqual([]);
    expect(await rows("events"), "onDelete keep").toHaveLength(2);
  });

  it("ingest re-ingests on demand and exits by how it ended; a key no rule covers is a usage error", async () => {
    // 1e200 is past DynamoDB's number range (1E+126): the whole batch is refused, then each row alone, and only that one is rejected.
    await put("imports/again.csv", "account,offer_id,price\na,1,\nb,2,\nc,3,1e200\n");
    await stack.waitForIdle();
    const again = await runCli(["ingest", bucket, "imports/again.csv", "--local", "--json"], { cwd: workdir });
    expect(again.code, "partial exits 1").toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: "partial", rowsWritten: 2, rowsRejected: 1, attempts: 2 });
    expect((await rows("offers")).filter((row) => ["a", "b", "c"].includes(row.account as string))).toEqual([
      { account: "a", offer_id: "1" },
      { account: "b", offer_id: "2" },
    ]);

    const uncovered = await runCli(["ingest", bucket, "other/not-covered.csv", "--local"], { cwd: workdir });
    expect(uncovered.code).toBe(2);
    expect(uncovered.stderr).toContain("no ingestion rule covers s3://ingest-local/other/not-covered.csv");
    const absent = await runCli(["ingest", bucket, "imports/never.csv", "--local"], { cwd: workdir });
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain("the ledger holds no live object");
  });

  it("reconciliation queues again what was lost: a file whose request and rows are gone is ingested again", async () => {
    await put("imports/lost.csv", "account,offer_id\nlost,1\n");
    await stack.waitForIdle();
    const documentClient = createDocumentClient(stack.clients.dynamodb);
    // As if the request had never arrived: no record, no rows.
    await documentClient.send(new DeleteCommand({ TableName: stack.info.tableName, Key: { pk: ingestionPartitionKey(bucket), sk: "imports/lost.csv" } }));
    await documentClient.send(new DeleteCommand({ TableName: createdTableName({ name: "offers" }), Key: { account: "lost", offer_id: "1" } }));
    const [summary] = await stack.reconcileAll();
    await stack.waitForIdle();
    expect(summary!.ingestAudit).toMatchObject({ missing: 1 });
    expect((await rows("offers")).filter((row) => row.account === "lost")).toEqual([{ account: "lost", offer_id: "1" }]);
  });

  it("copies a file in multipart parts across invocations, and drops the upload of a version overwritten midway", async () => {
    // 70 rows of 100 KB: a copy past S3's 5 MiB part minimum.
    const big = (tag: string) => Array.from({ length: 70 }, (_, i) => JSON.stringify({ id: `big-${i}`, tag, blob: "b".repeat(100_000) })).join("\n");
    await put("events/big.jsonl", big("v1"));
    await stack.waitForIdle();
    const copy = await stack.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "copies/events/big.jsonl" }));
    expect((await copy.Body!.transformToString()).trim().split("\n")).toHaveLength(70);

    // One invocation that runs out of time at its first safe point: the copy's first part.
    const ingestion = stack.ingestion!;
    const record = await ingestion.store.get(bucket, "events/big.jsonl");
    const paused = await ingestion.ingester.run(
      { kind: "ingest", bucket, key: "events/big.jsonl", version: record!.version, cause: "operator", again: true },
      { remainingMs: () => -1 },
    );
    expect(paused).toMatchObject({
      outcome: "continuing",
      record: { checkpoint: { phase: "writing", copy: { parts: [expect.objectContaining({ PartNumber: 1 })] } } },
    });
    // Overwritten before it continues: the new version's ingestion drops the old upload and copies anew.
    await put("events/big.jsonl", big("v2"));
    await stack.waitForIdle();
    const replaced = await stack.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "copies/events/big.jsonl" }));
    const lines = (await replaced.Body!.transformToString())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { tag: string });
    expect(new Set(lines.map((line) => line.tag))).toEqual(new Set(["v2"]));
    expect(await ingestion.store.get(bucket, "events/big.jsonl")).toMatchObject({ status: "succeeded", rowsWritten: 70 });
  });
});
