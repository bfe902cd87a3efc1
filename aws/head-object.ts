/**
 * The one reading of a HeadObject answer as the state of an object's current version
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html): its size
 * (Content-Length), ETag (without the quotes S3 puts around it), Last-Modified and version id.
 *
 * Version id "null": S3 gives that id to an object written while the bucket was unversioned or
 * had versioning suspended ("Amazon S3 automatically adds a null version ID to every subsequent
 * object stored thereafter": https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersionSuspendedBuckets.html),
 * and HEAD reports it as `x-amz-version-id: null`. It names no version of its own, so the ledger
 * keeps no version id for it, as it does for the same object's create event (events/parse.ts
 * drops an event's `versionId: "null"`): otherwise one object would be stored two ways,
 * depending on whether an event or a HEAD described it last.
 *
 * Imports nothing from the project: a bottom-layer AWS adapter.
 */
import type { HeadObjectCommandOutput } from "@aws-sdk/client-s3";

/** What a HEAD says of a version: the identity every state the ledger keeps has. */
export interface HeadObjectState {
  size: number;
  etag: string;
  /** ISO-8601. */
  lastModified: string;
  /** Absent for the version S3 names "null". */
  versionId?: string;
}

/** A version id as the ledger keeps it: undefined for S3's "null" (and for none). */
export function versionIdOf(versionId: string | undefined): string | undefined {
  return versionId !== undefined && versionId !== "null" ? versionId : undefined;
}

export function headObjectState(head: Pick<HeadObjectCommandOutput, "ContentLength" | "ETag" | "LastModified" | "VersionId">): HeadObjectState {
  const versionId = versionIdOf(head.VersionId);
  return {
    size: head.ContentLength ?? 0,
    etag: (head.ETag ?? "").replace(/"/g, ""),
    lastModified: (head.LastModified ?? new Date()).toISOString(),
    ...(versionId !== undefined && { versionId }),
  };
}
