/**
 * When a key's past state is known from its journal, and when it is not: events, repairs (in
 * versioned and unversioned buckets), the state a change replaced, complete and expired
 * histories, and the bounds of the moments the ledger answers for.
 */
import { describe, expect, it } from "vitest";
import { InvalidMomentError, TimeTravelHorizonError, type HistoryEntry } from "../../ledger/index.js";
import { netChange } from "../../ledger/time-travel/diff.js";
import { assertWithinHorizon } from "../../ledger/time-travel/horizon.js";
import { certainFrom, changesContent, stateAt, type StateAt } from "../../ledger/time-travel/timeline.js";

const T = (minute: number, second = 0) => new Date(Date.UTC(2026, 11, 3, 9, minute, second)).toISOString();
const TRACKED = T(0);

function event(minute: number, state: { etag?: string; deleted?: boolean; versionId?: string }, extra: Partial<HistoryEntry> = {}): HistoryEntry {
  const base = {
    bucket: "b",
    key: "k",
    sequencer: String(minute).padStart(16, "0"),
    source: "event" as const,
    observedAt: T(minute),
    recordedAt: T(minute, 1),
    first: false,
    ...(state.versionId !== undefined && { versionId: state.versionId }),
  };
  const entry: HistoryEntry = state.deleted
    ? { ...base, cause: "ObjectRemoved:DeleteMarkerCreated", deleted: true, expiresAt: 0 }
    : { ...base, cause: "ObjectCreated:Put", deleted: false, size: 10, etag: state.etag ?? `etag-${minute}`, lastModified: T(minute) };
  return { ...entry, ...extra } as HistoryEntry;
}

function repair(minute: number, state: { etag?: string; deleted?: boolean; versionId?: string; lastModified?: string }): HistoryEntry {
  const base = { bucket: "b", key: "k", source: "reconcile" as const, observedAt: T(minute), recordedAt: T(minute, 30), first: false };
  if (state.deleted) return { ...base, cause: "Reconcile:Orphaned", deleted: true, expiresAt: 0 };
  return {
    ...base,
    cause: "Reconcile:Missing",
    deleted: false,
    size: 10,
    etag: state.etag ?? "repaired",
    lastModified: state.lastModified ?? T(minute - 1),
    ...(state.versionId !== undefined && { versionId: state.versionId }),
  };
}

const complete = (entries: HistoryEntry[]) => ({ entries, complete: true });
const incomplete = (entries: HistoryEntry[]) => ({ entries, complete: false });
const etagOf = (state: StateAt) => (state.known && state.exists ? state.version.etag : state.known ? "absent" : "unknown");

