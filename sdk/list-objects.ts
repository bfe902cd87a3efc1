/**
 * ListObjectsV2 with URL-encoded keys. S3's XML cannot carry every character a key may hold:
 * a CR comes back as LF (XML line-end normalization) and some control characters make the
 * response unparsable, so a plain listing invents keys and loses real ones. With
 * `EncodingType=url`, S3 encodes Key, Prefix, Delimiter and StartAfter in the response
 * (S3 API reference, ListObjectsV2, "EncodingType"); the SDK does not decode them, so this
 * does, form-style (botocore decodes the same elements with unquote_plus).
 */
import { ListObjectsV2Command, paginateListObjectsV2, type ListObjectsV2CommandInput, type S3Client, type _Object } from "@aws-sdk/client-s3";
import { decodeS3EventKey } from "../events/object-key.js";

export interface ListedObject extends _Object {
  Key: string;
}

type ListInput = Omit<ListObjectsV2CommandInput, "EncodingType" | "ContinuationToken">;

/** Objects page by page through the SDK paginator, keys decoded. */
export async function* listObjectPages(s3: S3Client, input: ListInput, pageSize = 1000): AsyncGenerator<ListedObject[]> {
  for await (const page of paginateListObjectsV2({ client: s3, pageSize }, { ...input, EncodingType: "url" })) {
    yield (page.Contents ?? []).map((object) => ({ ...object, Key: decodeS3EventKey(object.Key!) }));
  }
}

/** One delimiter listing page: its common prefixes, decoded. */
export async function listCommonPrefixes(s3: S3Client, input: Omit<ListInput, "MaxKeys">): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ ...input, MaxKeys: 1000, EncodingType: "url" }));
  return (page.CommonPrefixes ?? []).map((common) => decodeS3EventKey(common.Prefix!)).filter(Boolean);
}
