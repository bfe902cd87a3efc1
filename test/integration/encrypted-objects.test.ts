/**
 * Encrypted objects through the tracker and reconciliation, on the local S3's encryption
 * (SSE-KMS with the key recorded, SSE-C refused without its key) and DynamoDB Local:
 * - an SSE-KMS object whose key the role may not decrypt with (the stack grants none) has its
 *   checksum withheld and the rest of its description kept; the KMS authorization is the
 *   KmsAuthorizer's, in front of the emulator, since the emulator has no IAM;
 * - an SSE-C object, which S3 will not describe without its key, is recorded undescribed from its
 *   event or listing, and fails no message and no run, inventory drift included.
 * The clients stand for the tracker's, the reconcile function's and the ingest function's roles,
 * so the IAM contract (test/contract/iam.test.ts) sees the calls made on these objects and the
 * KMS actions each needs.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { CreateBucketCommand, HeadObjectCommand, PutBucketEncryptionCommand, PutObjectCommand, S3Client, type PutObjectCommandInput } from "@aws-sdk/client-s3";
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, type Ledger } from "../../ledger/index.js";
import { recordCalls, type FunctionRole } from "../../local/call-recorder.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";
import { reconcileBucket } from "../../reconcile/in-process.js";
import { inventorySource } from "../../reconcile/inventory-source.js";
import { listObjectsSource } from "../../reconcile/source.js";
import type { EnrichmentField } from "../../events/enrichment-fields.js";
import { s3ObjectDescriber } from "../../s3/object-details.js";
import { s3ObjectLookup } from "../../s3/object-lookup.js";
import { emptyCounts, addCounts } from "../../tracker/counts.js";
import { createTrackerHandler } from "../../tracker/handler.js";
import { runCliOnTerminal } from "../support/cli.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { put, sqsEventOf, tagged } from "../support/events.js";
import { ingestFixture } from "../support/ingest.js";
import { writeInventoryReport } from "../support/inventory.js";
import { KmsAuthorizer, TEST_KMS_KEY_ARN } from "../support/kms-authorizer.js";

const KEY_ARN = TEST_KMS_KEY_ARN;
const CUSTOMER_KEY = randomBytes(32);

let dynamodb: TestDynamoDb;
let emulator: S3SqsEmulator;
let authorizer: KmsAuthorizer;
/** The uploader: no role, not recorded. */
let s3: S3Client;

beforeAll(async () => {
  [dynamodb, emulator] = await Promise.all([startTestDynamoDb(), startS3SqsEmulator({ region: LOCAL_REGION })]);
  authorizer = await KmsAuthorizer.start(emulator.endpoint);
  s3 = client(emulator.endpoint);
});
afterAll(async () => {
  s3?.destroy();
  await authorizer?.stop();
  await Promise.all([dynamodb?.stop(), emulator?.stop()]);
});

function client(endpoint: string, role?: FunctionRole): S3Client {
  const created = new S3Client({ region: LOCAL_REGION, credentials: localCredentials, endpoint, forcePathStyle: true });
  return role ? recordCalls(created, role) : created;
}
/** A function's S3 client: through the KMS authorizer, its calls recorded for the IAM contract. */
const asRole = (role: FunctionRole) => client(authorizer.endpoint, role);