describe("a key's state at a moment, from events", () => {
  const history = complete([event(10, { etag: "v1" }, { first: true }), event(20, { etag: "v2" }), event(30, { deleted: true }), event(40, { etag: "v3" })]);

  it("is the last change at or before the moment, to the millisecond", () => {
    expect(etagOf(stateAt(history, T(9, 59), TRACKED))).toBe("absent");
    expect(etagOf(stateAt(history, T(10), TRACKED))).toBe("v1");
    expect(etagOf(stateAt(history, T(19, 59), TRACKED))).toBe("v1");
    expect(etagOf(stateAt(history, T(20), TRACKED))).toBe("v2");
    expect(etagOf(stateAt(history, T(30), TRACKED))).toBe("absent");
    expect(etagOf(stateAt(history, T(45), TRACKED))).toBe("v3");
  });

  it("says since when, and that an event's state is not reconstructed", () => {
    expect(stateAt(history, T(25), TRACKED)).toEqual({
      known: true,
      exists: true,
      version: { size: 10, etag: "v2", lastModified: T(20), since: T(20), reconstructed: false },
    });
  });

  it("names the delete marker of a deletion", () => {
    const versioned = complete([event(10, { etag: "v1", versionId: "1" }, { first: true }), event(20, { deleted: true, versionId: "m1" })]);
    expect(stateAt(versioned, T(25), TRACKED)).toEqual({ known: true, exists: false, absent: { since: T(20), deleteMarker: "m1" } });
    expect(stateAt(versioned, T(15), TRACKED)).toMatchObject({ known: true, exists: true, version: { versionId: "1" } });
  });

  it("is absent before a complete history only once the ledger held the whole bucket", () => {
    expect(stateAt(history, T(5), TRACKED)).toEqual({ known: true, exists: false, absent: undefined });
    expect(stateAt(history, T(5), undefined)).toMatchObject({ known: false });
    // The ledger began holding the bucket after the moment: an unseen key may have existed then.
    expect(stateAt(history, T(5), T(6))).toMatchObject({ known: false });
  });

  it("is unknown before an incomplete history, naming where it starts", () => {
    const state = stateAt(incomplete([event(20, { etag: "v2" }), event(30, { deleted: true })]), T(15), TRACKED);
    expect(state).toEqual({ known: false, reason: `the key's history before ${T(20)} is not kept (expired, or written before the journal)` });
    expect(etagOf(stateAt(incomplete([event(20, { etag: "v2" })]), T(25), TRACKED))).toBe("v2");
  });

  it("is the state the oldest kept change replaced, when its entry kept it", () => {
    const prior = { deleted: false, observedAt: T(5), source: "event" as const, size: 3, etag: "v0", lastModified: T(5), versionId: "0" };
    const history = incomplete([event(20, { etag: "v2" }, { prior })]);
    expect(stateAt(history, T(10), TRACKED)).toEqual({
      known: true,
      exists: true,
      version: { size: 3, etag: "v0", lastModified: T(5), versionId: "0", since: T(5), reconstructed: false },
    });
    // Before the replaced state began, nothing is known.
    expect(stateAt(history, T(4), TRACKED)).toMatchObject({ known: false });
    // A replaced deletion is an absence; a replaced repair is reconstructed.
    expect(stateAt(incomplete([event(20, { etag: "v2" }, { prior: { deleted: true, observedAt: T(5), source: "event" } })]), T(10), TRACKED)).toEqual({
      known: true,
      exists: false,
      absent: { since: T(5) },
    });
    const repaired = { ...prior, source: "reconcile" as const };
    expect(stateAt(incomplete([event(20, { etag: "v2" }, { prior: repaired })]), T(10), TRACKED)).toMatchObject({ version: { reconstructed: true } });
  });

  it("prefers the replaced state to a start it cannot see before", () => {
    const prior = { deleted: false, observedAt: T(5), source: "event" as const, size: 3, etag: "v0", lastModified: T(5) };
    expect(etagOf(stateAt(complete([event(20, { etag: "v2" }, { prior, first: true })]), T(10), TRACKED))).toBe("v0");
  });

  it("ignores descriptions (tags, storage class), which change no content", () => {
    const described = { ...event(15, { etag: "v1" }), sequencer: undefined, cause: "ObjectTagging:Put" } as unknown as HistoryEntry;
    delete (described as { sequencer?: string }).sequencer;
    expect(changesContent(described)).toBe(false);
    expect(changesContent(repair(5, {}))).toBe(true);
    expect(stateAt(complete([described]), T(20), TRACKED)).toEqual({
      known: false,
      reason: "no change of the key is kept in its journal (is the journal on?)",
    });
    expect(etagOf(stateAt(complete([event(10, { etag: "v1" }, { first: true }), described]), T(20), TRACKED))).toBe("v1");
  });
});

