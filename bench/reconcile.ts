/**
 * Reconciliation, side by side in one run: a bucket of 100,000 objects with 1% of each
 * drift kind (missing, stale, orphaned), against the S3 emulator and DynamoDB Local.
 *  1. ours: `reconcileBucket`, the one reconciliation driven in one process (range tasks worked
 *     in parallel, streaming merge-join, concurrent guarded repairs);
 *  2. the I/O floor: a plain paginated listing, a plain read of the index and the repairs any
 *     reconciler must make (the same number of plain writes, at the same concurrency), all in
 *     parallel;
 *  3. seed-style: list everything into memory, Scan the table into memory, diff, then write
 *     repairs one at a time.
 * Plus its peak RSS on 100,000 vs 2,000,000 objects (bench/reconcile-rss.ts).
 *
 * With `--aws-latency` (BENCH_AWS_LATENCY), ours and the floor also run paired through proxies
 * that hold every DynamoDB request AWS_DYNAMODB_MS and every S3 request AWS_S3_LIST_MS: the
 * emulators answer in about a millisecond, which hides what parallel ranges buy on AWS.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { CreateTableCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, paginateListObjectsV2, PutObjectCommand } from "@aws-sdk/client-s3";
import { DeleteCommand, paginateQuery, paginateScan, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import { allPartitionKeys, createDocumentClient, createTableInput, Ledger, partitionKeyOf, toItem, type LiveObjectRecord } from "../ledger/index.js";
import { LOCAL_REGION } from "../local/credentials.js";
import { startDynamoDbLocal } from "../local/dynamodb-local.js";
import { startEmulatorProcess } from "./emulator.js";
import { batchWrite } from "./batch-write.js";
import { CapacityModel } from "../local/capacity-model.js";
import { FaultInjectingProxy } from "../local/fault-proxy.js";
import type { S3Client } from "@aws-sdk/client-s3";
import { createLocalClients } from "../local/stack.js";
import { RECONCILE_DEFAULTS } from "../reconcile/defaults.js";
import { reconcileBucket } from "../reconcile/in-process.js";
import { listObjectsSource } from "../reconcile/source.js";
import { median } from "./stats.js";

const OBJECTS = 100_000;
/** DynamoDB's "single-digit millisecond" latency, as the other benchmarks' aws profile. */
const AWS_DYNAMODB_MS = 8;
/** An assumption: "tens of milliseconds" for a ListObjectsV2 page of 1,000 keys (the scale issue). */
const AWS_S3_LIST_MS = 50;
const BUCKET = "reconcile-bench";
/** One '/' at a fixed position: the emulator's localeCompare order equals S3's byte order here. */
const key = (i: number) => `d${String(i % 100).padStart(3, "0")}/object-${String(i).padStart(7, "0")}`;
const body = (i: number) => `object ${i}`;
const etag = (i: number) => createHash("md5").update(body(i)).digest("hex");
const isMissing = (i: number) => i % 100 === 0;
const isStale = (i: number) => i % 100 === 1;
const orphanKey = (j: number) => `d${String(j % 100).padStart(3, "0")}/orphan-${String(j).padStart(7, "0")}`;
const ORPHANS = OBJECTS / 100;
/** Paired floor/ours rounds. */
const ROUNDS = 3;
/**
 * Engine processes per size for peak RSS. Peak RSS is bimodal: in about one long run in four,
 * V8 grows its young generation and ~30 MB of garbage counts as resident while the live heap
 * stays the same. A median of five keeps one V8 decision from being the figure.
 */
const RSS_RUNS = 5;

function record(keyName: string, size: number, etagValue: string): LiveObjectRecord {
  return {
    bucket: BUCKET,
    key: keyName,
    deleted: false,
    size,
    etag: etagValue,
    lastModified: "2026-11-20T00:00:00.000Z",
    cause: "ObjectCreated:Put",
    source: "event",
    sequencer: "00000000000000000000000000000001",
    observedAt: "2026-11-20T00:00:00.000Z",
    recordedAt: "2026-11-20T00:00:00.000Z",
  };
}

