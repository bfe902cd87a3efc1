/**
 * The local stack's S3 accepts what S3 accepts, with S3's own checks, and the ledger follows:
 * large single PUTs, multipart uploads completed with XML as Go clients write it,
 * UploadPartCopy with ranges, ranged reads, and a data directory that keeps buckets and
 * ledger together across a restart.
 */
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalStack } from "../../local/stack.js";
import { compareLedgerWithBucket } from "../../local/verify.js";

const MiB = 1024 * 1024;
const bucket = "local-s3";
let stack: LocalStack;

beforeAll(async () => {
  stack = await LocalStack.start({ buckets: [bucket], logLevel: "SILENT" });
});
afterAll(async () => {
  await stack?.stop();
});

const pattern = (size: number, seed: number) => {
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) body.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return body;
};

async function bodyOf(key: string, range?: string): Promise<Buffer> {
  const response = await stack.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(range && { Range: range }) }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

async function ledgerMatches(): Promise<void> {
  await stack.waitForIdle();
  expect(await compareLedgerWithBucket(stack.ledger, stack.clients.s3, bucket)).toMatchObject({ matches: true });
}

/** Starts an upload of `parts` and returns what CompleteMultipartUpload needs. */
async function uploadParts(key: string, parts: Buffer[]) {
  const { UploadId } = await stack.clients.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const etags: string[] = [];
  for (const [index, body] of parts.entries()) {
    etags.push((await stack.clients.s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: index + 1, Body: body }))).ETag!);
  }
  return { uploadId: UploadId!, etags };
}

