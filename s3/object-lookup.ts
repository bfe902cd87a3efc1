/**
 * Asks S3 what a key holds now (HeadObject). The tracker needs it when a specific version is
 * permanently deleted (the event cannot say whether an older version became current again);
 * reconciliation needs it to confirm what a lagging source (S3 Inventory) reports.
 *
 * HeadObject of a key that does not exist answers 404 only if the caller also has
 * `s3:ListBucket` on the bucket, and 403 otherwise (S3 API reference, HeadObject,
 * "Permissions"): every role that uses this needs both.
 */
import { HeadObjectCommand, ListObjectsV2Command, NotFound, type S3Client } from "@aws-sdk/client-s3";
import { decodeS3Key } from "../aws/s3-key.js";
import { headObjectState } from "../aws/head-object.js";
import type { ObjectState, WithheldReason } from "../ledger/index.js";

export interface ObjectLookup {
  /** The current version's state, or undefined if the key has no current version. */
  head(bucket: string, key: string): Promise<ObjectState | undefined>;
}

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;

/** HeadObject's 404 (NotFound, or a bare 404 status for a HEAD, which has no error body). */
export function isNotFound(error: unknown): boolean {
  return error instanceof NotFound || statusOf(error) === 404;
}

/**
 * Why S3 refused to describe an object that exists, or undefined for any other failure.
 *
 * A HEAD's error has no body, only its status ("if the HEAD request generates an error, it
 * returns a generic 400 Bad Request, 403 Forbidden or 404 Not Found code. It is not possible to
 * retrieve the exact exception beyond these error codes": S3 API reference, HeadObject), so the
 * status is all there is to go on:
 * - 400: an object stored with SSE-C, whose metadata S3 returns only to a request that sends the
 *   key's `x-amz-server-side-encryption-customer-*` headers (same page, "Encryption"); the ledger
 *   never has the key;
 * - 403 (or a GET's `AccessDenied` / `KMS.*` code): a refusal, such as ChecksumMode ENABLED on an
 *   SSE-KMS object without `kms:Decrypt` on its key (same page, "ChecksumMode").
 */
export function describeRefusal(error: unknown): Exclude<WithheldReason, "kmsDenied"> | "denied" | undefined {
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === "AccessDenied" || (typeof name === "string" && name.startsWith("KMS."))) return "denied";
  const status = statusOf(error);
  if (status === 400) return "sseCustomerKey";
  if (status === 403) return "denied";
  return undefined;
}

/**
 * The key's state as a listing shows it (size, ETag, Last-Modified, storage class), for an object
 * S3 will not describe: ListObjectsV2 needs only `s3:ListBucket`, no key of the object's, and is
 * strongly consistent. A key is the first of those it prefixes in the listing's UTF-8 binary
 * order (S3 API reference, ListObjectsV2), so one key of one page answers. Keys travel
 * URL-encoded for the reason aws/list-objects.ts gives.
 */
export async function listedState(s3: S3Client, bucket: string, key: string): Promise<ObjectState | undefined> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1, EncodingType: "url" }));
  const listed = page.Contents?.[0];
  if (!listed?.Key || decodeS3Key(listed.Key) !== key) return undefined;
  return {
    size: listed.Size ?? 0,
    etag: (listed.ETag ?? "").replace(/"/g, ""),
    lastModified: (listed.LastModified ?? new Date()).toISOString(),
    ...(listed.StorageClass !== undefined && { storageClass: listed.StorageClass }),
  };
}

export function s3ObjectLookup(s3: S3Client): ObjectLookup {
  return {
    async head(bucket, key) {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { ...headObjectState(head), ...(head.StorageClass !== undefined && { storageClass: head.StorageClass }) };
      } catch (error) {
        // HeadObject on a key whose current version is a delete marker also answers 404.
        if (isNotFound(error)) return undefined;
        // An object S3 will not describe (SSE-C) is still there: the listing says what it is,
        // so a version-deleted event or an inventory's drift is settled instead of failing.
        if (describeRefusal(error)) return listedState(s3, bucket, key);
        throw error;
      }
    },
  };
}
