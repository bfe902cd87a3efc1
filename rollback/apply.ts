/**
 * Carries a rollback plan out with the SDK, one key at a time per worker. Each action is checked
 * against S3 just before it runs (the key's current entry still the one planned) and is
 * conditional where S3 allows it, so a write that lands in between is not undone: a copy or a
 * delete of the current version carries If-Match with the planned current version's ETag
 * (CopyObject's If-Match is about the destination: "Copies the object if the entity tag (ETag)
 * of the destination object matches the specified tag",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html; conditional deletes,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html). S3 has no
 * condition for an entry that is not an object's current version ("Conditional delete evaluations
 * only apply to the current version of the object"), so a delete marker's removal, and a copy over
 * a delete marker, rely on the check just before. Each action done is journaled before the
 * next starts (./out-dir.ts), so a run that stops resumes where it left.
 */
import { CopyObjectCommand, DeleteObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import { compareUtf8 } from "../foundation/utf8-order.js";
import type { RefusedKey, RollbackAction } from "./decide.js";
import type { Journal } from "./out-dir.js";
import type { RollbackPlan } from "./plan.js";
import { keyVersions, type KeyVersions, type VersionEntry } from "./s3-versions.js";

/** Actions in flight at once: a few, so a guard's refusal or a failure stops little midway. */
export const APPLY_CONCURRENCY = 8;

export interface ApplySummary {
  applied: number;
  /** Keys that changed in S3 since the plan: left as they are. */
  conflicts: RefusedKey[];
  /** Actions S3 refused or failed: left for a re-run. */
  failures: RefusedKey[];
}

export interface ApplyInput {
  s3: S3Client;
  plan: RollbackPlan;
  journal: Journal;
  concurrency?: number;
  onProgress?: (progress: { finished: number; total: number }) => void;
}

const sameEntry = (a: VersionEntry | undefined, b: VersionEntry | undefined) => a?.kind === b?.kind && a?.versionId === b?.versionId;

/** Why the action no longer fits what S3 holds, or undefined when it still does. */
export function staleReason(action: RollbackAction, now: KeyVersions): string | undefined {
  const fits =
    action.kind === "delete-current"
      ? sameEntry(now.current, action.current)
      : action.kind === "remove-delete-marker"
        ? now.current?.kind === "delete-marker" && now.current.versionId === action.marker && now.beneath?.versionId === action.restores
        : sameEntry(now.current, action.current);
  if (fits) return undefined;
  const current = now.current === undefined ? "no version" : `${now.current.kind} ${now.current.versionId}`;
  return `the key changed in S3 since the plan (its current entry is now ${current}): left as it is; plan again`;
}

/** The copy source header: bucket/key?versionId=..., the key URL-encoded as CopyObject asks ("The value must be URL-encoded"). */
export function copySource(bucket: string, key: string, versionId: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}?versionId=${encodeURIComponent(versionId)}`;
}

/** Runs the action; returns the entry it left current. */
async function run(s3: S3Client, bucket: string, action: RollbackAction): Promise<string> {
  switch (action.kind) {
    case "delete-current": {
      const out = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: action.key, IfMatch: quoted(action.current.etag) }));
      if (out.VersionId === undefined) throw new Error("DeleteObject answered without the delete marker's version id: is versioning still enabled?");
      return out.VersionId;
    }
    case "remove-delete-marker":
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: action.key, VersionId: action.marker }));
      return action.restores;
    case "copy-version": {
      const { source, current } = action;
      const out = await s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: action.key,
          CopySource: copySource(bucket, action.key, source.versionId),
          ...(current?.kind === "version" && { IfMatch: quoted(current.etag) }),
          // A copy is STANDARD unless told (CopyObject, x-amz-storage-class): keep the version's class.
          ...(source.storageClass !== undefined && source.storageClass !== "STANDARD" && { StorageClass: source.storageClass as "STANDARD" }),
        }),
      );
      if (out.VersionId === undefined) throw new Error("CopyObject answered without the new version's id: is versioning still enabled?");
      return out.VersionId;
    }
  }
}

/** If-Match takes an entity tag, which is quoted (https://www.rfc-editor.org/rfc/rfc9110#name-if-match). */
const quoted = (etag: string) => `"${etag}"`;

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

export async function applyRollback(input: ApplyInput): Promise<ApplySummary> {
  const { s3, plan, journal } = input;
  const summary: ApplySummary = { applied: 0, conflicts: [], failures: [] };
  const limit = pLimit(input.concurrency ?? APPLY_CONCURRENCY);
  let finished = 0;
  await Promise.all(
    plan.actions.map((action) =>
      limit(async () => {
        try {
          const stale = staleReason(action, await keyVersions(s3, plan.bucket, action.key));
          if (stale !== undefined) {
            summary.conflicts.push({ key: action.key, reason: stale });
            return;
          }
          const result = await run(s3, plan.bucket, action);
          await journal.record({ key: action.key, kind: action.kind, result });
          summary.applied++;
        } catch (error) {
          // 412: the If-Match condition failed, a write landed between the check and the action.
          if (statusOf(error) === 412)
            summary.conflicts.push({ key: action.key, reason: "the key changed in S3 since the plan (If-Match failed): left as it is; plan again" });
          else summary.failures.push({ key: action.key, reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
        } finally {
          input.onProgress?.({ finished: ++finished, total: plan.actions.length });
        }
      }),
    ),
  );
  const byKey = (a: RefusedKey, b: RefusedKey) => compareUtf8(a.key, b.key);
  summary.conflicts.sort(byKey);
  summary.failures.sort(byKey);
  return summary;
}
