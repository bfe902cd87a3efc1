/**
 * The messages of the ingestion queue, a FIFO queue with one message group per object: SQS
 * delivers a group's messages one at a time and in order
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html),
 * so two ingestions of one file never run at once and an older version's writes can never land
 * after a newer one's. Files in different groups are ingested in parallel.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { parseJsonWith } from "../validation/parse.js";
import { IngestRequestError } from "./errors.js";

/** Why a request was sent: an S3 event the tracker applied, a reconciliation audit, or an operator. */
export const ingestCauseSchema = z.enum(["event", "reconcile", "operator", "continuation"]);
export type IngestCause = z.infer<typeof ingestCauseSchema>;

export const ingestRequestSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("ingest"),
    bucket: z.string().min(3),
    key: z.string().min(1),
    /** The version to ingest; a request for any other than the ledger's current one is dropped. */
    version: z.string().min(1),
    cause: ingestCauseSchema,
    /** Ingest again even if this version was ingested already. */
    again: z.boolean().default(false),
    /** The event's sequencer: two events' requests stay distinct even with the same version (an ETag can recur). */
    sequencer: z.string().optional(),
    /** Set by `bucket-ledger ingest`, recorded on the ingestion so the command can follow it. */
    requestId: z.string().max(64).optional(),
  }),
  z.object({ kind: z.literal("remove"), bucket: z.string().min(3), key: z.string().min(1), cause: ingestCauseSchema, sequencer: z.string().optional() }),
]);

export type IngestRequest = z.output<typeof ingestRequestSchema>;
export type IngestRequestInput = z.input<typeof ingestRequestSchema>;

export function parseIngestRequest(body: string): IngestRequest {
  return parseJsonWith(ingestRequestSchema, body, (failure) =>
    failure.reason === "json" ? new IngestRequestError("ingest request is not JSON") : new IngestRequestError(`invalid ingest request: ${failure.issues}`),
  );
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** One message group per object (at most 128 characters, so a hash of bucket and key). */
export function messageGroupOf(bucket: string, key: string): string {
  return digest(`${bucket}/${key}`);
}

/**
 * Deduplication within SQS's five-minute window: the same event delivered twice sends the same
 * request, which SQS then drops; a continuation or a retry is a new request.
 */
export function deduplicationIdOf(request: IngestRequestInput, nonce = ""): string {
  return digest(
    JSON.stringify([
      request.kind,
      request.bucket,
      request.key,
      "version" in request ? request.version : "",
      request.sequencer ?? "",
      "requestId" in request ? (request.requestId ?? "") : "",
      request.cause,
      nonce,
    ]),
  );
}

/** The version of an object ingestion works on: its version ID, or its ETag in an unversioned bucket. */
export function ingestVersionOf(state: { versionId?: string; etag: string }): string {
  return state.versionId ?? state.etag;
}
