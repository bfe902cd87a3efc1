/**
 * What S3 accepts as a bucket name and as an object key, checked before a name reaches the
 * disk store (a bucket name becomes a directory there).
 */
import { S3Error } from "./errors.js";

/** Reserved prefixes and suffixes of general purpose bucket names (S3 user guide, "General purpose bucket naming rules"). */
const RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/**
 * S3's rules for general purpose bucket names
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): 3 to 63
 * characters; lowercase letters, numbers, periods and hyphens only; beginning and ending with a
 * letter or number; no two adjacent periods; not formatted as an IP address; none of the
 * reserved prefixes and suffixes. Whatever passes cannot name a path outside a directory.
 */
export function isValidBucketName(name: string): boolean {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) return false;
  if (name.includes("..")) return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return false;
  return !RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix)) && !RESERVED_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

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
