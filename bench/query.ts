/**
 * Queries, side by side in one run, on a bucket of 100,000 objects of which 1,000 changed
 * after time T (S3 emulator and DynamoDB Local):
 *  - "changes since T": the ledger's change feed vs a full ListObjectsV2 filtered by
 *    LastModified (the only way S3 itself can answer);
 *  - a prefix listing of 1% of the bucket: the ledger vs ListObjectsV2 with that prefix.
 * Requests are counted by a middleware on each SDK client (one per API call; paginators make
 * one call per page). Each query runs several times, alternating; the median is reported.
 *
 * Two profiles, side by side: `local` (the emulators answer in about a millisecond) and `aws`,
 * through proxies that hold every DynamoDB request AWS_DYNAMODB_MS and every S3 request
 * AWS_S3_LIST_MS, so that request-bound designs are not flattered.
 */
import { randomUUID } from "node:crypto";
import { CreateTableCommand, waitUntilTableExists, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, paginateListObjectsV2, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import { createDocumentClient, createTableInput, Ledger, toItem, type LedgerRecord } from "../ledger/index.js";
import { startDynamoDbLocal } from "../local/dynamodb-local.js";
import { createLocalClients } from "../local/stack.js";
import { startEmulatorProcess } from "./emulator.js";
import { CapacityModel } from "../local/capacity-model.js";
import { FaultInjectingProxy } from "../local/fault-proxy.js";
import { median } from "./stats.js";

const OBJECTS = 100_000;
const CHANGED = 1_000;
const ROUNDS = 5;
const BUCKET = "query-bench";
const key = (i: number) => `d${String(i % 100).padStart(3, "0")}/object-${String(i).padStart(7, "0")}`;
/** Every 100th object changes after T. */
const changesAfterT = (i: number) => i % 100 === 7;
const PREFIX = "d042/";
/** DynamoDB's "single-digit millisecond" latency, as the other benchmarks' aws profile. */
const AWS_DYNAMODB_MS = 8;
/** An assumption: "tens of milliseconds" for a ListObjectsV2 page of 1,000 keys (the scale issue). */
const AWS_S3_LIST_MS = 50;

/** Counts API calls made through a client. */
function countRequests(client: S3Client | DynamoDBClient): { count: number } {
  const counter = { count: 0 };
  (client.middlewareStack as { add: (middleware: unknown, options: object) => void }).add(
    (next: (args: unknown) => Promise<unknown>) => (args: unknown) => {
      counter.count++;
      return next(args);
    },
    { step: "initialize", name: "countRequests" },
  );
  return counter;
}

async function batchPut(doc: DynamoDBDocumentClient, tableName: string, records: LedgerRecord[]): Promise<void> {
  const limit = pLimit(16);
  const chunks: LedgerRecord[][] = [];
  for (let i = 0; i < records.length; i += 25) chunks.push(records.slice(i, i + 25));
  await Promise.all(
    chunks.map((chunk) =>
      limit(async () => {
        let pending: unknown[] | undefined = chunk.map((record) => ({ PutRequest: { Item: toItem(record) } }));
        while (pending && pending.length > 0) {
          const result: { UnprocessedItems?: Record<string, unknown[]> | undefined } = await doc.send(
            new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }),
          );
          pending = result.UnprocessedItems?.[tableName];
        }
      }),
    ),
  );
}

export async function benchQuery(log: (line: string) => void) {
  const [dynamodb, aws] = await Promise.all([startDynamoDbLocal(), startEmulatorProcess()]);
  const clients = createLocalClients({ s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint });
  const doc = createDocumentClient(clients.dynamodb);
  try {
    log(`  preparing ${OBJECTS} objects, indexed, then ${CHANGED} of them changed after T...`);
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const upload = pLimit(64);
    await Promise.all(
      Array.from({ length: OBJECTS }, (_, i) => upload(() => clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(i), Body: `v1 ${i}` })))),
    );
    const tableName = `bench-${randomUUID()}`;
    await clients.dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
    await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: tableName });
    // The index as the tracker left it, recorded shortly before T: the same day partition T falls in.
    const before = new Date(Date.now() - 1000).toISOString();
    await batchPut(
      doc,
      tableName,
      Array.from({ length: OBJECTS }, (_, i) => ({
        bucket: BUCKET,
        key: key(i),
        deleted: false,
        size: `v1 ${i}`.length,
        etag: "v1",
        lastModified: before,
        cause: "ObjectCreated:Put",
        source: "event",
        sequencer: "0000000000000000000000000000000A",
        observedAt: before,
        recordedAt: before,
      })),
    );
    // S3's LastModified has one-second resolution: T sits strictly between the two generations.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const since = new Date();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const ledger = new Ledger({ tableName, documentClient: doc });
    const changed = Array.from({ length: OBJECTS }, (_, i) => i).filter(changesAfterT);
    await Promise.all(
      changed.map((i) =>
        upload(async () => {
          await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(i), Body: `v2 of ${i}` }));
          await ledger.apply({
            kind: "upsert",
            bucket: BUCKET,
            key: key(i),
            sequencer: "0000000000000000000000000000000B",
            eventTime: new Date().toISOString(),
            eventName: "ObjectCreated:Put",
            state: { size: `v2 of ${i}`.length, etag: "v2", lastModified: new Date().toISOString() },
          });
        }),
      ),
    );

    const [dynamoProxy, s3Proxy] = await Promise.all([FaultInjectingProxy.start(dynamodb.endpoint), FaultInjectingProxy.start(aws.endpoint)]);
    const proxied = createLocalClients({ s3: s3Proxy.endpoint, sqs: aws.endpoint, dynamodb: dynamoProxy.endpoint });
    try {
      dynamoProxy.addLatency(AWS_DYNAMODB_MS);
      // AWS's read units per partition too, so a figure here is one a table on AWS could reach.
      const capacity = new CapacityModel();
      dynamoProxy.useCapacity(capacity);
      s3Proxy.addLatency(AWS_S3_LIST_MS);
      const profiles = {
        local: await measureProfile(log, "local", clients, new Ledger({ tableName, documentClient: doc }), since),
        aws: await measureProfile(log, "aws", proxied, new Ledger({ tableName, documentClient: createDocumentClient(proxied.dynamodb) }), since),
      };
      const throttledReads = capacity.partitions().reduce((sum, partition) => sum + partition.throttledReadUnits, 0);
      return {
        objects: OBJECTS,
        changed_after_t: CHANGED,
        rounds: ROUNDS,
        aws_latency_ms: { dynamodb: AWS_DYNAMODB_MS, s3_list: AWS_S3_LIST_MS },
        aws_capacity_model: { throttled_reads: throttledReads },
        profiles,
      };
    } finally {
      for (const client of Object.values(proxied)) client.destroy();
      await Promise.allSettled([dynamoProxy.stop(), s3Proxy.stop()]);
    }
  } finally {
    for (const client of Object.values(clients)) client.destroy();
    await Promise.allSettled([dynamodb.stop(), aws.stop()]);
  }
}

