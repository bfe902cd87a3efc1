/**
 * Which version a metadata event (tagging, a transition, a restore) is about. In a versioned
 * bucket S3 names it: `versionId` is "the version ID of the object", "object version if bucket is
 * versioning-enabled, otherwise null"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html;
 * EventBridge's `detail.object.version-id`, https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html),
 * and a lifecycle rule's NoncurrentVersionTransition or a PutObjectTagging with a VersionId is
 * about a version that is not the current one. The ledger indexes current versions only, so such
 * an event changes nothing it keeps; it is counted, not written, and costs neither a description
 * nor a write. Nothing goes to the key's history either: the history is that of what the key
 * serves, and a rule moving every old version of a bucket would otherwise write one entry (and
 * one write unit) per old version.
 *
 * The event carries no sequencer ("only used with PUTs and DELETEs", same page), so the version
 * named cannot be ordered against the one held by comparing the two. What the event's time does
 * say: the version named existed then. If that is before the held version became current, the
 * version named is older than it, so not current. Otherwise it may be newer (the ledger is
 * behind: its create is still queued, or was lost), and S3 is asked which version is current
 * before anything is described or written.
 */
import type { Ledger, LedgerRecord } from "../ledger/index.js";
import type { ObjectLookup } from "../s3/object-lookup.js";

/** `describe`: the event is about the version held (or nothing tells otherwise); `otherVersion`: not the current version; `askS3`: cannot tell from the ledger. */
export type MetadataTarget = "describe" | "otherVersion" | "askS3";

export interface VersionedMetadataEvent {
  /** As the event states it; absent in a bucket never versioned. */
  versionId?: string;
  eventTime: string;
  eventTimeResolutionMs: number;
}

/**
 * S3 names the version written while versioning was off or suspended "null"; the ledger keeps
 * no version id for it (nor for a state a listing gave, which names no version).
 */
const versionName = (versionId: string | undefined) => versionId ?? "null";

/**
 * When the held state is known to have been current at the latest. A live item's `lastModified`
 * is its version's creation (the create's event time, or S3's Last-Modified, which for a
 * multipart upload is the upload's start: earlier, so still safe). A tombstone's `observedAt` is
 * its delete's time, or the start of the listing that found the key gone.
 */
const heldSince = (held: LedgerRecord) => new Date(held.deleted ? held.observedAt : held.lastModified).getTime();

export function metadataEventTarget(event: VersionedMetadataEvent, held: LedgerRecord | undefined): MetadataTarget {
  // A bucket never versioned: the key has one version, the one the event is about.
  if (event.versionId === undefined) return "describe";
  // Nothing held: the ledger is behind, and the description repairs it (tracker/apply-event.ts).
  if (!held) return "describe";
  if (!held.deleted && versionName(held.versionId) === versionName(event.versionId)) return "describe";
  // The event may have happened anywhere within its time's resolution (EventBridge: a second).
  const eventHappenedBy = new Date(event.eventTime).getTime() + event.eventTimeResolutionMs;
  if (eventHappenedBy <= heldSince(held)) return "otherVersion";
  return "askS3";
}

/** What S3's answer means for the event: `gone` when the key has no current version (its delete event follows). */
export type ResolvedTarget = "describe" | "otherVersion" | "gone";

/**
 * Reads the held version (one consistent GetItem) and, only when that cannot tell, one HEAD: the
 * version current in S3 either is the one the event names (the ledger is behind; the description
 * then repairs it) or is not (the event is about an older version).
 */
export async function resolveMetadataTarget(
  ledger: Ledger,
  lookup: ObjectLookup,
  event: VersionedMetadataEvent & { bucket: string; key: string },
): Promise<ResolvedTarget> {
  if (event.versionId === undefined) return "describe";
  const target = metadataEventTarget(event, await ledger.get(event.bucket, event.key, { consistentRead: true }));
  if (target !== "askS3") return target;
  const current = await lookup.head(event.bucket, event.key);
  if (!current) return "gone";
  return versionName(current.versionId) === versionName(event.versionId) ? "describe" : "otherVersion";
}
