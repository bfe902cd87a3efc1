/**
 * What returns one key to its state at a past moment, decided from the ledger's net change since
 * then (ledger/time-travel) and what S3 holds now. Exact or refused: a key whose past the ledger
 * cannot vouch for, whose current version S3 reports otherwise than the ledger, or whose past
 * version S3 no longer has, is refused with the reason, never guessed at. Pure, so every rule
 * has a unit test; the S3 reads are ./s3-versions.ts.
 */
import type { DiffEntry, VersionState } from "../ledger/index.js";
import type { KeyVersions, StoredVersion, VersionEntry } from "./s3-versions.js";

/**
 * CopyObject copies at most 5 GB in one request; a larger object needs a multipart upload of
 * UploadPartCopy parts (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html:
 * "You can create a copy of your object up to 5 GB in size in a single atomic action using this
 * API. However, to copy an object greater than 5 GB, you must use the multipart upload Upload Part -
 * Copy (UploadPartCopy) API"), and S3 Batch Operations' Copy has the same limit
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-copy-object.html). S3's GB here
 * is 2^30 bytes, as its 5 GB single PUT limit is 5,368,709,120 bytes.
 */
export const COPY_OBJECT_MAX_BYTES = 5 * 1024 ** 3;

/** The version id S3 gives a version written without versioning, or while it was suspended. */
export const NULL_VERSION = "null";

export type RollbackAction =
  /**
   * Created since: DeleteObject without a version id. On a versioned bucket that only puts a delete
   * marker on top (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html):
   * every version stays, so the rollback itself can be rolled back. Deleting the versions would
   * destroy them.
   */
  | { kind: "delete-current"; key: string; current: VersionEntry & { kind: "version" } }
  /**
   * Deleted since, with the version at the moment right beneath the delete marker: deleting the
   * marker (DeleteObject with its version id) makes that very version current again
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ManagingDelMarkers.html), same id and all.
   */
  | { kind: "remove-delete-marker"; key: string; marker: string; restores: string }
  /**
   * Changed since, or deleted with other versions above the moment's: CopyObject of the moment's
   * version over the key, which makes a copy of it the current version
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/RestoringPreviousVersions.html).
   */
  | { kind: "copy-version"; key: string; source: StoredVersion & { versionId: string }; current: VersionEntry | undefined };

export type RollbackActionKind = RollbackAction["kind"];

export interface RefusedKey {
  key: string;
  reason: string;
}

/** What rolling the key back needs, as far as the ledger says; S3 decides the rest (`decideKey`). */
export type Intent =
  | { kind: "delete"; key: string; ledgerCurrent: VersionState }
  | { kind: "restore"; key: string; version: VersionState; ledgerCurrent: VersionState | undefined; ledgerMarker: string | undefined };

export type KeyDecision =
  | { outcome: "action"; action: RollbackAction }
  | { outcome: "refused"; refused: RefusedKey }
  /** Already as at the moment: an earlier run of this rollback did it (its journal, S3 still showing its result), or the current version has the moment's content. */
  | { outcome: "done"; key: string; versionId: string };

/** The ledger's side of the decision; an unknown key is refused here. */
export function intentOf(entry: DiffEntry): Intent | RefusedKey {
  switch (entry.change) {
    case "unknown":
      return { key: entry.key, reason: `the ledger cannot vouch for the key's state: ${entry.reason}` };
    case "created":
      return { kind: "delete", key: entry.key, ledgerCurrent: entry.to! };
    case "deleted":
      return { kind: "restore", key: entry.key, version: entry.from!, ledgerCurrent: undefined, ledgerMarker: entry.deletion?.deleteMarker };
    case "changed":
      return { kind: "restore", key: entry.key, version: entry.from!, ledgerCurrent: entry.to!, ledgerMarker: undefined };
  }
}

export function isRefused(value: Intent | RefusedKey): value is RefusedKey {
  return "reason" in value;
}

const versionIdOf = (version: VersionState) => version.versionId ?? NULL_VERSION;

function describe(entry: VersionEntry | undefined): string {
  if (entry === undefined) return "no version at all";
  return entry.kind === "version" ? `version ${entry.versionId}` : `delete marker ${entry.versionId}`;
}

