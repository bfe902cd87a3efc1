/**
 * Tracker throughput, side by side in one run against one DynamoDB Local:
 *  1. ours: the tracker handler, fed SQS batches of S3 notifications;
 *  2. ceiling: bare conditional PutItem calls of the same items at the same concurrency;
 *  3. seed-style: per record HeadObject then an unconditional PutItem, one at a time (seed 000);
 *  4. ours with the journal: the tracker handler writing each change's history entry too;
 *  5. ours with contentType enrichment: a HeadObject per create, through a proxy that holds
 *     each S3 request S3_LATENCY_MS in the aws profile;
 *  6. ours with 1.2 KB items (long keys): each change-index entry costs two write units;
 *  7. the same with the bucket's change shards sized for it before the run (the count the
 *     writers raise it to a minute into a burst).
 * Each variant gets a fresh table and the same 20,000 events (creates, overwrites, deletes,
 * duplicates, in shuffled order; the 1.2 KB variants the same history under longer keys). The
 * variants run in paired rounds (all in each round, in rotating order); the ratios are the
 * medians of the per-round ratios.
 *
 * The aws profile runs through the capacity model (local/capacity-model.ts): 1,000 write units a
 * second per partition, so a figure it gives is one AWS could reach. A throttled message is
 * redelivered, as SQS would after its visibility timeout (here after REDELIVERY_MS), and a
 * throttled ceiling write is sent again; both count in the time.
 */
import { randomUUID } from "node:crypto";
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSRecord } from "aws-lambda";
import pLimit from "p-limit";
import { decodeS3Key } from "../aws/s3-key.js";
import { createDocumentClient, createTableInput, Ledger, partitionKeyOf, toItem } from "../ledger/index.js";
import { mutationToRecord, type ObjectMutation } from "../ledger/writes.js";
import { documentItemSize, writeUnits } from "../ledger/item-size.js";
import { startDynamoDbLocal } from "../local/dynamodb-local.js";
import { s3NotificationBody } from "../local/s3-notifier.js";
import type { S3Commit } from "../local/s3-sqs-emulator.js";
import { createLocalClients } from "../local/stack.js";
import { startS3SqsEmulator } from "../local/s3-sqs-emulator.js";
import { addCounts, emptyCounts } from "../tracker/counts.js";
import { createTrackerHandler } from "../tracker/handler.js";
import { s3ObjectLookup } from "../s3/object-lookup.js";
import { s3ObjectDescriber } from "../s3/object-details.js";
import { LOCAL_REGION, localCredentials } from "../local/credentials.js";
import { withoutSdkLogger } from "../aws/lean-client.js";
import { median, pairedRounds, spread } from "./stats.js";
import { FaultInjectingProxy } from "../local/fault-proxy.js";
import { CapacityModel } from "../local/capacity-model.js";
import { EPOCH_LEAD_MS } from "../ledger/change-index/index.js";

const EVENTS = 20_000;
const KEYS = 6_000;
/** DynamoDB writes in flight, for ours and the ceiling alike. */
const CONCURRENCY = Number(process.env.TRACKER_BENCH_CONCURRENCY ?? 32);
/** Ours runs as Lambda would: concurrent invocations, each bounding its own writes. */
const INVOCATIONS = 4;
const BATCH_SIZE = 500;
const ROUNDS = Number(process.env.TRACKER_BENCH_ROUNDS ?? 3);
/** The AWS profile: every DynamoDB request held this long, as in bench/ingest.ts (DynamoDB's "single-digit millisecond" latency). */
const AWS_LATENCY_MS = Number(process.env.TRACKER_BENCH_LATENCY_MS ?? 8);
/**
 * The aws profile's S3 HeadObject latency: an assumption, 15 ms, inside the 10-20 ms range the
 * scale issue gives for HEAD and GET of small objects in the region.
 */
