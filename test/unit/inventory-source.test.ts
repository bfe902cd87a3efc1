/**
 * S3 Inventory as a source, without emulators: reports are written in AWS's layout by the
 * integration tests' own writer (test/support/inventory.ts) into an in-memory S3 (memory-s3.ts),
 * then read back.
 * Which report is chosen, what a row becomes, and every refusal, pinned exactly.
 */
import { createHash } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { InventoryError, NoInventoryReportError } from "../../reconcile/errors.js";
import { inventorySource, type InventoryLocation } from "../../reconcile/inventory-source.js";
import type { KeyRange, SourceObject } from "../../reconcile/source.js";
import { writeInventoryReport, type ReportOptions } from "../support/inventory.js";
import { memoryS3 } from "./memory-s3.js";

const location: InventoryLocation = { bucket: "inventories", prefix: "reports", configurationId: "daily" };
const CREATED = new Date("2026-11-20T06:00:00.000Z");
const MODIFIED = "2026-11-20T00:00:00.000Z";
const md5 = (text: string) => createHash("md5").update(text).digest("hex");

async function report(s3: S3Client, overrides: Partial<ReportOptions> = {}): Promise<string> {
  return writeInventoryReport(s3, {
    destinationBucket: location.bucket,
    prefix: location.prefix,
    sourceBucket: "photos",
    configurationId: location.configurationId,
    createdAt: CREATED,
    format: "CSV",
    entries: [
      { key: "a b.txt", size: 3, etag: "e1" },
      { key: "c+d.txt", size: 5, etag: "e2" },
    ],
    ...overrides,
  });
}

async function rows(s3: S3Client, range?: KeyRange, reportFolder?: string): Promise<SourceObject[]> {
  const source = await inventorySource({ s3, sourceBucket: "photos", location, ...(reportFolder !== undefined && { reportFolder }) });
  const out: SourceObject[] = [];
  for await (const object of source.objects(range)) out.push(object);
  return out;
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a refusal");
}

const row = (key: string, size: number, etag: string, extra: Partial<SourceObject> = {}): SourceObject => ({
  key,
  size,
  etag,
  lastModified: MODIFIED,
  storageClass: "STANDARD",
  ...extra,
});

