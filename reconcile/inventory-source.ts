/**
 * S3 Inventory as a reconciliation source. Finds the newest complete report
 * (manifest.json with its manifest.checksum), verifies the manifest and every data file
 * against their MD5s before a single row is used, and reads CSV (gzip, no header, columns
 * from fileSchema, URL-encoded keys) or Parquet, one file at a time from local disk.
 * Rows are unordered: the scan sorts them with bounded memory (external-sort.ts).
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { createGunzip } from "node:zlib";
import { GetObjectCommand, NoSuchKey, paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";
import { parse as parseCsv } from "csv-parse";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { z } from "zod";
import { decodeS3Key } from "../aws/s3-key.js";
import { s3ObjectLookup } from "../s3/object-lookup.js";
import { InventoryError, NoInventoryReportError } from "./errors.js";
import { inRange, type ObjectSource, type SourceObject } from "./source.js";
import { parseJsonWith } from "../validation/parse.js";
import { scratch } from "./scratch.js";

export interface InventoryLocation {
  /** Destination bucket of the inventory configuration. */
  bucket: string;
  /** Destination prefix (without the trailing slash). */
  prefix: string;
  configurationId: string;
}

const manifestSchema = z.object({
  sourceBucket: z.string(),
  creationTimestamp: z.coerce.number().int().positive(),
  fileFormat: z.string(),
  fileSchema: z.string(),
  files: z.array(z.object({ key: z.string(), size: z.number().int().nonnegative(), MD5checksum: z.string() })),
});

type Manifest = z.infer<typeof manifestSchema>;

const REPORT_FOLDER = /\/(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z)\/$/;

/** `LastModifiedDate`, `last_modified_date` -> `lastmodifieddate`: CSV and Parquet name columns differently. */
const normalizeColumn = (name: string) => name.replace(/[^a-z]/gi, "").toLowerCase();

async function readText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await response.Body!.transformToString("utf8");
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw error;
  }
}

/** Report folders for the bucket, newest first. */
async function reportFolders(s3: S3Client, location: InventoryLocation, sourceBucket: string): Promise<string[]> {
  const base = `${location.prefix ? `${location.prefix}/` : ""}${sourceBucket}/${location.configurationId}/`;
  const folders: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: location.bucket, Prefix: base, Delimiter: "/" })) {
    for (const common of page.CommonPrefixes ?? []) if (REPORT_FOLDER.test(common.Prefix!)) folders.push(common.Prefix!);
  }
  return folders.sort().reverse();
}

/** The newest report whose manifest.checksum exists (its creation marks the report complete) and matches. */
async function newestCompleteReport(s3: S3Client, location: InventoryLocation, sourceBucket: string): Promise<{ folder: string; manifest: Manifest }> {
  for (const folder of await reportFolders(s3, location, sourceBucket)) {
    const report = await readReport(s3, location, sourceBucket, folder);
    if (report) return report;
  }
  throw new NoInventoryReportError(
    `no complete inventory report for ${sourceBucket} under s3://${location.bucket}/${location.prefix}/${sourceBucket}/${location.configurationId}/`,
  );
}

/** One report, checked; undefined while its manifest.checksum has not been written. */
async function readReport(
  s3: S3Client,
  location: InventoryLocation,
  sourceBucket: string,
  folder: string,
): Promise<{ folder: string; manifest: Manifest } | undefined> {
  const checksum = await readText(s3, location.bucket, `${folder}manifest.checksum`);
  if (checksum === undefined) return undefined; // still being written
  const manifestText = await readText(s3, location.bucket, `${folder}manifest.json`);
  if (manifestText === undefined) throw new InventoryError(`${folder}manifest.json is missing although its checksum exists`);
  const actual = createHash("md5").update(manifestText, "utf8").digest("hex");
  if (actual !== checksum.trim().toLowerCase()) {
    throw new InventoryError(`${folder}manifest.json does not match manifest.checksum (${actual} != ${checksum.trim()}); refusing this report`);
  }
  const manifest = parseJsonWith(manifestSchema, manifestText, (failure) =>
    failure.reason === "json"
      ? new InventoryError(`${folder}manifest.json is not JSON`)
      : new InventoryError(`${folder}manifest.json is not an S3 Inventory manifest: ${failure.issues}`),
  );
  if (manifest.sourceBucket !== sourceBucket) throw new InventoryError(`${folder}manifest.json describes ${manifest.sourceBucket}, not ${sourceBucket}`);
  return { folder, manifest };
}

/** Downloads a data file to disk, refusing it unless its MD5 matches the manifest. */
async function downloadVerified(s3: S3Client, bucket: string, file: Manifest["files"][number], directory: string, index: number): Promise<string> {
  const path = join(directory, `data-${index}`);
  // Charged before a byte is written: the manifest says how large the file is.
  scratch.charge(directory, file.size, `inventory data file ${file.key} (${file.size} bytes)`);
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: file.key }));
  const md5 = createHash("md5");
  let received = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      // A file larger than its manifest entry is not the file the manifest describes, and
      // would write past what was charged.
      if (received > file.size) {
        callback(new InventoryError(`inventory data file ${file.key} is larger than the ${file.size} bytes its manifest gives; nothing was deleted`));
        return;
      }
      md5.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(response.Body as NodeJS.ReadableStream, hashing, createWriteStream(path));
  const actual = md5.digest("hex");
  if (actual !== file.MD5checksum.toLowerCase()) {
    throw new InventoryError(`inventory data file ${file.key} does not match its MD5 in the manifest (${actual} != ${file.MD5checksum}); nothing was deleted`);
  }
  return path;
}

