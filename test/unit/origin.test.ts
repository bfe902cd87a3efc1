/** The decisions about personal data: what origin is kept, when it expires, what a public API shows. */
import { describe, expect, it } from "vitest";
import { keptOrigin, originExpired, originRetentionDays, originSettingSchema } from "../../ledger/origin.js";
import { publicBody, publicRecord } from "../../api/public-view.js";

const origin = { requester: "AWS:AIDAALICE", sourceIp: "198.51.100.7", requestId: "C3D13FE58DE4C810" };

describe("keptOrigin", () => {
  it("keeps all, all but the IP, or nothing", () => {
    expect(keptOrigin(origin, "full")).toEqual(origin);
    expect(keptOrigin(origin, "principal")).toEqual({ requester: "AWS:AIDAALICE", requestId: "C3D13FE58DE4C810" });
    expect(keptOrigin(origin, "none")).toBeUndefined();
  });

  it("leaves nothing rather than an empty origin", () => {
    expect(keptOrigin({ sourceIp: "198.51.100.7" }, "principal")).toBeUndefined();
    expect(keptOrigin(undefined, "full")).toBeUndefined();
  });

  it("accepts only the three settings", () => {
    expect(originSettingSchema.safeParse("everything").success).toBe(false);
    expect(originSettingSchema.parse("principal")).toBe("principal");
  });
});

describe("origin retention", () => {
  const now = new Date("2026-12-04T12:00:00.000Z");
  const recordedDaysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();

  it("expires origin whose change was recorded the retention ago or more", () => {
    expect(originExpired({ origin, recordedAt: recordedDaysAgo(90) }, now, 90)).toBe(true);
    expect(originExpired({ origin, recordedAt: recordedDaysAgo(89.99) }, now, 90)).toBe(false);
  });

  it("has nothing to expire on an item without origin", () => {
    expect(originExpired({ recordedAt: recordedDaysAgo(400) }, now, 90)).toBe(false);
  });

  it("follows the journal, or the change feed with the journal off", () => {
    expect(originRetentionDays(90, 30)).toBe(90);
    expect(originRetentionDays(0, 30)).toBe(30);
  });
});

describe("the public view", () => {
  const record = {
    bucket: "photos",
    key: "a.txt",
    etag: "e",
    origin,
    userMetadata: { owner: "alice" },
    tags: { pii: "yes" },
    encryption: { algorithm: "aws:kms", kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/k" },
  };

  it("leaves out origin, user metadata, tags and the KMS key ARN, and keeps the rest", () => {
    expect(publicRecord(record)).toEqual({ bucket: "photos", key: "a.txt", etag: "e", encryption: { algorithm: "aws:kms" } });
  });

  it("covers pages, histories and single records", () => {
    expect(publicBody({ items: [record], cursor: "c" })).toEqual({ items: [publicRecord(record)], cursor: "c" });
    expect(publicBody({ bucket: "photos", key: "a.txt", complete: true, entries: [record] })).toMatchObject({
      complete: true,
      entries: [publicRecord(record)],
    });
    expect(publicBody(record)).toEqual(publicRecord(record));
  });
});
