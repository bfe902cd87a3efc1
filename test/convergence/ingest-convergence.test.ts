/**
 * The convergence property of row ingestion (issue 13): random uploads, overwrites and deletes
 * of covered CSV files, their S3 events and their ingestion requests dropped, duplicated and
 * reordered, reconciliation (with its ingestion audit) at random points. After the last event
 * and one more reconciliation, the target table holds exactly the rows of the files the bucket
 * holds, each row from the current version of its file.
 *
 * Real parts throughout: the S3 emulator and its notifications, the tracker's and the ingestion
 * function's SQS handlers, DynamoDB Local, the reconciliation engine. Only the two queues are
 * replaced by generated delivery schedules, so that fast-check chooses every interleaving and a
 * failure shrinks to a short history. FIFO's one-at-a-time delivery per file is kept: ingestion
 * requests are handed over one batch at a time.
 *
 * Replay: CONVERGENCE_SEED=<seed> CONVERGENCE_PATH=<path> npx vitest run test/convergence/ingest-convergence.test.ts
 */
import { randomUUID } from "node:crypto";
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSEvent } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDocumentClient, type Ledger } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { s3NotificationBody } from "../../local/s3-notifier.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";
import { reconcileBucket } from "../../reconcile/in-process.js";
import { listObjectsSource } from "../../reconcile/source.js";
import { createTrackerHandler, type TrackerHandler } from "../../tracker/handler.js";
import { s3ObjectLookup } from "../../s3/object-lookup.js";
import { auditIngestions } from "../../ingest/audit.js";
import type { IngestQueue } from "../../ingest/ingest-queue.js";
import { messageGroupOf, type IngestRequestInput } from "../../ingest/request.js";
import { createRowTableInput, sourceUriOf } from "../../ingest/row-table.js";
import { resolveIngestRules, type IngestRule } from "../../ingest/rules.js";
import { createIngestHandler } from "../../ingest/handler.js";
import { Ingester } from "../../ingest/ingester.js";
import { IngestionStore } from "../../ingest/ingestion-store.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { fifoRecord, sqsRecord } from "../support/events.js";

const FILES = ["imports/a.csv", "imports/b c+d.csv", "imports/日本.csv"];
const RUNS = Number(process.env.CONVERGENCE_RUNS ?? 40);

type Fate = "deliver" | "drop" | "duplicate";
type Step =
  /** Writes a file of these rows (row key, value): repeated keys are allowed (the last one wins). */
  | { op: "put"; file: number; rows: [number, number][] }
  | { op: "delete"; file: number }
  | { op: "deliverEvents"; picks: number[] }
  | { op: "deliverRequests"; picks: number[] }
  | { op: "reconcile" };

const fileIndex = fc.nat({ max: FILES.length - 1 });
const picks = fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 4 });
const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("put" as const),
      file: fileIndex,
      rows: fc.array(fc.tuple(fc.nat({ max: 5 }), fc.nat({ max: 3 })), { maxLength: 6 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), file: fileIndex }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("deliverEvents" as const), picks }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("deliverRequests" as const), picks }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reconcile" as const) }) },
);
const fateArbitrary: fc.Arbitrary<Fate> = fc.oneof(
  { weight: 6, arbitrary: fc.constant("deliver" as const) },
  { weight: 2, arbitrary: fc.constant("drop" as const) },
  { weight: 2, arbitrary: fc.constant("duplicate" as const) },
);
const caseArbitrary = fc.record({
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 20 }),
  eventFates: fc.array(fateArbitrary, { minLength: 1, maxLength: 8 }),
  requestFates: fc.array(fateArbitrary, { minLength: 1, maxLength: 8 }),
});
type Case = typeof caseArbitrary extends fc.Arbitrary<infer T> ? T : never;

let dynamodb: TestDynamoDb;
let emulator: S3SqsEmulator;
let s3: S3Client;
let captured: { bucket: string; body: string }[] = [];

beforeAll(async () => {
  [dynamodb, emulator] = await Promise.all([startTestDynamoDb(), startS3SqsEmulator({ region: LOCAL_REGION })]);
  s3 = new S3Client({ region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint, forcePathStyle: true });
  emulator.onCommit((commit) => captured.push({ bucket: commit.bucket, body: s3NotificationBody(commit, LOCAL_REGION) }));
});
afterAll(async () => {
  s3?.destroy();
  await Promise.all([dynamodb?.stop(), emulator?.stop()]);
});

function sqsEvent(bodies: { body: string; group?: string }[]): SQSEvent {
  return { Records: bodies.map(({ body, group }) => (group === undefined ? sqsRecord(body) : fifoRecord(body, group))) };
}

const csvOf = (file: number, rows: [number, number][]) => ["id,value", ...rows.map(([key, value]) => `f${file}-k${key},v${value}`)].join("\n");

/** The rows the bucket's files hold now: what the table must equal. */
async function expectedRows(bucket: string): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const { Key } of Contents) {
    if (!FILES.includes(Key!)) continue;
    const text = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body!.transformToString();
    for (const line of text.split("\n").slice(1)) {
      const [id, value] = line.split(",");
      if (id) rows.set(id, value!);
    }
  }
  return rows;
}

