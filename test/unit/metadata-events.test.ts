/**
 * What a stack subscribes to for its enrichment, how S3's restore header is read, and which
 * version a metadata event is about.
 */
import { describe, expect, it } from "vitest";
import { eventBridgeDetailTypes, isSubscribed, notificationEvents } from "../../events/subscriptions.js";
import { enrichmentFieldsSchema } from "../../events/enrichment-fields.js";
import { restoreStatusOf } from "../../s3/object-details.js";
import type { LedgerRecord } from "../../ledger/index.js";
import { metadataEventTarget } from "../../tracker/metadata-version.js";

describe("subscriptions", () => {
  it("subscribes to content events only, unless tags or the storage class are kept", () => {
    expect(notificationEvents(["contentType", "checksum"])).toEqual(["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"]);
    expect(notificationEvents(["tags"]).slice(3)).toEqual(["s3:ObjectTagging:Put", "s3:ObjectTagging:Delete"]);
    expect(eventBridgeDetailTypes(["storageClass"])).toEqual([
      "Object Created",
      "Object Deleted",
      "Object Storage Class Changed",
      "Object Access Tier Changed",
      "Object Restore Initiated",
      "Object Restore Completed",
      "Object Restore Expired",
    ]);
  });

  it("matches event names against a configuration's types, wildcards included", () => {
    const types = notificationEvents(["tags"]);
    expect(isSubscribed(types, "ObjectCreated:Copy")).toBe(true);
    expect(isSubscribed(types, "LifecycleExpiration:DeleteMarkerCreated")).toBe(true);
    expect(isSubscribed(types, "ObjectTagging:Delete")).toBe(true);
    expect(isSubscribed(types, "LifecycleTransition")).toBe(false);
    expect(isSubscribed(types, "ObjectCreatedX")).toBe(false);
  });
});

describe("enrichment fields", () => {
  it("takes each field once and refuses unknown ones by name", () => {
    expect(enrichmentFieldsSchema.parse(["tags", "contentType", "tags"])).toEqual(["tags", "contentType"]);
    const refused = enrichmentFieldsSchema.safeParse(["colour"]);
    expect(refused.success).toBe(false);
    expect(JSON.stringify(refused.error?.issues)).toMatch(/contentType/);
  });
});

describe("restoreStatusOf (HeadObject's x-amz-restore)", () => {
  it("reads a restore in progress, a finished one with its expiry, and nothing", () => {
    expect(restoreStatusOf('ongoing-request="true"')).toEqual({ ongoing: true });
    expect(restoreStatusOf('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"')).toEqual({
      ongoing: false,
      expiresAt: "2012-12-21T00:00:00.000Z",
    });
    expect(restoreStatusOf(undefined)).toBeUndefined();
    expect(restoreStatusOf("garbage")).toBeUndefined();
  });
});

describe("metadataEventTarget: which version a metadata event is about", () => {
  const created = "2026-11-21T10:00:00.000Z";
  const live = (versionId?: string): LedgerRecord => ({
    bucket: "b",
    key: "k",
    deleted: false,
    size: 1,
    etag: "e",
    lastModified: created,
    ...(versionId !== undefined && { versionId }),
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: created,
    recordedAt: created,
  });
  const tombstone: LedgerRecord = {
    bucket: "b",
    key: "k",
    deleted: true,
    versionId: "marker",
    cause: "ObjectRemoved:DeleteMarkerCreated",
    source: "event",
    observedAt: created,
    recordedAt: created,
    expiresAt: 0,
  };
  const before = "2026-11-21T09:59:59.000Z";
  const after = "2026-11-21T10:00:01.000Z";
  const event = (versionId: string | undefined, eventTime: string, eventTimeResolutionMs = 1) => ({
    ...(versionId !== undefined && { versionId }),
    eventTime,
    eventTimeResolutionMs,
  });

  it.each([
    ["an unversioned bucket's event, whatever is held", event(undefined, after), live(), "describe"],
    ["an unversioned bucket's event on a tombstone", event(undefined, before), tombstone, "describe"],
    ["the version held", event("v2", before), live("v2"), "describe"],
    ["version null, held without a version id", event("null", after), live(), "describe"],
    ["nothing held (the ledger is behind)", event("v1", before), undefined, "describe"],
    ["an older version, tagged before the held one was written", event("v1", before), live("v2"), "otherVersion"],
    ["an older version, the tagging stated to the second ending when the held one was written", event("v1", before, 1000), live("v2"), "otherVersion"],
    ["a version tagged in the second the held one was written (EventBridge)", event("v1", created, 1000), live("v2"), "askS3"],
    ["another version, after the held one was written: older, or newer and its create queued", event("v1", after), live("v2"), "askS3"],
    ["a real version where a listing's state (no version id) is held", event("v1", after), live(), "askS3"],
    ["version null where a real version is held (written while versioning was suspended)", event("null", after), live("v2"), "askS3"],
    ["a version tagged before the key was deleted", event("v1", before), tombstone, "otherVersion"],
    ["a version tagged after the key was deleted (re-created since?)", event("v1", after), tombstone, "askS3"],
  ] as const)("%s: %s", (_case, versioned, held, target) => {
    expect(metadataEventTarget(versioned, held)).toBe(target);
  });
});
