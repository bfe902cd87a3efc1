/**
 * Row ingestion throughput, side by side in one run against one DynamoDB Local and one local S3,
 * on the same CSV of 200,000 rows (seed 004's columns, with a typed price):
 *  1. ours: the Ingester, reading the object from S3 (its check pass and its write pass);
 *  2. ceiling: the same items, already built, sent with BatchWriteItem at the same concurrency,
 *     nothing else;
 *  3. seed-style: the seed's loader (the whole object read into memory and parsed, empty strings
 *     dropped, sequential batches of 25, UnprocessedItems retried 3 times with backoff).
 * Paired rounds (each round runs all three, in rotating order, on fresh tables); the ratios
 * reported are the medians of the per-round ratios.
 *
 * Plus peak RSS of an ingestion of 1,000,000 rows against 10,000, each in fresh processes
 * (bench/ingest-rss.ts), beside the same for the ceiling: how much any loader's peak grows with
 * the number of items it writes, V8's heap sizing and the SDK included.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateTableCommand, DeleteTableCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import { parse } from "csv-parse/sync";
import pLimit from "p-limit";
import { createDocumentClient, createTableInput, Ledger } from "../ledger/index.js";
import { INGEST_DEFAULTS } from "../ingest/defaults.js";
import { Ingester } from "../ingest/ingester.js";
import { IngestionStore } from "../ingest/ingestion-store.js";
import { ingestVersionOf } from "../ingest/request.js";
import { toRowItem, type RowItem } from "../ingest/row-item.js";
import { createRowTableInput } from "../ingest/row-table.js";
import { resolveIngestRules, sourceUri, type IngestRule } from "../ingest/rules.js";
import { LOCAL_REGION } from "../local/credentials.js";
import { startDynamoDbLocal } from "../local/dynamodb-local.js";
import { createLocalClients } from "../local/stack.js";
import { startEmulatorProcess } from "./emulator.js";
import { median, pairedRounds } from "./stats.js";
import { AWS_LIMITS, CapacityModel } from "../local/capacity-model.js";
import { FaultInjectingProxy } from "../local/fault-proxy.js";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { localCredentials } from "../local/credentials.js";
import { withoutSdkLogger } from "../aws/lean-client.js";

const dynamoDbClient = (endpoint: string) => withoutSdkLogger(new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials }));

const ROWS = Number(process.env.INGEST_BENCH_ROWS ?? 200_000);
const ROUNDS = Number(process.env.INGEST_BENCH_ROUNDS ?? 3);
const CONCURRENCY = INGEST_DEFAULTS.writeConcurrency;
const BUCKET = "bench-ingest";
/**
 * The AWS profile: every DynamoDB request held this long, a round trip in the region. DynamoDB
 * promises "single-digit millisecond" latency (https://aws.amazon.com/dynamodb/); 8 ms is the
 * upper end of that for a 25-item batch. Without it, DynamoDB Local on the same two cores as the
 * loader measures mostly how the two share a CPU.
 */
const AWS_LATENCY_MS = Number(process.env.INGEST_BENCH_LATENCY_MS ?? 8);
const KEY = "imports/offers.csv";

/** Seed 004's example columns; every tenth row has an empty product name (dropped, as the seed does). */
export function offersCsv(rows: number): string {
  const lines = ["account,offer_id,product_name,price"];
  for (let i = 0; i < rows; i++)
    lines.push(`acc${i % 5000},offer${String(i).padStart(7, "0")},${i % 10 === 0 ? "" : `Widget ${i % 997}`},${(i % 10000) / 100}`);
  return `${lines.join("\n")}\n`;
}

export const offersRule = (bucket: string, table: string): IngestRule =>
  resolveIngestRules([
    { name: "offers", bucket, pattern: "imports/*.csv", format: "csv", partitionKey: "account", sortKey: "offer_id", types: { price: "number" }, table },
  ])[0]!;

const RSS_RUNS = Number(process.env.INGEST_BENCH_RSS_RUNS ?? 3);

interface MemoryRun {
  peak_rss_mb: number;
  peak_heap_total_mb: number;
}

