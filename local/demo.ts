/**
 * The scripted demo: start the local stack, exercise S3 the way real workloads do (tricky
 * keys, multipart, copies, overwrites, single and batch deletes), show the ledger and its
 * change feed, and check the ledger against a full listing of the bucket.
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { RunSummary } from "../reconcile/run-summary.js";
import type { DeliveryFaultCounts } from "./delivery-faults.js";
import { redriveDeadLetters } from "./redrive.js";
import { queueDepth } from "./queues.js";
import { LocalStack, LOCAL_DEFAULTS } from "./stack.js";
import { demoIngestRule, runIngestDemo, type IngestDemoResult } from "./ingest-demo.js";
import { TRICKY_KEYS } from "./tricky-keys.js";
import { compareLedgerWithBucket, type LedgerComparison } from "./verify.js";
import type { History, LedgerRecord } from "../ledger/index.js";

async function multipartUpload(s3: S3Client, bucket: string, key: string): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts = [Buffer.alloc(5 * 1024 * 1024, 1), Buffer.from("the last part")];
  const uploaded = [];
  for (const [index, body] of parts.entries()) {
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: index + 1, Body: body }));
    uploaded.push({ ETag, PartNumber: index + 1 });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: uploaded } }));
}

/** Runs the S3 workload; returns the keys it expects to remain. */
export async function runDemoWorkload(s3: S3Client, bucket: string): Promise<void> {
  await Promise.all(
    TRICKY_KEYS.map((key, index) =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key === "empty-file.txt" ? new Uint8Array(0) : `object ${index}: ${key}` })),
    ),
  );
  await multipartUpload(s3, bucket, "videos/big upload.mp4");
  await s3.send(
    new CopyObjectCommand({ Bucket: bucket, Key: "copies/summary copy.pdf", CopySource: `${bucket}/${encodeURIComponent("reports/2026/q1 summary.pdf")}` }),
  );
  for (let version = 1; version <= 3; version++) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "math/1+1=2.txt", Body: `overwrite ${version}` }));
  }
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: DEMO_DELETED_KEY }));
  await s3.send(
    new DeleteObjectsCommand({
      Bucket: bucket,
      Delete: { Objects: ["query/what?x=1&y=2#frag.txt", "emoji/😀 party.txt", "deep/a/b/c/d/e/f/g/h.json"].map((Key) => ({ Key })) },
    }),
  );
}

/** The demo's deleted key whose history answers "who deleted this?". */
export const DEMO_DELETED_KEY = "percent/100%.txt";

export interface DemoResult {
  comparison: LedgerComparison;
  ledger: LedgerRecord[];
  changes: LedgerRecord[];
  history: History;
  ingestion: IngestDemoResult;
}

export async function runDemo(log: (line: string) => void): Promise<DemoResult> {
  log("starting the local stack (DynamoDB Local, S3 + SQS emulator, tracker, row ingestion)...");
  const stack = await LocalStack.start({ ingest: { rules: [demoIngestRule(LOCAL_DEFAULTS.buckets[0])] } });
  try {
    const bucket = stack.info.buckets[0]!;
    const started = new Date();
    log(`uploading, copying, overwriting and deleting objects in s3://${bucket} ...`);
    await runDemoWorkload(stack.clients.s3, bucket);
    log("waiting for every S3 event to reach the ledger...");
    await stack.waitForIdle();
    const ledger: LedgerRecord[] = [];
    for await (const record of stack.ledger.list({ bucket })) ledger.push(record);
    const changes: LedgerRecord[] = [];
    for await (const record of stack.ledger.changes({ bucket, since: started })) changes.push(record);
    const history = await stack.ledger.history(bucket, DEMO_DELETED_KEY);
    const ingestion = await runIngestDemo(stack, log);
    // The ledger tracks the ingestion's error reports too: compared after them.
    const comparison = await compareLedgerWithBucket(stack.ledger, stack.clients.s3, bucket);
    return { comparison, ledger, changes, history, ingestion };
  } finally {
    await stack.stop();
  }
}

export interface ChaosDemoOptions {
  seed?: number;
  dropFraction?: number;
  duplicateFraction?: number;
  maxDelayMs?: number;
  tableOutageMs?: number;
}

export interface ChaosDemoResult {
  seed: number;
  faults: DeliveryFaultCounts;
  deadLettered: number;
  diverged: LedgerComparison;
  reconciliation: RunSummary;
  repaired: LedgerComparison;
  redriven: number;
  afterRedrive: LedgerComparison;
}

/**
 * The chaos walk-through: the same workload under lost, duplicated and late notifications and a
 * table outage long enough to push messages into the DLQ; the ledger diverges, reconciliation
 * repairs it, and replaying the DLQ afterwards changes nothing.
 */
