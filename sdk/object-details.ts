/**
 * Object metadata the ledger can keep beside each object's state (the `enrich` config), read
 * from HeadObject, which returns every one of these fields
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html): Content-Type, the
 * `x-amz-meta-*` user metadata, the additional checksum (with ChecksumMode ENABLED), server-side
 * encryption and the storage class (absent for STANDARD, which S3 does not send).
 */
import { HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import { isNotFound } from "./object-lookup.js";
import { z } from "zod";
import type { ObjectDetails } from "../ledger/index.js";

export const ENRICHMENT_FIELDS = ["contentType", "userMetadata", "checksum", "encryption", "storageClass"] as const;
export type EnrichmentField = (typeof ENRICHMENT_FIELDS)[number];

/** The `enrich` list, at every edge (stack config, Lambda environment, `dev`). */
export const enrichmentFieldsSchema = z
  .array(
    z.enum([...ENRICHMENT_FIELDS, "tags"]).refine((field) => field !== "tags", {
      message: "tags are not kept yet: they need the tagging events (ObjectTagging:Put/Delete) applied in order, which the tracker does not do yet",
    }),
  )
  .transform((fields) => [...new Set(fields)] as EnrichmentField[]);

export interface DescribedObject {
  /** Without quotes: to tell whether the HEAD saw the version an event describes. */
  etag: string;
  details: ObjectDetails;
}

export interface ObjectDescriber {
  /** What S3 holds now for the key, or undefined when it holds nothing (deleted since). */
  describe(bucket: string, key: string): Promise<DescribedObject | undefined>;
}

const CHECKSUMS = [
  ["ChecksumCRC64NVME", "CRC64NVME"],
  ["ChecksumCRC32", "CRC32"],
  ["ChecksumCRC32C", "CRC32C"],
  ["ChecksumSHA1", "SHA1"],
  ["ChecksumSHA256", "SHA256"],
] as const;

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
  if (fields.has("storageClass")) details.storageClass = head.StorageClass ?? "STANDARD";
  return details;
}

export function s3ObjectDescriber(s3: S3Client, fields: readonly EnrichmentField[]): ObjectDescriber {
  const wanted = new Set(fields);
  return {
    async describe(bucket, key) {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(wanted.has("checksum") && { ChecksumMode: "ENABLED" }) }));
        return { etag: (head.ETag ?? "").replace(/"/g, ""), details: detailsOf(head, wanted) };
      } catch (error) {
        // A key deleted since its event: not an error, its delete event follows (404 needs
        // s3:ListBucket; see object-lookup.ts).
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
  };
}
