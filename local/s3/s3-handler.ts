/**
 * The local S3's HTTP API, path-style (`/bucket/key`), over the disk store: what rclone, the
 * AWS CLI, boto3 and the AWS SDKs send for buckets, objects (single PUTs up to S3's 5 GiB,
 * streamed), copies, ranges, listings (v1 and v2, in UTF-8 byte order, `encoding-type=url`),
 * batch deletes, multipart uploads (UploadPartCopy with ranges included), object tags, the
 * storage class given on PUT, S3 Versioning (versioning states, version ids, delete markers,
 * ListObjectVersions; MFA delete excepted), and conditional writes and deletes (./conditions.ts). Requests are
 * not authenticated; anything else answers 501 NotImplemented rather than pretending.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { encodeS3Key } from "../../aws/s3-key.js";
import { AwsChunkedDecoder } from "./aws-chunked.js";
import { verifyBodyIntegrity } from "./checksums.js";
import { deleteConditionOf, writeConditionOf } from "./conditions.js";
import { assertReadable, bucketEncryptionFrom, bucketEncryptionXmlOf, encryptionHeaders, encryptionOfWrite } from "./encryption.js";
import { S3Error } from "./errors.js";
import { assertBucketName, assertKeyLength, MAX_KEY_BYTES } from "./names.js";
import { MAX_PUT_SIZE, type DiskObjectStore, type ObjectMetadata } from "./object-store.js";
import { parseRequestTarget } from "./request-target.js";
import { assertVersionId, isDeleteMarker } from "./versions.js";
import {
  parse as parseXml,
  parseCompleteMultipartUpload,
  parseDelete,
  parseTagging,
  parseTaggingHeader,
  parseVersioningConfiguration,
  taggingXml,
  xmlDocument,
} from "./xml.js";
import { escapeXml } from "./xml-text.js";

const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
/** Small XML bodies (CompleteMultipartUpload, DeleteObjects) are read whole; 1,000 keys of 1 KiB fit. */
const MAX_XML_BODY = 4 * 1024 * 1024;

interface S3Request {
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: Readable;
}

const header = (request: S3Request, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function userMetadataOf(request: S3Request): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers))
    if (name.startsWith("x-amz-meta-") && value !== undefined) metadata[name.slice(11)] = String(value);
  return metadata;
}

/** The body as the client meant it: `aws-chunked` decoded when the client framed it so. */
function payload(request: S3Request): Readable {
  const encoding = header(request, "content-encoding") ?? "";
  const sha = header(request, "x-amz-content-sha256") ?? "";
  return encoding.includes("aws-chunked") || sha.startsWith("STREAMING-") ? request.body.pipe(new AwsChunkedDecoder()) : request.body;
}

async function readBody(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_XML_BODY) throw new S3Error(400, "MalformedXML", "The XML you provided was too large.");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const readText = async (body: Readable) => (await readBody(body)).toString("utf8");

