/** Applies one parsed S3 event to the ledger. */
import type { ApplyOutcome, DescriptionOutcome, Ledger, ObjectDetails, ObjectMutation, RepairOutcome, WriteBatch } from "../ledger/index.js";
import { detailAttributesOf, type ObjectDescriber } from "../s3/object-details.js";
import type { ObjectEvent } from "../events/parse.js";
import type { ObjectLookup } from "../s3/object-lookup.js";
import { resolveMetadataTarget } from "./metadata-version.js";

/** `undescribed`: a metadata event for an object S3 will not describe (s3/object-details.ts); nothing to write. */
export type EventOutcome = ApplyOutcome | DescriptionOutcome | RepairOutcome | "ignored" | "undescribed";

type MetadataEvent = Extract<ObjectEvent, { action: "describe" }>;

async function toMutation(
  event: Exclude<ObjectEvent, { action: "ignore" | "describe" }>,
  lookup: ObjectLookup,
  details: ObjectDetails | undefined,
): Promise<ObjectMutation> {
  const base = {
    bucket: event.bucket,
    key: event.key,
    sequencer: event.sequencer,
    eventTime: event.eventTime,
    eventName: event.eventName,
    origin: event.origin,
  };
  switch (event.action) {
    case "upsert":
      return {
        ...base,
        kind: "upsert",
        state: {
          size: event.size,
          etag: event.etag,
          lastModified: event.eventTime,
          ...(event.versionId !== undefined && { versionId: event.versionId }),
          ...details,
        },
        eventTimeResolutionMs: event.eventTimeResolutionMs,
      };
    case "delete":
      return { ...base, kind: "delete", ...(event.versionId !== undefined && { versionId: event.versionId }) };
    case "version-deleted": {
      // The state S3 reports now is at least as new as this event, so storing it under the
      // event's sequencer is safe: any later event still carries a larger sequencer.
      const current = await lookup.head(event.bucket, event.key);
      // Read, not told: time travel vouches for it from the read on (ledger/time-travel).
      const read = { ...base, readAt: new Date().toISOString() };
      return current ? { ...read, kind: "upsert", state: current, eventTimeResolutionMs: event.eventTimeResolutionMs } : { ...read, kind: "delete" };
    }
  }
}

/** What applying an event did, and the change it wrote (or found already written) when it did one. */
export interface AppliedEvent {
  outcome: EventOutcome;
  mutation?: ObjectMutation;
  /** Settles when the change is journaled (at once with the journal off or for an ignored event). */
  journaled: Promise<void>;
}

const NOTHING_TO_JOURNAL = Promise.resolve();

/**
 * Enrichment for a create: what a HEAD found, if it saw the version the event describes. A HEAD
 * that found another ETag (overwritten since) or nothing (deleted since) enriches nothing; the
 * later event's own HEAD describes what replaced it. An object S3 will not describe (SSE-C) is
 * written from its event with the reason it is undescribed, and the message succeeds.
 */
export async function detailsFor(event: ObjectEvent, describer: ObjectDescriber): Promise<ObjectDetails | undefined> {
  if (event.action !== "upsert") return undefined;
  const described = await describer.describe(event.bucket, event.key);
  if (!described) return undefined;
  if (!described.state) return described.details;
  return described.state.etag === event.etag ? described.details : undefined;
}

/**
 * A metadata event (tagging, a transition, a restore), with enrichment of its field on: S3 is
 * asked for the key's details now, and they replace the stored ones if the ledger holds the
 * version described. If it holds another (the event of the version described is on its way, or
 * was lost), the ledger is behind S3: the state described is written as a repair would write it,
 * under invariant 2, so the pending event then finds newer state and changes nothing. Ordering
 * rests on the descriptions' times, not on the events' (see ledger/writes.ts `DescriptionUpdate`).
 * An event naming a version that is not the current one describes and writes nothing
 * (tracker/metadata-version.ts).
 */
async function applyMetadataEvent(ledger: Ledger, lookup: ObjectLookup, event: MetadataEvent, describer: ObjectDescriber | undefined): Promise<AppliedEvent> {
  if (!describer?.fields.includes(event.field)) return { outcome: "ignored", journaled: NOTHING_TO_JOURNAL };
  // Before any description: an event about a version that is not the current one changes nothing the ledger keeps.
  const target = await resolveMetadataTarget(ledger, lookup, event);
  if (target === "otherVersion") return { outcome: "ignored", journaled: NOTHING_TO_JOURNAL };
  if (target === "gone") return { outcome: "superseded", journaled: NOTHING_TO_JOURNAL };
  const described = await describer.describe(event.bucket, event.key);
  // Gone since: its delete event follows.
  if (!described) return { outcome: "superseded", journaled: NOTHING_TO_JOURNAL };
  // Nothing S3 would say can change what is stored; the object keeps its state and marker.
  if (!described.state) return { outcome: "undescribed", journaled: NOTHING_TO_JOURNAL };
  const update = {
    bucket: event.bucket,
    key: event.key,
    state: described.state,
    replaces: detailAttributesOf(describer.fields),
    eventName: event.eventName,
    eventTime: event.eventTime,
    origin: event.origin,
  };
  const applied = await ledger.writer.describe(update);
  if (applied.outcome !== "versionNotHeld") return applied;
  return ledger.writer.repair({
    kind: applied.heldLive ? "stale" : "missing",
    bucket: event.bucket,
    key: event.key,
    state: described.state,
    snapshotTime: new Date(described.state.describedAt),
  });
}

/** `batch`: the scope of the events written together, which compares creates with their bucket's watermark (ledger/write-batch.ts). */
export async function applyEvent(
  ledger: Ledger,
  lookup: ObjectLookup,
  event: ObjectEvent,
  batch: WriteBatch = ledger.batch(),
  details?: ObjectDetails,
  describer?: ObjectDescriber,
): Promise<AppliedEvent> {
  if (event.action === "ignore") return { outcome: "ignored", journaled: NOTHING_TO_JOURNAL };
  if (event.action === "describe") return applyMetadataEvent(ledger, lookup, event, describer);
  const mutation = await toMutation(event, lookup, details);
  const { outcome, journaled } = await batch.apply(mutation);
  return { outcome, mutation, journaled };
}