async function measureProfile(log: (line: string) => void, profile: string, clients: ReturnType<typeof createLocalClients>, ledger: Ledger, since: Date) {
  const s3Requests = countRequests(clients.s3);
  const dynamoRequests = countRequests(clients.dynamodb);
  const measure = async (counter: { count: number }, run: () => Promise<number>) => {
    const requestsBefore = counter.count;
    const started = process.hrtime.bigint();
    const items = await run();
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, requests: counter.count - requestsBefore, items };
  };
  const variants = {
    changes_ledger: () =>
      measure(dynamoRequests, async () => {
        let n = 0;
        for await (const _record of ledger.changes({ bucket: BUCKET, since })) n++;
        return n;
      }),
    changes_list_filter: () =>
      measure(s3Requests, async () => {
        let n = 0;
        for await (const page of paginateListObjectsV2({ client: clients.s3, pageSize: 1000 }, { Bucket: BUCKET })) {
          for (const object of page.Contents ?? []) if (object.LastModified! >= since) n++;
        }
        return n;
      }),
    prefix_ledger: () =>
      measure(dynamoRequests, async () => {
        let n = 0;
        for await (const _record of ledger.list({ bucket: BUCKET, prefix: PREFIX })) n++;
        return n;
      }),
    prefix_list: () =>
      measure(s3Requests, async () => {
        let n = 0;
        for await (const page of paginateListObjectsV2({ client: clients.s3, pageSize: 1000 }, { Bucket: BUCKET, Prefix: PREFIX }))
          n += page.Contents?.length ?? 0;
        return n;
      }),
  };
  const results: Record<keyof typeof variants, { seconds: number; requests: number; items: number }[]> = {
    changes_ledger: [],
    changes_list_filter: [],
    prefix_ledger: [],
    prefix_list: [],
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(variants) as [keyof typeof variants, () => ReturnType<typeof measure>][]) {
      const result = await run();
      results[name].push(result);
      log(`  ${profile} round ${round + 1} ${name}: ${result.seconds.toFixed(3)} s, ${result.requests} requests, ${result.items} items`);
    }
  }
  for (const name of ["changes_ledger", "changes_list_filter"] as const) {
    if (results[name].some((result) => result.items !== CHANGED))
      throw new Error(`${name} found ${results[name].map((r) => r.items).join(", ")} changes, expected ${CHANGED}`);
  }
  const seconds = (name: keyof typeof variants) => median(results[name].map((result) => result.seconds));
  const requests = (name: keyof typeof variants) => results[name][0]!.requests;
  return {
    prefix_objects: results.prefix_ledger[0]!.items,
    changes_ledger_s: Number(seconds("changes_ledger").toFixed(4)),
    changes_ledger_requests: requests("changes_ledger"),
    changes_list_s: Number(seconds("changes_list_filter").toFixed(4)),
    changes_list_requests: requests("changes_list_filter"),
    changes_speedup: Number((seconds("changes_list_filter") / seconds("changes_ledger")).toFixed(1)),
    changes_fewer_requests: Number((requests("changes_list_filter") / requests("changes_ledger")).toFixed(1)),
    prefix_ledger_s: Number(seconds("prefix_ledger").toFixed(4)),
    prefix_ledger_requests: requests("prefix_ledger"),
    prefix_list_s: Number(seconds("prefix_list").toFixed(4)),
    prefix_list_requests: requests("prefix_list"),
    prefix_ledger_vs_list_time: Number((seconds("prefix_ledger") / seconds("prefix_list")).toFixed(2)),
  };
}
