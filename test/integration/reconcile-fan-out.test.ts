/**
 * Reconciliation as range tasks over a real SQS queue (the emulator), worked by the same
 * handler Lambda runs, against DynamoDB Local: many small tasks reach exactly what one
 * in-process pass does, a worker killed midway is resumed from its checkpoint, redelivered
 * messages count nothing twice, and the delete guard holds across tasks.
 */
import { randomUUID } from "node:crypto";
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createDocumentClient, DEFAULT_RETENTION_DAYS, type Ledger } from "../../ledger/index.js";
import { declareResource, queueName } from "../../local/call-recorder.js";
import { createLocalClients } from "../../local/clients.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { SqsEventSourceMapping } from "../../local/event-source-mapping.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";
import { createQueueWithDlq, queueDepth } from "../../local/queues.js";
import { compareLedgerWithBucket } from "../../local/verify.js";
import { reconcileBucket } from "../../reconcile/in-process.js";
import type { RunSummary } from "../../reconcile/run-summary.js";
import type { EncodingMismatch } from "../../reconcile/drift-checks.js";
import type { InventoryLocation } from "../../reconcile/inventory-source.js";
import { openRunSource } from "../../reconcile/open-source.js";
import type { KeyRange, ObjectSource } from "../../reconcile/source.js";
import { sqsTaskQueue } from "../../reconcile/task-queue.js";
import { buildReconcileFunction } from "../../reconcile/wiring.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { writeInventoryReport } from "../support/inventory.js";
import { createdAMinuteAgo } from "../support/records.js";

let dynamodb: TestDynamoDb;
let emulator: S3SqsEmulator;
let s3: S3Client;
let sqs: SQSClient;

beforeAll(async () => {
  [dynamodb, emulator] = await Promise.all([startTestDynamoDb(), startS3SqsEmulator({ region: LOCAL_REGION })]);
  const client = { region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint };
  s3 = new S3Client({ ...client, forcePathStyle: true });
  sqs = new SQSClient(client);
});
afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  await Promise.all([dynamodb?.stop(), emulator?.stop()]);
});

const DIRECTORIES = ["alpha/", "beta/", "gamma/", "delta/", "日本/", "z z/"];

/** A bucket of `perDirectory` objects in each directory, indexed exactly, then drifted. */
async function driftedBucket(ledger: Ledger, perDirectory: number) {
  const bucket = `fanout-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys = DIRECTORIES.flatMap((directory) => Array.from({ length: perDirectory }, (_, i) => `${directory}${i % 3 === 0 ? "a+b " : ""}${i}.txt`));
  await Promise.all(keys.map((key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `v1 ${key}` }))));
  await reconcileBucket({ ledger, bucket, source: await localSource(bucket) });
  // Drift the events would have carried: new objects, overwrites, and deletes the ledger missed.
  await Promise.all(DIRECTORIES.map((directory) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${directory}new.txt`, Body: "new" }))));
  await Promise.all(keys.filter((_, i) => i % 17 === 0).map((key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `v2 of ${key}` }))));
  for (const directory of DIRECTORIES) {
    await ledger.apply(createdAMinuteAgo(bucket, `${directory}deleted.txt`, "gone"));
  }
  return bucket;
}

/** The local S3 lists in byte order, as S3 does. */
const localSource = (bucket: string) =>
  openRunSource({ s3 })
    .forNewRun(bucket)
    .then(({ source }) => source);

interface HarnessOptions {
  ledger: Ledger;
  bucket: string;
  tasks: number;
  budgetMs: number;
  checkpointIntervalMs?: number;
  workers?: number;
  maxDeleteFraction?: number;
  /** Receives before a task message goes to the DLQ. */
  maxReceiveCount?: number;
  /** Wraps each task's source (fault injection). */
  wrapSource?: (source: ObjectSource) => ObjectSource;
  /** Read S3 Inventory reports from here instead of listing. */
  inventory?: InventoryLocation;
  /** Backfill mode's budget for a run (repairs/s). */
  backfillRepairsPerSecond?: number;
}

