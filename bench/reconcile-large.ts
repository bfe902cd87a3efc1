/**
 * Reconciliation at ten times the reconcile benchmark's size: 1,000,000 objects through the
 * fan-out (range tasks on an SQS queue, workers polling it as Lambda would), paired with the I/O
 * floor (reading the same source and the whole index, nothing else). The bucket side is an
 * in-process ordered source: the S3 emulator sorts the whole bucket for every page, which at
 * this size would measure the emulator. The index is real: DynamoDB Local, 1% of each drift
 * kind. Opt-in (`npm run bench -- reconcile-large`): it takes several minutes.
 */
import { randomUUID } from "node:crypto";
import { CreateTableCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { paginateQuery } from "@aws-sdk/lib-dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import {
  allPartitionKeys,
  createDocumentClient,
  createTableInput,
  DEFAULT_RETENTION_DAYS,
  partitionKeyOf,
  toItem,
  type LedgerRecord,
} from "../ledger/index.js";
import { startDynamoDbLocal } from "../local/dynamodb-local.js";
import { SqsEventSourceMapping } from "../local/event-source-mapping.js";
import { createQueueWithDlq } from "../local/queues.js";
import { createLocalClients } from "../local/stack.js";
import { LOCAL_REGION } from "../local/credentials.js";
import type { RunSummary } from "../reconcile/run-summary.js";
import type { KeyRange, ObjectSource, SourceObject } from "../reconcile/source.js";
import { buildReconcileFunction } from "../reconcile/wiring.js";
import { startEmulatorProcess } from "./emulator.js";
import { batchWrite } from "./batch-write.js";
import { median } from "./stats.js";

const OBJECTS = Number(process.env.RECONCILE_LARGE_OBJECTS ?? 1_000_000);
const ROUNDS = 2;
const TASKS = 16;
const WORKERS = 4;
const DIRECTORIES = 1000;
const BUCKET = "reconcile-large";
const key = (i: number) => `d${String(i % DIRECTORIES).padStart(3, "0")}/object-${String(i).padStart(9, "0")}`;
const isMissing = (i: number) => i % 100 === 0;
const isOrphan = (i: number) => i % 100 === 1;
const isStale = (i: number) => i % 100 === 2;

/** Object indexes in key order: directories in order, objects within each. */
function* ordered(): Generator<number> {
  const perDirectory = Math.ceil(OBJECTS / DIRECTORIES);
  for (let d = 0; d < DIRECTORIES; d++)
    for (let j = 0; j < perDirectory; j++) {
      const i = j * DIRECTORIES + d;
      if (i < OBJECTS) yield i;
    }
}

const inRange = (objectKey: string, range: KeyRange) =>
  (range.after === undefined || objectKey > range.after) && (range.through === undefined || objectKey <= range.through);

/** The bucket as an ordered source that splits at directory boundaries, as the list source does at prefixes. */
function bucketSource(snapshotTime: Date): ObjectSource {
  return {
    kind: "list",
    snapshotTime,
    ordered: true,
    lagsBucket: false,
    head: async () => undefined,
    async planRanges(target: number): Promise<KeyRange[]> {
      const bounds = Array.from({ length: target - 1 }, (_, t) => `d${String(Math.floor(((t + 1) * DIRECTORIES) / target) - 1).padStart(3, "0")}/~`);
      const ranges: KeyRange[] = bounds.map((through, t) => ({ ...(t > 0 && { after: bounds[t - 1]! }), through }));
      return [...ranges, { after: bounds.at(-1)! }];
    },
    async *objects(range: KeyRange = {}) {
      for (const i of ordered()) {
        if (isOrphan(i)) continue;
        const objectKey = key(i);
        if (inRange(objectKey, range)) yield { key: objectKey, size: i, etag: `etag-${i}`, lastModified: "2026-11-20T00:00:00.000Z" } satisfies SourceObject;
      }
    },
  };
}

function record(i: number, etag: string): LedgerRecord {
  const at = "2026-11-20T00:00:00.000Z";
  return {
    bucket: BUCKET,
    key: key(i),
    deleted: false,
    size: i,
    etag,
    lastModified: at,
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: at,
    recordedAt: at,
  };
}

/** The drifted index: every object but the missing ones, stale ETags, and the orphans. */
function driftWrites(all: boolean): Record<string, unknown>[] {
  const writes: Record<string, unknown>[] = [];
  for (let i = 0; i < OBJECTS; i++) {
    if (isMissing(i)) {
      if (!all) writes.push({ DeleteRequest: { Key: { pk: partitionKeyOf(BUCKET, key(i)), sk: key(i) } } });
    } else if (isStale(i)) writes.push({ PutRequest: { Item: toItem(record(i, "stale")) } });
    else if (all || isOrphan(i)) writes.push({ PutRequest: { Item: toItem(record(i, `etag-${i}`)) } });
  }
  return writes;
}

