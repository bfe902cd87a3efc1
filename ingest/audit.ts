/**
 * Reconciliation's check of ingestion: after a run has repaired the ledger, every object a rule
 * covers must have a finished ingestion of its current version. What is missing (an event
 * lost, a request lost, a repair reconciliation just made), retryable (rows DynamoDB never
 * took), or stuck (a continuation chain broken, its message in the DLQ) is queued again, as
 * is the removal of a deleted file's rows under `onDelete: delete`. Bounded per run and per
 * version, so a file that keeps failing the same way is left to an operator, not retried forever.
 *
 * The ledger's objects under a rule's prefix and the ingestion records under it are both read
 * in UTF-8 key order and merged, so memory does not grow with the number of files.
 */
import { joinByKey } from "../foundation/merge.js";
import type { Ledger, LedgerRecord } from "../ledger/index.js";
import { INGEST_DEFAULTS } from "./defaults.js";
import type { IngestQueue } from "./ingest-queue.js";
import type { IngestionRecord } from "./ingestion-store.js";
import { ingestVersionOf, type IngestRequestInput } from "./request.js";
import { patternOf, ruleCovers, type IngestRule } from "./rules.js";

export interface AuditCounts {
  /** Covered objects whose current version is ingested. */
  current: number;
  /** Queued: never ingested, or ingested at another version. */
  missing: number;
  /** Queued again: partial or failed, and worth another try. */
  retried: number;
  /** Queued again: running with no progress for `stuckAfterMs`. */
  stuck: number;
  /** Queued: rows of a deleted file still in the table. */
  removals: number;
  /** Left alone: failed or partial as many times as `maxAttempts` allows, or not retryable. */
  givenUp: number;
  /** Not queued because the run's request budget was spent; the next run picks them up. */
  deferred: number;
}

export interface AuditOptions {
  ledger: Ledger;
  queue: IngestQueue;
  rules: readonly IngestRule[];
  bucket: string;
  /** Makes this run's requests distinct from an earlier run's in SQS's deduplication window. */
  runId: string;
  maxRequests?: number;
  maxAttempts?: number;
  stuckAfterMs?: number;
  now?: () => Date;
}

/** A request without its object: what the audit decides before it knows the key's bucket. */
type RequestFor<Request = IngestRequestInput> = Request extends unknown ? Omit<Request, "bucket" | "key"> : never;

export const emptyAuditCounts = (): AuditCounts => ({ current: 0, missing: 0, retried: 0, stuck: 0, removals: 0, givenUp: 0, deferred: 0 });

/** What the audit asks for one key, from what the ledger holds and how its last ingestion ended. */
export function auditDecision(
  rule: IngestRule,
  object: LedgerRecord | undefined,
  record: IngestionRecord | undefined,
  limits: { maxAttempts: number; stuckBefore: string },
): { kind: keyof AuditCounts; request?: RequestFor } {
  if (!object || object.deleted) {
    if (rule.onDelete === "delete" && record && record.status !== "removed") return { kind: "removals", request: { kind: "remove", cause: "reconcile" } };
    return { kind: "current" };
  }
  const version = ingestVersionOf(object);
  if (!record || record.version !== version) return { kind: "missing", request: { kind: "ingest", version, cause: "reconcile" } };
  if (record.status === "succeeded") return { kind: "current" };
  if (record.status === "running") {
    return record.updatedAt < limits.stuckBefore ? { kind: "stuck", request: { kind: "ingest", version, cause: "reconcile" } } : { kind: "current" };
  }
  if (record.status === "removed") return { kind: "missing", request: { kind: "ingest", version, cause: "reconcile", again: true } };
  if (!record.retryable || record.attempts >= limits.maxAttempts) return { kind: "givenUp" };
  return { kind: "retried", request: { kind: "ingest", version, cause: "reconcile", again: true } };
}

export async function auditIngestions(options: AuditOptions): Promise<AuditCounts> {
  const counts = emptyAuditCounts();
  const maxRequests = options.maxRequests ?? INGEST_DEFAULTS.maxRequeuePerRun;
  const limits = {
    maxAttempts: options.maxAttempts ?? INGEST_DEFAULTS.maxAttempts,
    stuckBefore: new Date((options.now?.() ?? new Date()).getTime() - (options.stuckAfterMs ?? INGEST_DEFAULTS.stuckAfterMs)).toISOString(),
  };
  let requests: IngestRequestInput[] = [];
  let queued = 0;
  const flush = async () => {
    if (requests.length > 0) await options.queue.send(requests, options.runId);
    requests = [];
  };
  for (const rule of options.rules.filter((candidate) => candidate.bucket === options.bucket)) {
    const { prefix } = patternOf(rule);
    const objects = options.ledger.list({ bucket: options.bucket, prefix, includeDeleted: true });
    const records = options.ledger.ingestions({ bucket: options.bucket, prefix });
    for await (const [object, record] of joinByKey(objects, records)) {
      const key = (object ?? record)!.key;
      if (!ruleCovers(rule, options.bucket, key)) continue;
      const decision = auditDecision(rule, object, record, limits);
      if (!decision.request) {
        counts[decision.kind]++;
        continue;
      }
      if (queued >= maxRequests) {
        counts.deferred++;
        continue;
      }
      counts[decision.kind]++;
      queued++;
      requests.push({ ...decision.request, bucket: options.bucket, key });
      if (requests.length >= 10) await flush();
    }
  }
  await flush();
  return counts;
}
