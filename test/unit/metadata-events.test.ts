/** What a stack subscribes to for its enrichment, and how S3's restore header is read. */
import { describe, expect, it } from "vitest";
import { eventBridgeDetailTypes, isSubscribed, notificationEvents } from "../../events/subscriptions.js";
import { enrichmentFieldsSchema, restoreStatusOf } from "../../sdk/object-details.js";

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
