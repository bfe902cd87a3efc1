/**
 * The rollback's decision per key: from the ledger's net change (created(), deleted, changed(),
 * unknown) and what S3 holds now, the one action that returns the key to the moment, or the
 * key refused with the reason. Exact outcomes, and the bounds (5 GB, the null version).
 */
import { describe, expect, it } from "vitest";
import type { DiffEntry, VersionState } from "../../ledger/index.js";
import { COPY_OBJECT_MAX_BYTES, decideKey, intentOf, isRefused, NULL_VERSION, type Intent } from "../../rollback/decide.js";
import { archiveOf, type KeyVersions, type StoredVersion, type VersionEntry } from "../../rollback/s3-versions.js";

const version = (versionId: string | undefined, etag: string, size = 10): VersionState => ({
  size,
  etag,
  lastModified: "2026-12-03T09:00:00.000Z",
  since: "2026-12-03T09:00:00.000Z",
  reconstructed: false,
  ...(versionId !== undefined && { versionId }),
});
const s3Version = (versionId: string, etag: string, size = 10): VersionEntry => ({ kind: "version", versionId, etag, size });
const marker = (versionId: string): VersionEntry => ({ kind: "delete-marker", versionId });
const s3 = (current: VersionEntry | undefined, beneath?: VersionEntry): KeyVersions => ({ current, beneath });
const stored = (etag: string, size = 10, storageClass?: string): StoredVersion => ({ etag, size, ...(storageClass && { storageClass }) });

function intent(entry: DiffEntry): Intent {
  const made = intentOf(entry);
  if (isRefused(made)) throw new Error(`refused: ${made.reason}`);
  return made;
}

// Built inside each test (not at import), so each intent is made under the test that uses it.
const created = () => intent({ key: "k", change: "created", to: version("v2", "e2"), changes: 1 });
const changed = () => intent({ key: "k", change: "changed", from: version("v1", "e1"), to: version("v2", "e2"), changes: 1 });
const deletedByMarker = () => intent({ key: "k", change: "deleted", from: version("v1", "e1"), deletion: { since: "x", deleteMarker: "m1" }, changes: 1 });
const deletedNoMarker = () => intent({ key: "k", change: "deleted", from: version("v1", "e1"), changes: 1 });

describe("intentOf", () => {
  it("refuses an unknown key, naming the ledger's reason", () => {
    expect(isRefused(intentOf({ key: "k", change: "unknown", reason: "events were lost" }))).toBe(true);
    expect(intentOf({ key: "k", change: "unknown", reason: "events were lost" })).toEqual({
      key: "k",
      reason: "the ledger cannot vouch for the key's state: events were lost",
    });
  });

  it("maps created to a delete, deleted and changed to a restore of the moment's version", () => {
    expect(created()).toEqual({ kind: "delete", key: "k", ledgerCurrent: version("v2", "e2") });
    expect(changed()).toEqual({ kind: "restore", key: "k", version: version("v1", "e1"), ledgerCurrent: version("v2", "e2"), ledgerMarker: undefined });
    expect(deletedByMarker()).toEqual({ kind: "restore", key: "k", version: version("v1", "e1"), ledgerCurrent: undefined, ledgerMarker: "m1" });
    expect(isRefused(created())).toBe(false);
  });
});