export async function runChaosDemo(log: (line: string) => void, options: ChaosDemoOptions = {}): Promise<ChaosDemoResult> {
  const seed = options.seed ?? Math.floor(Math.random() * 1_000_000);
  const tableOutageMs = options.tableOutageMs ?? 3000;
  let failedMessages = 0;
  const stack = await LocalStack.start({
    events: {
      deliveryFaults: {
        dropFraction: options.dropFraction ?? 0.2,
        duplicateFraction: options.duplicateFraction ?? 0.1,
        maxDelayMs: options.maxDelayMs ?? 1500,
        seed,
      },
      // Fail fast: a message goes to the DLQ after two receives, one second apart.
      visibilityTimeoutSeconds: 1,
    },
    maxReceiveCount: 2,
    // The tracker's error logs would drown the walk-through; its counts are reported instead.
    logLevel: "SILENT",
    tracker: { tableFaults: true, onBatch: (counts) => (failedMessages += counts.failedMessages) },
  });
  try {
    const bucket = stack.info.buckets[0]!;
    const s3 = stack.clients.s3;
    log(`CHAOS: ${stack.deliveryFaults!.describe()}`);
    log("uploading 40 objects...");
    await Promise.all(Array.from({ length: 40 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `batch/item-${i}.json`, Body: `{"n":${i}}` }))));
    await stack.waitForIdle(60_000);
    log(`CHAOS: the table is unreachable for the tracker for ${tableOutageMs} ms, while the demo workload runs`);
    stack.tableFaults!.startOutage(tableOutageMs);
    await runDemoWorkload(s3, bucket);
    await new Promise((resolve) => setTimeout(resolve, tableOutageMs));
    log("table back; overwriting 5 objects and deleting 10...");
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `batch/item-${i}.json`, Body: `{"n":${i},"v":2}` }))),
    );
    await Promise.all(Array.from({ length: 10 }, (_, i) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `batch/item-${30 + i}.json` }))));
    log("waiting for every delivery, retry and dead-lettering to settle...");
    await stack.waitForIdle(60_000);
    const deadLettered = (await queueDepth(stack.clients.sqs, stack.info.deadLetterQueueUrl)).visible;
    const faults = { ...stack.deliveryFaults!.counts };
    const diverged = await compareLedgerWithBucket(stack.ledger, stack.clients.s3, bucket);
    log(
      `notifications: ${faults.notifications}, dropped ${faults.dropped}, duplicated ${faults.duplicated}, delayed ${faults.delayed}; ` +
        `tracker deliveries failed (and retried) ${failedMessages}; messages in the DLQ: ${deadLettered}`,
    );
    log(
      `the ledger has diverged from the bucket: ${diverged.missing.length} objects missing, ${diverged.extra.length} extra, ` +
        `${diverged.different.length} stale (bucket ${diverged.bucketObjects} objects, ledger ${diverged.ledgerObjects})`,
    );
    log("running reconciliation (the nightly job, fanned out over range tasks)...");
    let [reconciliation] = await stack.reconcileAll();
    if (reconciliation!.status === "refused") {
      // The delete guard at work: on a bucket this small, the dropped deletes exceed 10% of it.
      log(`reconciliation refused: ${reconciliation!.reason}`);
      log("rerunning with force: the deletes were dropped on purpose");
      [reconciliation] = await stack.reconcileAll({ force: true });
    }
    log(
      `reconciliation ${reconciliation!.status}: scanned ${reconciliation!.scanned}, missing ${reconciliation!.missing}, stale ${reconciliation!.stale}, ` +
        `orphaned ${reconciliation!.orphaned}, repaired ${reconciliation!.repaired}, newer state kept ${reconciliation!.newerStateKept}`,
    );
    const repaired = await compareLedgerWithBucket(stack.ledger, stack.clients.s3, bucket);
    log(repaired.matches ? `the ledger matches the bucket again (${repaired.bucketObjects} objects)` : "the ledger still differs from the bucket");
    const redriven = await redriveDeadLetters(stack.clients.sqs, stack.info.deadLetterQueueUrl, stack.info.queueUrl);
    await stack.waitForIdle(60_000);
    const afterRedrive = await compareLedgerWithBucket(stack.ledger, stack.clients.s3, bucket);
    log(`replayed ${redriven} dead-lettered messages: ${afterRedrive.matches ? "harmless, the ledger still matches" : "the ledger changed!"}`);
    return { seed, faults, deadLettered, diverged, reconciliation: reconciliation!, repaired, redriven, afterRedrive };
  } finally {
    await stack.stop();
  }
}
