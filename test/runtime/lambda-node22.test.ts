/**
 * The Lambda bundles as deployed (infra/bundle.ts builds the same archive `pulumi up` ships),
 * run under Node 22 (Lambda's nodejs22.x) against the emulators: these machines run Node 20,
 * and the AWS SDK requires Node 22 in versions published from January 2027. The bundles reach
 * the emulators only through AWS_ENDPOINT_URL_*, as they would reach AWS with none set.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_FILE, bundleFunction } from "../../infra/bundle.js";
import { createDocumentClient, createTableInput, Ledger } from "../../ledger/index.js";
import { createLocalClients, type LocalClients } from "../../local/clients.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../local/dynamodb-local.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";
import { createQueueWithDlq } from "../../local/queues.js";
import { NODE22 } from "../support/node22.js";
import { runCommand } from "../support/run.js";
import { del, put, sqsEventFromMessages, sqsEventOf } from "../support/events.js";
import { CLI } from "../support/cli.js";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { IngestionStore } from "../../ingest/ingestion-store.js";
import { createRowTableInput } from "../../ingest/row-table.js";
import { resolveIngestRules } from "../../ingest/rules.js";

let dynamodb: DynamoDbLocal;
let aws: S3SqsEmulator;
let clients: LocalClients;
let directory: string;
let ledger: Ledger;
const tableName = "ledger-node22";
const bucket = "node22-bucket";

beforeAll(async () => {
  [dynamodb, aws] = await Promise.all([startDynamoDbLocal(), startS3SqsEmulator({ region: LOCAL_REGION })]);
  clients = createLocalClients({ s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint });
  await clients.dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  ledger = new Ledger({ tableName, documentClient: createDocumentClient(clients.dynamodb) });
  directory = await mkdtemp(join(tmpdir(), "bucket-ledger-node22-"));
  // The driver does what the nodejs22.x runtime does with `index.handler`: import, then invoke.
  await writeFile(
    join(directory, "invoke.mjs"),
    // Its logs go to stdout, as in Lambda; the result goes to a file.
    `import { writeFileSync } from "node:fs";
const [bundle, event, out] = process.argv.slice(2);
const { handler } = await import(bundle);
const context = { getRemainingTimeInMillis: () => 60_000, functionName: "local", awsRequestId: "local" };
const result = await handler(JSON.parse(event), context);
writeFileSync(out, JSON.stringify({ node: process.version, result: result ?? null }));`,
  );
}, 120_000);

afterAll(async () => {
  for (const client of Object.values(clients ?? {})) client.destroy();
  await Promise.all([dynamodb?.stop(), aws?.stop(), directory && rm(directory, { recursive: true, force: true })]);
});

/** Builds `functions/<name>.ts` as deployed and invokes it once under Node 22. */
async function invoke(name: string, event: unknown, env: Record<string, string>): Promise<{ node: string; result: unknown }> {
  const file = join(directory, `${name}-${BUNDLE_FILE}`);
  await writeFile(file, bundleFunction(name));
  const out = join(directory, `${name}-result.json`);
  const run = await runCommand(NODE22, [join(directory, "invoke.mjs"), pathToFileURL(file).href, JSON.stringify(event), out], {
    env: {
      PATH: process.env.PATH ?? "",
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_ENDPOINT_URL_S3: aws.endpoint,
      AWS_ENDPOINT_URL_SQS: aws.endpoint,
      ...env,
    },
  });
  expect(run.code, run.stderr).toBe(0);
  expect(`${run.stderr}${run.stdout}`, `${name} under Node 22`).not.toMatch(/"level":"(ERROR|WARN)"|Warning/);
  return JSON.parse(await readFile(out, "utf8")) as { node: string; result: unknown };
}

