/**
 * Asks S3 what a key holds now (HeadObject). The tracker needs it when a specific version is
 * permanently deleted (the event cannot say whether an older version became current again);
 * reconciliation needs it to confirm what a lagging source (S3 Inventory) reports.
 *
 * HeadObject of a key that does not exist answers 404 only if the caller also has
 * `s3:ListBucket` on the bucket, and 403 otherwise (S3 API reference, HeadObject,
 * "Permissions"): every role that uses this needs both.
 */
import { HeadObjectCommand, NotFound, type S3Client } from "@aws-sdk/client-s3";
import type { ObjectState } from "../ledger/index.js";

export interface ObjectLookup {
  /** The current version's state, or undefined if the key has no current version. */
  head(bucket: string, key: string): Promise<ObjectState | undefined>;
}

/** HeadObject's 404 (NotFound, or a bare 404 status for a HEAD, which has no error body). */
export function isNotFound(error: unknown): boolean {
  return error instanceof NotFound || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
}

export function s3ObjectLookup(s3: S3Client): ObjectLookup {
  return {
    async head(bucket, key) {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return {
          size: head.ContentLength ?? 0,
          etag: (head.ETag ?? "").replace(/"/g, ""),
          lastModified: (head.LastModified ?? new Date()).toISOString(),
          ...(head.VersionId !== undefined && { versionId: head.VersionId }),
          ...(head.StorageClass !== undefined && { storageClass: head.StorageClass }),
        };
      } catch (error) {
        // HeadObject on a key whose current version is a delete marker also answers 404.
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
  };
}