async function newBucket(): Promise<string> {
  const bucket = `encrypted-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

type Encryption = "kms" | "customer" | "default";
const ENCRYPTION: Record<Encryption, Partial<PutObjectCommandInput>> = {
  kms: { ServerSideEncryption: "aws:kms", SSEKMSKeyId: KEY_ARN, ChecksumAlgorithm: "CRC32" },
  customer: { SSECustomerAlgorithm: "AES256", SSECustomerKey: CUSTOMER_KEY.toString("base64") },
  default: {},
};

/** Uploads an object; its size and ETag as its event states them. */
async function upload(bucket: string, key: string, encryption: Encryption, body = `body of ${key}`) {
  const response = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "text/csv", ...ENCRYPTION[encryption] }));
  return { size: Buffer.byteLength(body), etag: response.ETag!.replaceAll('"', "") };
}

function tracker(ledger: Ledger, fields: EnrichmentField[]) {
  const counts = emptyCounts();
  const trackerS3 = asRole("tracker");
  const handler = createTrackerHandler({
    ledger,
    lookup: s3ObjectLookup(trackerS3),
    describer: s3ObjectDescriber(trackerS3, fields),
    logger: new Logger({ serviceName: "encrypted-objects-test", logLevel: "SILENT" }),
    concurrency: 4,
    onBatchComplete: (batch) => addCounts(counts, batch),
  });
  return { handler, counts };
}

describe("SSE-KMS objects, the checksum kept, the key not granted", () => {
  it("the tracker keeps the description without the checksum, marks it withheld, counts it, and fails nothing", async () => {
    const [bucket, ledger] = await Promise.all([newBucket(), dynamodb.createLedger()]);
    const { size, etag } = await upload(bucket, "kms/report.csv", "kms");
    const refusedBefore = authorizer.refused;
    const { handler, counts } = tracker(ledger, ["contentType", "checksum", "encryption"]);

    const response = await handler(sqsEventOf(put("kms/report.csv", "0A", size, etag, bucket)));

    expect(response.batchItemFailures).toEqual([]);
    expect(authorizer.refused).toBe(refusedBefore + 1);
    const record = await ledger.get(bucket, "kms/report.csv", { consistentRead: true });
    expect(record).toMatchObject({
      deleted: false,
      size,
      etag,
      contentType: "text/csv",
      encryption: { algorithm: "aws:kms", kmsKeyId: KEY_ARN },
      withheld: { reason: "kmsDenied", fields: ["checksum"] },
    });
    expect(record).not.toHaveProperty("checksum");
    expect(counts).toMatchObject({ applied: 1, checksumsWithheld: 1, undescribed: 0, failedMessages: 0 });
    // The operator sees what was not described, and why.
    const shown = await runCliOnTerminal(["get", bucket, "kms/report.csv"], {
      env: {
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: dynamodb.emulator.endpoint,
        BUCKET_LEDGER_TABLE: ledger.tableName,
      },
    });
    expect(shown.stdout).toMatch(/not described\s+checksum: S3 refused them \(kms:Decrypt on the object's key\)/);
  });

  it("asks with the checksum mode and keeps no marker once the key is granted, in the tracker and in reconciliation", async () => {
    const [bucket, ledger, repaired] = await Promise.all([newBucket(), dynamodb.createLedger(), dynamodb.createLedger()]);
    const { size, etag } = await upload(bucket, "kms/granted.csv", "kms");
    authorizer.decryptable.add(KEY_ARN);
    try {
      const refusedBefore = authorizer.refused;
      const { handler, counts } = tracker(ledger, ["checksum", "encryption"]);
      expect((await handler(sqsEventOf(put("kms/granted.csv", "0A", size, etag, bucket)))).batchItemFailures).toEqual([]);
      const reconcileS3 = asRole("reconcile");
      const summary = await reconcileBucket({
        ledger: repaired,
        bucket,
        source: listObjectsSource({ s3: reconcileS3, bucket }),
        describer: s3ObjectDescriber(reconcileS3, ["checksum", "encryption"]),
      });

      expect(authorizer.refused).toBe(refusedBefore);
      for (const record of [await ledger.get(bucket, "kms/granted.csv", { consistentRead: true }), await repaired.get(bucket, "kms/granted.csv")]) {
        // The local S3 keeps no additional checksums (docs/guides/query.md, Object metadata): nothing more to see.
        expect(record).toMatchObject({ encryption: { algorithm: "aws:kms", kmsKeyId: KEY_ARN } });
        expect(record).not.toHaveProperty("withheld");
      }
      expect(counts.checksumsWithheld).toBe(0);
      expect(summary).toMatchObject({ repaired: 1, checksumsWithheld: 0 });
    } finally {
      authorizer.decryptable.delete(KEY_ARN);
    }
  });

  it("reconciliation repairs it without the checksum and counts it; the run succeeds", async () => {
    const [bucket, ledger] = await Promise.all([newBucket(), dynamodb.createLedger()]);
    await upload(bucket, "kms/a.csv", "kms");
    await upload(bucket, "plain.csv", "default");
    const reconcileS3 = asRole("reconcile");

    const summary = await reconcileBucket({
      ledger,
      bucket,
      source: listObjectsSource({ s3: reconcileS3, bucket }),
      describer: s3ObjectDescriber(reconcileS3, ["checksum", "encryption"]),
    });

    expect(summary).toMatchObject({ missing: 2, repaired: 2, checksumsWithheld: 1, undescribed: 0 });
    expect(await ledger.get(bucket, "kms/a.csv", { consistentRead: true })).toMatchObject({
      encryption: { algorithm: "aws:kms", kmsKeyId: KEY_ARN },
      withheld: { reason: "kmsDenied", fields: ["checksum"] },
    });
    expect(await ledger.get(bucket, "plain.csv", { consistentRead: true })).not.toHaveProperty("withheld");
  });
});

describe("SSE-C objects, which S3 describes only to a caller with their key", () => {
  it("the tracker records a create from its event, undescribed with the reason; its tagging event changes nothing; nothing fails", async () => {
    const [bucket, ledger] = await Promise.all([newBucket(), dynamodb.createLedger()]);
    const { size, etag } = await upload(bucket, "ssec/secret.bin", "customer");
    const { handler, counts } = tracker(ledger, ["contentType", "tags"]);

    const created = await handler(sqsEventOf(put("ssec/secret.bin", "0A", size, etag, bucket)));
    const retagged = await handler(sqsEventOf(tagged("ssec/secret.bin", etag, bucket)));

    expect(created.batchItemFailures).toEqual([]);
    expect(retagged.batchItemFailures).toEqual([]);
    const record = await ledger.get(bucket, "ssec/secret.bin", { consistentRead: true });
    expect(record).toMatchObject({
      deleted: false,
      size,
      etag,
      cause: "ObjectCreated:Put",
      withheld: { reason: "sseCustomerKey", fields: ["contentType", "tags"] },
    });
    expect(record).not.toHaveProperty("contentType");
    expect(counts).toMatchObject({ applied: 1, undescribed: 2, failedMessages: 0 });
  });

  it("a lookup (a version deleted, an inventory confirmed) answers from the listing", async () => {
    const bucket = await newBucket();
    const { size, etag } = await upload(bucket, "ssec/looked-up.bin", "customer");
    expect(await s3ObjectLookup(asRole("tracker")).head(bucket, "ssec/looked-up.bin")).toMatchObject({ size, etag });
    expect(await s3ObjectLookup(asRole("tracker")).head(bucket, "ssec/looked-up")).toBeUndefined();
  });

  it("a listing run repairs it undescribed beside the rest of the bucket, and succeeds", async () => {
    const [bucket, ledger] = await Promise.all([newBucket(), dynamodb.createLedger()]);
    const secret = await upload(bucket, "b-secret.bin", "customer");
    await Promise.all([upload(bucket, "a.csv", "default"), upload(bucket, "c.csv", "default")]);
    const reconcileS3 = asRole("reconcile");

    const summary = await reconcileBucket({
      ledger,
      bucket,
      source: listObjectsSource({ s3: reconcileS3, bucket }),
      describer: s3ObjectDescriber(reconcileS3, ["contentType"]),
    });

    expect(summary).toMatchObject({ missing: 3, repaired: 3, undescribed: 1 });
    expect(await ledger.get(bucket, "b-secret.bin", { consistentRead: true })).toMatchObject({
      ...secret,
      withheld: { reason: "sseCustomerKey", fields: ["contentType"] },
    });
    expect(await ledger.get(bucket, "c.csv", { consistentRead: true })).toMatchObject({ contentType: "text/csv" });
  });

  it("an inventory run settles a drifted SSE-C key (stale in the ledger, or missing from the report) from the listing, repairs the rest, and succeeds", async () => {
    const [bucket, destination, ledger] = await Promise.all([newBucket(), newBucket(), dynamodb.createLedger()]);
    const stale = await upload(bucket, "stale-secret.bin", "customer");
    const unlisted = await upload(bucket, "unlisted-secret.bin", "customer");
    const plain = await upload(bucket, "plain.csv", "default");
    const earlier = new Date(Date.now() - 3_600_000).toISOString();
    // The ledger holds an older version of one SSE-C key, and another the report does not list.
    for (const [key, state] of [
      ["stale-secret.bin", { size: 1, etag: "etag-of-an-older-version" }],
      ["unlisted-secret.bin", unlisted],
    ] as const) {
      await ledger.apply({
        kind: "upsert",
        bucket,
        key,
        sequencer: "01",
        eventTime: earlier,
        eventName: "ObjectCreated:Put",
        state: { ...state, lastModified: earlier },
      });
    }
    await writeInventoryReport(s3, {
      destinationBucket: destination,
      prefix: "inventory",
      sourceBucket: bucket,
      configurationId: "bucket-ledger",
      createdAt: new Date(),
      format: "CSV",
      entries: [
        { key: "plain.csv", ...plain },
        { key: "stale-secret.bin", ...stale },
      ],
    });
    const reconcileS3 = asRole("reconcile");

    const summary = await reconcileBucket({
      ledger,
      bucket,
      source: await inventorySource({
        s3: reconcileS3,
        sourceBucket: bucket,
        location: { bucket: destination, prefix: "inventory", configurationId: "bucket-ledger" },
      }),
      describer: s3ObjectDescriber(reconcileS3, ["contentType"]),
      // One orphan of two keys: past the delete guard's default fraction, which this is not about.
      maxDeleteFraction: 1,
    });

    // The stale key is confirmed by the listing and repaired; the unlisted one still exists, so
    // it is not tombstoned.
    expect(summary).toMatchObject({ missing: 1, stale: 1, orphaned: 1, repaired: 2, unconfirmed: 1, undescribed: 1 });
    expect(await ledger.get(bucket, "stale-secret.bin", { consistentRead: true })).toMatchObject({
      ...stale,
      deleted: false,
      withheld: { reason: "sseCustomerKey", fields: ["contentType"] },
    });
    expect(await ledger.get(bucket, "unlisted-secret.bin", { consistentRead: true })).toMatchObject({ deleted: false });
    expect(await ledger.get(bucket, "plain.csv", { consistentRead: true })).toMatchObject({ ...plain, contentType: "text/csv" });
  });
});

/** A rule for offers files with a copy, and an error report for the row whose price is not a number; ingested as the ingest role. */
const OFFERS = "account,price\nacc1,19.99\nacc2,not-a-price\n";
async function offersFixture() {
  return ingestFixture({
    s3,
    documentClient: createDocumentClient(dynamodb.client),
    ledger: await dynamodb.createLedger(),
    rules: () => [{ name: "offers", pattern: "imports/*.csv", format: "csv", partitionKey: "account", types: { price: "number" }, copyPrefix: "copies/" }],
    ingester: { s3: asRole("ingest") },
  });
}

describe("ingestion in a bucket whose default encryption is SSE-KMS", () => {
  it("reads the source and writes the error report and the copy under the bucket's key (each call a KMS action the IAM contract checks)", async () => {
    const f = await offersFixture();
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: f.bucket,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: KEY_ARN } }] },
      }),
    );
    await f.upload("imports/offers.csv", OFFERS);

    const result = await f.ingest("imports/offers.csv");

    expect(result).toMatchObject({ outcome: "finished", record: { status: "partial", rowsWritten: 1, rowsRejected: 1 } });
    for (const key of ["imports/offers.csv", "copies/imports/offers.jsonl", `${f.rule.errorPrefix}imports/offers.csv.errors.ndjson`]) {
      expect(await s3.send(new HeadObjectCommand({ Bucket: f.bucket, Key: key })), key).toMatchObject({
        ServerSideEncryption: "aws:kms",
        SSEKMSKeyId: KEY_ARN,
      });
    }
  });

  it("encrypts the error report and the copy as the source object is, not as the bucket's default (issue 29, Medium 5)", async () => {
    const f = await offersFixture();
    // The bucket's default is SSE-S3; the file alone is under a customer-managed key.
    await f.upload("imports/private.csv", OFFERS, { ServerSideEncryption: "aws:kms", SSEKMSKeyId: KEY_ARN });
    const result = await f.ingest("imports/private.csv");

    expect(result).toMatchObject({ outcome: "finished", record: { status: "partial", rowsRejected: 1 } });
    for (const key of ["copies/imports/private.jsonl", `${f.rule.errorPrefix}imports/private.csv.errors.ndjson`]) {
      expect(await s3.send(new HeadObjectCommand({ Bucket: f.bucket, Key: key })), key).toMatchObject({
        ServerSideEncryption: "aws:kms",
        SSEKMSKeyId: KEY_ARN,
      });
    }
  });
});