/** The drifted index: every object but the missing ones, stale etags, plus orphans. */
function driftedIndexWrites(): Record<string, unknown>[] {
  const writes: Record<string, unknown>[] = [];
  for (let i = 0; i < OBJECTS; i++) {
    if (isMissing(i)) continue;
    writes.push({ PutRequest: { Item: toItem(record(key(i), body(i).length, isStale(i) ? "stale-etag" : etag(i))) } });
  }
  for (let j = 0; j < ORPHANS; j++) writes.push({ PutRequest: { Item: toItem(record(orphanKey(j), 1, "orphan")) } });
  return writes;
}

/** What any reconciler must write: the missing and stale objects as listed, the orphans as tombstones. */
function repairItems(): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < OBJECTS; i++) if (isMissing(i) || isStale(i)) items.push(toItem({ ...record(key(i), body(i).length, etag(i)), source: "reconcile" }));
  const { size: _size, etag: _etag, lastModified: _lastModified, ...base } = record("", 0, "");
  for (let j = 0; j < ORPHANS; j++)
    items.push(toItem({ ...base, key: orphanKey(j), deleted: true, cause: "Reconcile:Orphaned", source: "reconcile", expiresAt: 1_900_000_000 }));
  return items;
}

/** Undoes a reconciliation: the drift comes back exactly. */
function redriftWrites(): Record<string, unknown>[] {
  const writes: Record<string, unknown>[] = [];
  for (let i = 0; i < OBJECTS; i++) {
    if (isMissing(i)) writes.push({ DeleteRequest: { Key: { pk: partitionKeyOf(BUCKET, key(i)), sk: key(i) } } });
    if (isStale(i)) writes.push({ PutRequest: { Item: toItem(record(key(i), body(i).length, "stale-etag")) } });
  }
  for (let j = 0; j < ORPHANS; j++) writes.push({ PutRequest: { Item: toItem(record(orphanKey(j), 1, "orphan")) } });
  return writes;
}

function engineMemory(objects: number): { peak_rss_mb: number; peak_live_heap_mb: number } {
  const script = fileURLToPath(new URL("./reconcile-rss.ts", import.meta.url));
  const output = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", script, String(objects)], {
    encoding: "utf8",
    env: { ...process.env, AWS_REGION: LOCAL_REGION },
  });
  return JSON.parse(output.trim().split("\n").at(-1)!) as { peak_rss_mb: number; peak_live_heap_mb: number };
}