async function runCase(input: Case): Promise<void> {
  const bucket = `iconv-${randomUUID().slice(0, 12)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const ledger: Ledger = await dynamodb.createLedger();
  const documentClient = createDocumentClient(dynamodb.client);
  const [rule] = resolveIngestRules([
    { name: "rows", bucket, pattern: "imports/*.csv", format: "csv", partitionKey: "id", table: `rows-${randomUUID().slice(0, 8)}` },
  ]) as [IngestRule];
  await documentClient.send(new CreateTableCommand(createRowTableInput(rule, rule.table!)));

  let eventCount = 0;
  let requestCount = 0;
  const pendingEvents: string[] = [];
  const pendingRequests: IngestRequestInput[] = [];
  let lossless = false;
  const queue: IngestQueue = {
    async send(requests) {
      for (const request of requests) {
        const fate = lossless ? "deliver" : input.requestFates[requestCount++ % input.requestFates.length]!;
        if (fate !== "drop") pendingRequests.push(request);
        if (fate === "duplicate") pendingRequests.push(request);
      }
    },
  };
  const logger = new Logger({ logLevel: "SILENT" });
  const tracker: TrackerHandler = createTrackerHandler({ ledger, lookup: s3ObjectLookup(s3), logger, concurrency: 8, ingestion: { rules: [rule], queue } });
  const store = new IngestionStore(documentClient, ledger.tableName, 86_400);
  const ingester = new Ingester({ s3, documentClient, ledger, store, rules: [rule] });
  // Continuations join the same schedule, never dropped (a lost one is the audit's "stuck" case).
  const handler = createIngestHandler({ ingester, queue: { send: async (requests) => void pendingRequests.push(...requests) }, logger, stopMarginMs: 0 });

  const enqueueCommits = () => {
    const commits = captured.filter((commit) => commit.bucket === bucket);
    captured = captured.filter((commit) => commit.bucket !== bucket);
    for (const { body } of commits) {
      const fate = input.eventFates[eventCount++ % input.eventFates.length]!;
      if (fate !== "drop") pendingEvents.push(body);
      if (fate === "duplicate") pendingEvents.push(body);
    }
  };
  const take = <T>(pending: T[], order: number[]) => order.flatMap((pick) => (pending.length > 0 ? pending.splice(pick % pending.length, 1) : []));
  const deliverEvents = async (order: number[]) => {
    enqueueCommits();
    const bodies = take(pendingEvents, order);
    if (bodies.length > 0) expect((await tracker(sqsEvent(bodies.map((body) => ({ body }))))).batchItemFailures).toEqual([]);
  };
  const deliverRequests = async (order: number[]) => {
    const requests = take(pendingRequests, order);
    if (requests.length === 0) return;
    const response = await handler(
      sqsEvent(requests.map((request) => ({ body: JSON.stringify(request), group: messageGroupOf(request.bucket, request.key) }))),
    );
    expect(response.batchItemFailures).toEqual([]);
  };
  const reconcile = async () => {
    enqueueCommits();
    const summary = await reconcileBucket({ ledger, bucket, source: listObjectsSource({ s3, bucket, ordered: false }), force: true });
    await auditIngestions({ ledger, queue, rules: [rule], bucket, runId: summary.snapshotTime });
  };

  for (const step of input.steps) {
    switch (step.op) {
      case "put":
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: FILES[step.file], Body: csvOf(step.file, step.rows) }));
        break;
      case "delete":
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: FILES[step.file] }));
        break;
      case "deliverEvents":
        await deliverEvents(step.picks);
        break;
      case "deliverRequests":
        await deliverRequests(step.picks);
        break;
      case "reconcile":
        await reconcile();
        break;
    }
  }
  // The last events arrive (or are lost); then one reconciliation, and the queue drains.
  enqueueCommits();
  while (pendingEvents.length > 0) await deliverEvents([0]);
  while (pendingRequests.length > 0) await deliverRequests([0]);
  lossless = true;
  await reconcile();
  while (pendingRequests.length > 0) await deliverRequests([0]);

  const { Items = [] } = await documentClient.send(new ScanCommand({ TableName: rule.table!, ConsistentRead: true }));
  const actual = new Map(Items.map((item) => [item.id as string, item.value as string]));
  expect(actual).toEqual(await expectedRows(bucket));
  // Every row names the current version of the file it came from.
  for (const item of Items) {
    const key = sourceUriOf(item._source as string).slice(`s3://${bucket}/`.length);
    const current = await ledger.get(bucket, key, { consistentRead: true });
    expect(current && !current.deleted && item._version === current.etag, `${item.id as string} is from the current version of ${key}`).toBe(true);
  }
}

it("the target table converges to the rows of the files the bucket holds", { timeout: 600_000 }, async () => {
  const seed = process.env.CONVERGENCE_SEED === undefined ? undefined : Number(process.env.CONVERGENCE_SEED);
  await fc.assert(fc.asyncProperty(caseArbitrary, runCase), {
    numRuns: RUNS,
    ...(seed !== undefined && { seed }),
    ...(process.env.CONVERGENCE_PATH !== undefined && { path: process.env.CONVERGENCE_PATH }),
  });
});
