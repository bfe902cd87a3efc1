/**
 * The file an attempt ingests, read from S3 as often as a pass needs it: always the version the
 * ledger named, from any byte offset, so that a pass can resume where an invocation stopped.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import type { VersionPin } from "./decision.js";
import { encryptionOf, type SinkEncryption } from "./object-sink.js";

export class SourceFile {
  private learnt: SinkEncryption | undefined;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly key: string,
    private readonly pin: VersionPin,
    readonly size: number,
  ) {}

  /**
   * The file's bytes from `from` on; undefined when the version is gone or overwritten, so a newer
   * event (and its request) follows. Pinned by version ID, or by `If-Match` on the ETag, which S3
   * refuses with 412 Precondition Failed once the object changed; `Range` reads from the offset
   * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
   */
  async open(from: number): Promise<AsyncIterable<Uint8Array> | undefined> {
    if (from >= this.size) return (async function* () {})();
    try {
      const response = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          ...("versionId" in this.pin ? { VersionId: this.pin.versionId } : { IfMatch: `"${this.pin.etag}"` }),
          ...(from > 0 && { Range: `bytes=${from}-` }),
        }),
      );
      this.learnt = encryptionOf(response);
      return response.Body as Readable;
    } catch (error) {
      const name = (error as Error).name;
      if (name === "PreconditionFailed" || name === "NoSuchKey" || name === "NoSuchVersion") return undefined;
      throw error;
    }
  }

  /** The file's encryption, learnt from its GetObject: what is derived from it is encrypted alike. */
  encryption(): SinkEncryption | undefined {
    return this.learnt;
  }
}