const S3_LATENCY_MS = Number(process.env.TRACKER_BENCH_S3_LATENCY_MS ?? 15);
const BUCKET = "bench-bucket";
/** Padding that makes the 1.2 KB variants' keys long: their items are about 1.2 KB (logged). */
const LONG_KEY_PADDING = "k".repeat(Number(process.env.TRACKER_BENCH_KEY_PADDING ?? 856));
/** How long a throttled message waits before it is received again (SQS's visibility timeout, shortened). */
const REDELIVERY_MS = 200;

/** Deterministic pseudo-random numbers, so every run feeds the same history. */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function buildHistory(keyPadding = ""): S3Commit[] {
  const random = mulberry32(42);
  const commits: S3Commit[] = [];
  let sequence = 1n;
  const next = () => (sequence++).toString(16).toUpperCase().padStart(18, "0");
  const time = new Date("2026-11-21T00:00:00Z");
  for (let k = 0; commits.length < EVENTS * 0.9; k = (k + 1) % KEYS) {
    const key = `data/${k % 100}/${keyPadding}object ${k}+${k}.bin`;
    const roll = random();
    const eventName = roll < 0.15 && commits.length > KEYS ? "ObjectRemoved:Delete" : "ObjectCreated:Put";
    commits.push({
      eventName,
      bucket: BUCKET,
      key,
      time,
      sequencer: next(),
      ...(eventName !== "ObjectRemoved:Delete" && { size: Math.floor(random() * 1e6), etag: `"${randomUUID().replace(/-/g, "")}"` }),
    });
  }
  // At-least-once delivery: 10% duplicates.
  while (commits.length < EVENTS) commits.push(commits[Math.floor(random() * commits.length)]!);
  for (let i = commits.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [commits[i], commits[j]] = [commits[j]!, commits[i]!];
  }
  return commits;
}

