/**
 * What S3 accepts as a bucket name (aws/bucket-name.ts) and as an object key, checked before a
 * name reaches the disk store (a bucket name becomes a directory there).
 */
import { isValidBucketName } from "../../aws/bucket-name.js";
import { S3Error } from "./errors.js";

/** InvalidBucketName, 400, as S3 answers it; the rules in aws/bucket-name.ts keep a name from naming a path outside a directory. */
export function assertBucketName(name: string): void {
  if (!isValidBucketName(name)) throw new S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", { BucketName: name });
}

/** "The name for a key is a sequence of Unicode characters whose UTF-8 encoding is at most 1,024 bytes long" (S3 user guide, "Naming Amazon S3 objects"). */
export const MAX_KEY_BYTES = 1024;

/** KeyTooLongError, 400 (S3 API reference, "Error responses": https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList). */
export function assertKeyLength(key: string): void {
  const size = Buffer.byteLength(key, "utf8");
  if (size > MAX_KEY_BYTES) throw new S3Error(400, "KeyTooLongError", "Your key is too long", { Size: String(size), MaxSizeAllowed: String(MAX_KEY_BYTES) });
}
