/**
 * Whether a request ingests anything, and from where: decided from what the rules, the ledger and
 * the file's ingestion record say, before anything is read from S3 or written. Pure, in two steps,
 * because the second needs the ingestion record, which a request the first step turns away never
 * reads.
 *
 * - Admission: is the file covered by a rule, and is the request's version the ledger's current
 *   one? Only the current version is ingested, so a late event for an older one ingests nothing;
 *   a file gone from the ledger has its rows removed under `onDelete: delete`.
 * - Start: is this version ingested already (a redelivered event writes nothing twice unless
 *   asked `again`; a version whose rows were removed is not), did an earlier invocation stop midway (resume from its checkpoint), or does
 *   a new attempt begin?
 */
import type { IngestCheckpoint, IngestionRecord, UploadState } from "../ledger/index.js";
import { ingestVersionOf, type IngestRequest } from "./request.js";
import { copyKey, type IngestRule } from "./rules.js";

export type SkipReason = "uncovered" | "superseded" | "duplicate" | "gone";

export interface Skip {
  action: "skip";
  why: SkipReason;
}

/** What the ledger holds of the file now (a ledger record, or nothing). */
export type CurrentObject = { deleted: true } | { deleted: false; size: number; etag: string; versionId?: string };

/** Which version a GetObject reads: by version ID, or, in an unversioned bucket, only while the ETag matches. */
export type VersionPin = { versionId: string } | { etag: string };

export type FileRequest = Extract<IngestRequest, { kind: "ingest" }>;

export type Admission =
  Skip | { action: "remove"; rule: IngestRule } | { action: "ingest"; rule: IngestRule; request: FileRequest; version: string; pin: VersionPin; size: number };

export function admit(rule: IngestRule | undefined, request: IngestRequest, current: CurrentObject | undefined): Admission {
  if (!rule) return skip("uncovered");
  if (!current || current.deleted) return rule.onDelete === "delete" ? { action: "remove", rule } : skip("gone");
  if (request.kind === "remove") return skip("superseded");
  const version = ingestVersionOf(current);
  if (version !== request.version) return skip("superseded");
  const pin = current.versionId === undefined ? { etag: current.etag } : { versionId: current.versionId };
  return { action: "ingest", rule, request, version, pin, size: current.size };
}

export type Start =
  | Skip
  /** A continuation, or a redelivery after a crash: on from where the last invocation stopped. */
  | { action: "resume"; record: IngestionRecord }
  /** `abandoned`: the copy upload an older version's unfinished ingestion left behind, to abort. */
  | { action: "start"; record: IngestionRecord; abandoned?: { key: string; upload: UploadState } };

/** `now`: the new attempt's start time (ISO-8601). */
export function resumeOrStart(
  admitted: Pick<Extract<Admission, { action: "ingest" }>, "rule" | "request" | "version">,
  previous: IngestionRecord | undefined,
  now: string,
): Start {
  const { rule, request, version } = admitted;
  const sameVersion = previous?.version === version;
  if (sameVersion && previous.status === "running" && previous.checkpoint) return { action: "resume", record: previous };
  // A removal keeps the version it removed: the same content uploaded again (the same ETag, in
  // an unversioned bucket) is a new file to ingest, not a redelivery.
  if (sameVersion && previous.status !== "removed" && !request.again) return skip("duplicate");
  const upload = previous?.status === "running" ? previous.checkpoint?.copy : undefined;
  const copyTarget = copyKey(rule, request.key);
  const record: IngestionRecord = {
    bucket: request.bucket,
    key: request.key,
    rule: rule.name,
    version,
    status: "running",
    retryable: true,
    attempts: (sameVersion ? previous.attempts : 0) + 1,
    startedAt: now,
    updatedAt: now,
    durationMs: 0,
    rowsRead: 0,
    rowsWritten: 0,
    rowsRejected: 0,
    rowsUnprocessed: 0,
    rowsDeleted: 0,
    checkpoint: { phase: "checking", offset: 0, line: 1 } satisfies IngestCheckpoint,
    ...(request.requestId !== undefined && { requestId: request.requestId }),
    // Rows of a file are written only by an ingestion recorded first, and a removal is recorded
    // only once its rows are gone: with no record, or a removal, there is nothing older to sweep.
    mayHaveOlderRows: previous !== undefined && previous.status !== "removed",
  };
  return { action: "start", record, ...(upload && copyTarget !== undefined && { abandoned: { key: copyTarget, upload } }) };
}

const skip = (why: SkipReason): Skip => ({ action: "skip", why });