describe("a key's state after a version's deletion, which the tracker reads from S3 on delivery", () => {
  /** A version deleted at `minute`, delivered at `recordedMinute`, when S3's current object was the version written at `writtenMinute`. */
  const versionDeleted = (minute: number, recordedMinute: number, state: { etag: string; versionId: string; writtenMinute: number }) =>
    event(minute, { etag: state.etag, versionId: state.versionId }, {
      cause: "ObjectRemoved:Delete",
      recordedAt: T(recordedMinute),
      readAt: T(recordedMinute),
      lastModified: T(state.writtenMinute),
    } as Partial<HistoryEntry>);

  it("is what was read from the moment it was read, and unknown between the deletion and the read", () => {
    const history = complete([
      event(10, { etag: "v1", versionId: "1" }, { first: true }),
      event(20, { etag: "v2", versionId: "2" }),
      versionDeleted(30, 31, { etag: "v1", versionId: "1", writtenMinute: 10 }),
    ]);
    expect(stateAt(history, T(31), TRACKED)).toMatchObject({ known: true, version: { etag: "v1", since: T(31) } });
    expect(stateAt(history, T(30), TRACKED)).toEqual({
      known: false,
      reason: `a version of the key was deleted at ${T(30)}, and what it left was read from S3 only at ${T(31)}`,
    });
    expect(etagOf(stateAt(history, T(29), TRACKED))).toBe("v2");
  });

  it("gives way to a change the journal holds between the deletion and the read", () => {
    // v1 deleted at 20 (nothing left), v2 put at 30, the deletion delivered at 40: its read found v2.
    const history = complete([
      event(10, { etag: "v1", versionId: "1" }, { first: true }),
      versionDeleted(20, 40, { etag: "v2", versionId: "2", writtenMinute: 30 }),
      event(30, { etag: "v2", versionId: "2" }),
    ]);
    expect(etagOf(stateAt(history, T(25), TRACKED))).toBe("unknown");
    expect(etagOf(stateAt(history, T(19), TRACKED))).toBe("v1");
    expect(stateAt(history, T(30), TRACKED)).toMatchObject({ known: true, version: { etag: "v2", since: T(30) } });
  });

  it("applies to a state read from S3, not to an event's own state recorded late", () => {
    const late = complete([event(10, { etag: "v1" }, { first: true, recordedAt: T(40) }), event(30, { etag: "v2" })]);
    expect(etagOf(stateAt(late, T(25), TRACKED))).toBe("v1");
    const markerLate = complete([
      event(10, { etag: "v1", versionId: "1" }, { first: true }),
      event(20, { deleted: true, versionId: "m" }, { recordedAt: T(40) }),
      event(30, { etag: "v2", versionId: "2" }),
    ]);
    expect(etagOf(stateAt(markerLate, T(25), TRACKED))).toBe("absent");
    // A plain delete, delivered late, is told by its event: absent from its time.
    const plainDelete = complete([
      event(10, { etag: "v1" }, { first: true }),
      { ...event(20, { deleted: true }), cause: "ObjectRemoved:Delete", recordedAt: T(40) },
      event(30, { etag: "v3" }),
    ]);
    expect(etagOf(stateAt(plainDelete as never, T(25), TRACKED))).toBe("absent");
    // A version's deletion that left nothing, read at 40: unknown until the next change; read on time, absent.
    const deletion = (read: number) =>
      complete([
        event(10, { etag: "v1", versionId: "1" }, { first: true }),
        { ...event(20, { deleted: true }), cause: "ObjectRemoved:Delete", recordedAt: T(read), readAt: T(read) },
        event(30, { etag: "v3", versionId: "3" }),
      ]);
    expect(etagOf(stateAt(deletion(40) as never, T(25), TRACKED))).toBe("unknown");
    expect(etagOf(stateAt(deletion(21) as never, T(25), TRACKED))).toBe("absent");
    // A read before its event's time (clocks) vouches from the event's time.
    expect(stateAt(deletion(19) as never, T(20), TRACKED)).toEqual({ known: true, exists: false, absent: { since: T(20) } });
  });
});

describe("a key whose first kept change is a deletion", () => {
  it("is unknown before it, as it deleted something the ledger never saw", () => {
    const history = complete([event(20, { deleted: true }, { first: true })]);
    expect(etagOf(stateAt(history, T(10), TRACKED))).toBe("unknown");
    expect(etagOf(stateAt(history, T(20), TRACKED))).toBe("absent");
  });
});

