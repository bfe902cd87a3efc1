/**
 * Peak RSS of one ingestion of `rows` CSV rows: `node --import tsx bench/ingest-rss.ts <rows> [ingester|ceiling]`,
 * in a fresh process per size; prints JSON. DynamoDB Local and the S3 emulator run in processes
 * of their own, and the file is written to disk and uploaded as a stream, so nothing but the
 * ingestion itself is measured.
 *
 * `ceiling` is the yardstick: the same rows made one at a time in memory (no S3, no parsing) and
 * sent with BatchWriteItem at the same concurrency, nothing else. How much its peak grows from
 * the small file to the large one is what V8 and the SDK add to any loader that writes that many
 * items; ingestion should add nothing to it.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { createDocumentClient, createTableInput, Ledger } from "../ledger/index.js";
import { Ingester } from "../ingest/ingester.js";
import { IngestionStore } from "../ingest/ingestion-store.js";
import { ingestVersionOf } from "../ingest/request.js";
import { createRowTableInput } from "../ingest/row-table.js";
import { toRowItem, type RowItem } from "../ingest/row-item.js";
import { sourceUri, type IngestRule } from "../ingest/rules.js";
import { INGEST_DEFAULTS } from "../ingest/defaults.js";
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import { startDynamoDbLocal } from "../local/dynamodb-local.js";
import { createLocalClients } from "../local/stack.js";
import { startEmulatorProcess } from "./emulator.js";
import { offersRule } from "./ingest.js";

const rows = Number(process.argv[2] ?? 10_000);
const variant = process.argv[3] ?? "ingester";
if (variant !== "ingester" && variant !== "ceiling") throw new Error(`unknown variant ${variant}: ingester or ceiling`);
const row = (i: number) => ({
  account: `acc${i % 5000}`,
  offer_id: `offer${String(i).padStart(7, "0")}`,
  product_name: `Widget ${i % 997}`,
  price: `${(i % 10000) / 100}`,
});
const [dynamodb, aws] = await Promise.all([startDynamoDbLocal(), startEmulatorProcess()]);
const clients = createLocalClients({ s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint });
const documentClient = createDocumentClient(clients.dynamodb);
const directory = await mkdtemp(join(tmpdir(), "ingest-rss-"));
try {
  const file = join(directory, "offers.csv");
  const out = createWriteStream(file);
  out.write("account,offer_id,product_name,price\n");
  for (let i = 0; i < rows; i++) {
    if (!out.write(`${Object.values(row(i)).join(",")}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  const size = (await stat(file)).size;
  await clients.s3.send(new CreateBucketCommand({ Bucket: "rss" }));
  const put = await clients.s3.send(new PutObjectCommand({ Bucket: "rss", Key: "imports/offers.csv", Body: createReadStream(file), ContentLength: size }));
  const state = { size, etag: put.ETag!.replaceAll('"', ""), lastModified: new Date().toISOString() };
  await clients.dynamodb.send(new CreateTableCommand(createTableInput("rss-ledger")));
  const rule = offersRule("rss", "rss-rows");
  await clients.dynamodb.send(new CreateTableCommand(createRowTableInput(rule, "rss-rows")));
  const ledger = new Ledger({ tableName: "rss-ledger", documentClient });
  await ledger.apply({
    kind: "upsert",
    bucket: "rss",
    key: "imports/offers.csv",
    sequencer: "01",
    eventTime: state.lastModified,
    eventName: "ObjectCreated:Put",
    state,
  });
  const ingester = new Ingester({ s3: clients.s3, documentClient, ledger, store: new IngestionStore(documentClient, "rss-ledger", 86_400), rules: [rule] });
  let peak = process.memoryUsage.rss();
  let peakLive = 0;
  const collect = (globalThis as { gc?: () => void }).gc;
  const peaks = { heapTotal: 0, external: 0, arrayBuffers: 0 };
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peak = Math.max(peak, usage.rss);
    peaks.heapTotal = Math.max(peaks.heapTotal, usage.heapTotal);
    peaks.external = Math.max(peaks.external, usage.external);
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, usage.arrayBuffers);
  }, 50);
  // With --expose-gc: the live heap after a collection, what the ingestion really holds.
  const collector = collect && setInterval(() => (collect(), (peakLive = Math.max(peakLive, process.memoryUsage().heapUsed))), 500);
  const version = ingestVersionOf(state);
  if (variant === "ingester") {
    const outcome = await ingester.run(
      { kind: "ingest", bucket: "rss", key: "imports/offers.csv", version, cause: "operator", again: false },
      { remainingMs: () => Infinity },
    );
    if (outcome.outcome !== "finished" || outcome.record.rowsWritten !== rows) throw new Error(`ingestion did not write every row: ${JSON.stringify(outcome)}`);
  } else {
    await writeBare(rule, "rss-rows", version);
  }
  clearInterval(sampler);
  if (collector) clearInterval(collector);
  process.stdout.write(
    `${JSON.stringify({ variant, rows, bytes: size, peak_rss_mb: Math.round(Math.max(peak, process.memoryUsage.rss()) / 1e6), ...(collect && { peak_live_heap_mb: Math.round(peakLive / 1e6) }), peak_heap_total_mb: Math.round(peaks.heapTotal / 1e6), peak_external_mb: Math.round(peaks.external / 1e6) })}\n`,
  );

  /** The ceiling: rows made one at a time, in groups of 25, INGEST_DEFAULTS.writeConcurrency calls in flight. */
  async function writeBare(rule: IngestRule, table: string, version: string) {
    const limit = pLimit(INGEST_DEFAULTS.writeConcurrency);
    const source = sourceUri("rss", "imports/offers.csv");
    const calls = new Set<Promise<void>>();
    for (let start = 0; start < rows; start += 25) {
      const group: { PutRequest: { Item: RowItem } }[] = [];
      for (let i = start; i < Math.min(rows, start + 25); i++) {
        const made = toRowItem(rule, row(i), { source, version, line: i + 2 });
        if (!made.ok) throw new Error(made.reason);
        group.push({ PutRequest: { Item: made.item } });
      }
      const call = limit(async () => {
        let requests = group;
        while (requests.length > 0) {
          const response = await documentClient.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
          requests = (response.UnprocessedItems?.[table] ?? []) as typeof requests;
        }
      });
      calls.add(call);
      void call.finally(() => calls.delete(call));
      // Make rows only as fast as they are written, as the ingester does.
      if (limit.pendingCount > 0) await Promise.race(calls);
    }
    await Promise.all(calls);
  }
} finally {
  for (const client of Object.values(clients)) client.destroy();
  await Promise.allSettled([dynamodb.stop(), aws.stop(), rm(directory, { recursive: true, force: true })]);
}
