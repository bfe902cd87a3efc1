/**
 * `bucket-ledger dev --stack <name>` runs what the stack deploys: its Pulumi.<name>.yaml's
 * enrichment, journal, ingestion rules and reconciliation settings each take effect in the
 * local stack, keys without local meaning are said once, and what `pulumi up` would refuse,
 * dev refuses before anything starts.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, expect, it } from "vitest";
import { createdTableName } from "../../ingest/row-table.js";
import { createDocumentClient, journalPartitionKey, ledgerTable } from "../../ledger/index.js";
import { createLocalClients } from "../../local/clients.js";
import { localStackInfoSchema } from "../../local/dev-file.js";
import { CLI, ndjson, runCli, spawnUntilReady } from "../support/cli.js";

const workdirs: string[] = [];
afterAll(async () => {
  await Promise.all(workdirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function workdirWith(stackFile: string): Promise<string> {
  const workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-dev-stack-"));
  workdirs.push(workdir);
  await writeFile(join(workdir, "Pulumi.yaml"), "name: bucket-ledger\nruntime: nodejs\n");
  await writeFile(join(workdir, "Pulumi.local.yaml"), stackFile);
  return workdir;
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const DAY_SECONDS = 86_400;

it("runs with the stack's enrichment, journal, ingestion rules and reconciliation settings", async () => {
  const workdir = await workdirWith(
    [
      "config:",
      "  aws:region: eu-west-1",
      "  bucket-ledger:bucketName: photos",
      "  bucket-ledger:enrich:",
      "    - contentType",
      '  bucket-ledger:historyDays: "3"',
      '  bucket-ledger:reconcileTasksPerRun: "3"',
      "  bucket-ledger:alarmEmail: ops@example.com",
      "  bucket-ledger:ingestRules:",
      // The IAM contract deploys the local tests' rules (test/support/ingest-rules.ts): this is
      // the first of them, so what its ingestion calls is checked against the ingest role.
      "    - name: offers",
      "      bucket: photos",
      '      pattern: "imports/*.csv"',
      "      format: csv",
      "      partitionKey: account",
      "      sortKey: offer_id",
      "",
    ].join("\n"),
  );
  const {
    child,
    ready: readyLine,
    exited,
    stderr: stderrOf,
  } = spawnUntilReady(process.execPath, [CLI, "dev", "--stack", "local", "--reconcile-every", "2s"], {
    cwd: workdir,
  });
  try {
    const firstLine = await readyLine;
    const ready = localStackInfoSchema.parse(JSON.parse(firstLine));
    // The stack's bucket, not dev's default; its ingestion rule, with its table.
    expect(ready.buckets).toEqual(["photos"]);
    expect(ready.ingestRules?.map((rule) => rule.name)).toEqual(["offers"]);
    // Said once, whatever the output: nothing the stack sets is dropped silently.
    expect(stderrOf()).toContain("stack configuration Pulumi.local.yaml: not used locally:\n");
    expect(stderrOf()).toContain("  aws:region: configuration of aws, not of bucket-ledger\n");
    expect(stderrOf()).toContain("  alarmEmail: there are no alarms locally\n");

    const clients = createLocalClients(ready.endpoints, ready.region);
    await clients.s3.send(new PutObjectCommand({ Bucket: "photos", Key: "a.png", Body: "png", ContentType: "image/png" }));
    await clients.s3.send(new PutObjectCommand({ Bucket: "photos", Key: "imports/r.csv", Body: "account,offer_id,colour\na1,o1,red\na1,o2,blue\n" }));

    // enrich: [contentType]: the tracker asked S3 for it and recorded it.
    const got = await eventually(
      () => runCli(["get", "photos", "a.png", "--local", "--json", "--consistent"], { cwd: workdir }),
      (result) => result.code === 0,
    );
    expect(JSON.parse(got.stdout)).toMatchObject({ key: "a.png", contentType: "image/png" });

    // historyDays: 3: the journal keeps the change, for three days (not the default 90).
    const history = await runCli(["history", "photos", "a.png", "--local", "--json"], { cwd: workdir });
    expect(history.code).toBe(0);
    expect((JSON.parse(history.stdout) as { entries: unknown[] }).entries).toHaveLength(1);
    const documentClient = createDocumentClient(clients.dynamodb);
    const { Items: journal = [] } = await documentClient.send(
      new QueryCommand({
        TableName: ready.tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": ledgerTable.partitionKey },
        ExpressionAttributeValues: { ":pk": journalPartitionKey("photos", "a.png") },
        ConsistentRead: true,
      }),
    );
    const expiries = journal.map((item) => item[ledgerTable.ttlAttribute] as number);
    expect(expiries.length).toBeGreaterThan(0);
    for (const expiry of expiries) expect(Math.abs(expiry - (Date.now() / 1000 + 3 * DAY_SECONDS))).toBeLessThan(3600);

    // ingestRules: the file's rows are in the rule's table.
    const rows = await eventually(
      async () => (await documentClient.send(new ScanCommand({ TableName: createdTableName({ name: "offers" }), ConsistentRead: true }))).Items ?? [],
      (items) => items.length === 2,
    );
    expect(rows.map((row) => row.offer_id).sort()).toEqual(["o1", "o2"]);

    // reconcileTasksPerRun: 3: dev's scheduled runs are split into at most three tasks (the local default is 4).
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => clients.s3.send(new PutObjectCommand({ Bucket: "photos", Key: `spread/${String(i).padStart(2, "0")}`, Body: "x" }))),
    );
    const tasksOf = async () =>
      ndjson((await runCli(["runs", "photos", "--local", "--json"], { cwd: workdir })).stdout)
        .filter((run) => run.status === "succeeded")
        .map((run) => run.tasks as number);
    const tasks = await eventually(tasksOf, (counts) => counts.includes(3));
    expect(Math.max(...tasks)).toBe(3);
    for (const client of Object.values(clients)) client.destroy();
  } finally {
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  }
}, 180_000);

it("refuses what pulumi up would refuse, every problem named, before anything starts (exit 2)", async () => {
  const workdir = await workdirWith(
    [
      "config:",
      "  bucket-ledger:enrich:",
      "    - colour",
      '  bucket-ledger:historyDays: "thirty"',
      "  bucket-ledger:reconcileMaxDeletePercent: 250",
      "  bucket-ledger:enrichment: []",
      "  bucket-ledger:origin:",
      "    secure: v1:AAAA",
      "",
    ].join("\n"),
  );
  const result = await runCli(["dev", "--stack", "local"], { cwd: workdir });
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
  expect(result.stderr).toContain("stack configuration Pulumi.local.yaml: 5 problems:");
  expect(result.stderr).toContain("- bucket-ledger:enrichment: not a configuration key of bucket-ledger");
  expect(result.stderr).toContain("- bucket-ledger:origin: a secret (secure:), which dev cannot decrypt");
  expect(result.stderr).toContain('- config historyDays: expected an integer, got "thirty"');
  expect(result.stderr).toMatch(/^- config enrich \(enrich\.0\): /m);
  expect(result.stderr).toMatch(/^- config reconcileMaxDeletePercent \(reconcile\.maxDeleteFraction\): /m);

  const missing = await runCli(["dev", "--stack", "prod"], { cwd: workdir });
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("stack configuration Pulumi.prod.yaml: cannot be read");
});
