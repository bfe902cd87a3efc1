/**
 * Opens a run's source: for a new run (a listing that starts now, or the newest complete
 * inventory report), and again in each of its tasks (the same snapshot time, the same report).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { ReconcileError } from "./errors.js";
import { NoInventoryReportError } from "./errors.js";
import { inventorySource, type InventoryLocation } from "./inventory-source.js";
import type { RunSourceSpec } from "./run-model.js";
import { listObjectsSource, type ObjectSource } from "./source.js";

export interface RunSourceOptions {
  s3: S3Client;
  /** Set to read S3 Inventory reports instead of listing. */
  inventory?: InventoryLocation;
  /** False for stores that do not list in UTF-8 byte order (the local emulator). */
  ordered?: boolean;
}

export function openRunSource(options: RunSourceOptions) {
  const { s3, inventory } = options;
  const list = (bucket: string, snapshotTime?: Date) =>
    listObjectsSource({ s3, bucket, ...(options.ordered !== undefined && { ordered: options.ordered }), ...(snapshotTime && { now: () => snapshotTime }) });
  return {
    /**
     * Until S3 delivers the first inventory report (up to 48 hours after the configuration is
     * saved), a run lists the bucket instead of failing and paging someone; the run records why.
     */
    async forNewRun(bucket: string): Promise<{ source: ObjectSource; spec: RunSourceSpec }> {
      if (!inventory) return { source: list(bucket), spec: { kind: "list" } };
      try {
        const source = await inventorySource({ s3, sourceBucket: bucket, location: inventory });
        return { source, spec: { kind: "inventory", reportFolder: source.reportFolder } };
      } catch (error) {
        if (!(error instanceof NoInventoryReportError)) throw error;
        return {
          source: list(bucket),
          spec: { kind: "list", fallback: `no complete inventory report yet (S3 delivers the first within 48 hours): listed the bucket instead` },
        };
      }
    },
    async reopen(bucket: string, spec: RunSourceSpec, snapshotTime: Date): Promise<ObjectSource> {
      if (spec.kind === "list") return list(bucket, snapshotTime);
      if (!inventory) throw new ReconcileError(`run of ${bucket} reads inventory report ${spec.reportFolder}, but no inventory location is configured`);
      return inventorySource({ s3, sourceBucket: bucket, location: inventory, reportFolder: spec.reportFolder });
    },
  };
}
