/**
 * A key's state at a past moment, from its journal (ledger/history.ts): exact, or unknown with
 * the reason. Pure, so every rule below has a unit test.
 *
 * Each change the journal keeps starts a state at a moment S3 vouches for:
 *
 * - an event, at its event time (S3's `eventTime`, to the millisecond);
 * - a repair, which says events were lost at moments nobody saw, at the first moment its state is
 *   certain: for a live object written by one PUT or copy, one second after its Last-Modified (an
 *   HTTP-date, to the second: https://www.rfc-editor.org/rfc/rfc9110#name-last-modified), as no
 *   other write can have happened to that key since without changing it; otherwise only at the
 *   repair's snapshot: a deletion; a version named by id (a version may become current again when
 *   the version or delete marker above it is deleted, which changes no Last-Modified:
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html); a
 *   multipart upload, whose Last-Modified is when the upload began, not when it completed
 *   ("For multipart uploads, the object creation date is the date of initiation of the multipart
 *   upload": https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html), and whose
 *   ETag says so (`<md5>-<parts>`). Between the state before and that moment the key is unknown.
 *   Reconciliation lists with ListObjectsV2, which names no version, so a repair in a versioned
 *   bucket reads as unversioned here: a version that became current again has the Last-Modified
 *   of when it was written, before the state the ledger held, which `certainFrom` does not trust;
 *   one written, overwritten and restored between two reconciliations with every event lost is
 *   the limit every event-fed index has (docs/how-it-stays-exact.md).
 *
 * Before the oldest change kept, the state is the one that change replaced, when its entry says
 * (`prior`), or nothing when it found the ledger empty and the ledger held the whole bucket then
 * (`trackedSince`); otherwise unknown: its history has expired or predates the journal.
 */
import type { History, HistoryEntry } from "../history.js";
import type { PriorState } from "../record.js";

/** A version as it was: what S3 said about it, and since when it was the key's state. */
export interface VersionState {
  size: number;
  etag: string;
  lastModified: string;
  versionId?: string;
  /** When this state began, as far as the ledger can vouch (see the module comment). */
  since: string;
  /** Known from a reconciliation repair, not from an event: the ledger missed how it came about. */
  reconstructed: boolean;
}

/** A deletion as it was: the delete marker's version id, in a versioned bucket. */
export interface AbsentState {
  since: string;
  /** The delete marker that hid the key, when S3 named one. */
  deleteMarker?: string;
}

export type StateAt =
  { known: true; exists: true; version: VersionState } | { known: true; exists: false; absent: AbsentState | undefined } | { known: false; reason: string };

/**
 * The ETag of an object uploaded in parts: the digest of the parts' digests, a dash and the part
 * count (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html, ETag).
 */
const MULTIPART_ETAG = /-\d+$/;

/** How precisely Last-Modified is stated: an HTTP-date has whole seconds. */
const LAST_MODIFIED_RESOLUTION_MS = 1_000;

/** The first moment by which an object with this Last-Modified had certainly been written. */
function afterLastModified(lastModified: string): string {
  return new Date(new Date(lastModified).getTime() + LAST_MODIFIED_RESOLUTION_MS).toISOString();
}

/** Whether an entry changed the key's content: events with a sequencer and repairs; descriptions (tags, storage class) did not. */
export function changesContent(entry: HistoryEntry): boolean {
  return entry.source === "reconcile" || entry.sequencer !== undefined;
}

interface Known {
  since: string;
  exists: boolean;
  version?: VersionState;
  absent?: AbsentState;
}

function known(entry: HistoryEntry | PriorState, since: string): Known {
  const reconstructed = entry.source === "reconcile";
  if (entry.deleted) {
    return { since, exists: false, absent: { since, ...(entry.versionId !== undefined && { deleteMarker: entry.versionId }) } };
  }
  if (entry.size === undefined || entry.etag === undefined || entry.lastModified === undefined) return { since, exists: false };
  return {
    since,
    exists: true,
    version: {
      size: entry.size,
      etag: entry.etag,
      lastModified: entry.lastModified,
      ...(entry.versionId !== undefined && { versionId: entry.versionId }),
      since,
      reconstructed,
    },
  };
}

/**
 * The first moment a repair's state is certain (see the module comment); `after`: when the state
 * before it began, if known. Never after the snapshot.
 */
export function certainFrom(repair: HistoryEntry, after: string | undefined): string {
  const snapshot = repair.observedAt;
  if (repair.deleted || repair.versionId !== undefined || MULTIPART_ETAG.test(repair.etag)) return snapshot;
  const written = afterLastModified(repair.lastModified);
  // A Last-Modified before the state the ledger held began contradicts it (clocks): trust only the snapshot.
  if (after !== undefined && written <= after) return snapshot;
  return written < snapshot ? written : snapshot;
}

/**
 * The state before the oldest content change kept, if the journal says: the state that change
 * replaced, or nothing when the history is complete (it reaches back to the change that found the
 * ledger empty) and the ledger held the whole bucket then.
 */
function initial(oldest: HistoryEntry, complete: boolean, trackedSince: string | undefined): Known | undefined {
  if (oldest.prior) return known(oldest.prior, oldest.prior.observedAt);
  // A deletion that found the ledger empty deleted something the ledger never saw (or nothing).
  if (complete && trackedSince !== undefined && !oldest.deleted) return { since: trackedSince, exists: false };
  return undefined;
}

/**
 * The key's state at `at` (ISO-8601) from its history as `readHistory` returns it (entries oldest
 * first). `trackedSince`: since when the ledger has held the whole bucket (a complete
 * reconciliation's snapshot); before it, a key the ledger had not seen may have existed.
 */
export function stateAt(history: Pick<History, "entries" | "complete">, at: string, trackedSince: string | undefined): StateAt {
  const changes = history.entries.filter(changesContent);
  if (changes.length === 0) return { known: false, reason: "no change of the key is kept in its journal (is the journal on?)" };
  let state = initial(changes[0]!, history.complete, trackedSince);
  /** Why the key is unknown at `at`, when a change read later left a window that no change since closes. */
  let pending: string | undefined;
  for (const change of changes) {
    if (change.source === "event") {
      if (change.observedAt > at) break;
      pending = undefined;
      // A state read from S3 on delivery (a version's deletion: tracker/apply-event.ts) vouches only
      // for the moment of the read: between the event and the read, a change whose event was lost
      // or is still to come may show in it. A later change the journal holds, which sorts after
      // this one, closes the window where it happened.
      const since = change.readAt !== undefined && change.readAt > change.observedAt ? change.readAt : change.observedAt;
      if (at < since) pending = `a version of the key was deleted at ${change.observedAt}, and what it left was read from S3 only at ${since}`;
      state = known(change, since);
      continue;
    }
    const certain = certainFrom(change, state?.since);
    if (at < certain) {
      if (state === undefined || at >= state.since) {
        const from = state ? ` between ${state.since} and ${certain}` : ` before ${certain}`;
        return {
          known: false,
          reason: `the key changed at a moment the ledger did not see${from} (its events were lost or late; reconciliation repaired it at ${change.observedAt})`,
        };
      }
      break;
    }
    pending = undefined;
    state = known(change, certain);
  }
  if (pending !== undefined) return { known: false, reason: pending };
  if (state === undefined || state.since > at) {
    const oldest = changes[0]!;
    return { known: false, reason: `the key's history before ${oldest.observedAt} is not kept (expired, or written before the journal)` };
  }
  if (state.exists && state.version) return { known: true, exists: true, version: state.version };
  return { known: true, exists: false, absent: state.absent };
}
