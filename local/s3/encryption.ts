/**
 * Server-side encryption as S3 records and reports it. Nothing is encrypted on disk here: what
 * matters to the code under test is what S3 says about an object and what it refuses.
 *
 * - SSE-S3 (AES256) is every object's floor: "Starting January 5, 2023, all new object uploads
 *   to Amazon S3 are automatically encrypted" and S3 says so in `x-amz-server-side-encryption`
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html).
 * - SSE-KMS: `x-amz-server-side-encryption: aws:kms` with an optional key id; without one S3
 *   uses the AWS managed key `aws/s3`; a bucket's default encryption applies to a write that
 *   names none (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html,
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html).
 * - SSE-C: the request carries the key, S3 keeps only something to check the next request's key
 *   against (here the key's MD5, never the key), and every read must bring the same key
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html).
 *   Two documented S3 refusals are not modelled, since they would make SSE-C untestable here:
 *   S3 refuses SSE-C over plain HTTP, and blocks SSE-C in new buckets by default
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-s3-c-encryption.html).
 */
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";
import { S3Error } from "./errors.js";

/** The AWS managed key S3 uses for `aws:kms` without a key id. S3 names it by its ARN; the local S3 has no KMS, so by its alias. */
export const AWS_MANAGED_S3_KEY = "alias/aws/s3";

const KMS_ALGORITHMS = ["aws:kms", "aws:kms:dsse"] as const;
const SSE_ALGORITHMS = ["AES256", ...KMS_ALGORITHMS] as const;
type SseAlgorithm = (typeof SSE_ALGORITHMS)[number];
type KmsAlgorithm = (typeof KMS_ALGORITHMS)[number];

export type ObjectEncryption =
  | { algorithm: "AES256" }
  | { algorithm: KmsAlgorithm; kmsKeyId: string; bucketKeyEnabled?: true }
  | { algorithm: "SSE-C"; customerAlgorithm: "AES256"; customerKeyMd5: string };

/** A bucket's default encryption (PutBucketEncryption); SSE-C cannot be one. */
export interface BucketEncryption {
  algorithm: SseAlgorithm;
  kmsKeyId?: string;
  bucketKeyEnabled?: boolean;
}

export const SSE_S3: ObjectEncryption = { algorithm: "AES256" };

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const invalid = (message: string) => new S3Error(400, "InvalidArgument", message);

/** Only the MD5 of an SSE-C key is kept, as its identity; S3 keeps a salted HMAC (same page). */
interface CustomerKey {
  algorithm: "AES256";
  keyMd5: string;
}

/**
 * The SSE-C headers of a request, checked as S3 checks them: all three or none, AES256, a
 * 256-bit key whose MD5 is the one given. `prefix` is `x-amz-` for the object itself and
 * `x-amz-copy-source-` for a copy's source.
 */
export function customerKeyOf(headers: IncomingHttpHeaders, prefix: "x-amz-" | "x-amz-copy-source-" = "x-amz-"): CustomerKey | undefined {
  const name = `${prefix}server-side-encryption-customer-`;
  const algorithm = header(headers, `${name}algorithm`);
  const key = header(headers, `${name}key`);
  const md5 = header(headers, `${name}key-md5`);
  if (algorithm === undefined && key === undefined && md5 === undefined) return undefined;
  if (algorithm === undefined)
    throw invalid("Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.");
  if (algorithm !== "AES256")
    throw new S3Error(400, "InvalidEncryptionAlgorithmError", "The encryption request you specified is not valid. The valid value is AES256.");
  if (key === undefined) throw invalid("Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.");
  const bytes = Buffer.from(key, "base64");
  if (bytes.length !== 32) throw invalid("The secret key was invalid for the specified algorithm.");
  const actual = createHash("md5").update(bytes).digest("base64");
  if (md5 !== undefined && md5 !== actual) throw invalid("The calculated MD5 hash of the key did not match the hash that was provided.");
  return { algorithm, keyMd5: actual };
}

/**
 * The encryption a write (PutObject, CopyObject's destination, CreateMultipartUpload) gives its
 * object: the request's own headers, else the bucket's default, else SSE-S3.
 */
export function encryptionOfWrite(headers: IncomingHttpHeaders, bucketDefault: BucketEncryption | undefined): ObjectEncryption {
  const requested = header(headers, "x-amz-server-side-encryption");
  const keyId = header(headers, "x-amz-server-side-encryption-aws-kms-key-id");
  const bucketKey = header(headers, "x-amz-server-side-encryption-bucket-key-enabled");
  const customer = customerKeyOf(headers);
  if (customer) {
    if (requested !== undefined || keyId !== undefined)
      throw invalid("Server Side Encryption with Customer provided key is incompatible with the encryption method specified");
    return { algorithm: "SSE-C", customerAlgorithm: customer.algorithm, customerKeyMd5: customer.keyMd5 };
  }
  if (requested !== undefined && !(SSE_ALGORITHMS as readonly string[]).includes(requested)) throw invalid("The encryption method specified is not supported");
  const chosen: BucketEncryption =
    requested !== undefined
      ? { algorithm: requested as SseAlgorithm, ...(keyId !== undefined && { kmsKeyId: keyId }) }
      : (bucketDefault ?? { algorithm: "AES256" });
  if (keyId !== undefined && chosen.algorithm === "AES256")
    throw invalid("Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms");
  if (chosen.algorithm === "AES256") return SSE_S3;
  const bucketKeyEnabled = bucketKey !== undefined ? bucketKey.toLowerCase() === "true" : chosen.bucketKeyEnabled === true;
  return { algorithm: chosen.algorithm, kmsKeyId: chosen.kmsKeyId ?? AWS_MANAGED_S3_KEY, ...(bucketKeyEnabled && { bucketKeyEnabled: true }) };
}

