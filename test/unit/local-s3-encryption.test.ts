/** The local S3's encryption decisions: which encryption a write gets, and which SSE-C headers it takes. */
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { assertReadable, bucketEncryptionFrom, customerKeyOf, encryptionHeaders, encryptionOfWrite } from "../../local/s3/encryption.js";
import { parse } from "../../local/s3/xml.js";

const key = randomBytes(32);
const md5 = createHash("md5").update(key).digest("base64");
const ssec = {
  "x-amz-server-side-encryption-customer-algorithm": "AES256",
  "x-amz-server-side-encryption-customer-key": key.toString("base64"),
  "x-amz-server-side-encryption-customer-key-md5": md5,
};

describe("the encryption a write gets", () => {
  const kmsDefault = { algorithm: "aws:kms" as const, kmsKeyId: "default-key", bucketKeyEnabled: true };

  it("is the request's own, else the bucket's default, else SSE-S3", () => {
    expect(encryptionOfWrite({}, undefined)).toEqual({ algorithm: "AES256" });
    expect(encryptionOfWrite({}, kmsDefault)).toEqual({ algorithm: "aws:kms", kmsKeyId: "default-key", bucketKeyEnabled: true });
    expect(encryptionOfWrite({ "x-amz-server-side-encryption": "AES256" }, kmsDefault)).toEqual({ algorithm: "AES256" });
    expect(encryptionOfWrite({ "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "k" }, undefined)).toEqual({
      algorithm: "aws:kms",
      kmsKeyId: "k",
    });
    expect(encryptionOfWrite({ "x-amz-server-side-encryption": "aws:kms" }, undefined)).toEqual({ algorithm: "aws:kms", kmsKeyId: "alias/aws/s3" });
    expect(encryptionOfWrite(ssec, kmsDefault)).toEqual({ algorithm: "SSE-C", customerAlgorithm: "AES256", customerKeyMd5: md5 });
  });

  it("refuses what S3 refuses: unknown algorithms, a KMS key without aws:kms, SSE-C mixed with SSE", () => {
    expect(() => encryptionOfWrite({ "x-amz-server-side-encryption": "rot13" }, undefined)).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
    expect(() => encryptionOfWrite({ "x-amz-server-side-encryption-aws-kms-key-id": "k" }, undefined)).toThrow(
      expect.objectContaining({ code: "InvalidArgument" }),
    );
    expect(() => encryptionOfWrite({ ...ssec, "x-amz-server-side-encryption": "aws:kms" }, undefined)).toThrow(
      expect.objectContaining({ code: "InvalidArgument" }),
    );
  });
});

describe("SSE-C headers", () => {
  it("must come as a consistent set: AES256, a 256-bit key, its MD5", () => {
    expect(customerKeyOf(ssec)).toEqual({ algorithm: "AES256", keyMd5: md5 });
    expect(customerKeyOf({})).toBeUndefined();
    expect(() => customerKeyOf({ ...ssec, "x-amz-server-side-encryption-customer-algorithm": "AES128" })).toThrow(
      expect.objectContaining({ code: "InvalidEncryptionAlgorithmError" }),
    );
    expect(() => customerKeyOf({ ...ssec, "x-amz-server-side-encryption-customer-key": randomBytes(16).toString("base64") })).toThrow(
      expect.objectContaining({ code: "InvalidArgument" }),
    );
    expect(() => customerKeyOf({ ...ssec, "x-amz-server-side-encryption-customer-key-md5": "AAAAAAAAAAAAAAAAAAAAAA==" })).toThrow(
      expect.objectContaining({ code: "InvalidArgument" }),
    );
  });

  it("are required to read an SSE-C object, refused on any other, and say nothing of the key in responses", () => {
    const stored = { algorithm: "SSE-C" as const, customerAlgorithm: "AES256" as const, customerKeyMd5: md5 };
    expect(() => assertReadable(stored, ssec)).not.toThrow();
    expect(() => assertReadable(stored, {})).toThrow(expect.objectContaining({ statusCode: 400, code: "InvalidRequest" }));
    expect(() => assertReadable({ algorithm: "AES256" }, ssec)).toThrow(expect.objectContaining({ statusCode: 400 }));
    expect(() => assertReadable(undefined, {})).not.toThrow();
    expect(Object.values(encryptionHeaders(stored))).not.toContain(ssec["x-amz-server-side-encryption-customer-key"]);
  });
});

describe("a bucket's default encryption", () => {
  const body = (rule: string) => parse(`<ServerSideEncryptionConfiguration><Rule>${rule}</Rule></ServerSideEncryptionConfiguration>`);

  it("is read from PutBucketEncryption's XML", () => {
    expect(
      bucketEncryptionFrom(
        body(
          "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled>",
        ),
      ),
    ).toEqual({ algorithm: "aws:kms", kmsKeyId: "k", bucketKeyEnabled: true });
    expect(bucketEncryptionFrom(body("<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"))).toEqual({
      algorithm: "AES256",
    });
  });

  it("cannot be SSE-C, two rules, or a KMS key with SSE-S3", () => {
    expect(() =>
      bucketEncryptionFrom(body("<ApplyServerSideEncryptionByDefault><SSEAlgorithm>SSE-C</SSEAlgorithm></ApplyServerSideEncryptionByDefault>")),
    ).toThrow(expect.objectContaining({ code: "MalformedXML" }));
    expect(() =>
      bucketEncryptionFrom(
        parse(
          "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>",
        ),
      ),
    ).toThrow(expect.objectContaining({ code: "MalformedXML" }));
    expect(() =>
      bucketEncryptionFrom(
        body("<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>"),
      ),
    ).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
  });
});
