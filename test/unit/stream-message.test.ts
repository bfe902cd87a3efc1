import { describe, expect, it } from "vitest";
import { changeToken, journalPartitionKey, shardOf } from "../../ledger/keys.js";
import { toItem, type LedgerRecord } from "../../ledger/record.js";
import {
  ChangeDeduplicator,
  ChangeMessageError,
  changeIdOf,
  isCurrentStateItem,
  isCurrentStateKey,
  messageGroupOf,
  messageOfItem,
  messageOfWrite,
  parseChangeMessage,
  revisionOf,
} from "../../stream/message.js";

const SEQ_A = "0055AED6DCD90281E5".padEnd(32, "0");
const SEQ_B = "0055AED6DCD90281E6".padEnd(32, "0");

function live(overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    bucket: "photos",
    key: "a/b.jpg",
    deleted: false,
    size: 12,
    etag: "e1",
    lastModified: "2026-12-01T10:00:00.000Z",
    sequencer: SEQ_A,
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: "2026-12-01T10:00:00.000Z",
    recordedAt: "2026-12-01T10:00:01.000Z",
    ...overrides,
  } as LedgerRecord;
}

function tombstone(overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    bucket: "photos",
    key: "a/b.jpg",
    deleted: true,
    expiresAt: 1_800_000_000,
    sequencer: SEQ_B,
    cause: "ObjectRemoved:Delete",
    source: "event",
    observedAt: "2026-12-01T10:00:02.000Z",
    recordedAt: "2026-12-01T10:00:03.000Z",
    ...overrides,
  } as LedgerRecord;
}

describe("change messages from a write's old and new item", () => {
  it("calls a first write of a key created, and carries the record's fields", () => {
    const message = messageOfWrite(undefined, toItem(live({ origin: { requester: "AWS:AID", requestId: "R1" }, versionId: "v1" })));
    expect(message).toEqual({
      version: 1,
      id: changeIdOf("photos", "a/b.jpg", `2026-12-01T10:00:01.000Z#${SEQ_A}`),
      bucket: "photos",
      key: "a/b.jpg",
      change: "created",
      revision: `2026-12-01T10:00:01.000Z#${SEQ_A}`,
      changeToken: changeToken("2026-12-01T10:00:01.000Z", "a/b.jpg"),
      sequencer: SEQ_A,
      cause: "ObjectCreated:Put",
      source: "event",
      observedAt: "2026-12-01T10:00:00.000Z",
      recordedAt: "2026-12-01T10:00:01.000Z",
      versionId: "v1",
      size: 12,
      etag: "e1",
      lastModified: "2026-12-01T10:00:00.000Z",
      origin: { requester: "AWS:AID", requestId: "R1" },
    });
  });

  it("calls a write over a live object overwritten, over a tombstone created, and a tombstone deleted", () => {
    const first = toItem(live());
    const second = toItem(live({ sequencer: SEQ_B, etag: "e2", recordedAt: "2026-12-01T10:00:05.000Z" }));
    expect(messageOfWrite(first, second)).toMatchObject({ change: "overwritten", previousRevision: `2026-12-01T10:00:01.000Z#${SEQ_A}` });
    const gone = toItem(tombstone());
    const deleted = messageOfWrite(first, gone);
    expect(deleted?.change).toBe("deleted");
    expect(deleted).not.toHaveProperty("size");
    expect(deleted).not.toHaveProperty("etag");
    const back = toItem(live({ sequencer: "0055AED6DCD90281E7".padEnd(32, "0"), recordedAt: "2026-12-01T10:00:09.000Z" }));
    expect(messageOfWrite(gone, back)).toMatchObject({ change: "created", previousRevision: `2026-12-01T10:00:03.000Z#${SEQ_B}` });
    expect(messageOfWrite(first, gone)?.previousRevision).toBe(`2026-12-01T10:00:01.000Z#${SEQ_A}`);
  });

  it("marks a repair as reconciliation's, with no sequencer and an empty one in its revision", () => {
    const { sequencer: _, ...repair } = live({ cause: "Reconcile:Missing", source: "reconcile" });
    const message = messageOfWrite(undefined, toItem(repair));
    expect(message?.source).toBe("reconcile");
    expect(message?.cause).toBe("Reconcile:Missing");
    expect(message).not.toHaveProperty("sequencer");
    expect(message?.revision).toBe("2026-12-01T10:00:01.000Z#");
  });

  it("publishes nothing for a metadata-only update (same revision), a removal, or another kind of item", () => {
    const before = toItem(live());
    const described = { ...before, tags: { team: "x" }, describedAt: "2026-12-01T10:10:00.000Z" };
    expect(messageOfWrite(before, described)).toBeUndefined();
    expect(messageOfWrite(toItem(tombstone()), undefined)).toBeUndefined();
    const journalEntry = { ...toItem(live()), pk: journalPartitionKey("photos", "a/b.jpg"), sk: `e#${SEQ_A}`, objectKey: "a/b.jpg" };
    expect(messageOfWrite(undefined, journalEntry)).toBeUndefined();
    expect(messageOfWrite(undefined, { pk: "registry#buckets", sk: "photos", bucket: "photos" })).toBeUndefined();
    expect(messageOfWrite(undefined, { pk: "reconcile#photos", sk: "watermark", bucket: "photos" })).toBeUndefined();
  });

  it("tells a current-state item by its partition only", () => {
    const item = toItem(live());
    expect(isCurrentStateItem(item)).toBe(true);
    expect(isCurrentStateItem({ ...item, pk: "photos#ff" })).toBe(false);
    expect(isCurrentStateItem({ ...item, sk: "" })).toBe(false);
    expect(isCurrentStateItem({ ...item, bucket: 7 })).toBe(false);
    expect(isCurrentStateItem(undefined)).toBe(false);
  });

  it("tells a current-state item by its key alone, as a stream record's Keys give it", () => {
    const item = toItem(live());
    expect(isCurrentStateKey(item.pk as string, "a/b.jpg")).toBe(true);
    expect(isCurrentStateKey(item.pk as string, "other")).toBe(shardOf("other") === shardOf("a/b.jpg"));
    expect(isCurrentStateKey(journalPartitionKey("photos", "a/b.jpg"), `e#${SEQ_A}`)).toBe(false);
    expect(isCurrentStateKey("registry#buckets", "photos")).toBe(false);
    expect(isCurrentStateKey("#00", "a")).toBe(false);
    expect(isCurrentStateKey(item.pk as string, "")).toBe(false);
    expect(isCurrentStateKey(undefined, "a")).toBe(false);
    expect(isCurrentStateKey("photos#00", undefined)).toBe(false);
  });

  it("rebuilds an item read back with the same id and revision, its previous state unknown", () => {
    const item = toItem(live({ recordedAt: "2026-12-01T10:00:05.000Z" }));
    const fromStream = messageOfWrite(toItem(live()), item);
    const fromFeed = messageOfItem(item);
    expect(fromFeed.change).toBe("upserted");
    expect(fromFeed).not.toHaveProperty("previousRevision");
    expect(fromFeed.id).toBe(fromStream?.id);
    expect(fromFeed.revision).toBe(fromStream?.revision);
    expect(messageOfItem(toItem(tombstone())).change).toBe("deleted");
    expect(() => messageOfItem({ pk: "registry#buckets", sk: "photos", bucket: "photos" })).toThrow(TypeError);
  });
});

