/**
 * S3's form-URL encoding of object keys: how keys arrive in event notifications
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html,
 * "The s3.object.key value is URL encoded"), in ListObjectsV2 with `EncodingType=url` and in
 * S3 Inventory reports. A space arrives as `+` and a literal `+` as `%2B`: decoding with plain
 * decodeURIComponent would keep the `+`.
 */

/** A key that is not valid URL encoding: the message or listing that carried it is malformed. */
export class S3KeyEncodingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function decodeS3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, " "));
  } catch (error) {
    throw new S3KeyEncodingError(`object key ${JSON.stringify(encoded)} is not valid URL encoding`, { cause: error });
  }
}

/** The inverse, as S3 does it: form encoding that leaves `/` readable. */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, "+").replace(/%2F/gi, "/");
}