describe("inventory reports", () => {
  it("takes the newest complete report, its creation the snapshot time, and confirms repairs", async () => {
    const { s3 } = memoryS3();
    const older = await report(s3);
    await report(s3, { createdAt: new Date("2026-11-21T06:00:00.000Z"), incomplete: true });
    const source = await inventorySource({ s3, sourceBucket: "photos", location });
    expect(older).toBe("reports/photos/daily/2026-11-20T06-00Z/");
    expect(source).toMatchObject({ kind: "inventory", reportFolder: older, snapshotTime: CREATED, ordered: false, lagsBucket: true });
  });

  it("takes the newest of several complete reports, whatever order they are listed in", async () => {
    const { s3 } = memoryS3();
    const newer = await report(s3, { createdAt: new Date("2026-11-22T06:00:00.000Z") });
    await report(s3);
    await report(s3, { createdAt: new Date("2026-11-21T06:00:00.000Z") });
    expect((await inventorySource({ s3, sourceBucket: "photos", location })).reportFolder).toBe(newer);
  });

  it("asks S3 itself what a key holds now", async () => {
    const { s3 } = memoryS3();
    await report(s3);
    await s3.send(new PutObjectCommand({ Bucket: "photos", Key: "a b.txt", Body: "abc" }));
    const source = await inventorySource({ s3, sourceBucket: "photos", location });
    expect(await source.head("a b.txt")).toMatchObject({ size: 3, etag: "held" });
    expect(await source.head("gone")).toBeUndefined();
  });

  it("takes a report whose checksum S3 answers with a bare 404 as still being written, and fails on any other error", async () => {
    const { s3, failures } = memoryS3();
    const folder = await report(s3);
    const checksum = `inventories/${folder}manifest.checksum`;
    failures.set(checksum, Object.assign(new Error("no such key"), { $metadata: { httpStatusCode: 404 } }));
    await expect(inventorySource({ s3, sourceBucket: "photos", location })).rejects.toBeInstanceOf(NoInventoryReportError);
    const denied = Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
    failures.set(checksum, denied);
    await expect(inventorySource({ s3, sourceBucket: "photos", location })).rejects.toBe(denied);
  });

  it("reads CSV rows, keys URL-decoded, ETags unquoted, in range only", async () => {
    const { s3 } = memoryS3();
    await report(s3, {
      entries: [
        { key: "a b.txt", size: 3, etag: '"e1"' },
        { key: "c+d.txt", size: 5, etag: "e2" },
        { key: "z", size: 0, etag: "e3" },
      ],
      files: 2,
    });
    expect(await rows(s3)).toStrictEqual([row("a b.txt", 3, "e1"), row("z", 0, "e3"), row("c+d.txt", 5, "e2")]);
    expect(await rows(s3, { after: "a b.txt", through: "y" })).toStrictEqual([row("c+d.txt", 5, "e2")]);
  });

  it("reads Parquet rows the same way", async () => {
    const { s3 } = memoryS3();
    await report(s3, {
      format: "Parquet",
      entries: [
        { key: "a b.txt", size: 3, etag: "e1", lastModified: new Date("2026-11-19T01:02:03.000Z") },
        { key: "c+d.txt", size: 5, etag: "e2" },
      ],
    });
    expect(await rows(s3)).toStrictEqual([row("a b.txt", 3, "e1", { lastModified: "2026-11-19T01:02:03.000Z" }), row("c+d.txt", 5, "e2")]);
  });

  it("keeps only the current version of an all-versions report, never a delete marker", async () => {
    for (const format of ["CSV", "Parquet"] as const) {
      const { s3 } = memoryS3();
      await report(s3, {
        format,
        allVersions: true,
        entries: [
          { key: "k", size: 1, etag: "old", versionId: "v1", isLatest: false },
          { key: "k", size: 2, etag: "new", versionId: "v2", isLatest: true },
          { key: "gone", size: 0, etag: "", versionId: "m1", isLatest: true, isDeleteMarker: true },
        ],
      });
      expect(await rows(s3), format).toStrictEqual([row("k", 2, "new")]);
    }
  });

  it("names the encryption as HeadObject would, and the checksum algorithm when there is one", async () => {
    const { s3 } = memoryS3();
    await report(s3, {
      detailColumns: true,
      entries: [
        { key: "a", size: 1, etag: "e", encryptionStatus: "SSE-S3", checksumAlgorithm: "CRC64NVME" },
        { key: "b", size: 1, etag: "e", encryptionStatus: "SSE-KMS" },
        { key: "c", size: 1, etag: "e", encryptionStatus: "DSSE-KMS" },
        { key: "d", size: 1, etag: "e", encryptionStatus: "NOT-SSE" },
        { key: "e", size: 1, etag: "e", encryptionStatus: "SSE-C" },
      ],
    });
    expect(await rows(s3)).toStrictEqual([
      row("a", 1, "e", { encryption: { algorithm: "AES256" }, checksum: { algorithm: "CRC64NVME" } }),
      row("b", 1, "e", { encryption: { algorithm: "aws:kms" } }),
      row("c", 1, "e", { encryption: { algorithm: "aws:kms:dsse" } }),
      row("d", 1, "e"),
      row("e", 1, "e"),
    ]);
  });

  it("reads the report a task names, and refuses it while it is incomplete", async () => {
    const { s3 } = memoryS3();
    const folder = await report(s3);
    expect((await rows(s3, {}, folder)).map((object) => object.key)).toEqual(["a b.txt", "c+d.txt"]);
    const pending = await report(s3, { createdAt: new Date("2026-11-22T06:00:00.000Z"), incomplete: true });
    const error = await refusal(inventorySource({ s3, sourceBucket: "photos", location, reportFolder: pending }));
    expect(error).toBeInstanceOf(InventoryError);
    expect(error.message).toBe("inventory report reports/photos/daily/2026-11-22T06-00Z/ is not complete (no manifest.checksum)");
  });
});

