/**
 * Request bodies are read as XML with a real parser (entities and character references such
 * as Go's `&#34;`, any element order); responses are written from templates.
 */
import { XMLParser } from "fast-xml-parser";
import { S3Error } from "./errors.js";
import { escapeXml } from "./xml-text.js";

const ALWAYS_LISTS = new Set(["Part", "Object", "Tag"]);

// Values are not trimmed: an object key may begin or end with spaces.
const parser = new XMLParser({
  htmlEntities: true,
  parseTagValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  removeNSPrefix: true,
  isArray: (name) => ALWAYS_LISTS.has(name),
});

export function parse(body: string): Record<string, unknown> {
  try {
    return parser.parse(body, true) as Record<string, unknown>;
  } catch {
    throw new S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
  }
}

/** `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...` */
export function parseCompleteMultipartUpload(body: string): { partNumber: number; etag: string }[] {
  const root = parse(body).CompleteMultipartUpload as { Part?: { PartNumber?: string; ETag?: string }[] } | undefined;
  const parts = root?.Part ?? [];
  return parts.map((part) => {
    const partNumber = Number(String(part.PartNumber).trim());
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000 || typeof part.ETag !== "string") {
      throw new S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
    }
    return { partNumber, etag: part.ETag.trim() };
  });
}

/** `<Delete><Quiet/><Object><Key/><VersionId/></Object>...`: at most 1,000 objects (DeleteObjects). */
export function parseDelete(body: string): { objects: { key: string; versionId?: string; etag?: string }[]; quiet: boolean } {
  const root = parse(body).Delete as
    { Quiet?: string; Object?: { Key?: string; VersionId?: string; ETag?: string; LastModifiedTime?: string; Size?: string }[] } | undefined;
  const objects = root?.Object ?? [];
  if (objects.length === 0 || objects.length > 1000)
    throw new S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
  // ObjectIdentifier's LastModifiedTime and Size are conditions for directory buckets only
  // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ObjectIdentifier.html): refused, never ignored.
  for (const name of ["LastModifiedTime", "Size"] as const) {
    if (objects.some((object) => object[name] !== undefined))
      throw new S3Error(
        501,
        "NotImplemented",
        `A header you provided implies functionality that is not implemented: ${name} in DeleteObjects in a general purpose bucket`,
      );
  }
  return {
    objects: objects.map((object) => ({
      key: String(object.Key ?? ""),
      ...(object.VersionId !== undefined && { versionId: String(object.VersionId).trim() }),
      // The object's conditional delete: its ETag must be the current version's (ObjectIdentifier, ETag).
      ...(object.ETag !== undefined && { etag: String(object.ETag).trim() }),
    })),
    quiet: String(root?.Quiet ?? "").trim() === "true",
  };
}

/**
 * `<VersioningConfiguration><Status/><MfaDelete/></VersioningConfiguration>` (PutBucketVersioning:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html): Status is
 * Enabled or Suspended; MfaDelete Enabled or Disabled. A configuration without a Status changes
 * no state.
 */
export function parseVersioningConfiguration(body: string): { status?: "Enabled" | "Suspended"; mfaDelete?: "Enabled" | "Disabled" } {
  const root = parse(body).VersioningConfiguration as { Status?: unknown; MfaDelete?: unknown } | string | undefined;
  if (root === undefined) throw new S3Error(400, "MalformedXML", MALFORMED);
  const fields = typeof root === "object" ? root : {};
  const status = fields.Status === undefined ? undefined : String(fields.Status).trim();
  const mfaDelete = fields.MfaDelete === undefined ? undefined : String(fields.MfaDelete).trim();
  if (status !== undefined && status !== "Enabled" && status !== "Suspended") throw new S3Error(400, "MalformedXML", MALFORMED);
  if (mfaDelete !== undefined && mfaDelete !== "Enabled" && mfaDelete !== "Disabled") throw new S3Error(400, "MalformedXML", MALFORMED);
  return { ...(status !== undefined && { status }), ...(mfaDelete !== undefined && { mfaDelete }) };
}

const MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema.";

/**
 * `<Tagging><TagSet><Tag><Key/><Value/></Tag>...`: at most 10 tags, keys of up to 128
 * characters and values of up to 256, unique keys
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html).
 */
export function parseTagging(body: string): Record<string, string> {
  const root = parse(body).Tagging as { TagSet?: { Tag?: { Key?: string; Value?: string }[] } | string } | undefined;
  if (root === undefined) throw new S3Error(400, "MalformedXML", MALFORMED);
  const list = typeof root.TagSet === "object" ? (root.TagSet.Tag ?? []) : [];
  return tagsFrom(list.map((tag) => [String(tag.Key ?? ""), String(tag.Value ?? "")]));
}

/** `x-amz-tagging` on PUT: the tags as a URL query string. */
export function parseTaggingHeader(value: string): Record<string, string> {
  return tagsFrom([...new URLSearchParams(value)]);
}

function tagsFrom(pairs: [string, string][]): Record<string, string> {
  if (pairs.length > 10) throw new S3Error(400, "BadRequest", "Object tags cannot be greater than 10");
  const tags: Record<string, string> = {};
  for (const [key, value] of pairs) {
    if (key.length === 0 || key.length > 128 || value.length > 256) throw new S3Error(400, "InvalidTag", "The TagKey you have provided is invalid");
    if (key in tags) throw new S3Error(400, "InvalidTag", "Cannot provide multiple Tags with the same key");
    tags[key] = value;
  }
  return tags;
}

export function taggingXml(tags: Record<string, string>): string {
  const items = Object.entries(tags).map(([key, value]) => `<Tag><Key>${escapeXml(key)}</Key><Value>${escapeXml(value)}</Value></Tag>`);
  return `<TagSet>${items.join("")}</TagSet>`;
}

export const xmlDocument = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