/** `x-amz-copy-source`: `[/]bucket/key[?versionId=...]`, URL-encoded (a `?` in the key arrives as %3F). */
function copySource(request: S3Request): { bucket: string; key: string; versionId?: string } {
  const raw = header(request, "x-amz-copy-source")!;
  const mark = raw.indexOf("?");
  const versionParameter = mark === -1 ? null : new URLSearchParams(raw.slice(mark + 1)).get("versionId");
  const versionId = versionParameter === null ? undefined : assertVersionId(versionParameter, "x-amz-copy-source");
  let path: string;
  try {
    path = decodeURIComponent(mark === -1 ? raw : raw.slice(0, mark)).replace(/^\//, "");
  } catch {
    throw new S3Error(400, "InvalidArgument", "Invalid copy source encoding");
  }
  const slash = path.indexOf("/");
  if (slash <= 0 || slash === path.length - 1)
    throw new S3Error(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  const source = { bucket: path.slice(0, slash), key: path.slice(slash + 1), ...(versionId !== undefined && { versionId }) };
  assertBucketName(source.bucket);
  assertKeyLength(source.key);
  return source;
}

/**
 * `x-amz-version-id` of a version of `bucket`: a versioned bucket (enabled or suspended) names
 * every version, "null" included; a bucket never versioned names none (PutObject, VersionId:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html).
 */
function versionHeader(store: DiskObjectStore, bucket: string, versionId: string): Record<string, string> {
  return store.versioning(bucket) !== undefined ? { "x-amz-version-id": versionId } : {};
}

/**
 * CopyObject and UploadPartCopy name the source version they copied in
 * `x-amz-copy-source-version-id` (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
 */
function copySourceVersionHeader(store: DiskObjectStore, bucket: string, original: ObjectMetadata): Record<string, string> {
  return store.versioning(bucket) !== undefined ? { "x-amz-copy-source-version-id": original.versionId } : {};
}

/** A non-negative integer query parameter (`max-keys`), else S3's InvalidArgument. */
function countParameter(query: URLSearchParams, name: string, fallback: number): number {
  const text = query.get(name);
  if (text === null) return fallback;
  if (!/^\d{1,10}$/.test(text))
    throw new S3Error(400, "InvalidArgument", `Provided ${name} not an integer or within integer range`, {
      ArgumentName: name,
      ArgumentValue: text.slice(0, 64),
    });
  return Number(text);
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` within an object of `size` bytes; undefined for none or many. */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  const match = value && /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    return suffix === 0 ? undefined : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || start > end)
    throw new S3Error(416, "InvalidRange", "The requested range is not satisfiable", { ActualObjectSize: String(size), RangeRequested: value! });
  return { start, end };
}

function objectHeaders(object: ObjectMetadata): Record<string, string> {
  return {
    etag: object.etag,
    "last-modified": new Date(object.lastModified).toUTCString(),
    "content-type": object.contentType,
    "accept-ranges": "bytes",
    ...encryptionHeaders(object.encryption),
    // HeadObject states the storage class except for STANDARD, and how many tags there are.
    ...(object.storageClass !== undefined && { "x-amz-storage-class": object.storageClass }),
    ...(object.tags && Object.keys(object.tags).length > 0 && { "x-amz-tagging-count": String(Object.keys(object.tags).length) }),
    ...Object.fromEntries(Object.entries(object.userMetadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
  };
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  xml?: string;
  stream?: Readable;
}

const xml = (body: string, status = 200): Reply => ({ status, xml: xmlDocument(body) });

function listing(store: DiskObjectStore, request: S3Request): Reply {
  const { query, bucket } = request;
  const v2 = query.get("list-type") === "2";
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") ?? "";
  // A max-keys that is not a count used to read as NaN, which no page size reached: the whole bucket in one answer.
  const maxKeys = Math.min(1000, countParameter(query, "max-keys", 1000));
  const encode = query.get("encoding-type") === "url";
  const out = (text: string) => escapeXml(encode ? encodeS3Key(text) : text);
  const token = query.get("continuation-token");
  const after = v2 ? (token ? Buffer.from(token, "base64url").toString("utf8") : (query.get("start-after") ?? "")) : (query.get("marker") ?? "");
  const afterBytes = Buffer.from(after);

  const contents: ObjectMetadata[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let last = "";
  for (const object of store.objectsAfter(bucket, prefix, after)) {
    let entry: string = object.key;
    if (delimiter) {
      const at = object.key.indexOf(delimiter, prefix.length);
      if (at !== -1) entry = object.key.slice(0, at + delimiter.length);
    }
    if (entry !== object.key && prefixes.at(-1) === entry) continue;
    // A common prefix already returned on an earlier page is skipped whole.
    if (entry !== object.key && Buffer.compare(Buffer.from(entry), afterBytes) <= 0 && after.startsWith(entry)) continue;
    if (contents.length + prefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    if (entry === object.key) contents.push(object);
    else prefixes.push(entry);
    last = entry;
  }
  const body = [
    `<ListBucketResult ${NS}>`,
    `<Name>${escapeXml(bucket)}</Name>`,
    `<Prefix>${out(prefix)}</Prefix>`,
    v2 ? `<KeyCount>${contents.length + prefixes.length}</KeyCount>` : `<Marker>${out(after)}</Marker>`,
    `<MaxKeys>${maxKeys}</MaxKeys>`,
    delimiter ? `<Delimiter>${out(delimiter)}</Delimiter>` : "",
    encode ? `<EncodingType>url</EncodingType>` : "",
    `<IsTruncated>${truncated}</IsTruncated>`,
    v2 && token ? `<ContinuationToken>${escapeXml(token)}</ContinuationToken>` : "",
    v2 && query.get("start-after") ? `<StartAfter>${out(query.get("start-after")!)}</StartAfter>` : "",
    truncated && v2 ? `<NextContinuationToken>${Buffer.from(last).toString("base64url")}</NextContinuationToken>` : "",
    truncated && !v2 && delimiter ? `<NextMarker>${out(last)}</NextMarker>` : "",
    ...contents.map(
      (object) =>
        `<Contents><Key>${out(object.key)}</Key><LastModified>${object.lastModified}</LastModified><ETag>${escapeXml(object.etag)}</ETag><Size>${object.size}</Size><StorageClass>${object.storageClass ?? "STANDARD"}</StorageClass></Contents>`,
    ),
    ...prefixes.map((common) => `<CommonPrefixes><Prefix>${out(common)}</Prefix></CommonPrefixes>`),
    `</ListBucketResult>`,
  ].filter(Boolean);
  return xml(body.join(""));
}

const OWNER = "<Owner><ID>local</ID><DisplayName>local</DisplayName></Owner>";

/**
 * ListObjectVersions (`GET /?versions`: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html):
 * versions and delete markers in the store's order (local/s3/object-store.ts `versionsAfter`),
 * at most 1,000 entries a page as S3 returns, common prefixes counting as one each, and
 * NextKeyMarker / NextVersionIdMarker to go on from. A version-id-marker needs a key-marker.
 */
function listVersions(store: DiskObjectStore, request: S3Request): Reply {
  const { query, bucket } = request;
  store.assertBucket(bucket);
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") ?? "";
  const keyMarker = query.get("key-marker") ?? "";
  const versionMarkerText = query.get("version-id-marker") ?? "";
  for (const [name, value] of [
    ["prefix", prefix],
    ["key-marker", keyMarker],
    ["delimiter", delimiter],
  ] as const) {
    if (Buffer.byteLength(value) > MAX_KEY_BYTES) throw new S3Error(400, "InvalidArgument", `${name} is longer than a key may be`, { ArgumentName: name });
  }
  if (versionMarkerText !== "" && keyMarker === "")
    throw new S3Error(400, "InvalidArgument", "A version-id marker cannot be specified without a key marker.", { ArgumentName: "version-id-marker" });
  const versionMarker = versionMarkerText === "" ? undefined : assertVersionId(versionMarkerText, "version-id-marker");
  const maxKeys = Math.min(1000, countParameter(query, "max-keys", 1000));
  const encodingType = query.get("encoding-type");
  if (encodingType !== null && encodingType !== "url")
    throw new S3Error(400, "InvalidArgument", "Invalid Encoding Method specified in Request", { ArgumentName: "encoding-type" });
  const encode = encodingType === "url";
  const out = (text: string) => escapeXml(encode ? encodeS3Key(text) : text);
  const keyMarkerBytes = Buffer.from(keyMarker);

  const entries: string[] = [];
  let lastPrefix: string | undefined;
  let truncated = false;
  let next: { key: string; versionId?: string } | undefined;
  for (const { version, isLatest } of store.versionsAfter(bucket, prefix, keyMarker, versionMarker)) {
    let common: string | undefined;
    if (delimiter) {
      const at = version.key.indexOf(delimiter, prefix.length);
      if (at !== -1) common = version.key.slice(0, at + delimiter.length);
    }
    if (common !== undefined && common === lastPrefix) continue;
    // A common prefix already returned on an earlier page is skipped whole.
    if (common !== undefined && Buffer.compare(Buffer.from(common), keyMarkerBytes) <= 0 && keyMarker.startsWith(common)) continue;
    if (entries.length >= maxKeys) {
      truncated = true;
      break;
    }
    if (common !== undefined) {
      entries.push(`<CommonPrefixes><Prefix>${out(common)}</Prefix></CommonPrefixes>`);
      lastPrefix = common;
      next = { key: common };
      continue;
    }
    const identity = `<Key>${out(version.key)}</Key><VersionId>${escapeXml(version.versionId)}</VersionId><IsLatest>${isLatest}</IsLatest><LastModified>${version.lastModified}</LastModified>`;
    entries.push(
      isDeleteMarker(version)
        ? `<DeleteMarker>${OWNER}${identity}</DeleteMarker>`
        : `<Version>${identity}<ETag>${escapeXml(version.etag)}</ETag><Size>${version.size}</Size><StorageClass>${version.storageClass ?? "STANDARD"}</StorageClass>${OWNER}</Version>`,
    );
    next = { key: version.key, versionId: version.versionId };
  }
  const body = [
    `<ListVersionsResult ${NS}>`,
    `<Name>${escapeXml(bucket)}</Name>`,
    `<Prefix>${out(prefix)}</Prefix>`,
    `<KeyMarker>${out(keyMarker)}</KeyMarker>`,
    `<VersionIdMarker>${escapeXml(versionMarker ?? "")}</VersionIdMarker>`,
    truncated && next ? `<NextKeyMarker>${out(next.key)}</NextKeyMarker>` : "",
    truncated && next?.versionId !== undefined ? `<NextVersionIdMarker>${escapeXml(next.versionId)}</NextVersionIdMarker>` : "",
    `<MaxKeys>${maxKeys}</MaxKeys>`,
    delimiter ? `<Delimiter>${out(delimiter)}</Delimiter>` : "",
    encode ? `<EncodingType>url</EncodingType>` : "",
    `<IsTruncated>${truncated}</IsTruncated>`,
    ...entries,
    `</ListVersionsResult>`,
  ].filter(Boolean);
  return xml(body.join(""));
}

/**
 * PutBucketVersioning (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html).
 * MFA delete needs an MFA device's codes (`x-amz-mfa`), which nothing local has: asking for it
 * is refused, never pretended.
 */
async function putVersioning(store: DiskObjectStore, request: S3Request): Promise<Reply> {
  store.assertBucket(request.bucket);
  const body = await readBody(request.body);
  verifyBodyIntegrity(request.headers, body, { required: false });
  const { status, mfaDelete } = parseVersioningConfiguration(body.toString("utf8"));
  if (mfaDelete === "Enabled" || header(request, "x-amz-mfa") !== undefined)
    throw new S3Error(501, "NotImplemented", "MFA delete is not supported by the local S3 (it needs an MFA device's codes); leave MfaDelete out or Disabled");
  if (status !== undefined) await store.setVersioning(request.bucket, status);
  return { status: 200 };
}

async function serveBucket(store: DiskObjectStore, request: S3Request): Promise<Reply> {
  const { method, bucket, query } = request;
  if (method === "PUT" && query.size === 0) {
    await store.createBucket(bucket);
    return { status: 200, headers: { location: `/${bucket}` } };
  }
  if (method === "HEAD") {
    if (!store.hasBucket(bucket)) return { status: 404 };
    return { status: 200, headers: { "x-amz-bucket-region": "us-east-1" } };
  }
  if (method === "DELETE" && query.size === 0) {
    await store.deleteBucket(bucket);
    return { status: 204 };
  }
  if (query.has("encryption") && query.size === 1) {
    if (method === "GET") return xml(bucketEncryptionXmlOf(store.bucketEncryption(bucket), escapeXml));
    if (method === "PUT") {
      store.assertBucket(bucket);
      const body = await readBody(request.body);
      verifyBodyIntegrity(request.headers, body, { required: false });
      await store.setBucketEncryption(bucket, bucketEncryptionFrom(parseXml(body.toString("utf8"))));
      return { status: 200 };
    }
    if (method === "DELETE") {
      // Back to S3's default for every bucket, SSE-S3.
      await store.setBucketEncryption(bucket, undefined);
      return { status: 204 };
    }
  }
  if (method === "GET" && query.has("location")) {
    store.assertBucket(bucket);
    return xml(`<LocationConstraint ${NS}></LocationConstraint>`);
  }
  if (query.has("versioning") && query.size === 1) {
    // A bucket never versioned answers an empty configuration (GetBucketVersioning:
    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html).
    if (method === "GET") {
      const status = store.versioning(bucket);
      return xml(status ? `<VersioningConfiguration ${NS}><Status>${status}</Status></VersioningConfiguration>` : `<VersioningConfiguration ${NS}/>`);
    }
    if (method === "PUT") return putVersioning(store, request);
  }
  if (method === "GET" && query.has("versions")) {
    const unknown = [...query.keys()].filter(
      (name) => !["versions", "prefix", "delimiter", "key-marker", "version-id-marker", "max-keys", "encoding-type"].includes(name),
    );
    if (unknown.length > 0) throw new S3Error(501, "NotImplemented", `the local S3 does not implement ListObjectVersions with ${unknown.join(", ")}`);
    return listVersions(store, request);
  }
  if (
    method === "GET" &&
    [...query.keys()].every((name) =>
      ["list-type", "prefix", "delimiter", "max-keys", "continuation-token", "start-after", "marker", "encoding-type", "fetch-owner"].includes(name),
    )
  ) {
    return listing(store, request);
  }
  if (method === "POST" && query.has("delete")) {
    // "The Content-MD5 or x-amz-sdk-checksum-algorithm header is required for all Multi-Object
    // Delete requests" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
    // It also keeps a web page's cross-site text/plain POST from deleting anything.
    const body = await readBody(request.body);
    verifyBodyIntegrity(request.headers, body, { required: true });
    const { objects, quiet } = parseDelete(body.toString("utf8"));
    store.assertBucket(bucket);
    const results: string[] = [];
    // Each object succeeds or fails on its own, and quiet mode reports the failures alone
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
    for (const { key, versionId, etag } of objects) {
      const named = versionId === undefined ? "" : `<VersionId>${escapeXml(versionId)}</VersionId>`;
      try {
        assertKeyLength(key);
        if (versionId !== undefined) assertVersionId(versionId);
        // A failed ETag condition is that object's <Error>, PreconditionFailed
        // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html).
        const outcome = await store.delete(bucket, key, versionId, etag === undefined ? undefined : { ifMatch: etag });
        if (quiet) continue;
        // DeleteMarker / DeleteMarkerVersionId: the marker made by a delete without a version
        // id, or the version removed when it was one (DeletedObject in the same reference).
        const marker = outcome.deleteMarker
          ? `<DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>${escapeXml(outcome.versionId!)}</DeleteMarkerVersionId>`
          : "";
        results.push(`<Deleted><Key>${escapeXml(key)}</Key>${named}${marker}</Deleted>`);
      } catch (error) {
        if (!(error instanceof S3Error) || error.statusCode >= 500) throw error;
        results.push(`<Error><Key>${escapeXml(key)}</Key>${named}<Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message></Error>`);
      }
    }
    return xml(`<DeleteResult ${NS}>${results.join("")}</DeleteResult>`);
  }
  throw new S3Error(501, "NotImplemented", `the local S3 does not implement ${method} on a bucket with ${[...query.keys()].join(", ") || "no parameters"}`);
}

/** Query parameters an object request may carry here; any other is a subresource not implemented. */
const OBJECT_PARAMETERS = new Set([
  "uploadId",
  "partNumber",
  "uploads",
  "versionId",
  "x-id",
  "response-content-type",
  "response-content-disposition",
  "response-cache-control",
  "response-content-encoding",
  "response-content-language",
  "response-expires",
]);

async function serveObject(store: DiskObjectStore, request: S3Request): Promise<Reply> {
  const { method, bucket, key, query } = request;
  const versionParameter = query.get("versionId");
  const versionId = versionParameter === null ? undefined : assertVersionId(versionParameter);
  if (query.has("tagging") && versionId !== undefined)
    throw new S3Error(501, "NotImplemented", "the local S3 does not implement the tags of a version other than the current one");
  if (query.has("tagging")) {
    if (method === "GET") return xml(`<Tagging ${NS}>${taggingXml(store.head(bucket, key).tags ?? {})}</Tagging>`);
    if (method === "PUT") {
      await store.setTags(bucket, key, parseTagging(await readText(request.body)));
      return { status: 200 };
    }
    if (method === "DELETE") {
      await store.setTags(bucket, key, {});
      return { status: 204 };
    }
  }
  const unknown = [...query.keys()].filter((name) => !OBJECT_PARAMETERS.has(name));
  if (unknown.length > 0) throw new S3Error(501, "NotImplemented", `the local S3 does not implement ${method} ?${unknown.join("&")} on objects`);
  const uploadId = query.get("uploadId");
  const contentType = header(request, "content-type") ?? "binary/octet-stream";
  if (method === "PUT" && uploadId) {
    const partNumber = Number(query.get("partNumber"));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000)
      throw new S3Error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
    // Every part of an SSE-C upload brings the upload's key (UploadPart API reference, SSECustomerKey:
    // "This must be the same encryption key specified in the initiate multipart upload request").
    const encryption = store.upload(uploadId).encryption;
    assertReadable(encryption, request.headers);
    if (header(request, "x-amz-copy-source")) {
      const source = copySource(request);
      const original = store.copySource(source);
      assertReadable(original.encryption, request.headers, "x-amz-copy-source-");
      const range = header(request, "x-amz-copy-source-range");
      const part = await store.copyPart(uploadId, partNumber, source, range ? parseRange(range, original.size) : undefined);
      return {
        ...xml(`<CopyPartResult ${NS}><LastModified>${part.lastModified}</LastModified><ETag>${escapeXml(part.etag)}</ETag></CopyPartResult>`),
        headers: { ...encryptionHeaders(encryption), ...copySourceVersionHeader(store, source.bucket, original) },
      };
    }
    const part = await store.uploadPart(uploadId, partNumber, payload(request));
    return { status: 200, headers: { etag: part.etag, ...encryptionHeaders(encryption) } };
  }
  if (method === "PUT") {
    // If-Match / If-None-Match: * on PutObject and on CopyObject's destination (./conditions.ts).
    const condition = writeConditionOf(request.headers);
    if (header(request, "x-amz-copy-source")) {
      const replace = (header(request, "x-amz-metadata-directive") ?? "COPY").toUpperCase() === "REPLACE";
      const source = copySource(request);
      const original = store.copySource(source);
      assertReadable(original.encryption, request.headers, "x-amz-copy-source-");
      // "When copying an object, if you don't specify encryption information in your copy request, the
      // encryption setting of the target object is set to the default encryption configuration of the
      // destination bucket" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html, x-amz-server-side-encryption).
      const encryption = encryptionOfWrite(request.headers, store.bucketEncryption(bucket));
      const object = await store.copy(source, bucket, key, {
        encryption,
        condition,
        ...(replace && { replace: { contentType, userMetadata: userMetadataOf(request) } }),
      });
      return {
        ...xml(`<CopyObjectResult ${NS}><LastModified>${object.lastModified}</LastModified><ETag>${escapeXml(object.etag)}</ETag></CopyObjectResult>`),
        headers: {
          ...encryptionHeaders(object.encryption),
          ...versionHeader(store, bucket, object.versionId),
          ...copySourceVersionHeader(store, source.bucket, original),
        },
      };
    }
    const declared = Number(header(request, "x-amz-decoded-content-length") ?? header(request, "content-length") ?? 0);
    if (declared > MAX_PUT_SIZE) throw new S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
    const md5 = header(request, "content-md5");
    const tagging = header(request, "x-amz-tagging");
    const storageClass = header(request, "x-amz-storage-class");
    const encryption = encryptionOfWrite(request.headers, store.bucketEncryption(bucket));
    const object = await store.put(bucket, key, payload(request), {
      contentType,
      userMetadata: userMetadataOf(request),
      encryption,
      ...(md5 !== undefined && { contentMd5: md5 }),
      ...(tagging !== undefined && { tags: parseTaggingHeader(tagging) }),
      ...(storageClass !== undefined && { storageClass }),
      condition,
    });
    return { status: 200, headers: { etag: object.etag, ...encryptionHeaders(object.encryption), ...versionHeader(store, bucket, object.versionId) } };
  }
  if (method === "POST" && query.has("uploads")) {
    const encryption = encryptionOfWrite(request.headers, store.bucketEncryption(bucket));
    const upload = await store.createUpload(bucket, key, { contentType, userMetadata: userMetadataOf(request), encryption });
    return {
      ...xml(
        `<InitiateMultipartUploadResult ${NS}><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${upload.uploadId}</UploadId></InitiateMultipartUploadResult>`,
      ),
      headers: encryptionHeaders(encryption),
    };
  }
  if (method === "POST" && uploadId) {
    const condition = writeConditionOf(request.headers);
    const object = await store.completeUpload(uploadId, parseCompleteMultipartUpload(await readText(request.body)), condition);
    return {
      ...xml(
        `<CompleteMultipartUploadResult ${NS}><Location>/${escapeXml(bucket)}/${escapeXml(encodeURIComponent(key))}</Location><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><ETag>${escapeXml(object.etag)}</ETag></CompleteMultipartUploadResult>`,
      ),
      headers: { ...encryptionHeaders(object.encryption), ...versionHeader(store, bucket, object.versionId) },
    };
  }
  if (method === "DELETE" && uploadId) {
    await store.abortUpload(uploadId);
    return { status: 204 };
  }
  if (method === "GET" && uploadId) {
    const upload = store.upload(uploadId);
    const parts = store
      .parts(uploadId)
      .map((part) => `<Part><PartNumber>${part.partNumber}</PartNumber><ETag>${escapeXml(part.etag)}</ETag><Size>${part.size}</Size></Part>`);
    return xml(
      `<ListPartsResult ${NS}><Bucket>${escapeXml(upload.bucket)}</Bucket><Key>${escapeXml(upload.key)}</Key><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${parts.join("")}</ListPartsResult>`,
    );
  }
  if (method === "DELETE") {
    // x-amz-delete-marker: a marker was made, or the version removed was one; x-amz-version-id:
    // that marker, or the version named (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html).
    const outcome = await store.delete(bucket, key, versionId, deleteConditionOf(request.headers));
    return {
      status: 204,
      headers: {
        ...(outcome.deleteMarker && { "x-amz-delete-marker": "true" }),
        ...(outcome.versionId !== undefined && { "x-amz-version-id": outcome.versionId }),
      },
    };
  }
  if (method === "GET" || method === "HEAD") {
    const object = versionId === undefined ? store.head(bucket, key) : store.readableVersion(bucket, key, versionId, method);
    assertReadable(object.encryption, request.headers);
    // "Return the object only if its entity tag (ETag) is the same as the one specified in this
    // header; otherwise, return a 412 Precondition Failed error" (GetObject, If-Match):
    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
    const ifMatch = header(request, "if-match");
    if (ifMatch !== undefined && ifMatch !== "*" && ifMatch.replaceAll('"', "") !== object.etag.replaceAll('"', "")) {
      throw new S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", { Condition: "If-Match" });
    }
    const range = parseRange(header(request, "range"), object.size);
    const headers = { ...objectHeaders(object), ...versionHeader(store, bucket, object.versionId) };
    if (method === "HEAD") return { status: 200, headers: { ...headers, "content-length": String(object.size) } };
    if (!range) return { status: 200, headers: { ...headers, "content-length": String(object.size) }, stream: store.read(bucket, object) };
    return {
      status: 206,
      headers: { ...headers, "content-length": String(range.end - range.start + 1), "content-range": `bytes ${range.start}-${range.end}/${object.size}` },
      stream: store.read(bucket, object, range),
    };
  }
  throw new S3Error(501, "NotImplemented", `the local S3 does not implement ${method} on an object with ${[...query.keys()].join(", ") || "no parameters"}`);
}

function send(response: ServerResponse, reply: Reply, requestId: string): void {
  const headers: Record<string, string> = { "x-amz-request-id": requestId, "x-amz-id-2": requestId, ...reply.headers };
  if (reply.xml !== undefined) {
    const body = Buffer.from(reply.xml);
    response.writeHead(reply.status, { ...headers, "content-type": "application/xml", "content-length": String(body.length) });
    response.end(body);
  } else if (reply.stream) {
    response.writeHead(reply.status, headers);
    reply.stream.on("error", () => response.destroy());
    reply.stream.pipe(response);
  } else {
    response.writeHead(reply.status, { ...headers, ...(!("content-length" in headers) && { "content-length": "0" }) });
    response.end();
  }
}

/** Handles one S3 request; errors become S3's XML error responses. */
export function createS3Handler(store: DiskObjectStore) {
  return async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    const requestId = randomUUID().replace(/-/g, "").slice(0, 16).toUpperCase();
    const method = incoming.method ?? "GET";
    let path = "/";
    try {
      const target = parseRequestTarget(incoming.url ?? "/");
      path = target.path;
      const { bucket, key, query } = target;
      // Before the store sees either: a bucket name becomes a directory there.
      if (bucket) assertBucketName(bucket);
      if (key) assertKeyLength(key);
      const request: S3Request = { method, bucket, key, query, headers: incoming.headers, body: incoming };
      let reply: Reply;
      if (!bucket) {
        if (request.method !== "GET") throw new S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
        const buckets = store
          .listBuckets()
          .map(({ name, created }) => `<Bucket><Name>${escapeXml(name)}</Name><CreationDate>${created}</CreationDate></Bucket>`);
        reply = xml(
          `<ListAllMyBucketsResult ${NS}><Owner><ID>local</ID><DisplayName>local</DisplayName></Owner><Buckets>${buckets.join("")}</Buckets></ListAllMyBucketsResult>`,
        );
      } else {
        reply = key ? await serveObject(store, request) : await serveBucket(store, request);
      }
      // Whatever of the request body a handler did not need is read off, so the connection can be reused.
      if (!incoming.readableEnded) incoming.resume();
      send(response, reply, requestId);
    } catch (error) {
      if (!incoming.readableEnded) incoming.resume();
      const s3Error = error instanceof S3Error ? error : new S3Error(500, "InternalError", (error as Error).message);
      if (method === "HEAD") send(response, { status: s3Error.statusCode, headers: s3Error.headers }, requestId);
      else send(response, { status: s3Error.statusCode, headers: s3Error.headers, xml: s3Error.toXml(path, requestId) }, requestId);
    }
  };
}