describe("inventory refusals", () => {
  it("no complete report yet", async () => {
    const { s3 } = memoryS3();
    await report(s3, { incomplete: true });
    const error = await refusal(inventorySource({ s3, sourceBucket: "photos", location }));
    expect(error).toBeInstanceOf(NoInventoryReportError);
    expect(error.message).toBe("no complete inventory report for photos under s3://inventories/reports/photos/daily/");
  });

  it("a manifest that does not match its checksum, or is missing", async () => {
    const { s3, objects } = memoryS3();
    const folder = await report(s3);
    objects.set(`inventories/${folder}manifest.checksum`, Buffer.from(`${"0".repeat(32)}\n`));
    expect((await refusal(inventorySource({ s3, sourceBucket: "photos", location }))).message).toMatch(
      new RegExp(
        `^${folder.replace(/\./g, "\\.")}manifest\\.json does not match manifest\\.checksum \\([0-9a-f]{32} != ${"0".repeat(32)}\\); refusing this report$`,
      ),
    );
    await report(s3, { badManifestChecksum: true });
    const error = await refusal(inventorySource({ s3, sourceBucket: "photos", location }));
    expect(error).toBeInstanceOf(InventoryError);
    expect(error.message).toMatch(
      /^reports\/photos\/daily\/2026-11-20T06-00Z\/manifest\.json does not match manifest\.checksum \([0-9a-f]{32} != [0-9a-f]{32}\); refusing this report$/,
    );
    objects.delete("inventories/reports/photos/daily/2026-11-20T06-00Z/manifest.json");
    expect((await refusal(inventorySource({ s3, sourceBucket: "photos", location }))).message).toBe(
      "reports/photos/daily/2026-11-20T06-00Z/manifest.json is missing although its checksum exists",
    );
  });

  it("a manifest that is not JSON, not a manifest, of another bucket or another format", async () => {
    const folder = "reports/photos/daily/2026-11-20T06-00Z/";
    const cases: [string, string][] = [
      ["{", `${folder}manifest.json is not JSON`],
      [
        '{"sourceBucket":"photos"}',
        `${folder}manifest.json is not an S3 Inventory manifest: creationTimestamp: Invalid input: expected number, received NaN; fileFormat: Invalid input: expected string, received undefined; fileSchema: Invalid input: expected string, received undefined; files: Invalid input: expected array, received undefined`,
      ],
      [
        JSON.stringify({ sourceBucket: "other", creationTimestamp: "1", fileFormat: "CSV", fileSchema: "Key", files: [] }),
        `${folder}manifest.json describes other, not photos`,
      ],
      [
        JSON.stringify({ sourceBucket: "photos", creationTimestamp: "1", fileFormat: "ORC", fileSchema: "Key", files: [] }),
        "inventory format ORC is not supported; configure CSV or Parquet",
      ],
    ];
    for (const [manifest, message] of cases) {
      const { s3, objects } = memoryS3();
      objects.set(`inventories/${folder}manifest.json`, Buffer.from(manifest));
      objects.set(`inventories/${folder}manifest.checksum`, Buffer.from(`${md5(manifest).toUpperCase()}\n`));
      const error = await refusal(inventorySource({ s3, sourceBucket: "photos", location }));
      expect(error, manifest).toBeInstanceOf(InventoryError);
      expect(error.message, manifest).toBe(message);
    }
  });

  it("a data file whose MD5 differs from the manifest's, or that is larger than it says", async () => {
    const bad = memoryS3();
    await report(bad.s3, { badDataChecksum: true });
    const mismatch = await refusal(rows(bad.s3));
    expect(mismatch).toBeInstanceOf(InventoryError);
    expect(mismatch.message).toMatch(
      /^inventory data file reports\/photos\/daily\/data\/[0-9a-f-]+\.csv\.gz does not match its MD5 in the manifest \([0-9a-f]{32} != [0-9a-f]{32}\); nothing was deleted$/,
    );
    const large = memoryS3();
    await report(large.s3, { understatedSize: true });
    const oversized = await refusal(rows(large.s3));
    expect(oversized).toBeInstanceOf(InventoryError);
    expect(oversized.message).toMatch(
      /^inventory data file reports\/photos\/daily\/data\/[0-9a-f-]+\.csv\.gz is larger than the \d+ bytes its manifest gives; nothing was deleted$/,
    );
  });

  it("a CSV schema without a Key column", async () => {
    const { s3, objects } = memoryS3();
    const folder = await report(s3);
    const manifestKey = `inventories/${folder}manifest.json`;
    const manifest = JSON.parse(objects.get(manifestKey)!.toString("utf8")) as { fileSchema: string };
    manifest.fileSchema = "Bucket, Size";
    const text = JSON.stringify(manifest);
    objects.set(manifestKey, Buffer.from(text));
    objects.set(`inventories/${folder}manifest.checksum`, Buffer.from(md5(text)));
    const error = await refusal(rows(s3));
    expect(error).toBeInstanceOf(InventoryError);
    expect(error.message).toBe('CSV fileSchema "Bucket, Size" has no Key column');
  });
});