/** Median peak RSS of RSS_RUNS fresh processes (a run's peak depends on when V8 happens to collect). */
function ingestMemory(rows: number, variant: "ingester" | "ceiling"): { peak_rss_mb: number; runs: number[] } {
  const script = fileURLToPath(new URL("./ingest-rss.ts", import.meta.url));
  const runs: number[] = [];
  for (let run = 0; run < RSS_RUNS; run++) {
    const output = execFileSync(process.execPath, ["--import", "tsx", script, String(rows), variant], {
      encoding: "utf8",
      env: { ...process.env, AWS_REGION: LOCAL_REGION },
    });
    runs.push((JSON.parse(output.trim().split("\n").at(-1)!) as MemoryRun).peak_rss_mb);
  }
  return { peak_rss_mb: median(runs), runs };
}

export async function benchIngest(log: (line: string) => void) {
  const [dynamodb, aws] = await Promise.all([startDynamoDbLocal(), startEmulatorProcess()]);
  const proxy = await FaultInjectingProxy.start(dynamodb.endpoint);
  const clients = createLocalClients({ s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint });
  // Every variant's table traffic goes through the proxy; the profile sets its latency.
  const documentClient = createDocumentClient(dynamoDbClient(proxy.endpoint));
  const tables: string[] = [];
  try {
    log(`  preparing a CSV of ${ROWS} rows...`);
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const csv = offersCsv(ROWS);
    const put = await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: csv }));
    const state = { size: Buffer.byteLength(csv), etag: put.ETag!.replaceAll('"', ""), lastModified: new Date().toISOString() };
    const ledgerTable = `bench-ledger-${randomUUID()}`;
    await clients.dynamodb.send(new CreateTableCommand(createTableInput(ledgerTable)));
    const ledger = new Ledger({ tableName: ledgerTable, documentClient });
    await ledger.apply({ kind: "upsert", bucket: BUCKET, key: KEY, sequencer: "01", eventTime: state.lastModified, eventName: "ObjectCreated:Put", state });
    const version = ingestVersionOf(state);

    const newRowTable = async () => {
      const table = `bench-rows-${randomUUID()}`;
      const rule = offersRule(BUCKET, table);
      await clients.dynamodb.send(new CreateTableCommand(createRowTableInput(rule, table)));
      await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: table });
      tables.push(table);
      return rule;
    };
    const timed = async (name: string, run: () => Promise<void>) => {
      const started = process.hrtime.bigint();
      await run();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Each variant meets a database of the same size.
      await Promise.all(tables.splice(0).map((TableName) => clients.dynamodb.send(new DeleteTableCommand({ TableName }))));
      log(`  ${name}: ${ROWS} rows in ${seconds.toFixed(2)} s = ${(ROWS / seconds).toFixed(0)} rows/s`);
      return ROWS / seconds;
    };

    const ours = async () => {
      const rule = await newRowTable();
      // A fresh ingestion record each round: a first ingestion of the file.
      const store = new IngestionStore(documentClient, ledgerTable, 86_400);
      const ingester = new Ingester({ s3: clients.s3, documentClient, ledger, store, rules: [rule], writeConcurrency: CONCURRENCY });
      return timed("ours (Ingester: check pass, write pass, from S3)", async () => {
        const outcome = await ingester.run(
          { kind: "ingest", bucket: BUCKET, key: KEY, version, cause: "operator", again: true },
          { remainingMs: () => Infinity },
        );
        if (outcome.outcome !== "finished" || outcome.record.rowsWritten !== ROWS)
          throw new Error(`benchmark ingestion did not write every row: ${JSON.stringify(outcome)}`);
        await documentClient.send(
          new BatchWriteCommand({ RequestItems: { [ledgerTable]: [{ DeleteRequest: { Key: { pk: `ingest#${BUCKET}`, sk: KEY } } }] } }),
        );
      });
    };

    // The items ours writes, built once outside the timing.
    const itemRule = offersRule(BUCKET, "items");
    const items: RowItem[] = (parse(csv, { columns: true }) as Record<string, string>[]).map((values, index) => {
      const result = toRowItem(itemRule, values, { source: sourceUri(BUCKET, KEY), version, line: index + 2 });
      if (!result.ok) throw new Error(result.reason);
      return result.item;
    });
    const ceiling = async () => {
      const { table } = await newRowTable();
      const limit = pLimit(CONCURRENCY);
      return timed("ceiling (the same items, BatchWriteItem, same concurrency)", async () => {
        const groups: RowItem[][] = [];
        for (let i = 0; i < items.length; i += 25) groups.push(items.slice(i, i + 25));
        await Promise.all(
          groups.map((group) =>
            limit(async () => {
              let requests = group.map((Item) => ({ PutRequest: { Item } }));
              while (requests.length > 0) {
                const response = await documentClient.send(new BatchWriteCommand({ RequestItems: { [table!]: requests } }));
                requests = (response.UnprocessedItems?.[table!] ?? []) as typeof requests;
              }
            }),
          ),
        );
      });
    };

    const seed = async () => {
      const { table } = await newRowTable();
      return timed("seed-style (whole file in memory, sequential batches of 25, 3 retries)", async () => {
        const body = await (await clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }))).Body!.transformToString("utf8");
        const rows = (parse(body.replace(/^\ufeff/, ""), { columns: true }) as Record<string, string>[]).map((row) =>
          Object.fromEntries(Object.entries(row).filter(([, value]) => value !== "")),
        );
        for (let i = 0; i < rows.length; i += 25) {
          let requests = rows.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
          for (let attempt = 0; attempt <= 3 && requests.length > 0; attempt++) {
            if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 100));
            const response = await documentClient.send(new BatchWriteCommand({ RequestItems: { [table!]: requests } }));
            requests = (response.UnprocessedItems?.[table!] ?? []) as typeof requests;
          }
        }
      });
    };

    log("  warming up...");
    await ceiling();
    const variants = { ours, ceiling, seed } as const;
    const profiles: Record<string, object> = {};
    for (const [profile, latency] of [
      ["aws", AWS_LATENCY_MS],
      ["local", 0],
    ] as const) {
      proxy.addLatency(latency);
      // The aws profile takes no more from a partition than DynamoDB gives (local/capacity-model.ts).
      proxy.useCapacity(profile === "aws" ? new CapacityModel() : undefined);
      log(`  profile ${profile}: ${latency} ms per DynamoDB request`);
      const rounds = await pairedRounds(variants, ROUNDS);
      proxy.useCapacity(undefined);
      profiles[profile] = {
        latency_ms: latency,
        ours_per_s: Math.round(median(rounds.map((r) => r.ours))),
        ceiling_per_s: Math.round(median(rounds.map((r) => r.ceiling))),
        seed_per_s: Math.round(median(rounds.map((r) => r.seed))),
        ours_vs_ceiling: Number(median(rounds.map((r) => r.ours / r.ceiling)).toFixed(2)),
        ours_vs_seed: Number(median(rounds.map((r) => r.ours / r.seed)).toFixed(2)),
        per_round: rounds.map((r) => ({ ours_vs_ceiling: Number((r.ours / r.ceiling).toFixed(2)), ours_vs_seed: Number((r.ours / r.seed).toFixed(2)) })),
      };
    }
    const [smallRows, largeRows] = [10_000, Number(process.env.INGEST_BENCH_RSS_ROWS ?? 1_000_000)];
    const memory: Record<string, object> = {};
    for (const variant of ["ingester", "ceiling"] as const) {
      log(`  memory (${variant}): ${smallRows} and ${largeRows} rows, ${RSS_RUNS} fresh processes each...`);
      const small = ingestMemory(smallRows, variant);
      const large = ingestMemory(largeRows, variant);
      log(`  peak RSS (${variant}): ${small.peak_rss_mb} MB for ${smallRows} rows, ${large.peak_rss_mb} MB for ${largeRows} rows`);
      memory[variant] = {
        small_mb: small.peak_rss_mb,
        large_mb: large.peak_rss_mb,
        ratio: Number((large.peak_rss_mb / small.peak_rss_mb).toFixed(2)),
        small_runs: small.runs,
        large_runs: large.runs,
      };
    }
    return { rows: ROWS, rounds: ROUNDS, concurrency: CONCURRENCY, profiles, rss_rows: [smallRows, largeRows], rss_runs: RSS_RUNS, memory };
  } finally {
    for (const client of Object.values(clients)) client.destroy();
    await Promise.allSettled([proxy.stop(), dynamodb.stop(), aws.stop()]);
  }
}

