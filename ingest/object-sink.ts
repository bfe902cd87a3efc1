/**
 * Writes an S3 object line by line without holding it in memory: parts of `partSize` bytes
 * through a multipart upload, or one PutObject if it stays under a part. S3 requires every part
 * but the last to be at least 5 MiB
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html), so a sink can only be
 * resumed at a part boundary: {@link ObjectSink.state} after a `write` that returned true.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type GetObjectCommandOutput,
  type PutObjectCommandInput,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { UploadState } from "../ledger/index.js";

/** The content type of what ingestion writes line by line: error reports and copies. */
export const NDJSON = "application/x-ndjson";

export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

/** How S3 is asked to encrypt what a sink writes (PutObject and CreateMultipartUpload take the same headers). */
export type SinkEncryption = Pick<PutObjectCommandInput, "ServerSideEncryption" | "SSEKMSKeyId" | "BucketKeyEnabled">;

/**
 * What is derived from an object (its error report, its copy) is encrypted as the object is, not
 * as the bucket's default would: a file under a customer-managed key must not give its rows to
 * readers of the default key. SSE-S3 (and an unknown source) is left to the bucket's default,
 * which is at least SSE-S3 (S3 user guide, "Setting default server-side encryption behavior").
 */
export function encryptionOf(source: Pick<GetObjectCommandOutput, "ServerSideEncryption" | "SSEKMSKeyId" | "BucketKeyEnabled">): SinkEncryption | undefined {
  if (source.ServerSideEncryption !== "aws:kms" && source.ServerSideEncryption !== "aws:kms:dsse") return undefined;
  return {
    ServerSideEncryption: source.ServerSideEncryption,
    ...(source.SSEKMSKeyId !== undefined && { SSEKMSKeyId: source.SSEKMSKeyId }),
    ...(source.BucketKeyEnabled !== undefined && { BucketKeyEnabled: source.BucketKeyEnabled }),
  };
}

export interface SinkTarget {
  s3: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  partBytes?: number;
  /** Asked when the object is created: the source's encryption is known only once it is read. */
  encryption?: () => SinkEncryption | undefined;
}

export class ObjectSink {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private uploadId: string | undefined;
  private readonly parts: UploadState["parts"];
  private readonly partBytes: number;

  constructor(
    private readonly target: SinkTarget,
    resume?: UploadState,
  ) {
    this.partBytes = Math.max(MIN_PART_BYTES, target.partBytes ?? DEFAULT_PART_BYTES);
    this.uploadId = resume?.uploadId;
    this.parts = [...(resume?.parts ?? [])];
  }

  /** Appends a line; true when a part was uploaded, so that everything written so far is in S3. */
  async write(line: string): Promise<boolean> {
    const chunk = Buffer.from(`${line}\n`, "utf8");
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.partBytes) return false;
    await this.uploadPart();
    return true;
  }

  /** Where this sink can resume; only meaningful right after a part was uploaded. */
  state(): UploadState | undefined {
    return this.uploadId === undefined ? undefined : { uploadId: this.uploadId, parts: [...this.parts] };
  }

  get pendingBytes(): number {
    return this.buffered;
  }

  private take(): Buffer {
    const body = Buffer.concat(this.chunks, this.buffered);
    [this.chunks, this.buffered] = [[], 0];
    return body;
  }

  private async uploadPart(): Promise<void> {
    const { s3, bucket, key, contentType } = this.target;
    this.uploadId ??= (
      await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType, ...this.target.encryption?.() }))
    ).UploadId!;
    const PartNumber = this.parts.length + 1;
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: this.uploadId, PartNumber, Body: this.take() }));
    this.parts.push({ PartNumber, ETag: ETag! });
  }

  async complete(): Promise<void> {
    const { s3, bucket, key, contentType } = this.target;
    if (this.uploadId === undefined) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: this.take(), ContentType: contentType, ...this.target.encryption?.() }));
      return;
    }
    if (this.buffered > 0) await this.uploadPart();
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts } }));
  }

  /** Drops an unfinished upload so its parts are not stored (and billed) forever. */
  async abort(): Promise<void> {
    if (this.uploadId === undefined) return;
    const { s3, bucket, key } = this.target;
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: this.uploadId })).catch(() => undefined);
  }
}
