/**
 * Which ledger changes start a row ingestion. The tracker is where the order of a key's events
 * is known, so it asks for ingestion only for a change the ledger took (or had already taken: a
 * redelivery resends the request, which the ingester then finds done). A change the ledger
 * refused as older asks nothing: the newer one has asked already.
 */
import type { IngestQueue } from "../ingest/ingest-queue.js";
import { ingestVersionOf, type IngestRequestInput } from "../ingest/request.js";
import { ruleFor, type IngestRule } from "../ingest/rules.js";
import type { AppliedEvent } from "./apply-event.js";

export interface IngestForwarding {
  rules: readonly IngestRule[];
  queue: IngestQueue;
}

export function ingestRequestFor(rules: readonly IngestRule[], { outcome, mutation }: AppliedEvent): IngestRequestInput | undefined {
  if (!mutation || (outcome !== "applied" && outcome !== "duplicate")) return undefined;
  const rule = ruleFor(rules, mutation.bucket, mutation.key);
  if (!rule) return undefined;
  const { bucket, key, sequencer } = mutation;
  if (mutation.kind === "upsert") return { kind: "ingest", bucket, key, version: ingestVersionOf(mutation.state), cause: "event", sequencer };
  return rule.onDelete === "delete" ? { kind: "remove", bucket, key, cause: "event", sequencer } : undefined;
}