export async function benchReconcileLarge(log: (line: string) => void) {
  const [dynamodb, aws] = await Promise.all([startDynamoDbLocal(), startEmulatorProcess()]);
  const clients = createLocalClients({ s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint });
  const doc = createDocumentClient(clients.dynamodb);
  try {
    const tableName = `bench-${randomUUID()}`;
    await clients.dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
    await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: tableName });
    log(`  indexing ${OBJECTS.toLocaleString("en-US")} objects with 1% of each drift kind...`);
    await batchWrite(doc, tableName, driftWrites(true));

    const queue = await createQueueWithDlq(clients.sqs, `large-${randomUUID().slice(0, 8)}`, 120, 5);
    const finished: RunSummary[] = [];
    let snapshotTime = new Date();
    const reconciler = buildReconcileFunction({
      clients: { s3: clients.s3, sqs: clients.sqs, documentClient: doc },
      tableName,
      retentionDays: DEFAULT_RETENTION_DAYS,
      taskQueueUrl: queue.queueUrl,
      buckets: [BUCKET],
      settings: { tasksPerRun: TASKS, maxDeleteFraction: 0.1, staleAfterMs: 600_000, writeConcurrency: 16, reserveMs: 0, localBudgetMs: 600_000 },
      logger: new Logger({ logLevel: "SILENT" }),
      onRunFinished: (summary) => void finished.push(summary),
      wrapSource: () => bucketSource(snapshotTime),
    });
    const mapping = new SqsEventSourceMapping({
      sqs: clients.sqs,
      queueUrl: queue.queueUrl,
      queueArn: queue.queueArn,
      region: LOCAL_REGION,
      handler: reconciler.runTasks,
      batchSize: 1,
      concurrency: WORKERS,
    });
    mapping.start();
    try {
      const floor = async () => {
        const started = process.hrtime.bigint();
        let listed = 0;
        let read = 0;
        await Promise.all([
          (async () => {
            for await (const _object of bucketSource(new Date()).objects()) listed++;
          })(),
          ...allPartitionKeys(BUCKET).map(async (pk) => {
            for await (const page of paginateQuery(
              { client: doc, pageSize: 1000 },
              { TableName: tableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": pk } },
            ))
              read += page.Items?.length ?? 0;
          }),
        ]);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        log(`  I/O floor: ${seconds.toFixed(1)} s (${listed} listed, ${read} read)`);
        return seconds;
      };
      const fanOut = async () => {
        snapshotTime = new Date();
        const started = process.hrtime.bigint();
        const run = await reconciler.reconciliation.plan({ bucket: BUCKET, source: bucketSource(snapshotTime), spec: { kind: "list" }, tasks: TASKS });
        while (!finished.some((summary) => summary.runId === run.runId)) await new Promise((resolve) => setTimeout(resolve, 100));
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const summary = finished.find((candidate) => candidate.runId === run.runId)!;
        log(`  fan-out (${TASKS} tasks, ${WORKERS} at once): ${seconds.toFixed(1)} s, ${summary.status}, ${summary.repaired} repaired`);
        if (summary.status !== "succeeded") throw new Error(`run ${summary.status}: ${summary.reason ?? ""}`);
        return { seconds, summary };
      };
      const rounds: { floor: number; ours: number; repaired: number }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const floorSeconds = await floor();
        const ours = await fanOut();
        rounds.push({ floor: floorSeconds, ours: ours.seconds, repaired: ours.summary.repaired });
        // Drift it again for the next round.
        await batchWrite(doc, tableName, driftWrites(false));
      }
      const ratios = rounds.map((round) => Number((round.ours / round.floor).toFixed(2)));
      return {
        objects: OBJECTS,
        tasks: TASKS,
        workers: WORKERS,
        rounds: ROUNDS,
        ours_s: Number(median(rounds.map((round) => round.ours)).toFixed(1)),
        floor_s: Number(median(rounds.map((round) => round.floor)).toFixed(1)),
        ours_vs_floor: median(ratios),
        ours_vs_floor_per_round: ratios,
        repairs_per_round: rounds.map((round) => round.repaired),
      };
    } finally {
      await mapping.stop();
    }
  } finally {
    for (const client of Object.values(clients)) client.destroy();
    await Promise.allSettled([dynamodb.stop(), aws.stop()]);
  }
}
