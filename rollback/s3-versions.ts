/**
 * What S3 says of a key's versions now, in the planner's terms: the bucket's versioning state,
 * the key's current version (or delete marker) and the one beneath it, and whether a given
 * version is still there.
 */
import { GetBucketVersioningCommand, HeadObjectCommand, ListObjectVersionsCommand, type S3Client } from "@aws-sdk/client-s3";

/** The key's newest entry, or the one beneath it: a version with its content, or a delete marker. */
export type VersionEntry = { kind: "version"; versionId: string; etag: string; size: number } | { kind: "delete-marker"; versionId: string };

/** The key as S3 holds it: its current entry (undefined: the key has no version at all) and the entry beneath. */
export interface KeyVersions {
  current: VersionEntry | undefined;
  beneath: VersionEntry | undefined;
}

/** A version of a key that still exists, with what a copy of it needs. */
export interface StoredVersion {
  size: number;
  etag: string;
  storageClass?: string;
  /**
   * Where the version is archived without a restored copy: CopyObject of it fails until it is
   * restored (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html:
   * objects in S3 Glacier Flexible Retrieval, S3 Glacier Deep Archive, or the Intelligent-Tiering
   * Archive Access or Deep Archive Access tiers must be restored first).
   */
  archived?: string;
}

const ARCHIVE_CLASSES = new Set(["GLACIER", "DEEP_ARCHIVE"]);
const ARCHIVE_TIERS = new Set(["ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"]);

/**
 * The archive a version sits in, unless a restored copy of it is available: HeadObject's
 * `x-amz-restore` says `ongoing-request="false"` once the copy is ready
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html, Restore).
 */
export function archiveOf(head: { StorageClass?: string | undefined; ArchiveStatus?: string | undefined; Restore?: string | undefined }): string | undefined {
  if (head.Restore?.includes('ongoing-request="false"')) return undefined;
  if (head.StorageClass !== undefined && ARCHIVE_CLASSES.has(head.StorageClass)) return head.StorageClass;
  if (head.ArchiveStatus !== undefined && ARCHIVE_TIERS.has(head.ArchiveStatus)) return `INTELLIGENT_TIERING ${head.ArchiveStatus}`;
  return undefined;
}

/** An ETag as the ledger keeps it: S3's responses quote it (`"d41d8..."`), the ledger's records do not. */
export const unquoted = (etag: string | undefined) => (etag ?? "").replace(/^"(.*)"$/, "$1");

/**
 * "Enabled", "Suspended", or undefined for a bucket whose versioning was never turned on: S3 then
 * returns no Status element (GetBucketVersioning, https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html:
 * "If the versioning state has never been set on a bucket, Amazon S3 doesn't return a versioning state").
 */
export async function bucketVersioning(s3: S3Client, bucket: string): Promise<"Enabled" | "Suspended" | undefined> {
  const { Status } = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  return Status === "Enabled" || Status === "Suspended" ? Status : undefined;
}

/**
 * The key's two newest entries from one ListObjectVersions request. The listing names the
 * current entry (IsLatest) and returns a key's versions in the order they were stored, newest
 * first (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html, Examples;
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/list-obj-version-enabled-bucket.html), so
 * the other entry of the key among the first two is the one beneath. The prefix also matches longer
 * keys, which sort after the key itself and are ignored. The SDK hands versions and delete markers
 * back in two arrays, so both are read.
 */
export async function keyVersions(s3: S3Client, bucket: string, key: string): Promise<KeyVersions> {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, MaxKeys: 2 }));
  const entries: (VersionEntry & { latest: boolean })[] = [];
  for (const version of listed.Versions ?? []) {
    if (version.Key !== key || version.VersionId === undefined) continue;
    entries.push({ kind: "version", versionId: version.VersionId, etag: unquoted(version.ETag), size: version.Size ?? 0, latest: version.IsLatest === true });
  }
  for (const marker of listed.DeleteMarkers ?? []) {
    if (marker.Key !== key || marker.VersionId === undefined) continue;
    entries.push({ kind: "delete-marker", versionId: marker.VersionId, latest: marker.IsLatest === true });
  }
  const strip = (entry: (typeof entries)[number] | undefined): VersionEntry | undefined => {
    if (entry === undefined) return undefined;
    const { latest: _latest, ...rest } = entry;
    return rest;
  };
  const current = entries.find((entry) => entry.latest);
  return { current: strip(current), beneath: strip(entries.find((entry) => entry !== current)) };
}

/**
 * The version if S3 still has it (HeadObject with versionId; "null" names the null version:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersionSuspendedBuckets.html).
 * A version that was deleted answers 404; a delete marker named by its id answers 405 Method Not
 * Allowed (HeadObject, https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html): neither
 * is a version a copy could bring back.
 */
export async function storedVersion(s3: S3Client, bucket: string, key: string, versionId: string): Promise<StoredVersion | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    const archived = archiveOf(head);
    return {
      size: head.ContentLength ?? 0,
      etag: unquoted(head.ETag),
      ...(head.StorageClass !== undefined && { storageClass: head.StorageClass }),
      ...(archived !== undefined && { archived }),
    };
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || status === 405) return undefined;
    throw error;
  }
}
