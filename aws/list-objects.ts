/**
 * ListObjectsV2 with URL-encoded keys. S3's XML cannot carry every character a key may hold:
 * a CR comes back as LF (XML line-end normalization) and some control characters make the
 * response unparsable, so a plain listing invents keys and loses real ones. With
 * `EncodingType=url`, S3 encodes Key, Prefix, Delimiter and StartAfter in the response
 * (S3 API reference, ListObjectsV2, "EncodingType"); the SDK does not decode them, so this
 * does, form-style (botocore decodes the same elements with unquote_plus).
 */
import { ListObjectsV2Command, paginateListObjectsV2, type ListObjectsV2CommandInput, type S3Client, type _Object } from "@aws-sdk/client-s3";
import { decodeS3Key } from "./s3-key.js";

export interface ListedObject extends _Object {
  Key: string;
}

type ListInput = Omit<ListObjectsV2CommandInput, "EncodingType" | "ContinuationToken">;

/** A listing handed back a continuation token it had already given: it would never end. */
export class ListingLoopError extends Error {
  constructor(bucket: string | undefined, pages: number) {
    super(
      `the listing of ${bucket ?? "the bucket"} repeated a continuation token after ${pages} pages; it would never end, so it was stopped (nothing was deleted)`,
    );
    this.name = "ListingLoopError";
  }
}

/**
 * Objects page by page through the SDK paginator, keys decoded. A token S3 gave before fails
 * the listing: the paginator's own `stopOnSameToken` would end it quietly, which a caller
 * would take for a complete listing (and delete what it did not see).
 */
export async function* listObjectPages(s3: S3Client, input: ListInput, pageSize = 1000): AsyncGenerator<ListedObject[]> {
  const tokens = new Set<string>();
  for await (const page of paginateListObjectsV2({ client: s3, pageSize }, { ...input, EncodingType: "url" })) {
    yield (page.Contents ?? []).map((object) => ({ ...object, Key: decodeS3Key(object.Key!) }));
    const next = page.NextContinuationToken;
    if (next === undefined) continue;
    if (tokens.has(next)) throw new ListingLoopError(input.Bucket, tokens.size + 1);
    tokens.add(next);
  }
}

/** One delimiter listing page: its common prefixes, decoded. */
export async function listCommonPrefixes(s3: S3Client, input: Omit<ListInput, "MaxKeys">): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ ...input, MaxKeys: 1000, EncodingType: "url" }));
  return (page.CommonPrefixes ?? []).map((common) => decodeS3Key(common.Prefix!)).filter(Boolean);
}
