/**
 * Object metadata the ledger can keep beside each object's state (the `enrich` config), read
 * from HeadObject, which returns all but the tags
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html): Content-Type, the
 * `x-amz-meta-*` user metadata, the additional checksum (with ChecksumMode ENABLED), server-side
 * encryption, the storage class (absent for STANDARD, which S3 does not send), the
 * Intelligent-Tiering archive status and the restore status. Tags come from GetObjectTagging
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html).
 */
import { GetObjectTaggingCommand, HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import { describeRefusal, isNotFound } from "./object-lookup.js";
import { headObjectState } from "../aws/head-object.js";
import type { EnrichmentField } from "../events/enrichment-fields.js";
import type { DetailAttribute, ObjectDetails, ObjectState, Withheld } from "../ledger/index.js";

/** The detail attributes (ledger/record.ts) each field fills: a new description replaces exactly these. */
const FIELD_ATTRIBUTES: Record<EnrichmentField, readonly DetailAttribute[]> = {
  contentType: ["contentType"],
  userMetadata: ["userMetadata"],
  tags: ["tags"],
  checksum: ["checksum"],
  encryption: ["encryption"],
  storageClass: ["storageClass", "archiveStatus", "restore"],
};

/** `withheld` goes with every description: a later one that S3 answers in full clears it. */
export const detailAttributesOf = (fields: readonly EnrichmentField[]): DetailAttribute[] =>
  fields.length === 0 ? [] : [...fields.flatMap((field) => FIELD_ATTRIBUTES[field]), "withheld"];

export interface DescribedObject {
  /** The current version as HeadObject states it, with the details asked for and `describedAt`. */
  state: ObjectState & { describedAt: string };
  /** The same details alone, to add to a state that came from elsewhere (an event, a listing). */
  details: ObjectDetails & { describedAt: string };
}

/**
 * An object S3 will not describe to this caller (SSE-C, or a refusal): nothing but why, to keep
 * beside the state an event or a listing gave. It is recorded undescribed, never a failure.
 */
export interface UndescribedObject {
  state?: undefined;
  details: { describedAt: string; withheld: Withheld };
}

export interface ObjectDescriber {
  /** The fields asked for. */
  readonly fields: readonly EnrichmentField[];
  /** What S3 holds now for the key; undefined when it holds nothing (deleted since). */
  describe(bucket: string, key: string): Promise<DescribedObject | UndescribedObject | undefined>;
}

/** What a description left out and why, for counting: `all` when S3 described nothing. */
export function withheldOf(details: ObjectDetails | undefined): "all" | "checksum" | undefined {
  const withheld = details?.withheld;
  if (!withheld) return undefined;
  return withheld.fields.length === 1 && withheld.fields[0] === "checksum" ? "checksum" : "all";
}

const CHECKSUMS = [
  ["ChecksumCRC64NVME", "CRC64NVME"],
  ["ChecksumCRC32", "CRC32"],
  ["ChecksumCRC32C", "CRC32C"],
  ["ChecksumSHA1", "SHA1"],
  ["ChecksumSHA256", "SHA256"],
] as const;

/**
 * HeadObject's `x-amz-restore`: `ongoing-request="true"` while a restore runs, then
 * `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"` until the copy expires
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html#AmazonS3-HeadObject-response-header-Restore).
 */
export function restoreStatusOf(header: string | undefined): ObjectDetails["restore"] {
  if (header === undefined) return undefined;
  const ongoing = /ongoing-request="(true|false)"/.exec(header)?.[1];
  if (ongoing === undefined) return undefined;
  const expiry = /expiry-date="([^"]+)"/.exec(header)?.[1];
  const expiresAt = expiry !== undefined ? new Date(expiry) : undefined;
  return { ongoing: ongoing === "true", ...(expiresAt && !Number.isNaN(expiresAt.getTime()) && { expiresAt: expiresAt.toISOString() }) };
}

