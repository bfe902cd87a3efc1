/**
 * S3 Versioning's vocabulary for the local S3: the bucket's versioning state, version ids, and
 * what a version is (an object or a delete marker).
 *
 * Version ids are what AWS documents of them and no more: "Unicode, UTF-8 encoded, URL-ready,
 * opaque strings that are no more than 1,024 bytes long" (AWS's own description of S3 version
 * ids, e.g. in the MWAA API reference, Environment.RequirementsS3ObjectVersion:
 * https://docs.aws.amazon.com/mwaa/latest/API/API_Environment.html), "URL safe (can be included
 * as part of a URI)" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersioningEnabledBuckets.html).
 * Here they are 30 characters: 14 hex digits that sort newest first, then 16 random base64url
 * characters. Only the store reads the order (to resume a ListObjectVersions page after its
 * marker version was deleted); clients, and the ledger, must treat them as opaque.
 */
import { randomBytes } from "node:crypto";
import { S3Error } from "./errors.js";

/** PutBucketVersioning's states; a bucket never versioned has none (GetBucketVersioning answers an empty configuration). */
export type VersioningStatus = "Enabled" | "Suspended";

/** The version id of what is written while versioning is off or suspended. */
export const NULL_VERSION = "null";

export interface DeleteMarker {
  key: string;
  versionId: string;
  lastModified: string;
  /** The version's place among its key's versions: larger is newer. */
  sequence: number;
  deleteMarker: true;
}

/** Whether a version (an object's metadata or a delete marker) is a delete marker. */
export const isDeleteMarker = <T extends object>(version: T | DeleteMarker): version is DeleteMarker =>
  "deleteMarker" in version && version.deleteMarker === true;

/** Sequences are integers below this, so that its difference with one stays a safe integer. */
const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;
const ORDER_DIGITS = 14;
const VERSION_ID = /^([0-9a-f]{14})[A-Za-z0-9_-]{16}$/;

export function newVersionId(sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`not a version sequence: ${sequence}`);
  return (MAX_SEQUENCE - sequence).toString(16).padStart(ORDER_DIGITS, "0") + randomBytes(12).toString("base64url");
}

/** The sequence a version id was made with; undefined for "null" and anything this store never made. */
export function sequenceOfVersionId(versionId: string): number | undefined {
  const match = VERSION_ID.exec(versionId);
  return match ? MAX_SEQUENCE - Number.parseInt(match[1]!, 16) : undefined;
}

export const isVersionId = (text: string): boolean => text === NULL_VERSION || VERSION_ID.test(text);

/**
 * A version id as a request names it (`versionId`, `version-id-marker`, a copy source's
 * `?versionId=`): one this store could have made, or "null". Anything else is refused with S3's
 * answer to a malformed version id, 400 InvalidArgument "Invalid version id specified"; it never
 * reaches the store, let alone a path.
 */
export function assertVersionId(text: string, argumentName = "versionId"): string {
  if (!isVersionId(text))
    throw new S3Error(400, "InvalidArgument", "Invalid version id specified", { ArgumentName: argumentName, ArgumentValue: text.slice(0, 1024) });
  return text;
}

/**
 * Issues version sequences: increasing with every call, from the wall clock (microsecond-sized
 * steps), so that they keep increasing across restarts; `observe` raises the floor to what a
 * store on disk already holds.
 */
export class VersionClock {
  private last = 0;

  observe(sequence: number): void {
    if (sequence > this.last) this.last = sequence;
  }

  next(): number {
    const fromClock = Date.now() * 1000;
    this.last = fromClock > this.last ? fromClock : this.last + 1;
    return this.last;
  }
}