/**
 * Whether S3's current entry is the one the ledger says is current. Where it is not, the ledger
 * is behind S3 (events on their way, or lost until the next reconciliation), and a plan built on
 * it could undo a change nobody has seen yet.
 */
function ledgerMismatch(intent: Intent, current: VersionEntry | undefined): string | undefined {
  const behind = "the ledger is behind S3 (wait for the tracker, or run `bucket-ledger reconcile`, then plan again)";
  if (intent.ledgerCurrent !== undefined) {
    const expected = versionIdOf(intent.ledgerCurrent);
    if (current?.kind === "version" && current.versionId === expected) return undefined;
    return `S3's current entry is ${describe(current)}, the ledger's is version ${expected}: ${behind}`;
  }
  // Deleted since: S3 must show a delete marker (the one the ledger saw, when it knows it) or no version at all.
  if (current === undefined) return undefined;
  const marker = intent.kind === "restore" ? intent.ledgerMarker : undefined;
  if (current.kind === "delete-marker" && (marker === undefined || marker === current.versionId)) return undefined;
  const expected = marker === undefined ? "a delete marker" : `delete marker ${marker}`;
  return `S3's current entry is ${describe(current)}, the ledger's is ${expected}: ${behind}`;
}

/**
 * The one key's decision. `journaled`: the version this rollback's journal says it left current
 * (an earlier, interrupted run); `source`: HeadObject of the moment's version, for a restore
 * (null: S3 no longer has it).
 */
export function decideKey(intent: Intent, s3: KeyVersions, source: StoredVersion | null | undefined, journaled?: string): KeyDecision {
  const { key } = intent;
  if (journaled !== undefined && s3.current?.versionId === journaled) return { outcome: "done", key, versionId: journaled };
  const refuse = (reason: string): KeyDecision => ({ outcome: "refused", refused: { key, reason } });
  const mismatch = ledgerMismatch(intent, s3.current);
  if (mismatch !== undefined) return refuse(mismatch);
  if (intent.kind === "delete")
    return { outcome: "action", action: { kind: "delete-current", key, current: s3.current as VersionEntry & { kind: "version" } } };
  const wanted = versionIdOf(intent.version);
  // Another version with the moment's content (an earlier rollback's copy, an identical upload) is the moment's state already.
  if (s3.current?.kind === "version" && s3.current.etag === intent.version.etag && s3.current.size === intent.version.size) {
    return { outcome: "done", key, versionId: s3.current.versionId };
  }
  // S3's listing, not the ledger's count of changes, says whether the moment's version is right beneath the marker.
  if (s3.current?.kind === "delete-marker" && s3.beneath?.kind === "version" && s3.beneath.versionId === wanted) {
    return { outcome: "action", action: { kind: "remove-delete-marker", key, marker: s3.current.versionId, restores: wanted } };
  }
  if (source === undefined) throw new Error(`decideKey: a restore of ${JSON.stringify(key)} needs its source version read (HeadObject)`);
  if (source === null) {
    return refuse(
      wanted === NULL_VERSION
        ? "S3 no longer has the key's null version (written before versioning or while it was suspended), which held its state at the moment"
        : `S3 no longer has version ${wanted}, the key's state at the moment (it was deleted permanently)`,
    );
  }
  // A version id names one version for good, except "null", which a write while versioning was suspended replaces.
  if (source.etag !== intent.version.etag || source.size !== intent.version.size) {
    return refuse(
      `S3's version ${wanted} has ETag ${source.etag} and ${source.size} bytes, the ledger's state at the moment ETag ${intent.version.etag} and ${intent.version.size} bytes: it was replaced since`,
    );
  }
  if (source.archived !== undefined) {
    return refuse(
      `version ${wanted} is archived (${source.archived}): restore it first (RestoreObject), then plan again; CopyObject of an archived version fails`,
    );
  }
  if (source.size > COPY_OBJECT_MAX_BYTES) {
    return refuse(
      `version ${wanted} has ${source.size} bytes, over CopyObject's 5 GB (${COPY_OBJECT_MAX_BYTES} bytes): copying it back needs a multipart UploadPartCopy, which this rollback does not do`,
    );
  }
  return { outcome: "action", action: { kind: "copy-version", key, source: { ...source, versionId: wanted }, current: s3.current } };
}