const LAYOUT_ROWS = Number(process.env.INGEST_LAYOUT_ROWS ?? 10_000);
const LAYOUT_ROUNDS = Number(process.env.INGEST_LAYOUT_ROUNDS ?? 2);
/**
 * Each run of the comparison divides every capacity limit by one of these. 1 is AWS's; the
 * emulator behind the capacity model's gate (a GetItem per item written) on a shared machine
 * may not reach 1,000 rows/s, where one partition binds, so 10 shows what each layout does once
 * the writer outruns a partition: its rows/s are those of a DynamoDB ten times slower.
 */
const LAYOUT_SCALES = (process.env.INGEST_LAYOUT_SCALES ?? "1,10").split(",").map(Number);

interface LayoutRun {
  rows_per_s: number;
  written: number;
  rejected: number;
  seconds: number;
}

/**
 * One large file under the aws profile (8 ms a request, DynamoDB's partition limits through the
 * capacity model), the source index sharded (ingest/row-table.ts) beside the layout before it
 * (every row of a file under one index partition), in paired rounds: a first ingestion of the
 * file, then a new version of it (every row moves its index entry). Rows/s counts rows written;
 * under the old layout the writer gives up on rows still throttled after 8 attempts, and those
 * are counted apart.
 */
export async function benchIngestLayouts(log: (line: string) => void) {
  const scales: Record<string, object> = {};
  for (const scale of LAYOUT_SCALES) {
    log(`  capacity limits divided by ${scale}`);
    scales[`limits_divided_by_${scale}`] = await layoutsAtScale(scale, log);
  }
  return { rows: LAYOUT_ROWS, rounds: LAYOUT_ROUNDS, latency_ms: AWS_LATENCY_MS, capacity_model: true, scales };
}

