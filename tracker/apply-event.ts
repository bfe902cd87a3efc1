/** Applies one parsed S3 event to the ledger. */
import type { ApplyOutcome, Ledger, ObjectDetails, ObjectMutation } from "../ledger/index.js";
import type { ObjectDescriber } from "../sdk/object-details.js";
import type { ObjectEvent } from "../events/parse.js";
import type { ObjectLookup } from "../sdk/object-lookup.js";

export type EventOutcome = ApplyOutcome | "ignored";

async function toMutation(
  event: Exclude<ObjectEvent, { action: "ignore" }>,
  lookup: ObjectLookup,
  reconciledThrough: string | undefined,
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
        ...(reconciledThrough !== undefined && { reconciledThrough }),
      };
    case "delete":
      return { ...base, kind: "delete", ...(event.versionId !== undefined && { versionId: event.versionId }) };
    case "version-deleted": {
      // The state S3 reports now is at least as new as this event, so storing it under the
      // event's sequencer is safe: any later event still carries a larger sequencer.
      const current = await lookup.head(event.bucket, event.key);
      return current ? { ...base, kind: "upsert", state: current, ...(reconciledThrough !== undefined && { reconciledThrough }) } : { ...base, kind: "delete" };
    }
  }
}

/**
 * The watermark as this event can be compared with it: an event stated to the second may have
 * happened anywhere in that second, so only a watermark in a later second makes it stale.
 */
function comparableWatermark(reconciledThrough: string | undefined, resolutionMs: number): string | undefined {
  if (reconciledThrough === undefined || resolutionMs <= 1) return reconciledThrough;
  const time = new Date(reconciledThrough).getTime();
  return new Date(time - (time % resolutionMs)).toISOString();
}

/** Reads each bucket's reconciled-through watermark once per batch. */
export type WatermarkReader = (bucket: string) => Promise<string | undefined>;

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
 * later event's own HEAD describes what replaced it.
 */
export async function detailsFor(event: ObjectEvent, describer: ObjectDescriber): Promise<ObjectDetails | undefined> {
  if (event.action !== "upsert") return undefined;
  const described = await describer.describe(event.bucket, event.key);
  return described?.etag === event.etag ? described.details : undefined;
}

export async function applyEvent(
  ledger: Ledger,
  lookup: ObjectLookup,
  event: ObjectEvent,
  watermark: WatermarkReader = async () => undefined,
  details?: ObjectDetails,
): Promise<AppliedEvent> {
  if (event.action === "ignore") return { outcome: "ignored", journaled: NOTHING_TO_JOURNAL };
  const mutation = await toMutation(event, lookup, comparableWatermark(await watermark(event.bucket), event.eventTimeResolutionMs), details);
  const { outcome, journaled } = await ledger.applyJournaledLater(mutation);
  return { outcome, mutation, journaled };
}
