/**
 * A file's error report: NDJSON, one line per rejected row (its line and reason), next to the
 * source key under the rule's error prefix, encrypted as the file is. A version with nothing
 * rejected leaves no report behind, not even an earlier version's.
 */
import { DeleteObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { RejectedRow } from "./ingestion-store.js";
import { NDJSON, ObjectSink, type SinkEncryption } from "./object-sink.js";
import { sourceUri } from "./rules.js";

export interface ReportTarget {
  s3: S3Client;
  /** The source file's bucket (where the report goes) and key. */
  bucket: string;
  key: string;
  version: string;
  reportKey: string;
  encryption: SinkEncryption | undefined;
}

export async function writeErrorReport(target: ReportTarget, rows: AsyncIterable<RejectedRow>): Promise<void> {
  const { s3, bucket, key, version, reportKey, encryption } = target;
  const sink = new ObjectSink({ s3, bucket, key: reportKey, contentType: NDJSON, encryption: () => encryption });
  try {
    for await (const row of rows) {
      await sink.write(JSON.stringify({ source: sourceUri(bucket, key), version, line: row.line, reason: row.reason }));
    }
    await sink.complete();
  } catch (error) {
    await sink.abort();
    throw error;
  }
}

/**
 * Removes an earlier version's report. DeleteObject succeeds when there is none (it "removes the
 * null version (if there is one)"; https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html).
 */
export async function removeErrorReport(target: Pick<ReportTarget, "s3" | "bucket" | "reportKey">): Promise<void> {
  await target.s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.reportKey }));
}