/** CompleteMultipartUpload sent as raw XML, the way a client other than the JS SDK writes it. */
async function complete(key: string, uploadId: string, xml: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${stack.info.endpoints.s3}/${bucket}/${encodeURIComponent(key)}?uploadId=${uploadId}`, {
    method: "POST",
    body: xml,
    headers: { "content-type": "application/xml" },
  });
  return { status: response.status, text: await response.text() };
}

describe("the local S3", () => {
  it("takes a 64 MiB single PUT (S3 takes up to 5 GiB in one) and the ledger records it", async () => {
    const body = pattern(64 * MiB, 1);
    const { ETag } = await stack.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "big/64mib.bin", Body: body }));
    const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "big/64mib.bin" }));
    expect(head).toMatchObject({ ContentLength: 64 * MiB, ETag });
    await ledgerMatches();
    expect(await stack.ledger.get(bucket, "big/64mib.bin")).toMatchObject({ size: 64 * MiB, cause: "ObjectCreated:Put" });
  });

  it("completes multipart uploads whose XML writes ETag quotes as &#34; and puts PartNumber after ETag, as Go's encoding/xml may", async () => {
    const parts = [pattern(5 * MiB, 2), pattern(3 * MiB, 3)];
    const { uploadId, etags } = await uploadParts("go/upload.bin", parts);
    const goQuote = (etag: string) => etag.replace(/"/g, "&#34;");
    const xml = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>${goQuote(etags[0]!)}</ETag><PartNumber>1</PartNumber></Part><Part><PartNumber>2</PartNumber><ETag>${goQuote(etags[1]!)}</ETag></Part></CompleteMultipartUpload>`;
    const result = await complete("go/upload.bin", uploadId, xml);
    expect(result.status, result.text).toBe(200);
    expect(result.text).toMatch(/<ETag>&quot;[0-9a-f]{32}-2&quot;<\/ETag>/);
    expect(Buffer.compare(await bodyOf("go/upload.bin"), Buffer.concat(parts))).toBe(0);
    await ledgerMatches();
    expect(await stack.ledger.get(bucket, "go/upload.bin")).toMatchObject({ size: 8 * MiB, cause: "ObjectCreated:CompleteMultipartUpload" });
  });

  it("keeps S3's checks on CompleteMultipartUpload: ETags, part order, the 5 MiB minimum but for the last part", async () => {
    const { uploadId, etags } = await uploadParts("checked.bin", [pattern(1 * MiB, 4), pattern(1 * MiB, 5)]);
    const part = (number: number, etag: string) => `<Part><PartNumber>${number}</PartNumber><ETag>${etag}</ETag></Part>`;
    const body = (...parts: string[]) => `<CompleteMultipartUpload>${parts.join("")}</CompleteMultipartUpload>`;
    expect((await complete("checked.bin", uploadId, body(part(1, '"0123456789abcdef0123456789abcdef"'), part(2, etags[1]!)))).text).toMatch(
      /<Code>InvalidPart<\/Code>/,
    );
    expect((await complete("checked.bin", uploadId, body(part(2, etags[1]!), part(1, etags[0]!)))).text).toMatch(/<Code>InvalidPartOrder<\/Code>/);
    expect((await complete("checked.bin", uploadId, body(part(1, etags[0]!), part(2, etags[1]!)))).text).toMatch(/<Code>EntityTooSmall<\/Code>/);
    expect((await complete("checked.bin", uploadId, "<CompleteMultipartUpload><Part>")).text).toMatch(/<Code>MalformedXML<\/Code>/);
    // A single small part is the last part: allowed.
    expect((await complete("checked.bin", uploadId, body(part(1, etags[0]!)))).status).toBe(200);
    await ledgerMatches();
  });

  it("dates a multipart upload's Last-Modified at its initiation, as S3 does, and its event at its completion", async () => {
    const initiated = new Date();
    const { uploadId, etags } = await uploadParts("dated/upload.bin", [pattern(5 * MiB, 7), pattern(1_000, 8)]);
    // Past the next whole second: an HTTP-date has whole seconds.
    await new Promise((resolve) => setTimeout(resolve, 2_100 - (Date.now() - initiated.getTime())));
    const completed = new Date();
    await stack.clients.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "dated/upload.bin",
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const { LastModified } = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "dated/upload.bin" }));
    expect(LastModified!.getTime()).toBeLessThan(Math.floor(completed.getTime() / 1000) * 1000);
    await stack.waitForIdle();
    const record = await stack.ledger.get(bucket, "dated/upload.bin");
    expect(new Date(record!.observedAt).getTime()).toBeGreaterThanOrEqual(completed.getTime());
  });

  it("copies server-side with UploadPartCopy, byte ranges included, and notifies it as CompleteMultipartUpload", async () => {
    const source = pattern(12 * MiB + 123, 6);
    await stack.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "copy/source.bin", Body: source }));
    const { UploadId } = await stack.clients.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "copy/target.bin" }));
    const ranges = [`bytes=0-${6 * MiB - 1}`, `bytes=${6 * MiB}-${source.length - 1}`];
    const parts = [];
    for (const [index, range] of ranges.entries()) {
      const { CopyPartResult } = await stack.clients.s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: "copy/target.bin",
          UploadId,
          PartNumber: index + 1,
          CopySource: `${bucket}/copy/source.bin`,
          CopySourceRange: range,
        }),
      );
      parts.push({ PartNumber: index + 1, ETag: CopyPartResult!.ETag! });
    }
    await stack.clients.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "copy/target.bin", UploadId, MultipartUpload: { Parts: parts } }));
    expect(Buffer.compare(await bodyOf("copy/target.bin"), source)).toBe(0);
    await ledgerMatches();
    expect(await stack.ledger.get(bucket, "copy/target.bin")).toMatchObject({ size: source.length, cause: "ObjectCreated:CompleteMultipartUpload" });
  });

  it("takes a streaming upload framed as aws-chunked (a checksum trailer included) and stores the payload alone", async () => {
    const payload = pattern(100_000, 8);
    const framed = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from("\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")]);
    const response = await fetch(`${stack.info.endpoints.s3}/${bucket}/chunked.bin`, {
      method: "PUT",
      body: framed,
      headers: {
        "content-encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": String(payload.length),
        "x-amz-trailer": "x-amz-checksum-crc32",
      },
    });
    expect(response.status).toBe(200);
    expect(Buffer.compare(await bodyOf("chunked.bin"), payload)).toBe(0);
    await ledgerMatches();
    expect(await stack.ledger.get(bucket, "chunked.bin")).toMatchObject({ size: payload.length });
  });

  it("serves byte ranges", async () => {
    const body = pattern(1 * MiB, 7);
    await stack.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "ranged.bin", Body: body }));
    expect(Buffer.compare(await bodyOf("ranged.bin", "bytes=100-199"), body.subarray(100, 200))).toBe(0);
    expect(Buffer.compare(await bodyOf("ranged.bin", "bytes=-10"), body.subarray(body.length - 10))).toBe(0);
    expect(Buffer.compare(await bodyOf("ranged.bin", `bytes=${body.length - 5}-`), body.subarray(body.length - 5))).toBe(0);
  });
});

describe("a data directory", () => {
  it("keeps the buckets and the ledger together across a restart, and is created if missing, owner-only", async () => {
    const parent = await mkdtemp(join(tmpdir(), "bucket-ledger-data-"));
    const dataDirectory = join(parent, "not", "there", "yet");
    try {
      const first = await LocalStack.start({ buckets: ["kept"], dataDirectory, logLevel: "SILENT" });
      try {
        // Owner-only, as is everything under it: the tables and objects are the developer's.
        expect(statSync(dataDirectory).mode & 0o777).toBe(0o700);
        await first.clients.s3.send(new PutObjectCommand({ Bucket: "kept", Key: "survives restart.txt", Body: "still here" }));
        await first.waitForIdle();
      } finally {
        await first.stop();
      }
      const second = await LocalStack.start({ buckets: ["kept"], dataDirectory, logLevel: "SILENT" });
      try {
        expect(await second.clients.s3.send(new HeadObjectCommand({ Bucket: "kept", Key: "survives restart.txt" }))).toMatchObject({
          ContentLength: "still here".length,
        });
        expect(await second.ledger.get("kept", "survives restart.txt")).toMatchObject({ deleted: false, size: "still here".length });
        const [run] = await second.reconcileAll({ dryRun: true });
        expect(run).toMatchObject({ status: "succeeded", missing: 0, stale: 0, orphaned: 0, scanned: 1 });
      } finally {
        await second.stop();
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
    // Two whole stacks start and stop here, each with its own DynamoDB Local.
  }, 90_000);
});