describe("the deduplication field", () => {
  it("orders a repair before an event of the same millisecond, and events of one millisecond by sequencer", () => {
    const at = "2026-12-01T10:00:01.000Z";
    const repair = revisionOf({ recordedAt: at });
    const a = revisionOf({ recordedAt: at, sequencer: SEQ_A });
    const b = revisionOf({ recordedAt: at, sequencer: SEQ_B });
    expect(repair < a).toBe(true);
    expect(a < b).toBe(true);
    expect(b < revisionOf({ recordedAt: "2026-12-01T10:00:01.001Z" })).toBe(true);
  });

  it("drops a repeat and an older message, keeps keys apart and buckets apart", () => {
    const dedup = new ChangeDeduplicator();
    const newer = { bucket: "photos", key: "k", revision: "2026-12-01T10:00:02.000Z#" };
    const older = { bucket: "photos", key: "k", revision: "2026-12-01T10:00:01.000Z#" };
    expect(dedup.accept(newer)).toBe(true);
    expect(dedup.accept(newer)).toBe(false);
    expect(dedup.accept(older)).toBe(false);
    expect(dedup.accept({ ...older, key: "k2" })).toBe(true);
    expect(dedup.accept({ ...older, bucket: "other" })).toBe(true);
    expect(dedup.accept({ ...newer, revision: "2026-12-01T10:00:02.000Z#A" })).toBe(true);
  });

  it("gives SNS FIFO ids and groups within its limits, the same for the same change", () => {
    const id = changeIdOf("photos", "k".repeat(1024), "r");
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(changeIdOf("photos", "k".repeat(1024), "r")).toBe(id);
    expect(changeIdOf("photos", "k".repeat(1024), "s")).not.toBe(id);
    expect(messageGroupOf("photos", "k")).toMatch(/^[0-9a-f]{64}$/);
    expect(messageGroupOf("photos", "k")).not.toBe(messageGroupOf("photo", "sk"));
    expect(changeIdOf("a", "b\0c", "r")).not.toBe(changeIdOf("a", "b", "c\0r"));
  });
});

describe("reading a message back", () => {
  it("round-trips a message", () => {
    const message = messageOfWrite(undefined, toItem(live({ origin: { requestId: "R" } })));
    expect(parseChangeMessage(JSON.stringify(message))).toEqual(message);
    const overwrite = messageOfWrite(toItem(live()), toItem(live({ recordedAt: "2026-12-01T10:00:09.000Z", sequencer: SEQ_B })));
    expect(parseChangeMessage(JSON.stringify(overwrite))).toEqual(overwrite);
    expect(() => parseChangeMessage(JSON.stringify({ ...overwrite, previousRevision: "" }))).toThrow(/^change message: previousRevision:/);
  });

  it("refuses what is not a message of this version, naming the field", () => {
    const message = messageOfWrite(undefined, toItem(live()));
    expect(() => parseChangeMessage("{")).toThrow(new ChangeMessageError("change message is not JSON"));
    expect(() => parseChangeMessage(JSON.stringify({ ...message, version: 2 }))).toThrow(/^change message: version:/);
    expect(() => parseChangeMessage(JSON.stringify({ ...message, change: "renamed" }))).toThrow(/^change message: change:/);
    expect(() => parseChangeMessage(JSON.stringify({ ...message, extra: 1 }))).toThrow(ChangeMessageError);
  });
});
