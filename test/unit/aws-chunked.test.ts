/**
 * The local S3's `aws-chunked` decoder, on bodies framed as the S3 API reference describes:
 * signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) and unsigned chunks with a checksum
 * trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER), split at every possible byte boundary.
 */
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { AwsChunkedDecoder } from "../../local/s3/aws-chunked.js";
import { parseRange } from "../../local/s3/s3-handler.js";

async function decode(framed: Buffer, pieceSize: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < framed.length; i += pieceSize) pieces.push(framed.subarray(i, i + pieceSize));
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(pieces).pipe(new AwsChunkedDecoder())) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

const payload = Buffer.from("x".repeat(70_000) + "the end");

const signed = Buffer.concat([
  Buffer.from(`10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n`),
  payload.subarray(0, 0x10000),
  Buffer.from(`\r\n${(payload.length - 0x10000).toString(16)};chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n`),
  payload.subarray(0x10000),
  Buffer.from("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"),
]);

const unsignedWithTrailer = Buffer.concat([
  Buffer.from(`${payload.length.toString(16)}\r\n`),
  payload,
  Buffer.from("\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"),
]);

describe("aws-chunked bodies", () => {
  it.each([
    ["signed chunks", signed],
    ["unsigned chunks with a trailer", unsignedWithTrailer],
  ])("decodes %s however the bytes arrive", async (_name, framed) => {
    for (const pieceSize of [1, 2, 3, 7, 100, 65_536, framed.length]) {
      expect(Buffer.compare(await decode(framed, pieceSize), payload), `pieces of ${pieceSize}`).toBe(0);
    }
  });

  it("refuses a body that ends inside a chunk, or a chunk longer than declared", async () => {
    await expect(decode(signed.subarray(0, 1000), 100)).rejects.toThrow(/ended inside a chunk/);
    await expect(decode(Buffer.from("3\r\nabcd\r\n0\r\n\r\n"), 100)).rejects.toThrow(/longer than its declared size/);
    await expect(decode(Buffer.from("zz\r\nab\r\n"), 100)).rejects.toThrow(/is not a size/);
  });
});

describe("Range headers", () => {
  it("reads the forms S3 accepts", () => {
    expect(parseRange("bytes=0-9", 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=90-", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=-10", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=50-500", 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(() => parseRange("bytes=100-", 100)).toThrow(/not satisfiable/);
  });
});
