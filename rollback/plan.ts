/**
 * The rollback plan: what returns a prefix of a versioned bucket to its state at a past moment.
 * The ledger's net change since then (one listing of the prefix plus the journal of the keys
 * changed since: ledger/time-travel) says which keys to look at; S3 is asked about each of those
 * only (one ListObjectVersions, and for a restore one HeadObject of the moment's version), so the
 * cost grows with the keys changed, not with the prefix. Each key is decided by ./decide.ts.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { readAhead } from "../foundation/read-ahead.js";
import type { DiffQuery, LedgerReader } from "../ledger/index.js";
import { decideKey, intentOf, isRefused, NULL_VERSION, type RefusedKey, type RollbackAction } from "./decide.js";
import { RollbackRefusedError } from "./errors.js";
import { prefixKeysOf } from "./guard.js";
import { bucketVersioning, keyVersions, storedVersion } from "./s3-versions.js";

/** S3 reads in flight at once while planning. */
export const PLAN_READS_IN_FLIGHT = 16;

export interface RollbackPlan {
  bucket: string;
  prefix: string;
  /** The moment the prefix returns to (ISO-8601). */
  to: string;
  plannedAt: string;
  /** In key order. */
  actions: RollbackAction[];
  /** Keys left as they are, each with why. */
  refused: RefusedKey[];
  /** Keys already as at the moment: returned by an earlier run (its journal), or their current version has the moment's content. */
  done: { key: string; versionId: string }[];
  /** The guard's measure of the prefix (./guard.ts). */
  prefixKeys: number;
}

export interface PlanRollbackInput {
  reader: Pick<LedgerReader, "diff" | "list">;
  s3: S3Client;
  bucket: string;
  prefix?: string;
  to: Date;
  /** Per key, the entry an earlier run of this rollback left current (./out-dir.ts Journal). */
  journaled?: ReadonlyMap<string, string>;
  concurrency?: number;
  now?: () => Date;
  onProgress?: (progress: { keys: number; actions: number; refused: number }) => void;
}

/**
 * Refuses a bucket whose versioning is not Enabled. Never versioned: a delete would destroy the
 * object, and there is no past version to copy back. Suspended: a delete without a version id
 * makes a null delete marker that replaces the null version, and a copy writes the null version
 * over it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectsfromVersioningSuspendedBuckets.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersionSuspendedBuckets.html):
 * either can destroy a version.
 */
export async function assertVersioned(s3: S3Client, bucket: string): Promise<void> {
  const status = await bucketVersioning(s3, bucket);
  if (status === "Enabled") return;
  throw new RollbackRefusedError(
    status === "Suspended"
      ? `${bucket} has versioning suspended: a rollback there could replace null versions for good; it runs only on a bucket with versioning enabled`
      : `${bucket} has no versioning: a rollback runs only on a bucket with versioning enabled (never on a bucket without versioning: its deletes and overwrites keep nothing to return to)`,
  );
}

async function countLive(reader: PlanRollbackInput["reader"], bucket: string, prefix: string | undefined): Promise<number> {
  let count = 0;
  for await (const _record of reader.list({ bucket, ...(prefix !== undefined && { prefix }) })) count++;
  return count;
}

export async function planRollback(input: PlanRollbackInput): Promise<RollbackPlan> {
  const { s3, bucket, prefix } = input;
  const now = input.now ?? (() => new Date());
  await assertVersioned(s3, bucket);
  const liveNow = countLive(input.reader, bucket, prefix);
  liveNow.catch(() => undefined);
  const query: DiffQuery = { bucket, from: input.to, ...(prefix !== undefined && { prefix }) };
  const plan: RollbackPlan = {
    bucket,
    prefix: prefix ?? "",
    to: input.to.toISOString(),
    plannedAt: now().toISOString(),
    actions: [],
    refused: [],
    done: [],
    prefixKeys: 0,
  };
  let created = 0;
  let deleted = 0;
  async function* deciding() {
    for await (const entry of input.reader.diff(query)) {
      if (entry.change === "created") created++;
      if (entry.change === "deleted") deleted++;
      const intent = intentOf(entry);
      const decided = isRefused(intent)
        ? Promise.resolve({ outcome: "refused" as const, refused: intent })
        : Promise.all([
            keyVersions(s3, bucket, intent.key),
            intent.kind === "restore"
              ? storedVersion(s3, bucket, intent.key, intent.version.versionId ?? NULL_VERSION).then((found) => found ?? null)
              : undefined,
          ]).then(([versions, source]) => decideKey(intent, versions, source, input.journaled?.get(intent.key)));
      // Awaited in order below; marked handled so a failure waiting its turn is not reported twice.
      decided.catch(() => undefined);
      yield { decided };
    }
  }
  for await (const { decided } of readAhead(deciding(), input.concurrency ?? PLAN_READS_IN_FLIGHT)) {
    const decision = await decided;
    if (decision.outcome === "action") plan.actions.push(decision.action);
    else if (decision.outcome === "refused") plan.refused.push(decision.refused);
    else plan.done.push({ key: decision.key, versionId: decision.versionId });
    input.onProgress?.({ keys: plan.actions.length + plan.refused.length + plan.done.length, actions: plan.actions.length, refused: plan.refused.length });
  }
  plan.prefixKeys = prefixKeysOf(await liveNow, created, deleted);
  return plan;
}
