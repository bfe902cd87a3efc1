/**
 * Decodes the `aws-chunked` content encoding as a stream: `<hex size>[;chunk-signature=...]\r\n
 * <bytes>\r\n` repeated, a zero-size chunk, then optional trailer lines (`x-amz-checksum-crc32:
 * ...`) and a blank line. SDKs use it for streaming SigV4 uploads and for checksums sent as
 * trailers (S3 API reference, "Signature Calculations for the Authorization Header: Transferring
 * Payload in Multiple Chunks"). Signatures are not checked: the emulator authenticates nothing.
 */
import { Transform, type TransformCallback } from "node:stream";

export class AwsChunkedDecoder extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes of chunk data still to pass through, then 2 for the CRLF after it. */
  private remaining = 0;
  private state: "header" | "data" | "data-end" | "trailer" | "done" = "header";

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      this.drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    // Some clients end right after the final zero-size chunk.
    if (this.state === "done" || this.state === "trailer") callback();
    else callback(new Error("aws-chunked body ended inside a chunk"));
  }

  private drain(): void {
    for (;;) {
      if (this.state === "data") {
        if (this.buffer.length === 0) return;
        const take = Math.min(this.remaining, this.buffer.length);
        this.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        if (this.remaining > 0) return;
        this.state = "data-end";
        continue;
      }
      if (this.state === "done") {
        this.buffer = Buffer.alloc(0);
        return;
      }
      const end = this.buffer.indexOf("\r\n");
      if (end === -1) return;
      const line = this.buffer.subarray(0, end).toString("latin1");
      this.buffer = this.buffer.subarray(end + 2);
      if (this.state === "data-end") {
        if (line !== "") throw new Error("aws-chunked chunk is longer than its declared size");
        this.state = "header";
      } else if (this.state === "header") {
        const size = Number.parseInt(line.split(";")[0]!, 16);
        if (!Number.isFinite(size) || size < 0) throw new Error(`aws-chunked chunk header ${JSON.stringify(line.slice(0, 40))} is not a size`);
        if (size === 0) this.state = "trailer";
        else {
          this.remaining = size;
          this.state = "data";
        }
      } else if (line === "") {
        this.state = "done";
      }
    }
  }
}