export async function benchReconcile(log: (line: string) => void) {
  const [dynamodb, aws] = await Promise.all([startDynamoDbLocal(), startEmulatorProcess()]);
  const clients = createLocalClients({ s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint });
  const doc = createDocumentClient(clients.dynamodb);
  try {
    log(`  preparing ${OBJECTS} objects and a drifted index (1% missing, 1% stale, 1% orphaned)...`);
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const upload = pLimit(64);
    await Promise.all(
      Array.from({ length: OBJECTS }, (_, i) => upload(() => clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(i), Body: body(i) })))),
    );
    const tableName = `bench-${randomUUID()}`;
    await clients.dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
    await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: tableName });
    await batchWrite(doc, tableName, driftedIndexWrites());
    const ledger = new Ledger({ tableName, documentClient: doc });

    const timed = async <T>(name: string, run: () => Promise<T>): Promise<{ seconds: number; result: T }> => {
      const started = process.hrtime.bigint();
      const result = await run();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      log(`  ${name}: ${seconds.toFixed(2)} s`);
      return { seconds, result };
    };

    /** The clients a variant talks through: straight to the emulators, or through the aws profile's proxies. */
    interface Via {
      s3: S3Client;
      doc: DynamoDBDocumentClient;
      ledger: Ledger;
    }
    const direct: Via = { s3: clients.s3, doc, ledger };
    const repairs = repairItems();
    // As many writes in flight as ours can have: every task worked at once, each with its writers.
    const floorWriteConcurrency = RECONCILE_DEFAULTS.rangeConcurrency * RECONCILE_DEFAULTS.writeConcurrency;
    const floor = (via: Via = direct) =>
      timed("I/O floor (listing, index read and the repair writes in parallel)", async () => {
        let listed = 0;
        let read = 0;
        const write = pLimit(floorWriteConcurrency);
        await Promise.all([
          ...repairs.map((Item) => write(() => via.doc.send(new PutCommand({ TableName: tableName, Item })))),
          (async () => {
            for await (const page of paginateListObjectsV2({ client: via.s3, pageSize: 1000 }, { Bucket: BUCKET })) listed += page.Contents?.length ?? 0;
          })(),
          ...allPartitionKeys(BUCKET).map(async (pk) => {
            for await (const page of paginateQuery(
              { client: via.doc, pageSize: 1000 },
              { TableName: tableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": pk } },
            ))
              read += page.Items?.length ?? 0;
          }),
        ]);
        return { listed, read };
      });

    const ours = (rangeConcurrency?: number, dryRun = false, via: Via = direct) =>
      timed(`ours (bucket-ledger reconcile, ${rangeConcurrency === 1 ? "one key range" : "parallel key ranges"}${dryRun ? ", dry run" : ""})`, () =>
        reconcileBucket({
          ledger: via.ledger,
          bucket: BUCKET,
          source: listObjectsSource({ s3: via.s3, bucket: BUCKET }),
          dryRun,
          ...(rangeConcurrency !== undefined && { rangeConcurrency }),
        }),
      );

    const seed = () =>
      timed("seed-style (list + Scan into memory, diff, sequential writes)", async () => {
        const listed = new Map<string, { size: number; etag: string }>();
        for await (const page of paginateListObjectsV2({ client: clients.s3, pageSize: 1000 }, { Bucket: BUCKET })) {
          for (const object of page.Contents ?? []) listed.set(object.Key!, { size: object.Size!, etag: object.ETag!.replace(/"/g, "") });
        }
        const indexed = new Map<string, Record<string, unknown>>();
        for await (const page of paginateScan({ client: doc }, { TableName: tableName }))
          for (const item of page.Items ?? []) if (item.bucket === BUCKET && !item.deleted) indexed.set(item.sk as string, item);
        let writes = 0;
        for (const [objectKey, object] of listed) {
          const item = indexed.get(objectKey);
          if (!item || item.etag !== object.etag || item.size !== object.size) {
            await doc.send(new PutCommand({ TableName: tableName, Item: toItem({ ...record(objectKey, object.size, object.etag), source: "reconcile" }) }));
            writes++;
          }
        }
        for (const objectKey of indexed.keys()) {
          if (!listed.has(objectKey)) {
            await doc.send(new DeleteCommand({ TableName: tableName, Key: { pk: partitionKeyOf(BUCKET, objectKey), sk: objectKey } }));
            writes++;
          }
        }
        return { writes };
      });

    const redrift = () => batchWrite(doc, tableName, redriftWrites());

    // Paired rounds: the floor and ours back to back, so each ratio compares the two under the
    // same load on this shared machine; the median round is reported. The emulator answers
    // every page by sorting the whole bucket on one core, which rewards fewer, longer listings;
    // real S3 rewards parallel ranges. Both modes are measured. Seed-style runs once, last.
    const rounds: { floor: number; ours: number; single: number }[] = [];
    let summary: Awaited<ReturnType<typeof reconcileBucket>> | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const floorRun = await floor();
      await redrift();
      const oursRun = await ours();
      summary = oursRun.result;
      await redrift();
      const singleRun = await ours(1);
      await redrift();
      rounds.push({ floor: floorRun.seconds, ours: oursRun.seconds, single: singleRun.seconds });
    }
    // The same run without writes: how much of the gap to the floor is the repairs themselves.
    const dry = await ours(undefined, true);
    const seedRun = await seed();
    if (summary?.missing !== ORPHANS || summary.stale !== ORPHANS || summary.orphaned !== ORPHANS)
      throw new Error(`unexpected drift ${JSON.stringify(summary)}`);
    const oursMedian = median(rounds.map((round) => round.ours));
    const floorMedian = median(rounds.map((round) => round.floor));
    const ratios = rounds.map((round) => round.ours / round.floor);

    const awsProfile = process.env.BENCH_AWS_LATENCY
      ? await awsRounds(log, { dynamodb: dynamodb.endpoint, aws: aws.endpoint, tableName }, floor, ours, redrift)
      : undefined;

    log("  peak RSS of reconcileBucket alone, 100,000 vs 2,000,000 objects (separate processes, alternating)...");
    const small: ReturnType<typeof engineMemory>[] = [];
    const large: ReturnType<typeof engineMemory>[] = [];
    for (let round = 0; round < RSS_RUNS; round++) {
      small.push(engineMemory(100_000));
      large.push(engineMemory(2_000_000));
    }
    const rss100k = median(small.map((run) => run.peak_rss_mb));
    const rss2m = median(large.map((run) => run.peak_rss_mb));
    const round2 = (value: number) => Number(value.toFixed(2));
    return {
      objects: OBJECTS,
      drift_per_kind: ORPHANS,
      rounds: ROUNDS,
      ours_s: round2(oursMedian),
      floor_s: round2(floorMedian),
      seed_s: round2(seedRun.seconds),
      ours_vs_floor: round2(median(ratios)),
      ours_vs_floor_per_round: ratios.map(round2),
      ours_dry_run_s: round2(dry.seconds),
      ours_dry_run_vs_floor: round2(dry.seconds / floorMedian),
      ours_one_range_s: round2(median(rounds.map((round) => round.single))),
      ours_one_range_vs_floor: round2(median(rounds.map((round) => round.single / round.floor))),
      seed_vs_ours: round2(seedRun.seconds / oursMedian),
      repairs: summary.repaired,
      rss_100k_mb: rss100k,
      rss_2m_mb: rss2m,
      rss_2m_vs_100k: round2(rss2m / rss100k),
      rss_100k_runs_mb: small.map((run) => run.peak_rss_mb),
      rss_2m_runs_mb: large.map((run) => run.peak_rss_mb),
      ...(awsProfile && { aws: awsProfile }),
      live_heap_100k_mb: median(small.map((run) => run.peak_live_heap_mb)),
      live_heap_2m_mb: median(large.map((run) => run.peak_live_heap_mb)),
    };
  } finally {
    for (const client of Object.values(clients)) client.destroy();
    await Promise.allSettled([dynamodb.stop(), aws.stop()]);
  }
}

type Timed<T> = Promise<{ seconds: number; result: T }>;

/** The aws profile: ours and the floor paired again, every request through a proxy holding it as AWS would. */
async function awsRounds(
  log: (line: string) => void,
  endpoints: { dynamodb: string; aws: string; tableName: string },
  floor: (via: { s3: S3Client; doc: DynamoDBDocumentClient; ledger: Ledger }) => Timed<unknown>,
  ours: (rangeConcurrency: number | undefined, dryRun: boolean, via: { s3: S3Client; doc: DynamoDBDocumentClient; ledger: Ledger }) => Timed<unknown>,
  redrift: () => Promise<void>,
) {
  const [dynamoProxy, s3Proxy] = await Promise.all([FaultInjectingProxy.start(endpoints.dynamodb), FaultInjectingProxy.start(endpoints.aws)]);
  dynamoProxy.addLatency(AWS_DYNAMODB_MS);
  // AWS's units per partition too: the repairs and the index reads are held to what a table on AWS takes.
  const capacity = new CapacityModel();
  dynamoProxy.useCapacity(capacity);
  s3Proxy.addLatency(AWS_S3_LIST_MS);
  const proxied = createLocalClients({ s3: s3Proxy.endpoint, sqs: endpoints.aws, dynamodb: dynamoProxy.endpoint });
  const doc = createDocumentClient(proxied.dynamodb);
  const via = { s3: proxied.s3, doc, ledger: new Ledger({ tableName: endpoints.tableName, documentClient: doc }) };
  try {
    log(`  aws profile: ${AWS_DYNAMODB_MS} ms per DynamoDB request, ${AWS_S3_LIST_MS} ms per S3 request`);
    const rounds: { floor: number; ours: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const floorRun = await floor(via);
      await redrift();
      const oursRun = await ours(undefined, false, via);
      await redrift();
      rounds.push({ floor: floorRun.seconds, ours: oursRun.seconds });
    }
    const ratios = rounds.map((round) => Number((round.ours / round.floor).toFixed(2)));
    return {
      latency_ms: { dynamodb: AWS_DYNAMODB_MS, s3: AWS_S3_LIST_MS },
      ours_s: Number(median(rounds.map((round) => round.ours)).toFixed(2)),
      floor_s: Number(median(rounds.map((round) => round.floor)).toFixed(2)),
      ours_vs_floor: median(ratios),
      ours_vs_floor_per_round: ratios,
      capacity_model_throttled: capacity
        .partitions()
        .reduce((sum, partition) => ({ writes: sum.writes + partition.throttledWriteUnits, reads: sum.reads + partition.throttledReadUnits }), {
          writes: 0,
          reads: 0,
        }),
    };
  } finally {
    for (const client of Object.values(proxied)) client.destroy();
    await Promise.allSettled([dynamoProxy.stop(), s3Proxy.stop()]);
  }
}
