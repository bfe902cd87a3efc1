/**
 * The convergence suite: random histories of S3 writes over a small key space with tricky keys,
 * delivered through faults (dropped, duplicated, reordered and late notifications), with
 * reconciliation runs interleaved at random points and events delivered while they list. Every
 * case runs the real code path against the emulators: S3 writes through the S3 emulator, its
 * notifications in AWS's format, the tracker's SQS batch handler, DynamoDB Local's conditional
 * writes, and the reconciliation engine listing the emulated bucket. Only the queue between
 * them is replaced by the generated delivery schedule, so that every interleaving is chosen by
 * fast-check and a failure shrinks to a short history that replays exactly.
 *
 * Each reconciliation takes one of the ways a run is driven, all one code path
 * (reconcile/reconciliation.ts): in one process on the in-memory run store
 * (`reconcileBucket`, the CLI's way), or as deployed: planned by the reconcile function's
 * schedule entry point, its range tasks travelling over an SQS queue (the emulator) to the
 * function's SQS entry point, its state in the DynamoDB run store, either with time to spare or
 * with a budget so short that every task checkpoints and continues itself after each key.
 *
 * Properties:
 *  1. once every event is delivered or dropped and a final reconciliation runs with no
 *     concurrent changes, the ledger equals the bucket (keys, sizes, ETags);
 *  2. at no point does a key's stored sequencer go below one already stored for it;
 *  3. no reconciliation tombstones an object that exists in the bucket at the end of its run.
 *
 * Replay a failure: CONVERGENCE_SEED=<seed> CONVERGENCE_PATH=<path> npx vitest run test/convergence
 * (both are printed with the shrunk counterexample). CONVERGENCE_RUNS sets the number of cases.
 */
import { randomUUID } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSEvent } from "aws-lambda";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDocumentClient, DEFAULT_RETENTION_DAYS, type Ledger } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { s3NotificationBody } from "../../local/s3-notifier.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";
import { compareLedgerWithBucket } from "../../local/verify.js";
import { reconcileBucket } from "../../reconcile/in-process.js";
import type { RunSummary } from "../../reconcile/run-summary.js";
import { buildReconcileFunction } from "../../reconcile/wiring.js";
import { declareResource, queueName } from "../../local/call-recorder.js";
import { createLocalClients } from "../../local/clients.js";
import { SqsEventSourceMapping } from "../../local/event-source-mapping.js";
import { createQueueWithDlq } from "../../local/queues.js";
import { listObjectsSource, type ObjectSource } from "../../reconcile/source.js";
import { createTrackerHandler, type TrackerHandler } from "../../tracker/handler.js";
import { s3ObjectLookup } from "../../s3/object-lookup.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";

const KEYS = ["plain.txt", "a b+c%20.txt", "日本/ファイル.txt", "emoji/😀.bin", "\uFF61half.txt", `long/${"k".repeat(1000)}`];
const RUNS = Number(process.env.CONVERGENCE_RUNS ?? 100);

type Fate = "deliver" | "drop" | "duplicate";
/** How a reconciliation is driven (see the header). */
type Via = "in-process" | "deployed" | "deployed-continuing";
const viaArbitrary: fc.Arbitrary<Via> = fc.constantFrom("in-process", "deployed", "deployed-continuing");
type Step =
  | { op: "put"; key: number; size: number }
  | { op: "copy"; from: number; to: number }
  | { op: "multipart"; key: number; size: number }
  | { op: "delete"; key: number }
  | { op: "batchDelete"; keys: number[] }
  /** Delivers pending notifications in this order (indices wrap), as one SQS batch. */
  | { op: "deliver"; picks: number[] }
  /** Reconciles, delivering `during` pending notifications while the bucket is being listed. */
  | { op: "reconcile"; during: number; via: Via };