describe("a key's state around a repair", () => {
  it("is certain from one second after an unversioned object's Last-Modified", () => {
    const fix = repair(30, { etag: "r", lastModified: T(25) });
    expect(certainFrom(fix, T(10))).toBe(T(25, 1));
    const history = complete([event(10, { etag: "v1" }, { first: true }), fix]);
    expect(etagOf(stateAt(history, T(25, 1), TRACKED))).toBe("r");
    expect(stateAt(history, T(28), TRACKED)).toMatchObject({ known: true, version: { etag: "r", since: T(25, 1), reconstructed: true } });
    expect(etagOf(stateAt(history, T(9), TRACKED))).toBe("absent");
    expect(etagOf(stateAt(history, T(10), TRACKED))).toBe("unknown");
    expect(stateAt(history, T(25), TRACKED)).toEqual({
      known: false,
      reason: `the key changed at a moment the ledger did not see between ${T(10)} and ${T(25, 1)} (its events were lost or late; reconciliation repaired it at ${T(30)})`,
    });
  });

  it("is certain only from the snapshot for a deletion or a version that may have become current again", () => {
    expect(certainFrom(repair(30, { deleted: true }), T(10))).toBe(T(30));
    // A multipart upload's Last-Modified is when it began, not when it completed.
    expect(certainFrom(repair(30, { etag: "9b2cf535f27731c974343645a3985328-3", lastModified: T(25) }), T(10))).toBe(T(30));
    expect(certainFrom(repair(30, { etag: "9b2cf535f27731c974343645a3985328", lastModified: T(25) }), T(10))).toBe(T(25, 1));
    expect(certainFrom(repair(30, { versionId: "7", lastModified: T(25) }), T(10))).toBe(T(30));
    const history = complete([event(10, { etag: "v1" }, { first: true }), repair(30, { deleted: true })]);
    expect(etagOf(stateAt(history, T(29, 59), TRACKED))).toBe("unknown");
    expect(etagOf(stateAt(history, T(30), TRACKED))).toBe("absent");
  });

  it("trusts only the snapshot when Last-Modified contradicts the state before, and never past the snapshot", () => {
    expect(certainFrom(repair(30, { lastModified: T(5) }), T(10))).toBe(T(30));
    expect(certainFrom(repair(30, { lastModified: T(5) }), T(5, 1))).toBe(T(30));
    expect(certainFrom(repair(30, { lastModified: T(5) }), T(5))).toBe(T(5, 1));
    expect(certainFrom(repair(30, { lastModified: T(40) }), T(10))).toBe(T(30));
    expect(certainFrom(repair(30, { lastModified: T(29, 59) }), undefined)).toBe(T(30));
    expect(certainFrom(repair(30, { lastModified: T(29, 58) }), undefined)).toBe(T(29, 59));
  });

  it("is unknown before a first repair with nothing known before it", () => {
    const history = incomplete([repair(30, { etag: "r", lastModified: T(20) })]);
    expect(stateAt(history, T(15), TRACKED)).toEqual({
      known: false,
      reason: `the key changed at a moment the ledger did not see before ${T(20, 1)} (its events were lost or late; reconciliation repaired it at ${T(30)})`,
    });
    expect(etagOf(stateAt(history, T(31), TRACKED))).toBe("r");
  });

  it("gives way to the events after it", () => {
    const history = complete([event(10, { etag: "v1" }, { first: true }), repair(30, { etag: "r", lastModified: T(25) }), event(40, { etag: "v4" })]);
    expect(etagOf(stateAt(history, T(35), TRACKED))).toBe("r");
    expect(etagOf(stateAt(history, T(40), TRACKED))).toBe("v4");
  });
});

