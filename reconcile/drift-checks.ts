/**
 * What reconciliation asks S3 before it acts on what a source reported.
 *
 * - A source that lags the bucket (S3 Inventory: an eventually consistent snapshot that can
 *   miss objects added or deleted shortly before its creationTimestamp, and for which AWS
 *   advises a HEAD before acting) has its repairs confirmed with HeadObject where acting on a
 *   stale report would undo what the ledger knows: an orphan is tombstoned only if S3 confirms
 *   it is gone, and an object the ledger holds (stale) or recorded as deleted (a resurrection)
 *   is written with the state S3 reports now, or left alone if S3 says it is gone. A key the
 *   ledger never saw is written from the report without a HEAD, so a first backfill costs no
 *   request per object; if it was deleted meanwhile, a later report leaves it an orphan, which
 *   is confirmed then. A listing is strongly consistent and needs none of this.
 * - An orphan whose key is the form-URL-encoded (or decoded) form of a key the bucket holds
 *   means events are being decoded wrongly: it is reported as a finding of its own, so the
 *   same keys are not silently repaired every night.
 */
import { decodeS3Key, encodeS3Key } from "../aws/s3-key.js";
import type { DriftKind, Ledger, ObjectState, RepairOutcome, Withheld } from "../ledger/index.js";
import type { ObjectSource } from "./source.js";
import { withheldOf, type ObjectDescriber } from "../s3/object-details.js";

/** `unconfirmed`: the source reported drift that S3 contradicts now; nothing was written. */
export type CheckedRepairOutcome = RepairOutcome | "unconfirmed";

/** A ledger key that is another form of a bucket key: evidence of a key-decoding defect. */
export interface EncodingMismatch {
  ledgerKey: string;
  bucketKey: string;
}

export interface DriftChecksOptions {
  ledger: Ledger;
  bucket: string;
  source: ObjectSource;
  /** The run's snapshot time (a fan-out task's source is reopened with it). */
  snapshotTime?: Date;
  /** Object metadata (the `enrich` config): each object repaired is described with HeadObject. */
  describer?: ObjectDescriber;
  /** Told of each repair written with fields S3 withheld (for the run's counts). */
  onWithheld?: (withheld: Withheld) => void;
}

function otherForms(key: string): string[] {
  const forms = new Set<string>([encodeS3Key(key)]);
  try {
    forms.add(decodeS3Key(key));
  } catch {
    // Not valid URL encoding: it cannot be the encoded form of anything.
  }
  forms.delete(key);
  return [...forms];
}

/** Counts each repair written with withheld fields: whole (`undescribed`) or its checksum only. */
export const countWithheld =
  (counts: { undescribed: number; checksumsWithheld: number }) =>
  (withheld: Withheld): void => {
    counts[withheldOf({ withheld }) === "checksum" ? "checksumsWithheld" : "undescribed"]++;
  };

export function driftChecks(options: DriftChecksOptions) {
  const { ledger, bucket, source } = options;
  const snapshotTime = options.snapshotTime ?? source.snapshotTime;
  return {
    /**
     * Repairs a missing or stale object; with a lagging source, one the ledger knows of
     * (`known`: a stale item, or a tombstone) is confirmed first.
     */
    async repairPresent(kind: Exclude<DriftKind, "orphaned">, key: string, reported: ObjectState, known: boolean): Promise<CheckedRepairOutcome> {
      const state = source.lagsBucket && known ? await source.head(key) : reported;
      if (!state) return "unconfirmed";
      // Only what is repaired is described: a night's run HEADs its drift, never the bucket, and
      // not even that when the source reported every field kept (an inventory's optional
      // fields). A HEAD that finds another ETag (overwritten since) or nothing keeps no details;
      // the newer version's event describes it. An object S3 will not describe (SSE-C, a
      // refusal) is written from the source with the reason, never failing the run.
      const reportedAll = options.describer?.fields.every((field) => state[field] !== undefined) ?? true;
      const described = !reportedAll && options.describer ? await options.describer.describe(bucket, key) : undefined;
      const details = described && (!described.state || described.state.etag === state.etag) ? described.details : undefined;
      if (details?.withheld) options.onWithheld?.(details.withheld);
      return ledger.repair({ kind, bucket, key, state: { ...state, ...details }, snapshotTime });
    },

    /** Tombstones an orphan, unless a lagging source missed an object S3 still holds. */
    async tombstone(key: string): Promise<CheckedRepairOutcome> {
      if (source.lagsBucket && (await source.head(key))) return "unconfirmed";
      return ledger.repair({ kind: "orphaned", bucket, key, snapshotTime });
    },

    /** The bucket key this orphan is an encoded or decoded form of, if the bucket holds one. */
    async encodingMismatch(orphanKey: string): Promise<EncodingMismatch | undefined> {
      for (const bucketKey of otherForms(orphanKey)) {
        if (await source.head(bucketKey)) return { ledgerKey: orphanKey, bucketKey };
      }
      return undefined;
    },
  };
}

export type DriftChecks = ReturnType<typeof driftChecks>;