async function layoutsAtScale(scale: number, log: (line: string) => void) {
  const [dynamodb, aws] = await Promise.all([startDynamoDbLocal(), startEmulatorProcess()]);
  const proxy = await FaultInjectingProxy.start(dynamodb.endpoint);
  const clients = createLocalClients({ s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint });
  const documentClient = createDocumentClient(dynamoDbClient(proxy.endpoint));
  // The ledger and the ingestion records go straight to DynamoDB Local: only the row table is measured.
  const ledgerClient = createDocumentClient(dynamoDbClient(dynamodb.endpoint));
  try {
    log(`  preparing a CSV of ${LAYOUT_ROWS} rows in two versions...`);
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const versions = [offersCsv(LAYOUT_ROWS), offersCsv(LAYOUT_ROWS).replace(/,(\d+(?:\.\d+)?)$/gm, (_, price: string) => `,${Number(price) + 1}`)];
    const ledgerTable = `bench-ledger-${randomUUID()}`;
    await clients.dynamodb.send(new CreateTableCommand(createTableInput(ledgerTable)));
    const ledger = new Ledger({ tableName: ledgerTable, documentClient: ledgerClient });
    let sequencer = 0;
    const upload = async (csv: string) => {
      const put = await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: csv }));
      const state = { size: Buffer.byteLength(csv), etag: put.ETag!.replaceAll('"', ""), lastModified: new Date().toISOString() };
      await ledger.apply({
        kind: "upsert",
        bucket: BUCKET,
        key: KEY,
        sequencer: String(++sequencer).padStart(8, "0"),
        eventTime: state.lastModified,
        eventName: "ObjectCreated:Put",
        state,
      });
      return ingestVersionOf(state);
    };
    proxy.addLatency(AWS_LATENCY_MS);

    const layout = (sourceLayout: "sharded" | "unsharded") => async () => {
      const table = `bench-rows-${randomUUID()}`;
      const rule = offersRule(BUCKET, table);
      await clients.dynamodb.send(new CreateTableCommand(createRowTableInput(rule, table)));
      await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: table });
      const { partitionWriteUnits, partitionReadUnits, tableWriteUnits, tableReadUnits } = AWS_LIMITS;
      proxy.useCapacity(
        new CapacityModel({
          limits: {
            partitionWriteUnits: partitionWriteUnits / scale,
            partitionReadUnits: partitionReadUnits / scale,
            tableWriteUnits: tableWriteUnits / scale,
            tableReadUnits: tableReadUnits / scale,
          },
        }),
      );
      const store = new IngestionStore(ledgerClient, ledgerTable, 86_400);
      const ingester = new Ingester({ s3: clients.s3, documentClient, ledger, store, rules: [rule], writeConcurrency: CONCURRENCY, sourceLayout });
      const runs: LayoutRun[] = [];
      try {
        for (const csv of versions) {
          const version = await upload(csv);
          const started = process.hrtime.bigint();
          const outcome = await ingester.run(
            { kind: "ingest", bucket: BUCKET, key: KEY, version, cause: "operator", again: true },
            { remainingMs: () => Infinity },
          );
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          if (outcome.outcome !== "finished") throw new Error(`benchmark ingestion did not finish: ${JSON.stringify(outcome)}`);
          const { rowsWritten, rowsRejected } = outcome.record;
          runs.push({ rows_per_s: Math.round(rowsWritten / seconds), written: rowsWritten, rejected: rowsRejected, seconds: Number(seconds.toFixed(1)) });
          log(
            `  ${sourceLayout}, ${runs.length === 1 ? "first ingestion" : "new version"}: ${rowsWritten} rows written (${rowsRejected} given up) in ${seconds.toFixed(1)} s = ${runs.at(-1)!.rows_per_s} rows/s`,
          );
        }
      } finally {
        proxy.useCapacity(undefined);
        await ledgerClient.send(new BatchWriteCommand({ RequestItems: { [ledgerTable]: [{ DeleteRequest: { Key: { pk: `ingest#${BUCKET}`, sk: KEY } } }] } }));
        await clients.dynamodb.send(new DeleteTableCommand({ TableName: table }));
      }
      return runs;
    };
    const results: Record<"sharded" | "unsharded", LayoutRun[]>[] = [];
    for (let round = 0; round < LAYOUT_ROUNDS; round++) {
      const order = round % 2 === 0 ? (["sharded", "unsharded"] as const) : (["unsharded", "sharded"] as const);
      const result = {} as Record<"sharded" | "unsharded", LayoutRun[]>;
      for (const name of order) result[name] = await layout(name)();
      results.push(result);
    }
    const phase = (index: 0 | 1) => ({
      sharded_per_s: median(results.map((round) => round.sharded[index]!.rows_per_s)),
      unsharded_per_s: median(results.map((round) => round.unsharded[index]!.rows_per_s)),
      unsharded_given_up: results.map((round) => round.unsharded[index]!.rejected),
      sharded_given_up: results.map((round) => round.sharded[index]!.rejected),
      sharded_vs_unsharded: Number(median(results.map((round) => round.sharded[index]!.rows_per_s / round.unsharded[index]!.rows_per_s)).toFixed(2)),
      per_round: results.map((round) => Number((round.sharded[index]!.rows_per_s / round.unsharded[index]!.rows_per_s).toFixed(2))),
    });
    return {
      rows: LAYOUT_ROWS,
      rounds: LAYOUT_ROUNDS,
      latency_ms: AWS_LATENCY_MS,
      capacity_model: true,
      first_ingestion: phase(0),
      new_version: phase(1),
      runs: results,
    };
  } finally {
    for (const client of [...Object.values(clients), documentClient, ledgerClient]) client.destroy();
    await Promise.allSettled([proxy.stop(), dynamodb.stop(), aws.stop()]);
  }
}