describe("the net change between two known states", () => {
  const present = (etag: string, versionId?: string): StateAt & { known: true; exists: true } => ({
    known: true,
    exists: true,
    version: { size: 1, etag, lastModified: T(1), since: T(1), reconstructed: false, ...(versionId !== undefined && { versionId }) },
  });
  const absent = (deleteMarker?: string): StateAt & { known: true } => ({
    known: true,
    exists: false,
    absent: deleteMarker === undefined ? undefined : { since: T(2), deleteMarker },
  });

  it("is created, deleted (with the marker), changed, or nothing", () => {
    expect(netChange("k", absent(), absent("m"), 2)).toBeUndefined();
    expect(netChange("k", absent(), present("a"), 1)).toEqual({ key: "k", change: "created", to: present("a").version, changes: 1 });
    expect(netChange("k", present("a"), absent("m"), 1)).toEqual({
      key: "k",
      change: "deleted",
      from: present("a").version,
      deletion: { since: T(2), deleteMarker: "m" },
      changes: 1,
    });
    expect(netChange("k", present("a"), absent(), 1)).toEqual({ key: "k", change: "deleted", from: present("a").version, changes: 1 });
    expect(netChange("k", present("a"), present("b"), 1)).toMatchObject({ change: "changed", from: { etag: "a" }, to: { etag: "b" } });
    expect(netChange("k", present("a"), present("a"), 2)).toBeUndefined();
  });

  it("tells versions of the same content apart", () => {
    expect(netChange("k", present("a", "1"), present("a", "2"), 1)).toMatchObject({ change: "changed" });
    expect(netChange("k", present("a", "1"), present("a", "1"), 0)).toBeUndefined();
  });
});

describe("the moments the ledger answers for", () => {
  const now = new Date("2026-12-04T12:00:00.000Z");
  const days = (n: number) => new Date(now.getTime() - n * 86_400_000);
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    throw new Error("not refused");
  };

  it("answers inside every bound, returning the moment", () => {
    expect(assertWithinHorizon(days(1), now, { retentionDays: 30, historyDays: 90 }, days(10).toISOString(), "b")).toBe(days(1).toISOString());
    expect(assertWithinHorizon(now, now, { retentionDays: 30 }, days(10).toISOString(), "b")).toBe(now.toISOString());
  });

  it("refuses with the bound that binds, and exit 3", () => {
    const error = refusal(() => assertWithinHorizon(days(31), now, { retentionDays: 30, historyDays: 90 }, days(100).toISOString(), "b"));
    expect(error).toBeInstanceOf(TimeTravelHorizonError);
    expect(error).toMatchObject({ bound: "retention", earliest: days(30), exitCode: 3 });
    expect(refusal(() => assertWithinHorizon(days(8), now, { retentionDays: 30, historyDays: 7 }, days(100).toISOString(), "b"))).toMatchObject({
      bound: "history",
      earliest: days(7),
    });
    expect(refusal(() => assertWithinHorizon(days(3), now, { retentionDays: 30, historyDays: 7 }, days(2).toISOString(), "b"))).toMatchObject({
      bound: "reconciliation",
      earliest: days(2),
    });
    expect(String(refusal(() => assertWithinHorizon(days(1), now, { retentionDays: 30, historyDays: 0 }, days(2).toISOString(), "b")))).toContain(
      "the journal is off",
    );
  });

  it("refuses before any complete reconciliation, and the future", () => {
    expect(refusal(() => assertWithinHorizon(days(1), now, { retentionDays: 30 }, undefined, "photos"))).toMatchObject({
      bound: "reconciliation",
      earliest: undefined,
    });
    expect(String(refusal(() => assertWithinHorizon(days(1), now, { retentionDays: 30 }, undefined, "photos")))).toContain("bucket-ledger reconcile photos");
    expect(refusal(() => assertWithinHorizon(new Date(now.getTime() + 1), now, { retentionDays: 30 }, days(2).toISOString(), "b"))).toMatchObject({
      bound: "future",
    });
    expect(refusal(() => assertWithinHorizon(new Date("nonsense"), now, { retentionDays: 30 }, days(2).toISOString(), "b"))).toBeInstanceOf(InvalidMomentError);
  });

  it("answers exactly at each bound", () => {
    expect(assertWithinHorizon(days(2), now, { retentionDays: 30, historyDays: 7 }, days(2).toISOString(), "b")).toBe(days(2).toISOString());
    expect(assertWithinHorizon(days(7), now, { retentionDays: 30, historyDays: 7 }, days(20).toISOString(), "b")).toBe(days(7).toISOString());
  });
});