describe("the deployed bundles under Node 22 (Lambda's nodejs22.x)", () => {
  it("tracker: applies a create, and a version delete that leaves nothing asks S3 and writes a tombstone", async () => {
    const env = { TABLE_NAME: tableName, BUCKETS: JSON.stringify([bucket]) };
    const created = await invoke("tracker", sqsEventOf(put("node22/a b.txt", "0A", 3, "etag-a", bucket)), env);
    expect(created.node).toMatch(/^v22\./);
    expect(created.result).toEqual({ batchItemFailures: [] });
    expect(await ledger.get(bucket, "node22/a b.txt", { consistentRead: true })).toMatchObject({ deleted: false, size: 3 });
    const versionDelete: SQSEvent = sqsEventOf({ ...del("node22/a b.txt", "0B", bucket), versionId: "v1" });
    expect((await invoke("tracker", versionDelete, env)).result).toEqual({ batchItemFailures: [] });
    expect(await ledger.get(bucket, "node22/a b.txt", { consistentRead: true })).toMatchObject({ deleted: true });
  });

  it("reconcile: plans a run on the schedule's event, then its task from the queue repairs the ledger", async () => {
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "node22/only-in-s3.txt", Body: "hello" }));
    const tasks = await createQueueWithDlq(clients.sqs, "node22-tasks", 60, 3);
    const env = { TABLE_NAME: tableName, BUCKETS: JSON.stringify([bucket]), TASK_QUEUE_URL: tasks.queueUrl, TASKS_PER_RUN: "1" };
    const planned = await invoke("reconcile", { source: "schedule" }, env);
    expect(planned.result).toMatchObject({ planned: [{ bucket, tasks: 1 }] });
    const { Messages = [] } = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: tasks.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(Messages).toHaveLength(1);
    const taskEvent = sqsEventFromMessages(Messages, tasks.queueArn);
    expect((await invoke("reconcile", taskEvent, env)).result).toEqual({ batchItemFailures: [] });
    expect(await ledger.get(bucket, "node22/only-in-s3.txt", { consistentRead: true })).toMatchObject({ deleted: false, size: 5, cause: "Reconcile:Missing" });
  });

  it("api: answers GET /buckets/{bucket}/object?key= as an HTTP API invokes it", async () => {
    const key = "node22/a b.txt";
    const event = {
      version: "2.0",
      routeKey: "GET /buckets/{bucket}/object",
      rawPath: `/buckets/${bucket}/object`,
      rawQueryString: `key=${encodeURIComponent(key)}`,
      queryStringParameters: { key },
      headers: {},
      isBase64Encoded: false,
      requestContext: { http: { method: "GET", path: `/buckets/${bucket}/object`, protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "test" } },
    };
    const response = (await invoke("api", event, { TABLE_NAME: tableName, BUCKETS: JSON.stringify([bucket]) })).result as { statusCode: number; body: string };
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ bucket, key, deleted: true });
  });
});

describe("row ingestion's bundles under Node 22", () => {
  it("tracker asks for the ingestion of a covered file on the FIFO queue; ingest writes its rows and records it", async () => {
    const rowTable = "rows-node22";
    const [rule] = resolveIngestRules([{ name: "node22", bucket, pattern: "rows/*.csv", format: "csv", partitionKey: "id", table: rowTable }]);
    await clients.dynamodb.send(new CreateTableCommand(createRowTableInput(rule!, rowTable)));
    const queue = await createQueueWithDlq(clients.sqs, "node22-ingest", 60, 3, { fifo: true });
    const put1 = await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "rows/r.csv", Body: "id,name\n1,one\n2,two\n" }));
    const etag = put1.ETag!.replaceAll('"', "");
    const env = { TABLE_NAME: tableName, BUCKETS: JSON.stringify([bucket]), INGEST_RULES: JSON.stringify([rule]), INGEST_QUEUE_URL: queue.queueUrl };
    // Now, not the fixture's default time: older than the reconciliation above, the create would be refused as predating it.
    const event = { ...put("rows/r.csv", "0C", 20, etag, bucket), eventTime: new Date().toISOString() };
    expect((await invoke("tracker", sqsEventOf(event), env)).result).toEqual({ batchItemFailures: [] });
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ["All"] }),
    );
    expect(Messages.map((message) => JSON.parse(message.Body!) as unknown)).toEqual([
      expect.objectContaining({ kind: "ingest", key: "rows/r.csv", version: etag }),
    ]);
    const ingestEvent = sqsEventFromMessages(Messages, queue.queueArn);
    expect(ingestEvent.Records[0]!.attributes.MessageGroupId).toBeDefined();
    expect((await invoke("ingest", ingestEvent, env)).result).toEqual({ batchItemFailures: [] });
    const { Items = [] } = await createDocumentClient(clients.dynamodb).send(new ScanCommand({ TableName: rowTable }));
    expect(Items.map((item) => item.name).sort()).toEqual(["one", "two"]);
    const store = new IngestionStore(createDocumentClient(clients.dynamodb), tableName, 86_400);
    expect(await store.get(bucket, "rows/r.csv")).toMatchObject({ status: "succeeded", rowsWritten: 2, version: etag });
  });
});

describe("the README's commands under Node 22", () => {
  it("runs the demo end to end and exits 0", async () => {
    const run = await runCommand(NODE22, [CLI, "demo"], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.length).toBeGreaterThan(0);
    // "Who deleted this?", answered by the journal with the requester the local S3 names.
    expect(run.stdout).toMatch(/Who deleted percent\/100%\.txt\?[^\n]*\n.*\n.*ObjectCreated:Put.*\n.*ObjectRemoved:Delete\s+deleted\s+AWS:LOCAL\b/);
  }, 120_000);
});
