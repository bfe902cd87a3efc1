/**
 * The local S3's objects, on disk. Bodies never sit in memory: uploads stream to a temporary
 * file and are committed by renaming a metadata file into place, so a crash leaves either the
 * old object or the new one. Only the metadata (key, size, ETag, times) is indexed in memory,
 * rebuilt from disk at start, so a restart on the same directory finds every bucket and
 * object as it was left.
 *
 *   <root>/buckets/<bucket>/bucket.json
 *   <root>/buckets/<bucket>/objects/<sha256(key)>.json   metadata, names its body file
 *   <root>/buckets/<bucket>/objects/<uuid>.body
 *   <root>/uploads/<uploadId>/upload.json, part-<n>.body, part-<n>.json
 *   <root>/tmp/
 *
 * Each commit (a write or a delete) is reported synchronously, at the moment the index
 * changes, so notification sequencers follow commit order as S3 defines it.
 */
import { createHash, randomUUID } from "node:crypto";
import { chmodSync, createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { rename, rm, rmdir, writeFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { singlePartEtag, type BucketEncryption, type ObjectEncryption } from "./encryption.js";
import { S3Error } from "./errors.js";
import { isValidBucketName } from "../../aws/bucket-name.js";
import { assertBucketName } from "./names.js";

export interface ObjectMetadata {
  key: string;
  size: number;
  /** Quoted, as S3 returns it. */
  etag: string;
  lastModified: string;
  contentType: string;
  /** `x-amz-meta-*` headers, names lower case without the prefix. */
  userMetadata: Record<string, string>;
  /** Absent in objects stored before tags were kept: none. */
  tags?: Record<string, string>;
  /** Absent: STANDARD. */
  storageClass?: string;
  /** Absent in objects stored before encryption was recorded: SSE-S3, every object's floor. */
  encryption?: ObjectEncryption;
  body: string;
}

export type CommitEventName =
  | "ObjectCreated:Put"
  | "ObjectCreated:Copy"
  | "ObjectCreated:CompleteMultipartUpload"
  | "ObjectRemoved:Delete"
  | "ObjectTagging:Put"
  | "ObjectTagging:Delete"
  | "LifecycleTransition";

export interface StoreCommit {
  eventName: CommitEventName;
  bucket: string;
  key: string;
  /** Absent for deletes. */
  size?: number;
  /** Quoted, as S3 returns it; absent for deletes. */
  etag?: string;
  time: Date;
}

export interface UploadMetadata {
  uploadId: string;
  bucket: string;
  key: string;
  contentType: string;
  userMetadata: Record<string, string>;
  /** What the completed object will carry, decided when the upload is created (CreateMultipartUpload). */
  encryption?: ObjectEncryption;
  initiated: string;
}

export interface PartMetadata {
  partNumber: number;
  etag: string;
  size: number;
}

/** S3's smallest part, except the last (S3 user guide, "Amazon S3 multipart upload limits"). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest single PUT. */
export const MAX_PUT_SIZE = 5 * 1024 * 1024 * 1024;

const keyFile = (key: string) => createHash("sha256").update(key, "utf8").digest("hex");
const quoted = (hex: string) => `"${hex}"`;

export class DiskObjectStore {
  private readonly buckets = new Map<
    string,
    { created: string; encryption?: BucketEncryption; objects: Map<string, ObjectMetadata>; sorted?: { objects: ObjectMetadata[]; keys: Buffer[] } }
  >();
  private readonly listeners = new Set<(commit: StoreCommit) => void>();

  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    // Owner only: the store holds whatever was uploaded, and serves it to anyone who can reach it.
    for (const directory of ["buckets", "uploads", "tmp"]) mkdirSync(join(this.root, directory), { recursive: true, mode: 0o700 });
    chmodSync(this.root, 0o700);
    this.load();
  }

  /**
   * A path in the store. Every name joined here is checked where it enters (bucket names,
   * upload ids, generated file names); this refuses anything that would still resolve outside
   * the root, such as a body name read from a metadata file on disk.
   */
  private within(...parts: string[]): string {
    const path = resolve(this.root, ...parts);
    if (!path.startsWith(this.root + sep)) throw new S3Error(500, "InternalError", "refusing a path outside the local S3's data directory");
    return path;
  }

  onCommit(listener: (commit: StoreCommit) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(commit: StoreCommit): void {
    for (const listener of this.listeners) listener(commit);
  }

  private load(): void {
    for (const bucket of readdirSync(this.within("buckets"))) {
      // Only what createBucket made: a valid name with its bucket.json (a DeleteBucket cut short leaves neither).
      if (!isValidBucketName(bucket) || !existsSync(this.within("buckets", bucket, "bucket.json"))) continue;
      const info = JSON.parse(readFileSync(this.within("buckets", bucket, "bucket.json"), "utf8")) as { created: string; encryption?: BucketEncryption };
      const objects = new Map<string, ObjectMetadata>();
      const objectsDir = this.objectsDir(bucket);
      for (const file of readdirSync(objectsDir)) {
        if (!file.endsWith(".json")) continue;
        const metadata = JSON.parse(readFileSync(join(objectsDir, file), "utf8")) as ObjectMetadata;
        objects.set(metadata.key, metadata);
      }
      this.buckets.set(bucket, { created: info.created, ...(info.encryption && { encryption: info.encryption }), objects });
    }
  }

  private bucket(name: string) {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new S3Error(404, "NoSuchBucket", "The specified bucket does not exist", { BucketName: name });
    return bucket;
  }

  private objectsDir(bucket: string): string {
    return this.within("buckets", bucket, "objects");
  }

  private objectFile(bucket: string, name: string): string {
    return this.within("buckets", bucket, "objects", name);
  }

  private tempPath(): string {
    return this.within("tmp", randomUUID());
  }

  listBuckets(): { name: string; created: string }[] {
    return [...this.buckets].map(([name, { created }]) => ({ name, created })).sort((a, b) => a.name.localeCompare(b.name));
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  /** Throws S3's NoSuchBucket unless the bucket exists. */
  assertBucket(name: string): void {
    this.bucket(name);
  }

  async createBucket(name: string): Promise<void> {
    // us-east-1 answers 200 to the owner creating its own bucket again (S3 API reference, CreateBucket).
    assertBucketName(name);
    if (this.buckets.has(name)) return;
    const created = new Date().toISOString();
    mkdirSync(this.objectsDir(name), { recursive: true });
    await writeFile(this.within("buckets", name, "bucket.json"), JSON.stringify({ created }));
    this.buckets.set(name, { created, objects: new Map() });
  }

  /** The bucket's default encryption (PutBucketEncryption); undefined is S3's own default, SSE-S3. */
  bucketEncryption(name: string): BucketEncryption | undefined {
    return this.bucket(name).encryption;
  }

  async setBucketEncryption(name: string, encryption: BucketEncryption | undefined): Promise<void> {
    const state = this.bucket(name);
    const temp = this.tempPath();
    await writeFile(temp, JSON.stringify({ created: state.created, ...(encryption && { encryption }) }));
    await rename(temp, this.within("buckets", name, "bucket.json"));
    if (encryption) state.encryption = encryption;
    else delete state.encryption;
  }

  async deleteBucket(name: string): Promise<void> {
    if (this.bucket(name).objects.size > 0) throw new S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty", { BucketName: name });
    this.buckets.delete(name);
    // What createBucket made, and nothing else: an empty bucket's directories are empty, and a
    // file someone else put there stays (rmdir then fails, and the bucket is gone all the same,
    // since load() needs its bucket.json).
    await rm(this.within("buckets", name, "bucket.json"), { force: true });
    for (const directory of [this.objectsDir(name), this.within("buckets", name)]) {
      await rmdir(directory).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOTEMPTY" && error.code !== "ENOENT") throw error;
      });
    }
  }

  head(bucket: string, key: string): ObjectMetadata {
    const object = this.bucket(bucket).objects.get(key);
    if (!object) throw new S3Error(404, "NoSuchKey", "The specified key does not exist.", { Key: key });
    return object;
  }

  /**
   * The bucket's objects whose keys start with `prefix` and come after `after`, in UTF-8 byte
   * order as general purpose buckets list them. Sorted once per change, not once per page, and
   * found by binary search, so a page costs the same wherever it starts.
   */
  *objectsAfter(bucket: string, prefix: string, after: string): Generator<ObjectMetadata> {
    const state = this.bucket(bucket);
    if (!state.sorted) {
      const objects = [...state.objects.values()].map((object) => ({ object, key: Buffer.from(object.key) })).sort((a, b) => Buffer.compare(a.key, b.key));
      state.sorted = { objects: objects.map((entry) => entry.object), keys: objects.map((entry) => entry.key) };
    }
    const { objects, keys } = state.sorted;
    const prefixBytes = Buffer.from(prefix);
    const afterBytes = Buffer.from(after);
    // The first key >= prefix and > after.
    let low = 0;
    let high = keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const key = keys[middle]!;
      if (Buffer.compare(key, prefixBytes) < 0 || Buffer.compare(key, afterBytes) <= 0) low = middle + 1;
      else high = middle;
    }
    for (let index = low; index < keys.length; index++) {
      if (!objects[index]!.key.startsWith(prefix)) return;
      yield objects[index]!;
    }
  }

  read(bucket: string, key: string, range?: { start: number; end: number }): Readable {
    const object = this.head(bucket, key);
    return createReadStream(this.objectFile(bucket, object.body), range ? { start: range.start, end: range.end } : {});
  }

  /** Streams `body` to disk and returns its size and MD5, removing the file on failure. */
  private async spool(body: Readable, path: string, limit: number): Promise<{ size: number; md5: Buffer }> {
    const md5 = createHash("md5");
    let size = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            size += chunk.length;
            if (size > limit) throw new S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
            md5.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(path),
      );
      return { size, md5: md5.digest() };
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
  }

  /** Makes `metadata` the object's current version; the previous body is removed after. */
  private async commit(bucket: string, metadata: ObjectMetadata, eventName: CommitEventName): Promise<ObjectMetadata> {
    const state = this.bucket(bucket);
    const objects = state.objects;
    const metaPath = this.objectFile(bucket, `${keyFile(metadata.key)}.json`);
    const temp = this.tempPath();
    await writeFile(temp, JSON.stringify(metadata));
    await rename(temp, metaPath);
    const previous = objects.get(metadata.key);
    objects.set(metadata.key, metadata);
    delete state.sorted;
    this.emit({ eventName, bucket, key: metadata.key, size: metadata.size, etag: metadata.etag, time: new Date(metadata.lastModified) });
    if (previous && previous.body !== metadata.body) await rm(this.objectFile(bucket, previous.body), { force: true });
    return metadata;
  }

  /**
   * Changes an object's metadata in place (its tags, its storage class), reported as `eventName`
   * with the object's ETag and no size, as S3 reports such events.
   */
  private async amend(bucket: string, key: string, change: Partial<Pick<ObjectMetadata, "tags" | "storageClass">>, eventName: CommitEventName): Promise<void> {
    const state = this.bucket(bucket);
    const metadata = { ...this.head(bucket, key), ...change };
    const temp = this.tempPath();
    await writeFile(temp, JSON.stringify(metadata));
    await rename(temp, this.objectFile(bucket, `${keyFile(key)}.json`));
    state.objects.set(key, metadata);
    delete state.sorted;
    this.emit({ eventName, bucket, key, etag: metadata.etag, time: new Date() });
  }

  /** PutObjectTagging (replaces the whole set) and DeleteObjectTagging. */
  setTags(bucket: string, key: string, tags: Record<string, string>): Promise<void> {
    return this.amend(bucket, key, { tags }, Object.keys(tags).length > 0 ? "ObjectTagging:Put" : "ObjectTagging:Delete");
  }

  /** What an S3 Lifecycle transition does to an object: the local stand-in for a lifecycle rule, for tests and demos. */
  transition(bucket: string, key: string, storageClass: string): Promise<void> {
    return this.amend(bucket, key, { storageClass }, "LifecycleTransition");
  }

  async put(
    bucket: string,
    key: string,
    body: Readable,
    options: {
      contentType: string;
      userMetadata: Record<string, string>;
      encryption: ObjectEncryption;
      contentMd5?: string;
      tags?: Record<string, string>;
      storageClass?: string;
    },
  ): Promise<ObjectMetadata> {
    this.bucket(bucket);
    const bodyName = `${randomUUID()}.body`;
    const path = this.objectFile(bucket, bodyName);
    const { size, md5 } = await this.spool(body, path, MAX_PUT_SIZE);
    if (options.contentMd5 !== undefined && options.contentMd5 !== md5.toString("base64")) {
      await rm(path, { force: true });
      throw new S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
    }
    return this.commit(
      bucket,
      {
        key,
        size,
        etag: quoted(singlePartEtag(md5, options.encryption)),
        lastModified: new Date().toISOString(),
        contentType: options.contentType,
        userMetadata: options.userMetadata,
        ...(options.tags && Object.keys(options.tags).length > 0 && { tags: options.tags }),
        ...(options.storageClass !== undefined && options.storageClass !== "STANDARD" && { storageClass: options.storageClass }),
        encryption: options.encryption,
        body: bodyName,
      },
      "ObjectCreated:Put",
    );
  }

  async copy(
    source: { bucket: string; key: string },
    bucket: string,
    key: string,
    options: { encryption: ObjectEncryption; replace?: { contentType: string; userMetadata: Record<string, string> } },
  ): Promise<ObjectMetadata> {
    const { replace } = options;
    const original = this.head(source.bucket, source.key);
    this.bucket(bucket);
    const bodyName = `${randomUUID()}.body`;
    const { md5 } = await this.spool(this.read(source.bucket, source.key), this.objectFile(bucket, bodyName), MAX_PUT_SIZE);
    // A copy is STANDARD unless the request names a class (CopyObject, x-amz-storage-class).
    const { storageClass: _class, ...copied } = original;
    return this.commit(
      bucket,
      {
        ...copied,
        key,
        lastModified: new Date().toISOString(),
        body: bodyName,
        // A multipart source's ETag stays as it was; a single-part one follows the copy's encryption.
        ...(!original.etag.includes("-") && { etag: quoted(singlePartEtag(md5, options.encryption)) }),
        // The copy's own encryption (the request's, else the destination bucket's default), not the source's.
        encryption: options.encryption,
        ...(replace && { contentType: replace.contentType, userMetadata: replace.userMetadata }),
      },
      "ObjectCreated:Copy",
    );
  }

  /** Deleting a key that does not exist succeeds, and S3 notifies it too. */
  async delete(bucket: string, key: string): Promise<void> {
    const state = this.bucket(bucket);
    const previous = state.objects.get(key);
    if (previous) {
      await rm(this.objectFile(bucket, `${keyFile(key)}.json`), { force: true });
      state.objects.delete(key);
      delete state.sorted;
    }
    this.emit({ eventName: "ObjectRemoved:Delete", bucket, key, time: new Date() });
    if (previous) await rm(this.objectFile(bucket, previous.body), { force: true });
  }

  // Multipart uploads.

  private uploadDir(uploadId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new S3Error(404, "NoSuchUpload", "The specified upload does not exist.", { UploadId: uploadId });
    return this.within("uploads", uploadId);
  }

  upload(uploadId: string): UploadMetadata {
    const path = join(this.uploadDir(uploadId), "upload.json");
    if (!existsSync(path))
      throw new S3Error(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        { UploadId: uploadId },
      );
    return JSON.parse(readFileSync(path, "utf8")) as UploadMetadata;
  }

  async createUpload(
    bucket: string,
    key: string,
    options: { contentType: string; userMetadata: Record<string, string>; encryption: ObjectEncryption },
  ): Promise<UploadMetadata> {
    this.bucket(bucket);
    const upload: UploadMetadata = {
      uploadId: randomUUID(),
      bucket,
      key,
      contentType: options.contentType,
      userMetadata: options.userMetadata,
      encryption: options.encryption,
      initiated: new Date().toISOString(),
    };
    mkdirSync(this.uploadDir(upload.uploadId), { recursive: true });
    await writeFile(join(this.uploadDir(upload.uploadId), "upload.json"), JSON.stringify(upload));
    return upload;
  }

  private async savePart(uploadId: string, partNumber: number, spooled: { size: number; md5: Buffer }, temp: string): Promise<PartMetadata> {
    const part: PartMetadata = { partNumber, etag: quoted(spooled.md5.toString("hex")), size: spooled.size };
    const directory = this.uploadDir(uploadId);
    await rename(temp, join(directory, `part-${partNumber}.body`));
    await writeFile(join(directory, `part-${partNumber}.json`), JSON.stringify(part));
    return part;
  }

  async uploadPart(uploadId: string, partNumber: number, body: Readable): Promise<PartMetadata> {
    this.upload(uploadId);
    const temp = this.tempPath();
    return this.savePart(uploadId, partNumber, await this.spool(body, temp, MAX_PUT_SIZE), temp);
  }

  /** UploadPartCopy: a part from (a byte range of) an existing object. */
  async copyPart(
    uploadId: string,
    partNumber: number,
    source: { bucket: string; key: string },
    range?: { start: number; end: number },
  ): Promise<PartMetadata & { lastModified: string }> {
    this.upload(uploadId);
    const original = this.head(source.bucket, source.key);
    if (range && (range.start > range.end || range.end >= original.size)) {
      throw new S3Error(400, "InvalidArgument", `Range specified is not valid for source object of size: ${original.size}`);
    }
    const temp = this.tempPath();
    const part = await this.savePart(uploadId, partNumber, await this.spool(this.read(source.bucket, source.key, range), temp, MAX_PUT_SIZE), temp);
    return { ...part, lastModified: original.lastModified };
  }

  parts(uploadId: string): PartMetadata[] {
    const directory = this.uploadDir(uploadId);
    return readdirSync(directory)
      .filter((file) => /^part-\d+\.json$/.test(file))
      .map((file) => JSON.parse(readFileSync(join(directory, file), "utf8")) as PartMetadata)
      .sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * Joins the listed parts into the object, with S3's checks: parts in ascending order, each
   * uploaded with that ETag, every part but the last at least 5 MiB. The ETag is the MD5 of
   * the parts' MD5s, a dash and the part count, as S3 computes it.
   */
  async completeUpload(uploadId: string, requested: { partNumber: number; etag: string }[]): Promise<ObjectMetadata> {
    const upload = this.upload(uploadId);
    if (requested.length === 0)
      throw new S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
    const stored = new Map(this.parts(uploadId).map((part) => [part.partNumber, part]));
    const chosen: PartMetadata[] = [];
    for (const [index, { partNumber, etag }] of requested.entries()) {
      if (index > 0 && partNumber <= requested[index - 1]!.partNumber)
        throw new S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.");
      const part = stored.get(partNumber);
      const normalized = quoted(etag.replace(/"/g, "").toLowerCase());
      if (!part || part.etag !== normalized) {
        throw new S3Error(
          400,
          "InvalidPart",
          "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
          { PartNumber: String(partNumber), ETag: etag },
        );
      }
      chosen.push(part);
    }
    for (const part of chosen.slice(0, -1)) {
      if (part.size < MIN_PART_SIZE)
        throw new S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.", {
          PartNumber: String(part.partNumber),
          ProposedSize: String(part.size),
          MinSizeAllowed: String(MIN_PART_SIZE),
        });
    }
    const bodyName = `${randomUUID()}.body`;
    const path = this.objectFile(upload.bucket, bodyName);
    const directory = this.uploadDir(uploadId);
    const out = createWriteStream(path);
    try {
      for (const part of chosen) await pipeline(createReadStream(join(directory, `part-${part.partNumber}.body`)), out, { end: false });
      out.end();
      await new Promise<void>((resolve, reject) => out.once("finish", resolve).once("error", reject));
    } catch (error) {
      out.destroy();
      await rm(path, { force: true });
      throw error;
    }
    const md5s = Buffer.concat(chosen.map((part) => Buffer.from(part.etag.replace(/"/g, ""), "hex")));
    const etag = quoted(`${createHash("md5").update(md5s).digest("hex")}-${chosen.length}`);
    const size = chosen.reduce((sum, part) => sum + part.size, 0);
    const object = await this.commit(
      upload.bucket,
      {
        key: upload.key,
        size,
        etag,
        lastModified: new Date().toISOString(),
        contentType: upload.contentType,
        userMetadata: upload.userMetadata,
        ...(upload.encryption && { encryption: upload.encryption }),
        body: bodyName,
      },
      "ObjectCreated:CompleteMultipartUpload",
    );
    await rm(directory, { recursive: true, force: true });
    return object;
  }

  async abortUpload(uploadId: string): Promise<void> {
    this.upload(uploadId);
    await rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }
}
