/**
 * The local S3's decisions about a request before it reaches the store: bucket names by S3's
 * rules, the request target read without normalisation, loopback-only hosts, and the
 * checksums DeleteObjects must carry.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { crc32c, crc64nvme, verifyBodyIntegrity } from "../../local/s3/checksums.js";
import { foreignRequestReason } from "../../local/loopback-guard.js";
import { isValidBucketName } from "../../aws/bucket-name.js";
import { assertKeyLength } from "../../local/s3/names.js";
import { parseRequestTarget } from "../../local/s3/request-target.js";

describe("bucket names", () => {
  it("takes what S3's general purpose naming rules allow", () => {
    for (const name of ["abc", "ledger-demo", "my.bucket.name", "a".repeat(63), "1bucket", "bucket-1"]) expect(isValidBucketName(name), name).toBe(true);
  });

  it("refuses the rest, path separators and dot segments first", () => {
    const invalid = ["..", ".", "../../victim", "a/b", "a\\b", "", "ab", "a".repeat(64), "Bucket", "my_bucket", "-abc", "abc-", "a..b", "10.0.0.1"];
    invalid.push("xn--abc", "sthree-abc", "amzn-s3-demo-abc", "abc-s3alias", "abc--ol-s3", "abc.mrap", "abc--x-s3", "abc--table-s3");
    for (const name of invalid) expect(isValidBucketName(name), name).toBe(false);
  });
});

describe("object keys", () => {
  it("are at most 1,024 bytes of UTF-8, whatever their length in characters", () => {
    expect(() => assertKeyLength("k".repeat(1024))).not.toThrow();
    expect(() => assertKeyLength("😀".repeat(256))).not.toThrow();
    expect(() => assertKeyLength(`${"😀".repeat(256)}k`)).toThrow(expect.objectContaining({ code: "KeyTooLongError", statusCode: 400 }));
  });
});

describe("the request target", () => {
  it("keeps dot segments, encoded or not, and decodes each part once", () => {
    expect(parseRequestTarget("/ledger-demo/../second/x")).toMatchObject({ bucket: "ledger-demo", key: "../second/x" });
    expect(parseRequestTarget("/b/a/./b")).toMatchObject({ bucket: "b", key: "a/./b" });
    expect(parseRequestTarget("/b/%2e%2e/x")).toMatchObject({ bucket: "b", key: "../x" });
    expect(parseRequestTarget("/b/a%2Fb%253F?prefix=x%2By&delete")).toMatchObject({ bucket: "b", key: "a/b%3F" });
    expect(parseRequestTarget("/b/a%2Fb?prefix=x%2By&delete").query.get("prefix")).toBe("x+y");
    expect(parseRequestTarget("/..%2F..%2Fvictim")).toMatchObject({ bucket: "../../victim", key: "" });
  });

  it("refuses what does not decode, and targets not in origin form", () => {
    expect(() => parseRequestTarget("/b/%zz")).toThrow(expect.objectContaining({ code: "InvalidURI" }));
    expect(() => parseRequestTarget("http://attacker.example/b/k")).toThrow(expect.objectContaining({ code: "InvalidURI" }));
  });
});

describe("who may call the local endpoint", () => {
  it("serves loopback hosts, with or without a port", () => {
    for (const host of ["127.0.0.1", "127.0.0.1:4566", "localhost", "LocalHost:1", "[::1]", "[::1]:4566"])
      expect(foreignRequestReason({ host }), host).toBeUndefined();
  });

  it("refuses any other host, no host at all, and anything carrying an Origin", () => {
    for (const host of ["attacker.example", "127.0.0.1.nip.io", "localhost.attacker.example", "127.0.0.2", "0.0.0.0:4566", "", "[::1]x"])
      expect(foreignRequestReason({ host }), host).toMatch(/addressed to/);
    expect(foreignRequestReason({})).toMatch(/addressed to/);
    expect(foreignRequestReason({ host: "127.0.0.1", origin: "null" })).toMatch(/Origin/);
  });
});

describe("body integrity", () => {
  const body = Buffer.from("123456789");

  it("computes the CRCs S3 uses (their published check values)", () => {
    expect(crc32c(body)).toBe(0xe3069283);
    expect(crc64nvme(body)).toBe(0xae8b14860a799888n);
  });

  it("accepts a matching Content-MD5 or checksum, refuses a wrong one, and requires one when asked", () => {
    const md5 = createHash("md5").update(body).digest("base64");
    const sha256 = createHash("sha256").update(body).digest("base64");
    expect(() => verifyBodyIntegrity({ "content-md5": md5 }, body, { required: true })).not.toThrow();
    expect(() => verifyBodyIntegrity({ "x-amz-checksum-sha256": sha256 }, body, { required: true })).not.toThrow();
    expect(() => verifyBodyIntegrity({ "x-amz-checksum-crc32": "y/Q5Jg==" }, body, { required: true })).not.toThrow();
    expect(() => verifyBodyIntegrity({ "x-amz-checksum-crc32c": "4waSgw==" }, body, { required: true })).not.toThrow();
    expect(() => verifyBodyIntegrity({ "x-amz-checksum-crc32": "AAAAAA==" }, body, { required: true })).toThrow(expect.objectContaining({ code: "BadDigest" }));
    expect(() => verifyBodyIntegrity({ "content-md5": "short" }, body, { required: true })).toThrow(expect.objectContaining({ code: "InvalidDigest" }));
    expect(() => verifyBodyIntegrity({}, body, { required: true })).toThrow(expect.objectContaining({ code: "InvalidRequest" }));
    expect(() => verifyBodyIntegrity({}, body, { required: false })).not.toThrow();
  });
});