/** The task queue, the handler and local workers polling it: what Lambda + SQS do in AWS. */
async function fanOutHarness(options: HarnessOptions) {
  const leaseMarginMs = 300;
  const visibilitySeconds = Math.ceil((options.budgetMs + leaseMarginMs) / 1000) + 1;
  const queue = await createQueueWithDlq(sqs, `tasks-${randomUUID().slice(0, 8)}`, visibilitySeconds, options.maxReceiveCount ?? 5);
  declareResource("queue", queueName(queue.queueUrl), "taskQueue");
  if (options.inventory) declareResource("bucket", options.inventory.bucket, "inventoryDestination");
  // The reconcile function's own clients: what they call is checked against its IAM policy.
  const role = createLocalClients({ s3: emulator.endpoint, sqs: emulator.endpoint, dynamodb: dynamodb.emulator.endpoint }, LOCAL_REGION, "reconcile");
  const finished: RunSummary[] = [];
  const errors: unknown[] = [];
  const encodingMismatches: EncodingMismatch[] = [];
  const reconciler = buildReconcileFunction({
    clients: { s3: role.s3, sqs: role.sqs, documentClient: createDocumentClient(role.dynamodb) },
    tableName: options.ledger.tableName,
    retentionDays: DEFAULT_RETENTION_DAYS,
    taskQueueUrl: queue.queueUrl,
    buckets: [options.bucket],
    ...(options.inventory && { inventory: options.inventory }),
    settings: {
      tasksPerRun: options.tasks,
      maxDeleteFraction: options.maxDeleteFraction ?? 0.1,
      staleAfterMs: 60_000,
      writeConcurrency: 16,
      reserveMs: 0,
      localBudgetMs: options.budgetMs,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 60_000,
      leaseMarginMs,
      ...(options.backfillRepairsPerSecond !== undefined && {
        backfill: { repairsPerSecond: options.backfillRepairsPerSecond, tasksAtOnce: options.workers ?? 3 },
      }),
    },
    logger: new Logger({ logLevel: "SILENT" }),
    onRunFinished: (summary) => void finished.push(summary),
    onEncodingMismatch: (_bucket, mismatch) => void encodingMismatches.push(mismatch),
    ...(options.wrapSource && { wrapSource: options.wrapSource }),
  });
  const { runs, reconciliation } = reconciler;
  const mapping = new SqsEventSourceMapping({
    sqs: role.sqs,
    queueUrl: queue.queueUrl,
    queueArn: queue.queueArn,
    region: LOCAL_REGION,
    handler: reconciler.runTasks,
    batchSize: 1,
    concurrency: options.workers ?? 3,
    onError: (error) => errors.push(error),
  });
  mapping.start();

  const start = async (overrides: { force?: boolean } = {}) => {
    const plan = await reconciler.planRuns({ source: "schedule", ...overrides });
    return plan.planned[0]!.runId;
  };
  const waitFor = (runId: string, timeout = 60_000): Promise<RunSummary> =>
    vi.waitFor(
      async () => {
        const summary = finished.find((candidate) => candidate.runId === runId);
        if (!summary) throw new Error(`run ${runId} did not finish: ${JSON.stringify(await runs.getRun(options.bucket, runId))}`);
        return summary;
      },
      { timeout, interval: 100 },
    );
  const stop = async () => {
    await mapping.stop();
    for (const client of Object.values(role)) client.destroy();
  };
  return { runs, queue, reconciliation, start, waitFor, finished, errors, encodingMismatches, stop };
}

/**
 * The first worker to read its source dies without a word after handing on `objects` objects:
 * no last checkpoint, no lease released. Every later worker reads to the end.
 */
function dyingOnce(objects: number, opened?: KeyRange[]) {
  let killed = false;
  const wrap = (source: ObjectSource): ObjectSource => ({
    ...source,
    async *objects(range) {
      opened?.push(range ?? {});
      let handedOn = 0;
      for await (const object of source.objects(range)) {
        if (!killed && ++handedOn > objects) {
          killed = true;
          throw new Error("worker killed");
        }
        yield object;
      }
    },
  });
  return { wrap, killed: () => killed };
}

const driftCounts = (summary: { scanned: number; indexed: number; missing: number; stale: number; orphaned: number }) => ({
  scanned: summary.scanned,
  indexed: summary.indexed,
  missing: summary.missing,
  stale: summary.stale,
  orphaned: summary.orphaned,
});

