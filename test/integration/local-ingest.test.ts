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
import { createdTableName } from "../../ingest/ingester.js";
import { ndjson, runCli } from "../support/cli.js";

const bucket = "ingest-local";
let stack: LocalStack;
let workdir: string;

beforeAll(async () => {
  stack = await LocalStack.start({
    buckets: [bucket],
    logLevel: "SILENT",
    reconcileTasks: 2,
    ingestRules: [
      { name: "offers", bucket, pattern: "imports/*.csv", format: "csv", partitionKey: "account", sortKey: "offer_id", types: { price: "number" } },
      { name: "events", bucket, pattern: "events/*.jsonl", format: "jsonl", partitionKey: "id", onDelete: "keep" },
    ],
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
    await put("imports/again.csv", "account,offer_id\na,1\nb,2\n");
    await stack.waitForIdle();
    const again = await runCli(["ingest", bucket, "imports/again.csv", "--local", "--json"], { cwd: workdir });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: "succeeded", rowsWritten: 2, attempts: 2 });

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
});
