/**
 * The local S3's objects, on disk. Bodies never sit in memory: uploads stream to a temporary
 * file and are committed by renaming a metadata file into place, so a crash leaves either the
 * old object or the new one. Only the metadata (key, size, ETag, times) is indexed in memory,
 * rebuilt from disk at start, so a restart on the same directory finds every bucket and
 * object as it was left.
 *
 *   <root>/buckets/<bucket>/bucket.json                  creation, default encryption, versioning
 *   <root>/buckets/<bucket>/objects/<sha256(key)>.json   the key's versions, newest first; each names its body file
 *   <root>/buckets/<bucket>/objects/<uuid>.body
 *   <root>/uploads/<uploadId>/upload.json, part-<n>.body, part-<n>.json
 *   <root>/tmp/
 *
 * Each commit (a write or a delete) is reported synchronously, at the moment the index
 * changes, so notification sequencers follow commit order as S3 defines it. Commits to one key
 * are serialised, so two concurrent writes to a versioned key both become versions.
 *
 * A bucket never versioned keeps one version per key, "null", as S3 names it; S3 Versioning
 * (local/s3/versions.ts) adds versions and delete markers as the S3 user guide describes them:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html and its pages on
 * versioning-enabled and versioning-suspended buckets.
 */
import { createHash, randomUUID } from "node:crypto";
import { chmodSync, createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { rename, rm, rmdir, writeFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { singlePartEtag, type BucketEncryption, type ObjectEncryption } from "./encryption.js";
import { assertWriteCondition, type WriteCondition } from "./conditions.js";
import { S3Error } from "./errors.js";
import { isValidBucketName } from "../../aws/bucket-name.js";
import { assertBucketName } from "./names.js";
import { isDeleteMarker, newVersionId, NULL_VERSION, sequenceOfVersionId, VersionClock, type DeleteMarker, type VersioningStatus } from "./versions.js";

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
  /** S3's version id: "null" for what was written while the bucket was unversioned or suspended. */
  versionId: string;
  /** The version's place among its key's versions: larger is newer. */
  sequence: number;
}

/** One version of a key: an object, or a delete marker. */
export type ObjectVersion = ObjectMetadata | DeleteMarker;

export type CommitEventName =
  | "ObjectCreated:Put"
  | "ObjectCreated:Copy"
  | "ObjectCreated:CompleteMultipartUpload"
  | "ObjectRemoved:Delete"
  | "ObjectRemoved:DeleteMarkerCreated"
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
  /**
   * The version written, deleted or made a delete marker; absent in a bucket never versioned,
   * whose events carry none ("object version if bucket is versioning-enabled, otherwise null":
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
   */
  versionId?: string;
  time: Date;
}

/** What a DELETE did, for its response's `x-amz-delete-marker` and `x-amz-version-id`. */
export interface DeleteOutcome {
  /** A delete marker was made, or the version removed was one. */
  deleteMarker: boolean;
  /** The marker made, or the version named; absent for a delete in a bucket never versioned. */
  versionId?: string;
}

/** One entry of ListObjectVersions. */
export interface ListedVersion {
  version: ObjectVersion;
  isLatest: boolean;
}

interface BucketState {
  created: string;
  encryption?: BucketEncryption;
  versioning?: VersioningStatus;
  /** Every key's versions, newest first: objects and delete markers. */
  versions: Map<string, ObjectVersion[]>;
  /** The keys whose current version is an object, with it: what ListObjects lists. */
  objects: Map<string, ObjectMetadata>;
  sorted?: { objects: ObjectMetadata[]; keys: Buffer[] };
  sortedVersions?: { names: string[]; keys: Buffer[] };
}

