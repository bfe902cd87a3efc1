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
import { LocalStack } from "./stack.js";
import { compareLedgerWithBucket, type LedgerComparison } from "./verify.js";
import type { LedgerRecord } from "../ledger/index.js";

/** Keys that break naive trackers: form encoding, unicode, astral characters, 1,024 bytes. */
export const TRICKY_KEYS = [
  "reports/2026/q1 summary.pdf",
  "math/1+1=2.txt",
  "math/a + b = c.txt",
  "percent/100%.txt",
  "query/what?x=1&y=2#frag.txt",
  "unicode/日本語/ファイル.txt",
  "unicode/café/ﬁle.txt",
  "emoji/😀 party.txt",
  "emoji/\u{1F680}/rocket.bin",
  "halfwidth/\uFF61dot.txt",
  `long/${"k".repeat(1024 - "long/".length)}`,
  "empty-file.txt",
  "deep/a/b/c/d/e/f/g/h.json",
];

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
  await Promise.all(TRICKY_KEYS.map((key, index) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key === "empty-file.txt" ? new Uint8Array(0) : `object ${index}: ${key}` }))));
  await multipartUpload(s3, bucket, "videos/big upload.mp4");
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copies/summary copy.pdf", CopySource: `${bucket}/${encodeURIComponent("reports/2026/q1 summary.pdf")}` }));
  for (let version = 1; version <= 3; version++) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "math/1+1=2.txt", Body: `overwrite ${version}` }));
  }
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "percent/100%.txt" }));
  await s3.send(
    new DeleteObjectsCommand({
      Bucket: bucket,
      Delete: { Objects: ["query/what?x=1&y=2#frag.txt", "emoji/😀 party.txt", "deep/a/b/c/d/e/f/g/h.json"].map((Key) => ({ Key })) },
    }),
  );
}

export interface DemoResult {
  comparison: LedgerComparison;
  ledger: LedgerRecord[];
  changes: LedgerRecord[];
}

export async function runDemo(log: (line: string) => void): Promise<DemoResult> {
  log("starting the local stack (DynamoDB Local, S3 + SQS emulator, tracker)...");
  const stack = await LocalStack.start();
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
    const comparison = await compareLedgerWithBucket(stack.ledger, stack.clients.s3, bucket);
    return { comparison, ledger, changes };
  } finally {
    await stack.stop();
  }
}
