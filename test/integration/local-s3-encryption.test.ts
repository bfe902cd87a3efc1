/**
 * Encryption in the local S3, as S3 records and reports it (issue 24 §1): SSE-S3 on every
 * object, SSE-KMS keys named on the request or by the bucket's default (copies and multipart
 * uploads included), and SSE-C objects that answer HEAD and GET only to their key. Real SDK
 * calls over HTTP to the emulator.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CALL_LOG_ENV, recordCalls, type RecordedCall } from "../../local/call-recorder.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";

const KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const DEFAULT_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/0000aaaa-11bb-22cc-33dd-444455556666";
const plain = "plain-bucket";
const kmsDefault = "kms-default-bucket";

let directory: string;
let emulator: S3SqsEmulator;
let s3: S3Client;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "bucket-ledger-sse-"));
  emulator = await startS3SqsEmulator({ region: LOCAL_REGION, s3Directory: directory });
  s3 = new S3Client({ region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint, forcePathStyle: true });
  for (const bucket of [plain, kmsDefault]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: kmsDefault,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: DEFAULT_KEY_ARN }, BucketKeyEnabled: true }],
      },
    }),
  );
});

afterAll(async () => {
  await emulator?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

const head = (Bucket: string, Key: string, extra: Record<string, string> = {}) => s3.send(new HeadObjectCommand({ Bucket, Key, ...extra }));
const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

async function failure(promise: Promise<unknown>): Promise<{ status: number | undefined; name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { status: statusOf(error), name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error("expected the request to fail");
}

describe("SSE-S3", () => {
  it("is every object's floor, said on PUT, HEAD and GET, and every bucket's default", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: plain, Key: "plain.txt", Body: "x" }));
    expect(put.ServerSideEncryption).toBe("AES256");
    expect(await head(plain, "plain.txt")).toMatchObject({ ServerSideEncryption: "AES256" });
    expect((await s3.send(new GetObjectCommand({ Bucket: plain, Key: "plain.txt" }))).ServerSideEncryption).toBe("AES256");
    const { ServerSideEncryptionConfiguration } = await s3.send(new GetBucketEncryptionCommand({ Bucket: plain }));
    expect(ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: "AES256" });
  });
});

describe("SSE-KMS", () => {
  it("records the key a PutObject names and returns it on PUT, HEAD and GET", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: plain, Key: "kms.txt", Body: "x", ServerSideEncryption: "aws:kms", SSEKMSKeyId: KEY_ARN }));
    expect(put).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: KEY_ARN });
    expect(await head(plain, "kms.txt")).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: KEY_ARN });
    expect(await s3.send(new GetObjectCommand({ Bucket: plain, Key: "kms.txt" }))).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: KEY_ARN });
  });

  it("uses the AWS managed key when aws:kms names none", async () => {
    await s3.send(new PutObjectCommand({ Bucket: plain, Key: "managed.txt", Body: "x", ServerSideEncryption: "aws:kms" }));
    expect(await head(plain, "managed.txt")).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: "alias/aws/s3" });
  });

  it("applies the bucket's default key to a write that names none, and a write's own choice over it", async () => {
    expect((await s3.send(new GetBucketEncryptionCommand({ Bucket: kmsDefault }))).ServerSideEncryptionConfiguration?.Rules?.[0]).toEqual({
      ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: DEFAULT_KEY_ARN },
      BucketKeyEnabled: true,
    });
    const put = await s3.send(new PutObjectCommand({ Bucket: kmsDefault, Key: "defaulted.txt", Body: "x" }));
    expect(put).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: DEFAULT_KEY_ARN, BucketKeyEnabled: true });
    expect(await head(kmsDefault, "defaulted.txt")).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: DEFAULT_KEY_ARN });
    await s3.send(new PutObjectCommand({ Bucket: kmsDefault, Key: "own-key.txt", Body: "x", ServerSideEncryption: "aws:kms", SSEKMSKeyId: KEY_ARN }));
    expect(await head(kmsDefault, "own-key.txt")).toMatchObject({ SSEKMSKeyId: KEY_ARN });
    await s3.send(new PutObjectCommand({ Bucket: kmsDefault, Key: "s3-managed.txt", Body: "x", ServerSideEncryption: "AES256" }));
    expect((await head(kmsDefault, "s3-managed.txt")).SSEKMSKeyId).toBeUndefined();
  });

  it("gives a multipart upload the key named at its creation, or the bucket's default", async () => {
    const upload = async (Bucket: string, Key: string, named: boolean) => {
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ...(named && { ServerSideEncryption: "aws:kms", SSEKMSKeyId: KEY_ARN }) }));
      const part = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId: created.UploadId, PartNumber: 1, Body: "part" }));
      const completed = await s3.send(
        new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: created.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }),
      );
      return [created.SSEKMSKeyId, part.SSEKMSKeyId, completed.SSEKMSKeyId, (await head(Bucket, Key)).SSEKMSKeyId];
    };
    expect(await upload(plain, "multipart-named.bin", true)).toEqual([KEY_ARN, KEY_ARN, KEY_ARN, KEY_ARN]);
    expect(await upload(kmsDefault, "multipart-default.bin", false)).toEqual([DEFAULT_KEY_ARN, DEFAULT_KEY_ARN, DEFAULT_KEY_ARN, DEFAULT_KEY_ARN]);
  });

  it("encrypts a copy as the CopyObject says, else as its destination bucket's default, never as its source", async () => {
    const copy = (Key: string, Bucket: string, extra: Record<string, string> = {}) =>
      s3.send(new CopyObjectCommand({ Bucket, Key, CopySource: `${plain}/kms.txt`, ...extra }));
    expect(await copy("copy-to-plain.txt", plain)).toMatchObject({ ServerSideEncryption: "AES256" });
    expect((await head(plain, "copy-to-plain.txt")).SSEKMSKeyId).toBeUndefined();
    expect(await copy("copy-to-default.txt", kmsDefault)).toMatchObject({ SSEKMSKeyId: DEFAULT_KEY_ARN });
    await copy("copy-named.txt", plain, { ServerSideEncryption: "aws:kms", SSEKMSKeyId: DEFAULT_KEY_ARN });
    expect(await head(plain, "copy-named.txt")).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: DEFAULT_KEY_ARN });
  });

  it("goes back to SSE-S3 when the bucket's default is deleted", async () => {
    const bucket = "kms-then-plain";
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: KEY_ARN } }] },
      }),
    );
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: bucket }));
    expect(await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "after.txt", Body: "x" }))).toMatchObject({ ServerSideEncryption: "AES256" });
  });

  it("gives the call recorder each call's object key, and whether a HEAD asked for checksums", async () => {
    const log = await mkdtemp(join(tmpdir(), "bucket-ledger-sse-calls-"));
    const previous = process.env[CALL_LOG_ENV];
    process.env[CALL_LOG_ENV] = log;
    try {
      const recorded = recordCalls(
        new S3Client({ region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint, forcePathStyle: true }),
        "tracker",
      );
      await recorded.send(new HeadObjectCommand({ Bucket: plain, Key: "kms.txt", ChecksumMode: "ENABLED" }));
      await recorded.send(new GetObjectCommand({ Bucket: kmsDefault, Key: "defaulted.txt" }));
      await recorded.send(new HeadObjectCommand({ Bucket: plain, Key: "plain.txt" }));
      const calls = readdirSync(log).flatMap((file) =>
        readFileSync(join(log, file), "utf8")
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as RecordedCall),
      );
      expect(calls.map(({ command, input, kmsKeyId }) => ({ command, input, kmsKeyId }))).toEqual([
        { command: "HeadObject", input: { Bucket: plain, Key: "kms.txt", ChecksumMode: "ENABLED" }, kmsKeyId: KEY_ARN },
        { command: "GetObject", input: { Bucket: kmsDefault, Key: "defaulted.txt" }, kmsKeyId: DEFAULT_KEY_ARN },
        { command: "HeadObject", input: { Bucket: plain, Key: "plain.txt" }, kmsKeyId: undefined },
      ]);
    } finally {
      if (previous === undefined) delete process.env[CALL_LOG_ENV];
      else process.env[CALL_LOG_ENV] = previous;
      await rm(log, { recursive: true, force: true });
    }
  });
});

describe("ETags", () => {
  const md5Hex = (text: string) => `"${createHash("md5").update(text).digest("hex")}"`;

  it("are the data's MD5 under SSE-S3, and not under SSE-KMS or SSE-C (S3 API reference, Object, ETag)", async () => {
    const body = "same body";
    const sseS3 = await s3.send(new PutObjectCommand({ Bucket: plain, Key: "etag-s3.txt", Body: body }));
    expect(sseS3.ETag).toBe(md5Hex(body));
    const kms = await s3.send(new PutObjectCommand({ Bucket: plain, Key: "etag-kms.txt", Body: body, ServerSideEncryption: "aws:kms", SSEKMSKeyId: KEY_ARN }));
    expect(kms.ETag).not.toBe(md5Hex(body));
    expect((await head(plain, "etag-kms.txt")).ETag).toBe(kms.ETag);
    const key = randomBytes(32);
    const customer = await s3.send(
      new PutObjectCommand({
        Bucket: plain,
        Key: "etag-c.txt",
        Body: body,
        SSECustomerAlgorithm: "AES256",
        SSECustomerKey: key.toString("base64"),
        SSECustomerKeyMD5: createHash("md5").update(key).digest("base64"),
      }),
    );
    expect(customer.ETag).not.toBe(md5Hex(body));
    expect(customer.ETag).not.toBe(kms.ETag);
    // A copy's ETag follows the copy's own encryption.
    const copied = await s3.send(new CopyObjectCommand({ Bucket: plain, Key: "etag-copy.txt", CopySource: `${plain}/etag-kms.txt` }));
    expect(copied.CopyObjectResult?.ETag).toBe(md5Hex(body));
  });
});

describe("SSE-C", () => {
  const key = randomBytes(32);
  const customer = {
    SSECustomerAlgorithm: "AES256",
    SSECustomerKey: key.toString("base64"),
    SSECustomerKeyMD5: createHash("md5").update(key).digest("base64"),
  };
  const otherKey = randomBytes(32);
  const other = {
    SSECustomerAlgorithm: "AES256",
    SSECustomerKey: otherKey.toString("base64"),
    SSECustomerKeyMD5: createHash("md5").update(otherKey).digest("base64"),
  };

  beforeAll(async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: plain, Key: "customer.txt", Body: "secret body", ...customer }));
    expect(put).toMatchObject({ SSECustomerAlgorithm: "AES256", SSECustomerKeyMD5: customer.SSECustomerKeyMD5 });
    expect(put.ServerSideEncryption).toBeUndefined();
  });

  it("answers a HEAD without the key, or with another key, 400 with no body, and one with the key in full", async () => {
    // A HEAD's error has no body, so the SDK has nothing but the status to name it by.
    expect(await failure(head(plain, "customer.txt"))).toMatchObject({ status: 400 });
    const raw = await fetch(`${emulator.endpoint}/${plain}/customer.txt`, { method: "HEAD" });
    expect([raw.status, raw.headers.get("content-length")]).toEqual([400, "0"]);
    expect(await failure(head(plain, "customer.txt", other))).toMatchObject({ status: 400 });
    expect(await head(plain, "customer.txt", customer)).toMatchObject({
      ContentLength: "secret body".length,
      SSECustomerAlgorithm: "AES256",
      SSECustomerKeyMD5: customer.SSECustomerKeyMD5,
    });
  });

  it("answers a GET without the key 400 InvalidRequest, as S3 words it, and one with the key with the body", async () => {
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: plain, Key: "customer.txt" })))).toEqual({
      status: 400,
      name: "InvalidRequest",
      message: "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
    });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: plain, Key: "customer.txt", ...other })))).toMatchObject({ status: 400 });
    const got = await s3.send(new GetObjectCommand({ Bucket: plain, Key: "customer.txt", ...customer }));
    expect(await got.Body!.transformToString()).toBe("secret body");
  });

  it("is listed like any object, and keeps only the key's MD5 on disk, never the key", async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: plain, Prefix: "customer" }));
    expect(listed.Contents?.map((object) => object.Key)).toEqual(["customer.txt"]);
    const objects = join(directory, "buckets", plain, "objects");
    const metadata = readdirSync(objects)
      .filter((file) => file.endsWith(".json"))
      .map((file) => readFileSync(join(objects, file), "utf8"))
      .find((text) => text.includes('"customer.txt"'))!;
    expect(metadata).toContain(customer.SSECustomerKeyMD5);
    expect(metadata).not.toContain(customer.SSECustomerKey);
  });

  it("copies only with the source's key (x-amz-copy-source-server-side-encryption-customer-*)", async () => {
    const copy = (extra: Record<string, string>) =>
      s3.send(new CopyObjectCommand({ Bucket: plain, Key: "customer-copy.txt", CopySource: `${plain}/customer.txt`, ...extra }));
    expect(await failure(copy({}))).toMatchObject({ status: 400 });
    await copy({
      CopySourceSSECustomerAlgorithm: "AES256",
      CopySourceSSECustomerKey: customer.SSECustomerKey,
      CopySourceSSECustomerKeyMD5: customer.SSECustomerKeyMD5,
    });
    expect(await head(plain, "customer-copy.txt")).toMatchObject({ ServerSideEncryption: "AES256" });
  });

  it("takes the parts of an SSE-C multipart upload only with the upload's key", async () => {
    const Key = "customer-multipart.bin";
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: plain, Key, ...customer }));
    expect(await failure(s3.send(new UploadPartCommand({ Bucket: plain, Key, UploadId, PartNumber: 1, Body: "part" })))).toMatchObject({ status: 400 });
    expect(await failure(s3.send(new UploadPartCommand({ Bucket: plain, Key, UploadId, PartNumber: 1, Body: "part", ...other })))).toMatchObject({
      status: 400,
    });
    const part = await s3.send(new UploadPartCommand({ Bucket: plain, Key, UploadId, PartNumber: 1, Body: "part", ...customer }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: plain, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }));
    expect(await failure(head(plain, Key))).toMatchObject({ status: 400 });
    expect(await head(plain, Key, customer)).toMatchObject({ SSECustomerKeyMD5: customer.SSECustomerKeyMD5 });
  });

  it("refuses SSE-C headers on an object that is not SSE-C, and a key whose MD5 is not the one given", async () => {
    expect(await failure(head(plain, "plain.txt", customer))).toMatchObject({ status: 400 });
    // Sent raw: the SDK computes the MD5 itself.
    const mismatched = await fetch(`${emulator.endpoint}/${plain}/bad-md5.txt`, {
      method: "PUT",
      body: "x",
      headers: {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": customer.SSECustomerKey,
        "x-amz-server-side-encryption-customer-key-md5": other.SSECustomerKeyMD5,
      },
    });
    expect([mismatched.status, /<Code>(\w+)<\/Code>/.exec(await mismatched.text())?.[1]]).toEqual([400, "InvalidArgument"]);
  });
});
