/** Where reconciliation learns what the bucket holds. */
import type { S3Client } from "@aws-sdk/client-s3";
import { compareUtf8, type ObjectState } from "../ledger/index.js";
import { listCommonPrefixes, listObjectPages } from "../aws/list-objects.js";
import { s3ObjectLookup } from "../s3/object-lookup.js";

export interface SourceObject extends ObjectState {
  key: string;
}

/** Keys in (after, through]: both bounds optional. Ranges planned together cover every key once. */
export interface KeyRange {
  after?: string;
  through?: string;
}

export interface ObjectSource {
  readonly kind: "list" | "inventory";
  /** When the source's view of the bucket began; repairs never overwrite anything newer. */
  readonly snapshotTime: Date;
  /** True if objects come in UTF-8 byte order (verified while reading, never trusted). */
  readonly ordered: boolean;
  /**
   * True if the source can miss recent changes (S3 Inventory): its repairs are confirmed with
   * `head` first (reconcile/drift-checks.ts). A listing is strongly consistent.
   */
  readonly lagsBucket: boolean;
  objects(range?: KeyRange): AsyncIterable<SourceObject>;
  /** What S3 holds for the key now (HeadObject), or undefined if nothing. */
  head(key: string): Promise<ObjectState | undefined>;
  /** Splits the key space into ranges that can be read in parallel (ordered sources only). */
  planRanges?(target: number): Promise<KeyRange[]>;
}

export interface ListSourceOptions {
  s3: S3Client;
  bucket: string;
  /**
   * General purpose S3 buckets list in UTF-8 byte order. Some S3-compatible stores (the local
   * emulator among them) do not; set false to have the scan sort with bounded memory.
   */
  ordered?: boolean;
  /** ListObjectsV2 calls spent finding split points (delimiter listings). */
  planningRequests?: number;
  now?: () => Date;
}

export function inRange(key: string, range: KeyRange): boolean {
  return (range.after === undefined || compareUtf8(key, range.after) > 0) && (range.through === undefined || compareUtf8(key, range.through) <= 0);
}

/** Turns sorted boundary keys into ranges (-inf, b1], (b1, b2], ..., (bn, +inf). */
export function rangesFromBoundaries(boundaries: string[]): KeyRange[] {
  const sorted = [...new Set(boundaries)].sort(compareUtf8);
  const ranges: KeyRange[] = [];
  let after: string | undefined;
  for (const boundary of sorted) {
    ranges.push({ ...(after !== undefined && { after }), through: boundary });
    after = boundary;
  }
  ranges.push(after !== undefined ? { after } : {});
  return ranges;
}

/** Keeps every n-th of sorted boundaries so that about `target` ranges remain. */
function thin(boundaries: string[], target: number): string[] {
  const sorted = [...new Set(boundaries)].sort(compareUtf8);
  if (sorted.length < target) return sorted;
  const step = sorted.length / (target - 1);
  return Array.from({ length: target - 1 }, (_, i) => sorted[Math.floor(i * step)]!);
}

/** ListObjectsV2 through the SDK paginator; any failed page fails the whole run. */
export function listObjectsSource(options: ListSourceOptions): ObjectSource {
  const snapshotTime = (options.now ?? (() => new Date()))();
  const { s3, bucket } = options;
  const ordered = options.ordered ?? true;
  const lookup = s3ObjectLookup(s3);
  return {
    kind: "list",
    snapshotTime,
    ordered,
    lagsBucket: false,
    head: (key) => lookup.head(bucket, key),

    async *objects(range: KeyRange = {}) {
      // A store that lists in another order applies StartAfter in that order too: list it all and filter.
      const startAfter = ordered ? range.after : undefined;
      for await (const page of listObjectPages(s3, { Bucket: bucket, ...(startAfter !== undefined && { StartAfter: startAfter }) })) {
        for (const object of page) {
          if (ordered && range.through !== undefined && compareUtf8(object.Key, range.through) > 0) return;
          if (!ordered && !inRange(object.Key, range)) continue;
          yield {
            key: object.Key,
            size: object.Size ?? 0,
            etag: (object.ETag ?? "").replace(/"/g, ""),
            lastModified: (object.LastModified ?? snapshotTime).toISOString(),
            ...(object.StorageClass !== undefined && { storageClass: object.StorageClass }),
          };
        }
      }
    },

    /**
     * Split points come from the bucket's "directories": breadth-first delimiter listings
     * (one page each) until there are enough of them, as parallel S3 listers do.
     */
    async planRanges(target) {
      if (target <= 1) return [{}];
      const boundaries: string[] = [];
      const frontier = [""];
      let requests = 0;
      while (frontier.length > 0 && boundaries.length < target * 4 && requests < (options.planningRequests ?? 16)) {
        const prefix = frontier.shift()!;
        requests++;
        const children = await listCommonPrefixes(s3, { Bucket: bucket, Prefix: prefix, Delimiter: "/" });
        boundaries.push(...children);
        frontier.push(...children);
      }
      return rangesFromBoundaries(thin(boundaries, target));
    },
  };
}
