/**
 * Writes S3 Inventory reports in AWS's layout into the emulated destination bucket:
 * <prefix>/<source>/<config>/<YYYY-MM-DDTHH-MMZ>/manifest.json + manifest.checksum, data under
 * <prefix>/<source>/<config>/data/. CSV is gzip, no header, every field quoted, keys URL-encoded.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { parquetWriteBuffer } from "hyparquet-writer";
import { encodeS3Key } from "../../aws/s3-key.js";

export interface InventoryEntry {
  key: string;
  size: number;
  etag: string;
  lastModified?: Date;
  versionId?: string;
  isLatest?: boolean;
  isDeleteMarker?: boolean;
  /** The optional EncryptionStatus field (SSE-S3, SSE-KMS, ...). */
  encryptionStatus?: string;
  /** The optional ChecksumAlgorithm field. */
  checksumAlgorithm?: string;
}

export interface ReportOptions {
  destinationBucket: string;
  prefix: string;
  sourceBucket: string;
  configurationId: string;
  createdAt: Date;
  format: "CSV" | "Parquet";
  entries: InventoryEntry[];
  /** Include VersionId/IsLatest/IsDeleteMarker columns, as all-versions reports do. */
  allVersions?: boolean;
  /** Include the EncryptionStatus and ChecksumAlgorithm columns. */
  detailColumns?: boolean;
  /** Split rows over this many data files. */
  files?: number;
  /** Skip manifest.checksum: the report is still being written. */
  incomplete?: boolean;
  /** Write a checksum that does not match manifest.json. */
  badManifestChecksum?: boolean;
  /** Record a wrong MD5 for the first data file. */
  badDataChecksum?: boolean;
  /** Record the first data file as a byte shorter than it is. */
  understatedSize?: boolean;
}

const md5 = (data: Buffer | string) => createHash("md5").update(data).digest("hex");
const folderName = (date: Date) => date.toISOString().slice(0, 16).replace(":", "-") + "Z";
const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;

function csvFile(entries: InventoryEntry[], bucket: string, allVersions: boolean, detailColumns: boolean): Buffer {
  const lines = entries.map((entry) =>
    [
      bucket,
      encodeS3Key(entry.key),
      ...(allVersions ? [entry.versionId ?? "", String(entry.isLatest ?? true), String(entry.isDeleteMarker ?? false)] : []),
      String(entry.size),
      (entry.lastModified ?? new Date("2026-11-20T00:00:00Z")).toISOString(),
      entry.etag,
      "STANDARD",
      ...(detailColumns ? [entry.encryptionStatus ?? "SSE-S3", entry.checksumAlgorithm ?? ""] : []),
    ]
      .map(quote)
      .join(","),
  );
  return gzipSync(`${lines.join("\n")}\n`);
}

function parquetFile(entries: InventoryEntry[], bucket: string, allVersions: boolean, detailColumns: boolean): Buffer {
  const column = <T>(name: string, type: "STRING" | "INT64" | "BOOLEAN" | "TIMESTAMP", pick: (entry: InventoryEntry) => T) => ({
    name,
    type,
    data: entries.map(pick),
  });
  const columnData = [
    column("bucket", "STRING", () => bucket),
    column("key", "STRING", (entry) => entry.key),
    ...(allVersions
      ? [
          column("version_id", "STRING", (entry) => entry.versionId ?? ""),
          column("is_latest", "BOOLEAN", (entry) => entry.isLatest ?? true),
          column("is_delete_marker", "BOOLEAN", (entry) => entry.isDeleteMarker ?? false),
        ]
      : []),
    column("size", "INT64", (entry) => BigInt(entry.size)),
    column("last_modified_date", "TIMESTAMP", (entry) => entry.lastModified ?? new Date("2026-11-20T00:00:00Z")),
    column("e_tag", "STRING", (entry) => entry.etag),
    column("storage_class", "STRING", () => "STANDARD"),
    ...(detailColumns
      ? [
          column("encryption_status", "STRING", (entry) => entry.encryptionStatus ?? "SSE-S3"),
          column("checksum_algorithm", "STRING", (entry) => entry.checksumAlgorithm ?? ""),
        ]
      : []),
  ];
  return Buffer.from(parquetWriteBuffer({ columnData: columnData as never, rowGroupSize: 3 }));
}

export async function writeInventoryReport(s3: S3Client, options: ReportOptions): Promise<string> {
  const base = `${options.prefix}/${options.sourceBucket}/${options.configurationId}`;
  const fileCount = options.files ?? 1;
  const allVersions = options.allVersions ?? false;
  const files = [];
  for (let index = 0; index < fileCount; index++) {
    const slice = options.entries.filter((_, i) => i % fileCount === index);
    const detailColumns = options.detailColumns ?? false;
    const body =
      options.format === "CSV"
        ? csvFile(slice, options.sourceBucket, allVersions, detailColumns)
        : parquetFile(slice, options.sourceBucket, allVersions, detailColumns);
    const key = `${base}/data/${crypto.randomUUID()}.${options.format === "CSV" ? "csv.gz" : "parquet"}`;
    await s3.send(new PutObjectCommand({ Bucket: options.destinationBucket, Key: key, Body: body }));
    files.push({
      key,
      size: body.length - (options.understatedSize && index === 0 ? 1 : 0),
      MD5checksum: options.badDataChecksum && index === 0 ? md5("tampered") : md5(body),
    });
  }
  const fileSchema =
    options.format === "CSV"
      ? `Bucket, Key, ${allVersions ? "VersionId, IsLatest, IsDeleteMarker, " : ""}Size, LastModifiedDate, ETag, StorageClass${options.detailColumns ? ", EncryptionStatus, ChecksumAlgorithm" : ""}`
      : "message s3.inventory { required binary bucket (STRING); required binary key (STRING); ... }";
  const manifest = JSON.stringify({
    sourceBucket: options.sourceBucket,
    destinationBucket: `arn:aws:s3:::${options.destinationBucket}`,
    version: "2016-11-30",
    creationTimestamp: String(options.createdAt.getTime()),
    fileFormat: options.format,
    fileSchema,
    files,
  });
  const folder = `${base}/${folderName(options.createdAt)}/`;
  await s3.send(new PutObjectCommand({ Bucket: options.destinationBucket, Key: `${folder}manifest.json`, Body: manifest }));
  if (!options.incomplete) {
    await s3.send(
      new PutObjectCommand({
        Bucket: options.destinationBucket,
        Key: `${folder}manifest.checksum`,
        Body: options.badManifestChecksum ? md5("something else") : md5(manifest),
      }),
    );
  }
  return folder;
}