function toMutation(commit: S3Commit): ObjectMutation {
  const base = { bucket: commit.bucket, key: commit.key, sequencer: commit.sequencer, eventTime: commit.time.toISOString(), eventName: commit.eventName };
  return commit.eventName === "ObjectRemoved:Delete"
    ? { ...base, kind: "delete" }
    : { ...base, kind: "upsert", state: { size: commit.size!, etag: commit.etag!.replace(/"/g, ""), lastModified: base.eventTime } };
}

interface RatioSpread {
  median: number;
  min: number;
  max: number;
}

interface TrackerProfileResult {
  latency_ms: number;
  ours_per_s: number;
  journal_per_s: number;
  ceiling_per_s: number;
  /** The median of the paired rounds' ratios, and their spread. */
  ours_vs_ceiling: RatioSpread;
  journal_vs_ceiling: RatioSpread;
  enriched_per_s: number;
  enriched_vs_ceiling: RatioSpread;
  enriched_vs_ours: RatioSpread;
  /** Change shards sized from the rate (the default) against a fixed count of 1: what sizing costs the tracker. */
  sized_vs_fixed: RatioSpread;
  /** One busy bucket whose items (and change-index entries) are about 1.2 KB: two write units each. */
  large_items_per_s: number;
  large_items_vs_ours: RatioSpread;
  /** The same with the bucket's change shards sized for it before the run. */
  large_items_sized_per_s: number;
  large_items_sized_vs_ours: RatioSpread;
  /** Messages received again after a throttle, and write units the capacity model refused, over all rounds. */
  redelivered_messages: number;
  throttled_write_units: number;
  /** Per variant (aws profile), the median over rounds of its busiest change partition's write units a second. */
  busiest_change_partition_units_per_s: Record<string, number>;
}

export interface TrackerBenchResult {
  events: number;
  concurrency: number;
  invocations: number;
  batch_size: number;
  rounds: number;
  profiles: Record<string, TrackerProfileResult>;
  /** Local profile only. */
  seed_per_s: number;
  ours_vs_seed: number;
  outcomes: Record<string, number>;
}

export async function benchTracker(log: (line: string) => void): Promise<TrackerBenchResult> {
  const [dynamodb, aws] = await Promise.all([startDynamoDbLocal(), startS3SqsEmulator({ region: LOCAL_REGION })]);
  const proxy = await FaultInjectingProxy.start(dynamodb.endpoint);
  // The enrichment variant's HEADs go through a proxy of their own (the S3 profile's latency).
  const s3Proxy = await FaultInjectingProxy.start(aws.endpoint);
  const slowS3 = createLocalClients({ s3: s3Proxy.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint }).s3;
  const clients = createLocalClients({ s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint });
  // Every variant's writes go through the proxy; the profile sets its latency.
  const documentClient = createDocumentClient(
    withoutSdkLogger(new DynamoDBClient({ endpoint: proxy.endpoint, region: LOCAL_REGION, credentials: localCredentials })),
  );
  try {
    const history = buildHistory();
    const longHistory = buildHistory(LONG_KEY_PADDING);
    const newTable = async () => {
      const tableName = `bench-${randomUUID()}`;
      await clients.dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
      await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: tableName });
      tables.push(tableName);
      return tableName;
    };

    // Objects for the seed-style HeadObject calls.
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const keys = [...new Set([...history, ...longHistory].map((commit) => commit.key))];
    const upload = pLimit(32);
    await Promise.all(keys.map((key) => upload(() => clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "x" })))));

    const toRecords = (commits: S3Commit[]): SQSRecord[] =>
      commits.map((commit, i) => ({
        messageId: `m-${i}`,
        receiptHandle: `r-${i}`,
        body: s3NotificationBody(commit, LOCAL_REGION),
        attributes: { ApproximateReceiveCount: "1", SentTimestamp: "0", SenderId: "bench", ApproximateFirstReceiveTimestamp: "0" },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:bench",
        awsRegion: LOCAL_REGION,
      }));
    const records = toRecords(history);
    const longRecords = toRecords(longHistory);
    const bytesOf = (commit: S3Commit) => documentItemSize(toItem(mutationToRecord(toMutation(commit), new Date(), 30 * 86_400)));
    const longItemBytes = bytesOf(longHistory.find((commit) => commit.eventName === "ObjectCreated:Put")!);
    log(
      `  1.2 KB variants: items of ${longItemBytes} B (${writeUnits(longItemBytes)} write units); the others ${bytesOf(history.find((commit) => commit.eventName === "ObjectCreated:Put")!)} B`,
    );

    const tables: string[] = [];
    // The aws profile's capacity model, and each variant's busiest change partition (write units/s over the run) under it.
    let capacity: CapacityModel | undefined;
    const changeLoads = new Map<string, number[]>();
    const timed = async (name: string, run: () => Promise<void>) => {
      const started = process.hrtime.bigint();
      await run();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const indexUnits = (capacity?.partitions() ?? []).filter((partition) => tables.includes(partition.table) && partition.index !== undefined);
      const busiest = Math.max(0, ...indexUnits.map((partition) => partition.admittedWriteUnits)) / seconds;
      if (capacity) changeLoads.set(name, [...(changeLoads.get(name) ?? []), busiest]);
      // Drop the variant's table so every variant meets a database of the same size.
      await Promise.all(tables.splice(0).map((TableName) => clients.dynamodb.send(new DeleteTableCommand({ TableName }))));
      log(
        `  ${name}: ${EVENTS} events in ${seconds.toFixed(2)} s = ${(EVENTS / seconds).toFixed(0)} events/s${capacity ? `; busiest change partition ${busiest.toFixed(0)} write units/s` : ""}`,
      );
      return EVENTS / seconds;
    };

    const outcomes = emptyCounts();
    let redelivered = 0;
    const ours =
      (variant: { historyDays?: number; enrich?: boolean; fixedShards?: boolean; largeItems?: boolean; sizedAhead?: boolean } = {}) =>
      async () => {
        const tableName = await newTable();
        // Four partitions (2,000 units/s), recorded a lead ahead; the run's clock starts past it.
        if (variant.sizedAhead) await new Ledger({ tableName, documentClient }).resizeChangeShards(BUCKET, 2_000);
        const ledger = new Ledger({
          tableName,
          documentClient,
          ...(variant.historyDays !== undefined && { historyDays: variant.historyDays }),
          // The default sizes change shards from the rate; a fixed count, beside it, shows what sizing costs.
          ...(variant.fixedShards && { changeShards: 1 }),
          ...(variant.sizedAhead && { now: () => new Date(Date.now() + EPOCH_LEAD_MS + 1_000) }),
        });
        const handler = createTrackerHandler({
          ledger,
          lookup: s3ObjectLookup(clients.s3),
          ...(variant.enrich && { describer: s3ObjectDescriber(slowS3, ["contentType"]) }),
          logger: new Logger({ serviceName: "bench", logLevel: "SILENT" }),
          concurrency: CONCURRENCY / INVOCATIONS,
          onBatchComplete: (counts) => addCounts(outcomes, counts),
        });
        const batches: SQSRecord[][] = [];
        const fed = variant.largeItems ? longRecords : records;
        for (let i = 0; i < fed.length; i += BATCH_SIZE) batches.push(fed.slice(i, i + BATCH_SIZE));
        const invocation = pLimit(INVOCATIONS);
        return timed(
          variant.historyDays
            ? "ours with the journal"
            : variant.enrich
              ? "ours with contentType enrichment"
              : variant.fixedShards
                ? "ours, changeShards 1 (fixed)"
                : variant.sizedAhead
                  ? "ours, 1.2 KB items, change shards sized ahead"
                  : variant.largeItems
                    ? "ours, 1.2 KB items"
                    : "ours (tracker handler)",
          async () => {
            await Promise.all(
              batches.map((batch) =>
                invocation(async () => {
                  // A message that failed (throttled past the SDK's retries) is received again, as from SQS.
                  for (let pending = batch; pending.length > 0;) {
                    const response = await handler({ Records: pending });
                    const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
                    pending = pending.filter((record) => failed.has(record.messageId));
                    redelivered += pending.length;
                    if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, REDELIVERY_MS));
                  }
                }),
              ),
            );
          },
        );
      };

    const ceiling = async () => {
      const tableName = await newTable();
      const items = history.map((commit) => toItem(mutationToRecord(toMutation(commit), new Date(), 30 * 86_400)));
      const limit = pLimit(CONCURRENCY);
      const put = (item: (typeof items)[number]): Promise<void> =>
        documentClient
          .send(
            new PutCommand({
              TableName: tableName,
              Item: item,
              ConditionExpression: "attribute_not_exists(pk) OR seq < :seq",
              ExpressionAttributeValues: { ":seq": item.seq },
            }),
          )
          .then(
            () => undefined,
            async (error: Error) => {
              if (error.name === "ConditionalCheckFailedException") return;
              if (error.name !== "ProvisionedThroughputExceededException") throw error;
              // Throttled past the SDK's retries: sent again, as a queue would.
              await new Promise((resolve) => setTimeout(resolve, REDELIVERY_MS));
              await put(item);
            },
          );
      return timed("ceiling (bare conditional PutItem)", async () => {
        await Promise.all(items.map((item) => limit(() => put(item))));
      });
    };

    const seed = async () => {
      const tableName = await newTable();
      return timed("seed-style (HeadObject + unconditional PutItem, sequential)", async () => {
        for (const record of records) {
          const event = JSON.parse(record.body).Records[0];
          const key = decodeS3Key(event.s3.object.key);
          const pk = partitionKeyOf(BUCKET, key);
          if (event.eventName.startsWith("ObjectRemoved")) {
            await documentClient.send(new DeleteCommand({ TableName: tableName, Key: { pk, sk: key } }));
          } else {
            const head = await clients.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
            await documentClient.send(
              new PutCommand({
                TableName: tableName,
                Item: { pk, sk: key, size: head.ContentLength, etag: head.ETag, lastModified: head.LastModified?.toISOString() },
              }),
            );
          }
        }
      });
    };

    log("  warming up...");
    await ceiling();
    const variants = {
      ceiling,
      ours: ours(),
      fixed: ours({ fixedShards: true }),
      journal: ours({ historyDays: 90 }),
      enriched: ours({ enrich: true }),
      large: ours({ largeItems: true }),
      largeSized: ours({ largeItems: true, sizedAhead: true }),
    } as const;
    const profiles: Record<string, TrackerProfileResult> = {};
    for (const [profile, latency] of [
      ["aws", AWS_LATENCY_MS],
      ["local", 0],
    ] as const) {
      log(`  profile ${profile}: ${latency} ms per DynamoDB request`);
      proxy.addLatency(latency);
      s3Proxy.addLatency(latency === 0 ? 0 : S3_LATENCY_MS);
      // The aws profile takes no more from a partition than DynamoDB gives.
      capacity = profile === "aws" ? new CapacityModel() : undefined;
      proxy.useCapacity(capacity);
      redelivered = 0;
      const rounds = await pairedRounds(variants, ROUNDS, () => {
        outcomes.applied = outcomes.skippedOlder = outcomes.duplicates = 0;
      });
      proxy.useCapacity(undefined);
      const loads = Object.fromEntries([...changeLoads].map(([name, values]) => [name, Math.round(median(values))]));
      changeLoads.clear();
      const ratio = (of: "ours" | "journal" | "enriched") => rounds.map((round) => round[of] / round.ceiling);
      profiles[profile] = {
        latency_ms: latency,
        ours_per_s: Math.round(median(rounds.map((round) => round.ours))),
        journal_per_s: Math.round(median(rounds.map((round) => round.journal))),
        ceiling_per_s: Math.round(median(rounds.map((round) => round.ceiling))),
        ours_vs_ceiling: spread(ratio("ours")),
        journal_vs_ceiling: spread(ratio("journal")),
        enriched_per_s: Math.round(median(rounds.map((round) => round.enriched))),
        enriched_vs_ceiling: spread(ratio("enriched")),
        enriched_vs_ours: spread(rounds.map((round) => round.enriched / round.ours)),
        sized_vs_fixed: spread(rounds.map((round) => round.ours / round.fixed)),
        large_items_per_s: Math.round(median(rounds.map((round) => round.large))),
        large_items_vs_ours: spread(rounds.map((round) => round.large / round.ours)),
        large_items_sized_per_s: Math.round(median(rounds.map((round) => round.largeSized))),
        large_items_sized_vs_ours: spread(rounds.map((round) => round.largeSized / round.ours)),
        redelivered_messages: redelivered,
        throttled_write_units: (capacity?.partitions() ?? []).reduce((sum, partition) => sum + partition.throttledWriteUnits, 0),
        busiest_change_partition_units_per_s: loads,
      };
    }
    // Sequential, so only without the latency (20,000 x two round trips would take minutes).
    proxy.addLatency(0);
    s3Proxy.addLatency(0);
    const seedPerSecond = await seed();
    return {
      events: EVENTS,
      concurrency: CONCURRENCY,
      invocations: INVOCATIONS,
      batch_size: BATCH_SIZE,
      rounds: ROUNDS,
      profiles,
      seed_per_s: Math.round(seedPerSecond),
      ours_vs_seed: Number((profiles.local!.ours_per_s / seedPerSecond).toFixed(2)),
      outcomes: { ...outcomes },
    };
  } finally {
    for (const client of Object.values(clients)) client.destroy();
    documentClient.destroy();
    slowS3.destroy();
    await Promise.allSettled([proxy.stop(), s3Proxy.stop(), dynamodb.stop(), aws.stop()]);
  }
}