interface StoredKey {
  key: string;
  versions: ObjectVersion[];
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

/** The first index whose key is >= `prefix` and > `after`, in a list sorted by UTF-8 bytes. */
function firstAfter(keys: Buffer[], prefix: string, after: string): number {
  const prefixBytes = Buffer.from(prefix);
  const afterBytes = Buffer.from(after);
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const key = keys[middle]!;
    if (Buffer.compare(key, prefixBytes) < 0 || Buffer.compare(key, afterBytes) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class DiskObjectStore {
  private readonly buckets = new Map<string, BucketState>();
  private readonly listeners = new Set<(commit: StoreCommit) => void>();
  private readonly clock = new VersionClock();
  /** The tail of each key's queue of commits (bucket NUL key). */
  private readonly keyQueues = new Map<string, Promise<void>>();

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
      const info = JSON.parse(readFileSync(this.within("buckets", bucket, "bucket.json"), "utf8")) as {
        created: string;
        encryption?: BucketEncryption;
        versioning?: VersioningStatus;
      };
      const state: BucketState = {
        created: info.created,
        ...(info.encryption && { encryption: info.encryption }),
        ...(info.versioning && { versioning: info.versioning }),
        versions: new Map(),
        objects: new Map(),
      };
      const objectsDir = this.objectsDir(bucket);
      for (const file of readdirSync(objectsDir)) {
        if (!file.endsWith(".json")) continue;
        const stored = JSON.parse(readFileSync(join(objectsDir, file), "utf8")) as StoredKey | Omit<ObjectMetadata, "versionId" | "sequence">;
        // A store written before versions were kept holds the current object alone: its null version.
        const versions = "versions" in stored ? stored.versions : [{ ...stored, versionId: NULL_VERSION, sequence: 0 }];
        for (const version of versions) this.clock.observe(version.sequence);
        this.index(state, stored.key, versions);
      }
      this.buckets.set(bucket, state);
    }
  }

  /** Makes `versions` the key's versions in memory. */
  private index(state: BucketState, key: string, versions: ObjectVersion[]): void {
    if (versions.length === 0) state.versions.delete(key);
    else state.versions.set(key, versions);
    const current = versions[0];
    if (current && !isDeleteMarker(current)) state.objects.set(key, current);
    else state.objects.delete(key);
    delete state.sorted;
    delete state.sortedVersions;
  }

  /** Runs `work` once every earlier commit to the same key has finished. */
  private serialised<T>(bucket: string, key: string, work: () => Promise<T>): Promise<T> {
    const id = `${bucket}\u0000${key}`;
    const run = (this.keyQueues.get(id) ?? Promise.resolve()).then(work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.keyQueues.set(id, tail);
    void tail.then(() => {
      if (this.keyQueues.get(id) === tail) this.keyQueues.delete(id);
    });
    return run;
  }

  /**
   * Writes the key's versions (one atomic rename: a crash leaves the old list or the new one),
   * then indexes them. An empty list removes the key's file.
   */
  private async saveKey(bucket: string, key: string, versions: ObjectVersion[]): Promise<void> {
    const state = this.bucket(bucket);
    const path = this.objectFile(bucket, `${keyFile(key)}.json`);
    if (versions.length === 0) await rm(path, { force: true });
    else {
      const temp = this.tempPath();
      await writeFile(temp, JSON.stringify({ key, versions } satisfies StoredKey));
      await rename(temp, path);
    }
    this.index(state, key, versions);
  }

  private async removeBodies(bucket: string, removed: readonly ObjectVersion[]): Promise<void> {
    for (const version of removed) if (!isDeleteMarker(version)) await rm(this.objectFile(bucket, version.body), { force: true });
  }

  private bucket(name: string): BucketState {
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
    this.buckets.set(name, { created, versions: new Map(), objects: new Map() });
  }

  private async saveBucketInfo(name: string, state: BucketState): Promise<void> {
    const temp = this.tempPath();
    await writeFile(
      temp,
      JSON.stringify({
        created: state.created,
        ...(state.encryption && { encryption: state.encryption }),
        ...(state.versioning && { versioning: state.versioning }),
      }),
    );
    await rename(temp, this.within("buckets", name, "bucket.json"));
  }

  /** PutBucketVersioning's state; undefined for a bucket never versioned. */
  versioning(name: string): VersioningStatus | undefined {
    return this.bucket(name).versioning;
  }

  /**
   * Once versioning is enabled, a bucket can be suspended but never unversioned again
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html): there is no state to go back to.
   */
  async setVersioning(name: string, status: VersioningStatus): Promise<void> {
    const state = this.bucket(name);
    const previous = state.versioning;
    state.versioning = status;
    try {
      await this.saveBucketInfo(name, state);
    } catch (error) {
      if (previous) state.versioning = previous;
      else delete state.versioning;
      throw error;
    }
  }

  /** The bucket's default encryption (PutBucketEncryption); undefined is S3's own default, SSE-S3. */
  bucketEncryption(name: string): BucketEncryption | undefined {
    return this.bucket(name).encryption;
  }

  async setBucketEncryption(name: string, encryption: BucketEncryption | undefined): Promise<void> {
    const state = this.bucket(name);
    const { encryption: _previous, ...rest } = state;
    await this.saveBucketInfo(name, { ...rest, ...(encryption && { encryption }) });
    if (encryption) state.encryption = encryption;
    else delete state.encryption;
  }

  async deleteBucket(name: string): Promise<void> {
    // Versions and delete markers count: "all objects (including all object versions and delete
    // markers) in the bucket must be deleted before the bucket itself can be deleted"
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html).
    if (this.bucket(name).versions.size > 0) throw new S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty", { BucketName: name });
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

  /**
   * The key's current version. A key whose current version is a delete marker answers as if it
   * did not exist, with `x-amz-delete-marker: true` (GetObject, DeleteMarker:
   * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
   */
  head(bucket: string, key: string): ObjectMetadata {
    const state = this.bucket(bucket);
    const object = state.objects.get(key);
    if (object) return object;
    const marker = state.versions.get(key)?.[0];
    throw new S3Error(
      404,
      "NoSuchKey",
      "The specified key does not exist.",
      { Key: key },
      marker ? { "x-amz-delete-marker": "true", "x-amz-version-id": marker.versionId } : {},
    );
  }

  /** One version of a key, a delete marker included; 404 NoSuchVersion if there is none by that id. */
  version(bucket: string, key: string, versionId: string): ObjectVersion {
    const version = this.bucket(bucket)
      .versions.get(key)
      ?.find((candidate) => candidate.versionId === versionId);
    if (!version) throw new S3Error(404, "NoSuchVersion", "The specified version does not exist.", { Key: key, VersionId: versionId });
    return version;
  }

  /**
   * ListObjectVersions' order: keys in UTF-8 byte order, each key's versions newest first
   * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html). Starts after
   * `keyMarker`'s version `versionMarker` (with the rest of that key's versions), or after
   * `keyMarker` whole without one. A marker version deleted since is placed by the sequence its
   * id carries; a "null" one cannot be placed, so the listing goes on with the next key.
   */
  *versionsAfter(bucket: string, prefix: string, keyMarker: string, versionMarker?: string): Generator<ListedVersion> {
    const state = this.bucket(bucket);
    if (versionMarker !== undefined && keyMarker.startsWith(prefix)) {
      const versions = state.versions.get(keyMarker) ?? [];
      let start = versions.findIndex((version) => version.versionId === versionMarker) + 1;
      if (start === 0) {
        const sequence = sequenceOfVersionId(versionMarker);
        const older = sequence === undefined ? -1 : versions.findIndex((version) => version.sequence < sequence);
        start = older === -1 ? versions.length : older;
      }
      for (let index = start; index < versions.length; index++) yield { version: versions[index]!, isLatest: index === 0 };
    }
    if (!state.sortedVersions) {
      const entries = [...state.versions.keys()].map((name) => ({ name, key: Buffer.from(name) })).sort((a, b) => Buffer.compare(a.key, b.key));
      state.sortedVersions = { names: entries.map((entry) => entry.name), keys: entries.map((entry) => entry.key) };
    }
    const { names, keys } = state.sortedVersions;
    for (let index = firstAfter(keys, prefix, keyMarker); index < names.length; index++) {
      const name = names[index]!;
      if (!name.startsWith(prefix)) return;
      // Read now, not when sorted: a commit since may have changed the key's versions.
      const versions = state.versions.get(name) ?? [];
      for (const [position, version] of versions.entries()) yield { version, isLatest: position === 0 };
    }
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
    for (let index = firstAfter(keys, prefix, after); index < keys.length; index++) {
      if (!objects[index]!.key.startsWith(prefix)) return;
      yield objects[index]!;
    }
  }

  /** The body of `object` (the current version, or one `version` returned). */
  read(bucket: string, object: ObjectMetadata, range?: { start: number; end: number }): Readable {
    return createReadStream(this.objectFile(bucket, object.body), range ? { start: range.start, end: range.end } : {});
  }

  /** A version to read: 405 MethodNotAllowed for a delete marker, which has no body (GetObject, HeadObject). */
  readableVersion(bucket: string, key: string, versionId: string, method: string): ObjectMetadata {
    const version = this.version(bucket, key, versionId);
    if (!isDeleteMarker(version)) return version;
    throw new S3Error(
      405,
      "MethodNotAllowed",
      "The specified method is not allowed against this resource.",
      { Method: method, ResourceType: "DeleteMarker" },
      { "x-amz-delete-marker": "true", "x-amz-version-id": version.versionId, "last-modified": new Date(version.lastModified).toUTCString() },
    );
  }

  /**
   * The source of a copy (CopyObject, UploadPartCopy): the current version, or the one named. A
   * delete marker cannot be a copy source: "If the version ID of the source object is a delete
   * marker, Amazon S3 returns an HTTP 400 error"... "you are not allowed to specify a delete
   * marker as a version for the x-amz-copy-source" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
   */
  copySource(source: { bucket: string; key: string; versionId?: string }): ObjectMetadata {
    if (source.versionId === undefined) return this.head(source.bucket, source.key);
    const version = this.version(source.bucket, source.key, source.versionId);
    if (isDeleteMarker(version))
      throw new S3Error(400, "InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.");
    return version;
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

  /**
   * Makes `written` the object's current version. With versioning enabled it is a new version
   * beside the others; otherwise it is the "null" version and replaces the one there was ("If a
   * null version is already in the bucket and you add another object with the same key, the
   * added object overwrites the original null version":
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersionSuspendedBuckets.html).
   * A replaced body is removed after. A `condition` (./conditions.ts) is evaluated here, in the
   * key's turn, against its current version at that moment; refused, nothing is written or
   * notified and the new body goes.
   */
  private commit(
    bucket: string,
    written: Omit<ObjectMetadata, "versionId" | "sequence">,
    eventName: CommitEventName,
    condition?: WriteCondition,
  ): Promise<ObjectMetadata> {
    return this.serialised(bucket, written.key, async () => {
      const state = this.bucket(bucket);
      if (condition) {
        try {
          assertWriteCondition(written.key, state.objects.get(written.key), condition);
        } catch (error) {
          await rm(this.objectFile(bucket, written.body), { force: true });
          throw error;
        }
      }
      const sequence = this.clock.next();
      const versionId = state.versioning === "Enabled" ? newVersionId(sequence) : NULL_VERSION;
      const metadata: ObjectMetadata = { ...written, versionId, sequence };
      const before = state.versions.get(metadata.key) ?? [];
      const replaced = before.filter((version) => version.versionId === versionId);
      await this.saveKey(bucket, metadata.key, [metadata, ...before.filter((version) => version.versionId !== versionId)]);
      this.emit({
        eventName,
        bucket,
        key: metadata.key,
        size: metadata.size,
        etag: metadata.etag,
        ...(state.versioning && { versionId }),
        // When the write completed, which for a multipart upload is not its Last-Modified.
        time: new Date(),
      });
      await this.removeBodies(bucket, replaced);
      return metadata;
    });
  }

  /**
   * Changes an object's metadata in place (its tags, its storage class), reported as `eventName`
   * with the object's ETag and no size, as S3 reports such events.
   */
  private amend(bucket: string, key: string, change: Partial<Pick<ObjectMetadata, "tags" | "storageClass">>, eventName: CommitEventName): Promise<void> {
    return this.serialised(bucket, key, async () => {
      const state = this.bucket(bucket);
      const metadata = { ...this.head(bucket, key), ...change };
      await this.saveKey(bucket, key, [metadata, ...(state.versions.get(key) ?? []).slice(1)]);
      this.emit({ eventName, bucket, key, etag: metadata.etag, ...(state.versioning && { versionId: metadata.versionId }), time: new Date() });
    });
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
      condition?: WriteCondition;
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
      options.condition,
    );
  }

  async copy(
    source: { bucket: string; key: string; versionId?: string },
    bucket: string,
    key: string,
    options: { encryption: ObjectEncryption; replace?: { contentType: string; userMetadata: Record<string, string> }; condition?: WriteCondition },
  ): Promise<ObjectMetadata> {
    const { replace } = options;
    const original = this.copySource(source);
    this.bucket(bucket);
    const bodyName = `${randomUUID()}.body`;
    const { md5 } = await this.spool(this.read(source.bucket, original), this.objectFile(bucket, bodyName), MAX_PUT_SIZE);
    // A copy is STANDARD unless the request names a class (CopyObject, x-amz-storage-class).
    const { storageClass: _class, versionId: _version, sequence: _sequence, ...copied } = original;
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
      options.condition,
    );
  }

  /**
   * DeleteObject. Without a version id: in a bucket never versioned the object goes (deleting a
   * key that does not exist succeeds, and S3 notifies it too); with versioning enabled a delete
   * marker becomes the current version; suspended, the null version goes and a delete marker
   * with version id "null" takes its place
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html,
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectsfromVersioningSuspendedBuckets.html).
   * With a version id, that version goes for good, a delete marker included, and the next newest
   * becomes current if it was; a version that does not exist changes nothing and notifies nothing.
   * A `condition` (If-Match) is evaluated against the key's current version, whichever version is named.
   */
  delete(bucket: string, key: string, versionId?: string, condition?: WriteCondition): Promise<DeleteOutcome> {
    return this.serialised(bucket, key, async () => {
      const state = this.bucket(bucket);
      if (condition) assertWriteCondition(key, state.objects.get(key), condition);
      const before = state.versions.get(key) ?? [];
      if (versionId !== undefined) {
        const removed = before.find((version) => version.versionId === versionId);
        if (!removed) return { deleteMarker: false, versionId };
        await this.saveKey(
          bucket,
          key,
          before.filter((version) => version !== removed),
        );
        this.emit({ eventName: "ObjectRemoved:Delete", bucket, key, versionId, time: new Date() });
        await this.removeBodies(bucket, [removed]);
        return { deleteMarker: isDeleteMarker(removed), versionId };
      }
      if (state.versioning === undefined) {
        if (before.length > 0) await this.saveKey(bucket, key, []);
        this.emit({ eventName: "ObjectRemoved:Delete", bucket, key, time: new Date() });
        await this.removeBodies(bucket, before);
        return { deleteMarker: false };
      }
      const sequence = this.clock.next();
      const markerId = state.versioning === "Enabled" ? newVersionId(sequence) : NULL_VERSION;
      const marker: DeleteMarker = { key, versionId: markerId, lastModified: new Date().toISOString(), sequence, deleteMarker: true };
      const replaced = before.filter((version) => version.versionId === markerId);
      await this.saveKey(bucket, key, [marker, ...before.filter((version) => version.versionId !== markerId)]);
      this.emit({ eventName: "ObjectRemoved:DeleteMarkerCreated", bucket, key, versionId: markerId, time: new Date(marker.lastModified) });
      await this.removeBodies(bucket, replaced);
      return { deleteMarker: true, versionId: markerId };
    });
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
    source: { bucket: string; key: string; versionId?: string },
    range?: { start: number; end: number },
  ): Promise<PartMetadata & { lastModified: string }> {
    this.upload(uploadId);
    const original = this.copySource(source);
    if (range && (range.start > range.end || range.end >= original.size)) {
      throw new S3Error(400, "InvalidArgument", `Range specified is not valid for source object of size: ${original.size}`);
    }
    const temp = this.tempPath();
    const part = await this.savePart(uploadId, partNumber, await this.spool(this.read(source.bucket, original, range), temp, MAX_PUT_SIZE), temp);
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
   * the parts' MD5s, a dash and the part count, as S3 computes it. A refused `condition` leaves
   * the upload as it was, its parts still there.
   */
  async completeUpload(uploadId: string, requested: { partNumber: number; etag: string }[], condition?: WriteCondition): Promise<ObjectMetadata> {
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
        // "For multipart uploads, the object creation date is the date of initiation of the
        // multipart upload" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html).
        lastModified: upload.initiated,
        contentType: upload.contentType,
        userMetadata: upload.userMetadata,
        ...(upload.encryption && { encryption: upload.encryption }),
        body: bodyName,
      },
      "ObjectCreated:CompleteMultipartUpload",
      condition,
    );
    await rm(directory, { recursive: true, force: true });
    return object;
  }

  async abortUpload(uploadId: string): Promise<void> {
    this.upload(uploadId);
    await rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }
}