/** What S3 says about an object's encryption on PUT, HEAD, GET, copies and multipart responses. */
export function encryptionHeaders(encryption: ObjectEncryption | undefined): Record<string, string> {
  const stored = encryption ?? SSE_S3;
  if (stored.algorithm === "SSE-C")
    return {
      "x-amz-server-side-encryption-customer-algorithm": stored.customerAlgorithm,
      "x-amz-server-side-encryption-customer-key-md5": stored.customerKeyMd5,
    };
  if (stored.algorithm === "AES256") return { "x-amz-server-side-encryption": "AES256" };
  return {
    "x-amz-server-side-encryption": stored.algorithm,
    "x-amz-server-side-encryption-aws-kms-key-id": stored.kmsKeyId,
    ...(stored.bucketKeyEnabled && { "x-amz-server-side-encryption-bucket-key-enabled": "true" }),
  };
}

/**
 * A read of an object (GET, HEAD, a copy's source) must bring an SSE-C object's key, and only an
 * SSE-C object's. Without the key S3 answers 400 InvalidRequest, "The object was stored using a
 * form of Server Side Encryption. The correct parameters must be provided to retrieve the
 * object." (a HEAD answers 400 with no body: HeadObject API reference, "it returns a generic 400
 * Bad Request, 403 Forbidden or 404 Not Found code"). A key other than the object's is refused
 * with 400 too: "Amazon S3 first verifies that the encryption key that you provided matches"
 * (specifying-s3-c-encryption.html).
 */
export function assertReadable(
  encryption: ObjectEncryption | undefined,
  headers: IncomingHttpHeaders,
  prefix: "x-amz-" | "x-amz-copy-source-" = "x-amz-",
): void {
  const customer = customerKeyOf(headers, prefix);
  if (encryption?.algorithm !== "SSE-C") {
    if (customer) throw new S3Error(400, "InvalidRequest", "The encryption parameters are not applicable to this object.");
    return;
  }
  if (!customer)
    throw new S3Error(
      400,
      "InvalidRequest",
      "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
    );
  if (customer.keyMd5 !== encryption.customerKeyMd5)
    throw new S3Error(400, "InvalidRequest", "The provided encryption key does not match the key the object was stored with.");
}

const MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema.";

const bucketEncryptionXml = z.object({
  ServerSideEncryptionConfiguration: z.object({
    // One rule: a second one parses as a list, and S3 takes one.
    Rule: z.object({
      ApplyServerSideEncryptionByDefault: z.object({ SSEAlgorithm: z.enum(SSE_ALGORITHMS), KMSMasterKeyID: z.string().min(1).optional() }),
      BucketKeyEnabled: z.enum(["true", "false"]).optional(),
    }),
  }),
});

/** PutBucketEncryption's body, as parsed by xml.ts: one rule, an algorithm, and a key only for KMS. */
export function bucketEncryptionFrom(parsed: unknown): BucketEncryption {
  const result = bucketEncryptionXml.safeParse(parsed);
  if (!result.success) throw new S3Error(400, "MalformedXML", MALFORMED);
  const rule = result.data.ServerSideEncryptionConfiguration.Rule;
  const { SSEAlgorithm, KMSMasterKeyID } = rule.ApplyServerSideEncryptionByDefault;
  if (KMSMasterKeyID !== undefined && SSEAlgorithm === "AES256")
    throw invalid("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse");
  return {
    algorithm: SSEAlgorithm,
    ...(KMSMasterKeyID !== undefined && { kmsKeyId: KMSMasterKeyID }),
    ...(rule.BucketKeyEnabled !== undefined && { bucketKeyEnabled: rule.BucketKeyEnabled === "true" }),
  };
}

/** GetBucketEncryption's body: every bucket has a default, SSE-S3 unless set. */
export function bucketEncryptionXmlOf(encryption: BucketEncryption | undefined, escape: (text: string) => string): string {
  const { algorithm, kmsKeyId, bucketKeyEnabled } = encryption ?? { algorithm: "AES256" };
  return [
    `<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ApplyServerSideEncryptionByDefault>`,
    `<SSEAlgorithm>${algorithm}</SSEAlgorithm>`,
    kmsKeyId !== undefined ? `<KMSMasterKeyID>${escape(kmsKeyId)}</KMSMasterKeyID>` : "",
    `</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>${bucketKeyEnabled === true}</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`,
  ].join("");
}

/**
 * A single-part object's ETag. "Objects encrypted by SSE-C or SSE-KMS have ETags that are not
 * an MD5 digest of their object data" (S3 API reference, Object, ETag); SSE-S3 objects' are.
 * Locally it is a digest of the data's MD5 and the key, so it still changes with the content,
 * and nothing can take it for the data's MD5.
 */
export function singlePartEtag(md5: Buffer, encryption: ObjectEncryption | undefined): string {
  if (encryption === undefined || encryption.algorithm === "AES256") return md5.toString("hex");
  const key = encryption.algorithm === "SSE-C" ? encryption.customerKeyMd5 : encryption.kmsKeyId;
  return createHash("md5").update(md5).update(`${encryption.algorithm}:${key}`).digest("hex");
}