interface InventoryRow {
  key: string;
  size?: unknown;
  etag?: unknown;
  lastmodifieddate?: unknown;
  storageclass?: unknown;
  encryptionstatus?: unknown;
  checksumalgorithm?: unknown;
  islatest?: unknown;
  isdeletemarker?: unknown;
}

const truthy = (value: unknown) => value === true || value === "true";

/**
 * The report's EncryptionStatus as HeadObject names the same encryption (x-amz-server-side-encryption:
 * AES256, aws:kms, aws:kms:dsse). SSE-C and NOT-SSE have no such name and are left out.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html#storage-inventory-contents
 */
const ENCRYPTION_ALGORITHMS: Record<string, string> = { "SSE-S3": "AES256", "SSE-KMS": "aws:kms", "DSSE-KMS": "aws:kms:dsse" };

/** The optional fields that are object details (ledger/record.ts), when the report has them. */
function detailsOf(row: InventoryRow): Pick<SourceObject, "storageClass" | "encryption" | "checksum"> {
  const encryption = row.encryptionstatus ? ENCRYPTION_ALGORITHMS[String(row.encryptionstatus)] : undefined;
  return {
    ...(row.storageclass ? { storageClass: String(row.storageclass) } : {}),
    ...(encryption !== undefined && { encryption: { algorithm: encryption } }),
    ...(row.checksumalgorithm ? { checksum: { algorithm: String(row.checksumalgorithm) } } : {}),
  };
}

/** All-versions reports hold every version: keep the current one, unless it is a delete marker. */
function toSourceObject(row: InventoryRow, snapshotTime: Date): SourceObject | undefined {
  if (row.islatest !== undefined && !truthy(row.islatest)) return undefined;
  if (truthy(row.isdeletemarker)) return undefined;
  const lastModified =
    row.lastmodifieddate instanceof Date ? row.lastmodifieddate : row.lastmodifieddate ? new Date(String(row.lastmodifieddate)) : snapshotTime;
  return {
    key: row.key,
    size: Number(row.size ?? 0),
    etag: String(row.etag ?? "").replace(/"/g, ""),
    lastModified: Number.isNaN(lastModified.getTime()) ? snapshotTime.toISOString() : lastModified.toISOString(),
    ...detailsOf(row),
  };
}

async function* csvRows(path: string, fileSchema: string): AsyncGenerator<InventoryRow> {
  const columns = fileSchema.split(",").map((column) => normalizeColumn(column.trim()));
  if (!columns.includes("key")) throw new InventoryError(`CSV fileSchema ${JSON.stringify(fileSchema)} has no Key column`);
  const parser = createReadStream(path)
    .pipe(createGunzip())
    .pipe(parseCsv({ columns, relax_column_count: false }));
  for await (const record of parser as AsyncIterable<Record<string, string>>) {
    // CSV keys are URL-encoded (form style, as in event notifications); Parquet keys are not.
    yield { ...record, key: decodeS3Key(record.key!) };
  }
}

async function* parquetRows(path: string): AsyncGenerator<InventoryRow> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  let rowStart = 0;
  // One row group at a time keeps memory at one group whatever the file size.
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await parquetReadObjects({ file, metadata, rowStart, rowEnd, compressors });
    for (const row of rows) {
      const normalized = Object.fromEntries(
        Object.entries(row).map(([name, value]) => [normalizeColumn(name), typeof value === "bigint" ? Number(value) : value]),
      );
      yield normalized as unknown as InventoryRow;
    }
    rowStart = rowEnd;
  }
}

export interface InventorySourceOptions {
  s3: S3Client;
  sourceBucket: string;
  location: InventoryLocation;
  /** Read this report (a fan-out task continuing a run) instead of the newest complete one. */
  reportFolder?: string;
}

/** Locates and checks the newest complete report now; rows are read when a scan task asks. */
export async function inventorySource(options: InventorySourceOptions): Promise<ObjectSource & { reportFolder: string }> {
  const { s3, sourceBucket, location } = options;
  const report =
    options.reportFolder === undefined
      ? await newestCompleteReport(s3, location, sourceBucket)
      : await readReport(s3, location, sourceBucket, options.reportFolder);
  if (!report) throw new InventoryError(`inventory report ${options.reportFolder} is not complete (no manifest.checksum)`);
  const { folder, manifest } = report;
  const format = manifest.fileFormat.toUpperCase();
  if (format !== "CSV" && format !== "PARQUET") throw new InventoryError(`inventory format ${manifest.fileFormat} is not supported; configure CSV or Parquet`);
  const snapshotTime = new Date(manifest.creationTimestamp);
  const lookup = s3ObjectLookup(s3);
  return {
    kind: "inventory",
    reportFolder: folder,
    snapshotTime,
    ordered: false,
    // "An inventory list might not include recently added or deleted objects" (S3 user guide,
    // "Cataloging and analyzing your data with S3 Inventory"): confirm before repairing.
    lagsBucket: true,
    head: (key) => lookup.head(sourceBucket, key),
    async *objects(range = {}) {
      const directory = await scratch.directory("inventory");
      try {
        for (const [index, file] of manifest.files.entries()) {
          const path = await downloadVerified(s3, location.bucket, file, directory, index);
          const rows = format === "CSV" ? csvRows(path, manifest.fileSchema) : parquetRows(path);
          for await (const row of rows) {
            const object = toSourceObject(row, snapshotTime);
            if (object && inRange(object.key, range)) yield object;
          }
          await rm(path, { force: true });
          scratch.release(directory, file.size);
        }
      } finally {
        await scratch.remove(directory);
      }
    },
  };
}
