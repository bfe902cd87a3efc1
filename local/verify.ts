/**
 * Compares the ledger with a full listing of the bucket, for the demo and the tests. Holds
 * both sides in memory, which is fine at demo size; reconciliation does this by streaming.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { Ledger } from "../ledger/index.js";
import { listObjectPages } from "../aws/list-objects.js";

export interface LedgerComparison {
  bucketObjects: number;
  ledgerObjects: number;
  /** In the bucket, not (live) in the ledger. */
  missing: string[];
  /** Live in the ledger, not in the bucket. */
  extra: string[];
  /** In both with a different size or etag. */
  different: string[];
  matches: boolean;
}

export async function compareLedgerWithBucket(ledger: Ledger, s3: S3Client, bucket: string): Promise<LedgerComparison> {
  const inBucket = new Map<string, string>();
  for await (const page of listObjectPages(s3, { Bucket: bucket })) {
    for (const object of page) inBucket.set(object.Key, `${object.Size}/${object.ETag?.replace(/"/g, "")}`);
  }
  const inLedger = new Map<string, string>();
  for await (const record of ledger.list({ bucket })) inLedger.set(record.key, `${record.size}/${record.etag}`);
  const missing = [...inBucket.keys()].filter((key) => !inLedger.has(key));
  const extra = [...inLedger.keys()].filter((key) => !inBucket.has(key));
  const different = [...inBucket].filter(([key, state]) => inLedger.has(key) && inLedger.get(key) !== state).map(([key]) => key);
  return {
    bucketObjects: inBucket.size,
    ledgerObjects: inLedger.size,
    missing,
    extra,
    different,
    matches: missing.length + extra.length + different.length === 0,
  };
}