describe("reconciliation fanned out over range tasks", () => {
  it("reaches exactly what one in-process pass does, with many small tasks continued across invocations", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await driftedBucket(ledger, 40);
    const expected = await reconcileBucket({ ledger, bucket, source: await localSource(bucket), dryRun: true });
    expect(expected.missing + expected.stale + expected.orphaned).toBeGreaterThan(10);

    // A budget this short makes every task hand over to its own continuation several times.
    const harness = await fanOutHarness({ ledger, bucket, tasks: 6, budgetMs: 150, checkpointIntervalMs: 50 });
    try {
      const runId = await harness.start();
      const summary = await harness.waitFor(runId);
      expect(summary.status).toBe("succeeded");
      expect(summary.tasks).toBeGreaterThan(3);
      expect(driftCounts(summary)).toEqual(driftCounts(expected));
      expect(summary.repaired).toBe(expected.missing + expected.stale + expected.orphaned);
      expect(summary.newerStateKept).toBe(0);

      const tasks = await harness.runs.listTasks(bucket, runId);
      expect(tasks.some((task) => task.attempts > 1)).toBe(true); // continuations happened
      expect(tasks.every((task) => task.scanDone)).toBe(true);
      expect(await compareLedgerWithBucket(ledger, s3, bucket)).toMatchObject({ matches: true });
      expect(await ledger.get(bucket, "alpha/deleted.txt")).toMatchObject({ deleted: true, cause: "Reconcile:Orphaned" });

      const second = await harness.waitFor(await harness.start());
      expect(second).toMatchObject({ status: "succeeded", missing: 0, stale: 0, orphaned: 0, repaired: 0 });
      expect(harness.finished.filter((finished) => finished.runId === runId)).toHaveLength(1); // reported once
    } finally {
      await harness.stop();
    }
  });

  it("lists the bucket until the first inventory report exists, and succeeds rather than paging someone", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await driftedBucket(ledger, 5);
    const destination = `inventory-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: destination }));
    const harness = await fanOutHarness({
      ledger,
      bucket,
      tasks: 2,
      budgetMs: 5_000,
      maxDeleteFraction: 1,
      inventory: { bucket: destination, prefix: "inventory", configurationId: "bucket-ledger" },
    });
    try {
      const runId = await harness.start();
      const summary = await harness.waitFor(runId);
      expect(summary).toMatchObject({ status: "succeeded", source: "list" });
      expect((await harness.runs.getRun(bucket, runId))!.source).toEqual({ kind: "list", fallback: expect.stringMatching(/no complete inventory report yet/) });
      expect(await compareLedgerWithBucket(ledger, s3, bucket)).toMatchObject({ matches: true });
    } finally {
      await harness.stop();
    }
  });

  it("reports ledger keys that are the URL-encoded form of bucket keys as a finding of their own", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await driftedBucket(ledger, 10);
    // What a tracker that forgot to decode event keys would have stored for "alpha/a+b 0.txt".
    await ledger.apply(createdAMinuteAgo(bucket, "alpha/a%2Bb+0.txt", "e"));
    const harness = await fanOutHarness({ ledger, bucket, tasks: 3, budgetMs: 5_000, maxDeleteFraction: 1 });
    try {
      const summary = await harness.waitFor(await harness.start());
      expect(summary).toMatchObject({ status: "succeeded", encodingMismatches: 1 });
      expect(harness.encodingMismatches).toEqual([{ ledgerKey: "alpha/a%2Bb+0.txt", bucketKey: "alpha/a+b 0.txt" }]);
    } finally {
      await harness.stop();
    }
  });

  it("forgets the orphans a killed worker recorded past its last checkpoint, so none is counted or tombstoned twice", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await driftedBucket(ledger, 30);
    const expected = await reconcileBucket({ ledger, bucket, source: await localSource(bucket), dryRun: true });
    expect(expected.orphaned).toBeGreaterThan(3);
    // The bucket holds 186 objects: the worker dies near the end of its range.
    const dying = dyingOnce(170);
    const harness = await fanOutHarness({
      ledger,
      bucket,
      tasks: 1,
      budgetMs: 1_000,
      maxDeleteFraction: 1,
      // No checkpoint before the worker dies: every orphan it recorded lies past the checkpoint.
      checkpointIntervalMs: 60_000,
      wrapSource: dying.wrap,
    });
    try {
      const summary = await harness.waitFor(await harness.start());
      expect(dying.killed()).toBe(true);
      // Repairs the dead worker made since its checkpoint are found in sync when the scan is
      // redone, so only the orphans (recorded, then discarded and found again) count exactly.
      expect(summary).toMatchObject({ status: "succeeded", orphaned: expected.orphaned });
      expect(await compareLedgerWithBucket(ledger, s3, bucket)).toMatchObject({ matches: true });
    } finally {
      await harness.stop();
    }
  });

  it("reconciles from an S3 Inventory report through the tasks, confirming its drift with S3", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = `fanout-${randomUUID().slice(0, 8)}`;
    const destination = `inventory-${randomUUID().slice(0, 8)}`;
    await Promise.all([bucket, destination].map((name) => s3.send(new CreateBucketCommand({ Bucket: name }))));
    const keys = ["a.txt", "b b.txt", "c+c.txt", "d/e.txt"];
    await Promise.all(keys.map((key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }))));
    const entries = await Promise.all(
      keys.map(async (key) => ({ key, size: key.length, etag: (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag!.replace(/"/g, "") })),
    );
    // An orphan of the ledger's, which S3 confirms is gone.
    await ledger.apply(createdAMinuteAgo(bucket, "listed-then-deleted.txt", "x"));
    // Deleted after the report was taken: the tracker recorded the delete, the report still lists it.
    await ledger.apply({ kind: "delete", bucket, key: "gone.txt", sequencer: "02", eventTime: new Date().toISOString(), eventName: "ObjectRemoved:Delete" });
    await writeInventoryReport(s3, {
      destinationBucket: destination,
      prefix: "inventory",
      sourceBucket: bucket,
      configurationId: "bucket-ledger",
      createdAt: new Date(Date.now() + 60_000),
      format: "CSV",
      entries: [...entries, { key: "gone.txt", size: 1, etag: "g" }],
    });
    const harness = await fanOutHarness({
      ledger,
      bucket,
      tasks: 4,
      budgetMs: 5_000,
      maxDeleteFraction: 1,
      inventory: { bucket: destination, prefix: "inventory", configurationId: "bucket-ledger" },
    });
    try {
      const summary = await harness.waitFor(await harness.start());
      expect(summary).toMatchObject({ status: "succeeded", source: "inventory", missing: 5, orphaned: 1, unconfirmed: 1 });
      expect(await compareLedgerWithBucket(ledger, s3, bucket)).toMatchObject({ matches: true });
      expect(await ledger.get(bucket, "gone.txt")).toMatchObject({ deleted: true, cause: "ObjectRemoved:Delete" });
    } finally {
      await harness.stop();
    }
  });

  it("resumes a worker killed midway from its checkpoint, and the result is exact", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await driftedBucket(ledger, 30);
    const expected = await reconcileBucket({ ledger, bucket, source: await localSource(bucket), dryRun: true });
    const openedWith: KeyRange[] = [];
    const dying = dyingOnce(50, openedWith);
    const harness = await fanOutHarness({ ledger, bucket, tasks: 1, budgetMs: 1_000, checkpointIntervalMs: 0, wrapSource: dying.wrap });
    try {
      const summary = await harness.waitFor(await harness.start());
      expect(dying.killed()).toBe(true);
      expect(summary.status).toBe("succeeded");
      expect(driftCounts(summary)).toEqual(driftCounts(expected));
      expect(await compareLedgerWithBucket(ledger, s3, bucket)).toMatchObject({ matches: true });
      // The retry started after the dead worker's last checkpoint, not from the beginning.
      expect(openedWith[0]).toEqual({});
      expect(openedWith[1]!.after).toBeDefined();
      const [task] = await harness.runs.listTasks(bucket, summary.runId);
      expect(task!.scanDone).toBe(true);
      expect(task!.attempts).toBeGreaterThanOrEqual(2);
    } finally {
      await harness.stop();
    }
  });

  it("counts nothing twice when every task message is delivered twice", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await driftedBucket(ledger, 20);
    const expected = await reconcileBucket({ ledger, bucket, source: await localSource(bucket), dryRun: true });
    const harness = await fanOutHarness({ ledger, bucket, tasks: 4, budgetMs: 2_000, workers: 4 });
    try {
      const runId = await harness.start();
      const tasks = await harness.runs.listTasks(bucket, runId);
      await sqsTaskQueue(sqs, harness.queue.queueUrl).send(tasks.map((task) => ({ bucket, runId, task: task.task, phase: "scan" })));
      const summary = await harness.waitFor(runId);
      expect(driftCounts(summary)).toEqual(driftCounts(expected));
      expect(summary.repaired + summary.newerStateKept).toBe(expected.missing + expected.stale + expected.orphaned);
      // Let the duplicates drain: they must not change the recorded run.
      await waitForEmptyQueue(harness.queue.queueUrl);
      expect(await harness.runs.getRun(bucket, runId)).toMatchObject({ status: "succeeded", tasksDone: tasks.length, counts: { scanned: expected.scanned } });
      expect(harness.finished.filter((finished) => finished.runId === runId)).toHaveLength(1);
    } finally {
      await harness.stop();
    }
  });

  it("refuses, across all tasks, a run that would tombstone more than the limit, and deletes nothing", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await driftedBucket(ledger, 4); // 6 orphans of about 30 indexed objects: 20%
    const harness = await fanOutHarness({ ledger, bucket, tasks: 6, budgetMs: 10_000 });
    try {
      const summary = await harness.waitFor(await harness.start());
      expect(summary.status).toBe("refused");
      expect(summary.reason).toMatch(/refusing to tombstone 6 of \d+ indexed objects/);
      expect(await ledger.get(bucket, "alpha/deleted.txt")).toMatchObject({ deleted: false });

      const forced = await harness.waitFor(await harness.start({ force: true }));
      expect(forced).toMatchObject({ status: "succeeded", orphaned: 6 });
      expect(await ledger.get(bucket, "alpha/deleted.txt")).toMatchObject({ deleted: true });
    } finally {
      await harness.stop();
    }
  });

  it("fails a run whose task cannot finish, deletes nothing, and lets the next run start", async () => {
    const ledger = await dynamodb.createLedger();
    const bucket = await driftedBucket(ledger, 10);
    let broken = true;
    const harness = await fanOutHarness({
      ledger,
      bucket,
      tasks: 3,
      budgetMs: 500,
      maxReceiveCount: 2,
      wrapSource: (source) => ({
        ...source,
        async *objects(range) {
          for await (const object of source.objects(range)) {
            if (broken && object.key.startsWith("beta/")) throw new Error("AccessDenied listing beta/");
            yield object;
          }
        },
      }),
    });
    try {
      const runId = await harness.start();
      // Retried up to the redrive limit, then parked in the task DLQ.
      const deadline = Date.now() + 60_000;
      while ((await queueDepth(sqs, harness.queue.dlqUrl)).visible === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await queueDepth(sqs, harness.queue.dlqUrl)).visible).toBe(1);
      expect(await harness.runs.getRun(bucket, runId)).toMatchObject({ status: "scanning" });
      expect(await ledger.get(bucket, "alpha/deleted.txt")).toMatchObject({ deleted: false });

      // The next scheduled planning finds it stalled, fails it once, and starts afresh.
      expect(await harness.reconciliation.settlePreviousRuns(bucket, 0)).toBeUndefined();
      expect(harness.finished.find((finished) => finished.runId === runId)).toMatchObject({ status: "failed", reason: expect.stringMatching(/no progress/) });
      broken = false;
      const next = await harness.waitFor(await harness.start());
      expect(next).toMatchObject({ status: "succeeded", orphaned: 6 });
      expect(await compareLedgerWithBucket(ledger, s3, bucket)).toMatchObject({ matches: true });
    } finally {
      await harness.stop();
    }
  });
});

describe("backfill mode", () => {
  /** A bucket the ledger has never heard of: every object is missing. */
  async function unseenBucket(objects: number) {
    const bucket = `backfill-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const keys = Array.from({ length: objects }, (_, index) => `part=${index % 7}/${String(index).padStart(5, "0")}.parquet`);
    for (let start = 0; start < keys.length; start += 50)
      await Promise.all(keys.slice(start, start + 50).map((key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }))));
    return { bucket, keys };
  }

  it("plans a bucket's runs as backfills until one completes: a refused run does not end it, a dry run never is one", async () => {
    const ledger = await dynamodb.createLedger();
    const { bucket } = await unseenBucket(120);
    // One orphan beside 120 missing objects: 1 of 1 indexed, above the delete guard.
    await ledger.apply(createdAMinuteAgo(bucket, "gone.txt", "gone"));
    const harness = await fanOutHarness({ ledger, bucket, tasks: 4, budgetMs: 10_000, backfillRepairsPerSecond: 1_200 });
    const shardCounts = async () => (await ledger.changeShardEpochs(bucket)).map((epoch) => epoch.count);
    try {
      const dry = await harness.waitFor(
        await (async () =>
          (await harness.reconciliation.plan({ bucket, source: await localSource(bucket), spec: { kind: "list" }, tasks: 4, dryRun: true })).runId)(),
      );
      expect(dry).toMatchObject({ backfill: false, dryRun: true, missing: 120 });

      const refused = await harness.waitFor(await harness.start());
      // Invariant 3 holds in a backfill too: the missing objects are repaired as the listing
      // goes, but nothing is tombstoned past the guard.
      expect(refused).toMatchObject({ backfill: true, status: "refused", missing: 120, repaired: 120, orphaned: 1 });
      // Planned as a backfill, the run sized the change index for its budget: 1,200 repairs/s, 4 partitions.
      expect(await shardCounts()).toEqual([1, 4]);
      expect(await ledger.get(bucket, "gone.txt")).toMatchObject({ deleted: false });
      expect(await ledger.reconciledThrough(bucket)).toBeUndefined();

      const forced = await harness.waitFor(await harness.start({ force: true }));
      expect(forced).toMatchObject({ backfill: true, status: "succeeded", orphaned: 1, repaired: 1 });
      expect(await ledger.reconciledThrough(bucket)).toBeDefined();

      const nightly = await harness.waitFor(await harness.start());
      expect(nightly).toMatchObject({ backfill: false, status: "succeeded", missing: 0, orphaned: 0 });
      // No longer a backfill: sized for the day's busiest minute again (a few changes), so one partition.
      expect((await shardCounts()).at(-1)).toBe(1);
      expect(await compareLedgerWithBucket(ledger, s3, bucket)).toMatchObject({ matches: true });
    } finally {
      await harness.stop();
    }
  });

  it("never writes a repair over a change recorded after its snapshot (invariant 2)", async () => {
    const ledger = await dynamodb.createLedger();
    const { bucket, keys } = await unseenBucket(60);
    const raced = keys[30]!;
    const harness = await fanOutHarness({
      ledger,
      bucket,
      tasks: 2,
      budgetMs: 10_000,
      backfillRepairsPerSecond: 400,
      // The object's event arrives while the backfill lists it: newer than the run's snapshot.
      wrapSource: (source) => ({
        ...source,
        async *objects(range) {
          for await (const object of source.objects(range)) {
            if (object.key === raced) {
              await ledger.apply({
                kind: "upsert",
                bucket,
                key: raced,
                sequencer: "FFFFFFFF",
                eventTime: new Date().toISOString(),
                eventName: "ObjectCreated:Put",
                state: { size: 99, etag: "from-the-event", lastModified: new Date().toISOString() },
              });
            }
            yield object;
          }
        },
      }),
    });
    try {
      const summary = await harness.waitFor(await harness.start());
      expect(summary).toMatchObject({ backfill: true, status: "succeeded" });
      // The diff may read the event's item already (stale) or not yet (missing): either way the
      // repair finds newer state and leaves it.
      expect(summary.missing + summary.stale).toBe(60);
      expect(summary.newerStateKept).toBe(1);
      expect(await ledger.get(bucket, raced)).toMatchObject({ etag: "from-the-event", source: "event" });
    } finally {
      await harness.stop();
    }
  });
});

async function waitForEmptyQueue(queueUrl: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const depth = await queueDepth(sqs, queueUrl);
      if (depth.visible + depth.inFlight + depth.delayed > 0) throw new Error(`queue not empty: ${JSON.stringify(depth)}`);
    },
    { timeout: 30_000, interval: 100 },
  );
}
