/**
 * Object keys in S3 event notifications are form-URL-encoded: a space arrives as `+` and a
 * literal `+` as `%2B`. Decoding with plain decodeURIComponent would keep the `+`.
 */
import { MalformedMessageError } from "./errors.js";

export function decodeS3EventKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, " "));
  } catch (error) {
    throw new MalformedMessageError(`object key ${JSON.stringify(encoded)} is not valid URL encoding`, { cause: error });
  }
}

/** The inverse, as S3 does it: form encoding that leaves `/` readable. */
export function encodeS3EventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, "+").replace(/%2F/gi, "/");
}