describe("decideKey", () => {
  it("created since: deletes the current version (a delete marker), checked to be the ledger's", () => {
    expect(decideKey(created(), s3(s3Version("v2", "e2")), undefined)).toEqual({
      outcome: "action",
      action: { kind: "delete-current", key: "k", current: s3Version("v2", "e2") },
    });
  });

  it("refuses a key whose current version in S3 is not the ledger's (the ledger is behind)", () => {
    const decision = decideKey(created(), s3(s3Version("v3", "e3")), undefined);
    expect(decision).toEqual({
      outcome: "refused",
      refused: {
        key: "k",
        reason:
          "S3's current entry is version v3, the ledger's is version v2: the ledger is behind S3 (wait for the tracker, or run `bucket-ledger reconcile`, then plan again)",
      },
    });
    expect(decideKey(created(), s3(marker("m9")), undefined)).toMatchObject({
      outcome: "refused",
      refused: { reason: expect.stringMatching(/^S3's current entry is delete marker m9,/) },
    });
    expect(decideKey(created(), s3(undefined), undefined)).toMatchObject({
      outcome: "refused",
      refused: { reason: expect.stringMatching(/^S3's current entry is no version at all,/) },
    });
  });

  it("a ledger version without a version id is S3's null version", () => {
    const unversioned = intent({ key: "k", change: "created", to: version(undefined, "e2"), changes: 1 });
    expect(decideKey(unversioned, s3(s3Version(NULL_VERSION, "e2")), undefined)).toMatchObject({ outcome: "action", action: { kind: "delete-current" } });
    expect(decideKey(unversioned, s3(s3Version("v2", "e2")), undefined)).toMatchObject({ outcome: "refused" });
  });

  it("changed since: copies the moment's version over the current one", () => {
    expect(decideKey(changed(), s3(s3Version("v2", "e2"), s3Version("v1", "e1")), stored("e1", 10, "STANDARD_IA"))).toEqual({
      outcome: "action",
      action: {
        kind: "copy-version",
        key: "k",
        source: { versionId: "v1", etag: "e1", size: 10, storageClass: "STANDARD_IA" },
        current: s3Version("v2", "e2"),
      },
    });
  });

  it("deleted since by one marker over the moment's version: removes that marker", () => {
    expect(decideKey(deletedByMarker(), s3(marker("m1"), s3Version("v1", "e1")), stored("e1"))).toEqual({
      outcome: "action",
      action: { kind: "remove-delete-marker", key: "k", marker: "m1", restores: "v1" },
    });
  });

  it("deleted since with another version beneath the marker: copies the moment's version back over the marker", () => {
    expect(decideKey(deletedByMarker(), s3(marker("m1"), s3Version("v2", "e2")), stored("e1"))).toEqual({
      outcome: "action",
      action: { kind: "copy-version", key: "k", source: { versionId: "v1", etag: "e1", size: 10 }, current: marker("m1") },
    });
    // A marker beneath the marker is no version to uncover either.
    expect(decideKey(deletedByMarker(), s3(marker("m1"), marker("m0")), stored("e1"))).toMatchObject({ action: { kind: "copy-version" } });
  });

  it("deleted since: refuses when S3's current entry is another marker than the ledger's, or a version", () => {
    expect(decideKey(deletedByMarker(), s3(marker("m2"), s3Version("v1", "e1")), stored("e1"))).toMatchObject({
      outcome: "refused",
      refused: { reason: expect.stringMatching(/^S3's current entry is delete marker m2, the ledger's is delete marker m1: /) },
    });
    expect(decideKey(deletedNoMarker(), s3(s3Version("v5", "e5")), stored("e1"))).toMatchObject({
      outcome: "refused",
      refused: { reason: expect.stringMatching(/^S3's current entry is version v5, the ledger's is a delete marker: /) },
    });
  });

  it("deleted since with the marker unknown to the ledger: any current marker, or no version at all, is consistent", () => {
    expect(decideKey(deletedNoMarker(), s3(marker("m7"), s3Version("v1", "e1")), stored("e1"))).toEqual({
      outcome: "action",
      action: { kind: "remove-delete-marker", key: "k", marker: "m7", restores: "v1" },
    });
    expect(decideKey(deletedNoMarker(), s3(undefined), null)).toEqual({
      outcome: "refused",
      refused: { key: "k", reason: "S3 no longer has version v1, the key's state at the moment (it was deleted permanently)" },
    });
  });

  it("refuses a moment's version S3 no longer has, naming the null version as such", () => {
    const nullChanged = intent({ key: "k", change: "changed", from: version(undefined, "e1"), to: version("v2", "e2"), changes: 1 });
    expect(decideKey(nullChanged, s3(s3Version("v2", "e2")), null)).toEqual({
      outcome: "refused",
      refused: {
        key: "k",
        reason: "S3 no longer has the key's null version (written before versioning or while it was suspended), which held its state at the moment",
      },
    });
    expect(decideKey(nullChanged, s3(s3Version("v2", "e2")), stored("e1"))).toMatchObject({
      outcome: "action",
      action: { kind: "copy-version", source: { versionId: NULL_VERSION } },
    });
  });

  it("refuses a null version replaced since (another ETag or size than the moment's)", () => {
    const nullChanged = intent({ key: "k", change: "changed", from: version(undefined, "e1"), to: version("v2", "e2"), changes: 1 });
    expect(decideKey(nullChanged, s3(s3Version("v2", "e2")), stored("e9"))).toEqual({
      outcome: "refused",
      refused: {
        key: "k",
        reason: "S3's version null has ETag e9 and 10 bytes, the ledger's state at the moment ETag e1 and 10 bytes: it was replaced since",
      },
    });
    expect(decideKey(nullChanged, s3(s3Version("v2", "e2")), stored("e1", 11))).toMatchObject({ outcome: "refused" });
  });

  it("refuses an archived version, which CopyObject cannot read until it is restored", () => {
    const archived: StoredVersion = { ...stored("e1", 10, "GLACIER"), archived: "GLACIER" };
    expect(decideKey(changed(), s3(s3Version("v2", "e2"), s3Version("v1", "e1")), archived)).toEqual({
      outcome: "refused",
      refused: {
        key: "k",
        reason: "version v1 is archived (GLACIER): restore it first (RestoreObject), then plan again; CopyObject of an archived version fails",
      },
    });
  });

  it("tells an archived version from one restored or instantly retrievable", () => {
    expect(archiveOf({ StorageClass: "GLACIER" })).toBe("GLACIER");
    expect(archiveOf({ StorageClass: "DEEP_ARCHIVE", Restore: 'ongoing-request="true"' })).toBe("DEEP_ARCHIVE");
    expect(archiveOf({ StorageClass: "DEEP_ARCHIVE", Restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"' })).toBeUndefined();
    expect(archiveOf({ StorageClass: "GLACIER_IR" })).toBeUndefined();
    expect(archiveOf({ StorageClass: "INTELLIGENT_TIERING", ArchiveStatus: "DEEP_ARCHIVE_ACCESS" })).toBe("INTELLIGENT_TIERING DEEP_ARCHIVE_ACCESS");
    expect(archiveOf({ StorageClass: "INTELLIGENT_TIERING", ArchiveStatus: "ARCHIVE_ACCESS" })).toBe("INTELLIGENT_TIERING ARCHIVE_ACCESS");
    expect(archiveOf({ StorageClass: "INTELLIGENT_TIERING" })).toBeUndefined();
    expect(archiveOf({})).toBeUndefined();
  });

  it("copies up to exactly 5 GB; refuses one byte more with the reason", () => {
    const big = (size: number) => intent({ key: "k", change: "changed", from: version("v1", "e1", size), to: version("v2", "e2"), changes: 1 });
    expect(COPY_OBJECT_MAX_BYTES).toBe(5_368_709_120);
    expect(decideKey(big(COPY_OBJECT_MAX_BYTES), s3(s3Version("v2", "e2")), stored("e1", COPY_OBJECT_MAX_BYTES))).toMatchObject({
      outcome: "action",
      action: { kind: "copy-version" },
    });
    expect(decideKey(big(COPY_OBJECT_MAX_BYTES + 1), s3(s3Version("v2", "e2")), stored("e1", COPY_OBJECT_MAX_BYTES + 1))).toEqual({
      outcome: "refused",
      refused: {
        key: "k",
        reason:
          "version v1 has 5368709121 bytes, over CopyObject's 5 GB (5368709120 bytes): copying it back needs a multipart UploadPartCopy, which this rollback does not do",
      },
    });
  });

  it("a key an earlier run already returned (its journal's result still current) is done, whatever the ledger says", () => {
    expect(decideKey(changed(), s3(s3Version("v9", "e1")), stored("e1"), "v9")).toEqual({ outcome: "done", key: "k", versionId: "v9" });
    // The journal's result is no longer current: decided afresh (here: the ledger is behind).
    expect(decideKey(changed(), s3(s3Version("v10", "e1")), stored("e1"), "v9")).toMatchObject({ outcome: "refused" });
  });

  it("a current version with the moment's content (ETag and size) under another id is the moment's state already", () => {
    const copiedBack = intent({ key: "k", change: "changed", from: version("v1", "e1"), to: version("v3", "e1"), changes: 2 });
    expect(decideKey(copiedBack, s3(s3Version("v3", "e1")), stored("e1"))).toEqual({ outcome: "done", key: "k", versionId: "v3" });
    const otherSize = intent({ key: "k", change: "changed", from: version("v1", "e1", 10), to: version("v3", "e1", 11), changes: 2 });
    expect(decideKey(otherSize, s3(s3Version("v3", "e1", 11)), stored("e1"))).toMatchObject({ outcome: "action", action: { kind: "copy-version" } });
  });

  it("a journal line whose key has no version at all is not done; a marker with nothing beneath is copied over", () => {
    expect(decideKey(deletedNoMarker(), s3(undefined), null, "v9")).toMatchObject({ outcome: "refused" });
    expect(decideKey(deletedByMarker(), s3(marker("m1"), undefined), stored("e1"))).toMatchObject({ outcome: "action", action: { kind: "copy-version" } });
  });

  it("a restore without its source read is a programming error, not a guess", () => {
    expect(() => decideKey(changed(), s3(s3Version("v2", "e2")), undefined)).toThrow(/needs its source version read/);
  });
});