function detailsOf(head: HeadObjectCommandOutput, fields: ReadonlySet<EnrichmentField>): ObjectDetails {
  const details: ObjectDetails = {};
  if (fields.has("contentType") && head.ContentType !== undefined) details.contentType = head.ContentType;
  if (fields.has("userMetadata")) details.userMetadata = head.Metadata ?? {};
  if (fields.has("checksum")) {
    const found = CHECKSUMS.find(([field]) => head[field] !== undefined);
    if (found) details.checksum = { algorithm: found[1], value: head[found[0]]!, ...(head.ChecksumType !== undefined && { type: head.ChecksumType }) };
  }
  if (fields.has("encryption") && head.ServerSideEncryption !== undefined)
    details.encryption = { algorithm: head.ServerSideEncryption, ...(head.SSEKMSKeyId !== undefined && { kmsKeyId: head.SSEKMSKeyId }) };
  if (fields.has("storageClass")) {
    details.storageClass = head.StorageClass ?? "STANDARD";
    if (head.ArchiveStatus !== undefined) details.archiveStatus = head.ArchiveStatus;
    const restore = restoreStatusOf(head.Restore);
    if (restore) details.restore = restore;
  }
  return details;
}

async function tagsOf(s3: S3Client, bucket: string, key: string, versionId: string | undefined): Promise<Record<string, string>> {
  const { TagSet } = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, ...(versionId !== undefined && { VersionId: versionId }) }));
  return Object.fromEntries((TagSet ?? []).map((tag) => [tag.Key ?? "", tag.Value ?? ""]));
}

async function headOf(s3: S3Client, bucket: string, key: string, checksumMode: boolean): Promise<HeadObjectCommandOutput> {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(checksumMode && { ChecksumMode: "ENABLED" }) }));
}

/**
 * The HEAD a description rests on. With the checksum kept it asks with ChecksumMode ENABLED,
 * which for an object under a KMS key needs `kms:Decrypt` on that key besides s3:GetObject
 * ("If you enable checksum mode and the object is uploaded with a checksum and encrypted with a
 * KMS key, you must have permission to use the kms:Decrypt action to retrieve the checksum":
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html, ChecksumMode). A role
 * need not have it (the key is the bucket owner's to grant), so a refusal is asked again without
 * the mode: if that one answers, the checksum alone was withheld, and the rest of the description
 * stands. Such an object costs two HEADs per description.
 */
async function headWithChecksumIfAllowed(
  s3: S3Client,
  bucket: string,
  key: string,
  checksum: boolean,
): Promise<{ head: HeadObjectCommandOutput; checksumWithheld?: Withheld }> {
  if (!checksum) return { head: await headOf(s3, bucket, key, false) };
  try {
    return { head: await headOf(s3, bucket, key, true) };
  } catch (error) {
    if (describeRefusal(error) !== "denied") throw error;
    const head = await headOf(s3, bucket, key, false);
    // An SSE-KMS (or DSSE-KMS) object: the refusal was its key's. Anything else is named as a refusal.
    const reason = head.ServerSideEncryption?.startsWith("aws:kms") ? "kmsDenied" : "accessDenied";
    return { head, checksumWithheld: { reason, fields: ["checksum"] } };
  }
}

export function s3ObjectDescriber(s3: S3Client, fields: readonly EnrichmentField[]): ObjectDescriber {
  const wanted = new Set(fields);
  return {
    fields,
    async describe(bucket, key) {
      // Taken before asking: a description is as new as its oldest answer.
      const describedAt = new Date().toISOString();
      try {
        const { head, checksumWithheld } = await headWithChecksumIfAllowed(s3, bucket, key, wanted.has("checksum"));
        const identity = headObjectState(head);
        // Pinned to the version the HEAD saw, where there are versions, so tags and the rest
        // describe one version.
        const tags = wanted.has("tags") ? await tagsOf(s3, bucket, key, identity.versionId) : undefined;
        const details = { ...detailsOf(head, wanted), ...(tags && { tags }), ...(checksumWithheld && { withheld: checksumWithheld }), describedAt };
        const state = { ...identity, ...details };
        return { state, details };
      } catch (error) {
        // A key deleted since its event: not an error, its delete event follows (404 needs
        // s3:ListBucket; see object-lookup.ts). GetObjectTagging answers NoSuchKey (404) then.
        if (isNotFound(error)) return undefined;
        // Something S3 will not describe (SSE-C, a refusal) still exists: recorded undescribed,
        // so one such object never fails a message or a run.
        const refusal = describeRefusal(error);
        if (refusal) return { details: { describedAt, withheld: { reason: refusal === "denied" ? "accessDenied" : refusal, fields: [...fields] } } };
        throw error;
      }
    },
  };
}
