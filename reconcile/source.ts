/** Where reconciliation learns what the bucket holds. */
import { paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";
import type { ObjectState } from "../ledger/index.js";

export interface SourceObject extends ObjectState {
  key: string;
}

export interface ObjectSource {
  readonly kind: "list" | "inventory";
  /** When the source's view of the bucket began; repairs never overwrite anything newer. */
  readonly snapshotTime: Date;
  /** True if objects come in UTF-8 byte order (verified while reading, never trusted). */
  readonly ordered: boolean;
  objects(): AsyncIterable<SourceObject>;
}

export interface ListSourceOptions {
  s3: S3Client;
  bucket: string;
  /**
   * General purpose S3 buckets list in UTF-8 byte order. Some S3-compatible stores (the local
   * emulator among them) do not; set false to have the engine sort with bounded memory.
   */
  ordered?: boolean;
  now?: () => Date;
}

/** ListObjectsV2 through the SDK paginator; any failed page fails the whole run. */
export function listObjectsSource(options: ListSourceOptions): ObjectSource {
  const snapshotTime = (options.now ?? (() => new Date()))();
  return {
    kind: "list",
    snapshotTime,
    ordered: options.ordered ?? true,
    async *objects() {
      for await (const page of paginateListObjectsV2({ client: options.s3, pageSize: 1000 }, { Bucket: options.bucket })) {
        for (const object of page.Contents ?? []) {
          yield {
            key: object.Key!,
            size: object.Size ?? 0,
            etag: (object.ETag ?? "").replace(/"/g, ""),
            lastModified: (object.LastModified ?? snapshotTime).toISOString(),
            ...(object.StorageClass !== undefined && { storageClass: object.StorageClass }),
          };
        }
      }
    },
  };
}