const keyIndex = fc.nat({ max: KEYS.length - 1 });
const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("put" as const), key: keyIndex, size: fc.nat({ max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("copy" as const), from: keyIndex, to: keyIndex }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("multipart" as const), key: keyIndex, size: fc.nat({ max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), key: keyIndex }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("batchDelete" as const), keys: fc.uniqueArray(keyIndex, { minLength: 1, maxLength: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("deliver" as const), picks: fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reconcile" as const), during: fc.nat({ max: 3 }), via: viaArbitrary }) },
);
const fateArbitrary: fc.Arbitrary<Fate> = fc.oneof(
  { weight: 6, arbitrary: fc.constant("deliver" as const) },
  { weight: 2, arbitrary: fc.constant("drop" as const) },
  { weight: 2, arbitrary: fc.constant("duplicate" as const) },
);
const caseArbitrary = fc.record({
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 24 }),
  /** The fate of the n-th notification (cycled). */
  fates: fc.array(fateArbitrary, { minLength: 1, maxLength: 12 }),
  /** Order in which whatever is still pending at the end is delivered (indices wrap). */
  finalOrder: fc.array(fc.nat({ max: 20 }), { maxLength: 10 }),
  /** How the final reconciliation is driven. */
  finalVia: viaArbitrary,
});

let dynamodb: TestDynamoDb;
let emulator: S3SqsEmulator;
let s3: S3Client;
let ledger: Ledger;
let handler: TrackerHandler;
let deployed: DeployedReconciliation;
/** Reconciliations driven each way, over every generated history. */
const driven: Record<Via, number> = { "in-process": 0, deployed: 0, "deployed-continuing": 0 };
/** Notifications of the bucket under test, in commit order, until a delivery step takes them. */
let captured: { bucket: string; body: string }[] = [];

beforeAll(async () => {
  [dynamodb, emulator] = await Promise.all([startTestDynamoDb(), startS3SqsEmulator({ region: LOCAL_REGION })]);
  s3 = new S3Client({ region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint, forcePathStyle: true });
  emulator.onCommit((commit) => captured.push({ bucket: commit.bucket, body: s3NotificationBody(commit, LOCAL_REGION) }));
  ledger = await dynamodb.createLedger();
  handler = createTrackerHandler({ ledger, lookup: s3ObjectLookup(s3), logger: new Logger({ logLevel: "SILENT" }), concurrency: 8 });
  deployed = await deployReconciliation();
});
afterAll(async () => {
  await deployed?.stop();
  s3?.destroy();
  await Promise.all([dynamodb?.stop(), emulator?.stop()]);
});

interface DeployedReconciliation {
  /** Plans a run of the bucket as the schedule does and waits for its tasks to finish it. */
  reconcile(bucket: string, wrap: (source: ObjectSource) => ObjectSource, continuing: boolean): Promise<RunSummary>;
  stop(): Promise<void>;
}

/**
 * The reconcile function as deployed: its wiring, a task queue with a DLQ on the SQS emulator,
 * and pollers invoking its SQS entry point as Lambda's event source mapping does. Its clients
 * are the function role's, so what it calls is checked against its IAM policy.
 */
async function deployReconciliation(): Promise<DeployedReconciliation> {
  const role = createLocalClients({ s3: emulator.endpoint, sqs: emulator.endpoint, dynamodb: dynamodb.emulator.endpoint }, LOCAL_REGION, "reconcile");
  const leaseMarginMs = 1_000;
  // Made by the stack, not by the function: created with clients of no role.
  const setup = createLocalClients({ s3: emulator.endpoint, sqs: emulator.endpoint, dynamodb: dynamodb.emulator.endpoint }, LOCAL_REGION);
  const queue = await createQueueWithDlq(setup.sqs, `convergence-tasks-${randomUUID().slice(0, 8)}`, 30, 3);
  for (const client of Object.values(setup)) client.destroy();
  declareResource("queue", queueName(queue.queueUrl), "taskQueue");
  const finished = new Map<string, RunSummary>();
  const errors: unknown[] = [];
  const run = { wrap: (source: ObjectSource) => source };
  const settings = { tasksPerRun: 3, maxDeleteFraction: 0.1, staleAfterMs: 60_000, writeConcurrency: 4, reserveMs: 0, checkpointIntervalMs: 0, leaseMarginMs };
  const build = (localBudgetMs: number) =>
    buildReconcileFunction({
      clients: { s3: role.s3, sqs: role.sqs, documentClient: createDocumentClient(role.dynamodb) },
      tableName: ledger.tableName,
      retentionDays: DEFAULT_RETENTION_DAYS,
      taskQueueUrl: queue.queueUrl,
      buckets: [],
      settings: { ...settings, localBudgetMs },
      logger: new Logger({ logLevel: "SILENT" }),
      onRunFinished: (summary) => void finished.set(summary.runId, summary),
      wrapSource: (source) => run.wrap(source),
    });
  // One function with time to spare, one whose every task runs out of time after a key.
  const functions = { roomy: build(20_000), continuing: build(1) };
  let current = functions.roomy;
  const mapping = new SqsEventSourceMapping({
    sqs: role.sqs,
    queueUrl: queue.queueUrl,
    queueArn: queue.queueArn,
    region: LOCAL_REGION,
    handler: (event) => current.runTasks(event),
    batchSize: 1,
    concurrency: 2,
    onError: (error) => errors.push(error),
  });
  mapping.start();
  return {
    async reconcile(bucket, wrap, continuing) {
      run.wrap = wrap;
      current = continuing ? functions.continuing : functions.roomy;
      const { planned } = await current.planRuns({ source: "schedule", buckets: [bucket], force: true });
      const runId = planned[0]!.runId;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const summary = finished.get(runId);
        if (summary) return summary;
        if (errors.length > 0) throw errors[0];
        if (Date.now() > deadline) throw new Error(`run ${runId} did not finish: ${JSON.stringify(await current.runs.getRun(bucket, runId))}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      await mapping.stop();
      for (const client of Object.values(role)) client.destroy();
    },
  };
}

function sqsEvent(bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body) => ({
      messageId: randomUUID(),
      receiptHandle: "r",
      body,
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now()), SenderId: "S3", ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:events",
      awsRegion: LOCAL_REGION,
    })),
  };
}

type Case = typeof caseArbitrary extends fc.Arbitrary<infer T> ? T : never;

async function runCase(input: Case): Promise<void> {
  const bucket = `conv-${randomUUID().slice(0, 12)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  let notification = 0;
  const pending: string[] = [];
  /** Applies faults to what S3 committed since the last look: the queue as S3 fills it. */
  const enqueueCommits = () => {
    const commits = captured.filter((commit) => commit.bucket === bucket);
    captured = captured.filter((commit) => commit.bucket !== bucket);
    for (const { body } of commits) {
      const fate = input.fates[notification++ % input.fates.length]!;
      if (fate !== "drop") pending.push(body);
      if (fate === "duplicate") pending.push(body);
    }
  };
  const deliver = async (picks: number[]) => {
    const bodies: string[] = [];
    for (const pick of picks) if (pending.length > 0) bodies.push(pending.splice(pick % pending.length, 1)[0]!);
    if (bodies.length === 0) return;
    const response = await handler(sqsEvent(bodies));
    expect(response.batchItemFailures, "a delivered notification failed").toEqual([]);
  };

  const highWater = new Map<string, string>();
  const checkNeverBackwards = async () => {
    for (const key of KEYS) {
      const record = await ledger.get(bucket, key, { consistentRead: true });
      if (record?.sequencer === undefined) continue;
      const previous = highWater.get(key);
      if (previous !== undefined)
        expect(record.sequencer >= previous, `property 2: ${key} went back from sequencer ${previous} to ${record.sequencer}`).toBe(true);
      if (previous === undefined || record.sequencer > previous) highWater.set(key, record.sequencer);
    }
  };

  const reconcile = async (during: number, via: Via) => {
    let delivered = false;
    /** Delivers `during` notifications when the first object has been listed. */
    const delivering = (listing: ObjectSource): ObjectSource => ({
      ...listing,
      async *objects(range) {
        for await (const object of listing.objects(range)) {
          if (!delivered) {
            delivered = true;
            await deliver(Array.from({ length: during }, () => 0));
          }
          yield object;
        }
      },
    });
    const started = new Date();
    driven[via]++;
    if (via === "in-process") await reconcileBucket({ ledger, bucket, source: delivering(listObjectsSource({ s3, bucket, ordered: false })), force: true });
    else expect(await deployed.reconcile(bucket, delivering, via === "deployed-continuing")).toMatchObject({ status: "succeeded" });
    // Property 3: nothing the bucket holds was tombstoned by this run (S3 did not change during it).
    const listed = await compareLedgerWithBucket(ledger, s3, bucket);
    const inBucket = new Set([...listed.missing, ...listed.different, ...(await liveKeys(bucket))]);
    for (const key of inBucket) {
      const record = await ledger.get(bucket, key, { consistentRead: true });
      const tombstonedByRun = record?.deleted && record.cause === "Reconcile:Orphaned" && record.recordedAt >= started.toISOString();
      expect(tombstonedByRun, `property 3: the run tombstoned ${key}, which the bucket holds`).toBeFalsy();
    }
  };

  for (const step of input.steps) {
    const key = (index: number) => KEYS[index]!;
    switch (step.op) {
      case "put":
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key(step.key), Body: new Uint8Array(step.size).fill(120) }));
        break;
      case "copy":
        await s3
          .send(new CopyObjectCommand({ Bucket: bucket, Key: key(step.to), CopySource: `${bucket}/${encodeURIComponent(key(step.from))}` }))
          .catch((error: Error) => {
            if (error.name !== "NoSuchKey" && error.name !== "InvalidRequest") throw error; // copying nothing, or onto itself
          });
        break;
      case "multipart": {
        const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key(step.key) }));
        const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key(step.key), UploadId, PartNumber: 1, Body: "m".repeat(step.size + 1) }));
        await s3.send(
          new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key(step.key), UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }),
        );
        break;
      }
      case "delete":
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(step.key) }));
        break;
      case "batchDelete":
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: step.keys.map((index: number) => ({ Key: key(index) })) } }));
        break;
      case "deliver":
        enqueueCommits();
        await deliver(step.picks);
        break;
      case "reconcile":
        enqueueCommits();
        await reconcile(step.during, step.via);
        break;
    }
    await checkNeverBackwards();
  }

  // Everything still queued arrives, in the generated order, then the last reconciliation.
  enqueueCommits();
  await deliver(input.finalOrder);
  while (pending.length > 0) await deliver([pending.length - 1]);
  await checkNeverBackwards();
  await reconcile(0, input.finalVia);
  await checkNeverBackwards();
  const final = await compareLedgerWithBucket(ledger, s3, bucket);
  expect(final, "property 1: after the final reconciliation the ledger equals the bucket").toMatchObject({
    missing: [],
    extra: [],
    different: [],
    matches: true,
  });
}

async function liveKeys(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  const { paginateListObjectsV2 } = await import("@aws-sdk/client-s3");
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket })) for (const object of page.Contents ?? []) keys.push(object.Key!);
  return keys;
}

it(`converges to the bucket under dropped, duplicated and reordered events and interleaved reconciliation (${RUNS} generated histories)`, async () => {
  await fc.assert(fc.asyncProperty(caseArbitrary, runCase), {
    numRuns: RUNS,
    ...(process.env.CONVERGENCE_SEED !== undefined && { seed: Number(process.env.CONVERGENCE_SEED) }),
    ...(process.env.CONVERGENCE_PATH !== undefined && { path: process.env.CONVERGENCE_PATH }),
    // The shrunk history is printed as plain data (steps, fates, final order), replayable as above.
    verbose: 1,
  });
  // Every final reconciliation is one of three: each way is taken in any run of some length.
  if (RUNS >= 20)
    expect(
      Object.values(driven).every((count) => count > 0),
      JSON.stringify(driven),
    ).toBe(true);
}, 600_000);
