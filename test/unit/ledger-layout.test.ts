/**
 * The ledger's pure modules pinned exactly: the key layout (each kind of partition and sort
 * key), the record <-> item codec, DynamoDB's item-size arithmetic, sequencers, paging, cursors,
 * the key-order join, and origin removal (through an in-test fake of the document client).
 */
import { createHash } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { NumberValue, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import {
  assertChangesCursorWithin,
  changesCursor,
  changesCursorAfter,
  createCursorKey,
  cursorKeyItem,
  decodeCursor,
  encodeCursor,
  historyCursor,
  listCursor,
  listCursorAfter,
  readCursorKey,
  resumeAfter,
  resumeHistoryAfter,
} from "../../ledger/cursor.js";
import { ChangeHorizonError, InvalidCursorError, InvalidObjectKeyError, InvalidSequencerError, LedgerError } from "../../ledger/errors.js";
import { documentItemSize, itemSize, numberSize, readUnits, valueSize, writeUnits } from "../../ledger/item-size.js";
import {
  BUCKET_REGISTRY_PARTITION,
  allPartitionKeys,
  assertValidObjectKey,
  changeDayKey,
  changeDayKeys,
  changeRateKeys,
  changeRatePartitionKey,
  changeToken,
  dayOf,
  ingestionPartitionKey,
  itemKeys,
  journalKeys,
  journalPartitionKey,
  partitionKey,
  partitionKeyOf,
  reconcileKeys,
  reconcilePartitionKey,
  rejectedRowKeys,
  rejectedRowsPartitionKey,
  shardOf,
} from "../../ledger/keys.js";
import { joinByKey } from "../../foundation/merge.js";
import { removeOrigin } from "../../ledger/origin.js";
import { takePage } from "../../ledger/paging.js";
import { attributeNames, detailsAttributes, fromItem, originAttributes, originFrom, toItem, type LedgerRecord } from "../../ledger/record.js";
import { SEQUENCER_WIDTH, compareSequencers, normalizeSequencer } from "../../ledger/sequencer.js";
import { createTableInput, ledgerTable } from "../../ledger/table.js";
import { compareUtf8 } from "../../foundation/utf8-order.js";

const sha1 = (key: string) => createHash("sha1").update(key, "utf8").digest();
const RECORDED = "2026-11-21T10:11:12.345Z";

describe("key layout", () => {
  it("refuses an empty key and one over 1,024 UTF-8 bytes, saying how long it was", () => {
    expect(() => assertValidObjectKey("")).toThrow(new InvalidObjectKeyError("object key must be 1 to 1024 UTF-8 bytes, got 0"));
    expect(() => assertValidObjectKey("€".repeat(342))).toThrow(new InvalidObjectKeyError("object key must be 1 to 1024 UTF-8 bytes, got 1026"));
    expect(() => assertValidObjectKey("x".repeat(1025))).toThrow(InvalidObjectKeyError);
    expect(() => assertValidObjectKey("x".repeat(1024))).not.toThrow();
    expect(() => assertValidObjectKey("x")).not.toThrow();
  });

  it("shards by the first 32 bits of the key's SHA-1, 16 shards by default, two hex digits", () => {
    for (const key of ["a", "photos/2026/😀.jpg", "k"]) {
      expect(shardOf(key)).toBe(sha1(key).readUInt32BE(0) % 16);
      expect(shardOf(key, 5)).toBe(sha1(key).readUInt32BE(0) % 5);
      expect(partitionKeyOf("b", key)).toBe(partitionKey("b", sha1(key).readUInt32BE(0) % 16));
    }
    expect(partitionKey("b", 0)).toBe("b#00");
    expect(partitionKey("b", 10)).toBe("b#0a");
    expect(partitionKey("b", 255)).toBe("b#ff");
    expect(allPartitionKeys("b", 3)).toEqual(["b#00", "b#01", "b#02"]);
    expect(allPartitionKeys("b")).toHaveLength(16);
  });

  it("spells a change token as the time and 64 bits of the key's hash", () => {
    expect(changeToken(RECORDED, "k")).toBe(`${RECORDED}#${sha1("k").subarray(4, 12).toString("hex")}`);
  });

  it("builds an item's keys from one hash: shard, day partition (sharded or not), token", () => {
    const digest = sha1("k");
    expect(itemKeys("b", "k", RECORDED)).toStrictEqual({ pk: partitionKeyOf("b", "k"), changeDay: "b#2026-11-21", changeToken: changeToken(RECORDED, "k") });
    expect(itemKeys("b", "k", RECORDED, 4, 8)).toStrictEqual({
      pk: partitionKey("b", digest.readUInt32BE(0) % 8),
      changeDay: changeDayKey("b", "2026-11-21", digest.readUInt32BE(0) % 4),
      changeToken: changeToken(RECORDED, "k"),
    });
  });

  it("names the change index's day partitions", () => {
    expect(changeDayKey("b", "2026-11-21")).toBe("b#2026-11-21");
    expect(changeDayKey("b", "2026-11-21", 0)).toBe("b#2026-11-21#00");
    expect(changeDayKey("b", "2026-11-21", 12)).toBe("b#2026-11-21#12");
    expect(changeDayKeys("b", "2026-11-21", 1)).toEqual(["b#2026-11-21"]);
    expect(changeDayKeys("b", "2026-11-21", 3)).toEqual(["b#2026-11-21#00", "b#2026-11-21#01", "b#2026-11-21#02"]);
    expect(dayOf(changeToken(RECORDED, "k"))).toBe("2026-11-21");
  });

  it("names reconciliation's, the registry's, the rate's, ingestion's and the journal's partitions", () => {
    expect(reconcilePartitionKey("b")).toBe("reconcile#b");
    expect(reconcileKeys.run("R")).toBe("run#R");
    expect(reconcileKeys.runs).toBe("run#");
    expect(reconcileKeys.task("R", 7)).toBe("task#R#00007");
    expect(reconcileKeys.tasksOf("R")).toBe("task#R#");
    expect(reconcileKeys.watermark).toBe("watermark");
    expect(reconcileKeys.orphanPartition("b", "R", 3)).toBe("reconcile#b#R#3");
    expect(reconcileKeys.driftPartition("b", "R")).toBe("reconcile#b#R#drift");
    expect(BUCKET_REGISTRY_PARTITION).toBe("registry#buckets");
    expect(changeRatePartitionKey("b")).toBe("rate#b");
    expect(changeRateKeys.minute(new Date(RECORDED))).toBe("2026-11-21T10:11");
    expect(ingestionPartitionKey("b")).toBe("ingest#b");
    expect(rejectedRowsPartitionKey("b", "k")).toBe(`ingest#b#${sha1("k").subarray(0, 12).toString("hex")}`);
    expect(rejectedRowKeys.row("v1", 42)).toBe("v1#000000000042");
    expect(rejectedRowKeys.of("v1")).toBe("v1#");
    expect(journalPartitionKey("b", "k")).toBe(`journal#b#${sha1("k").subarray(0, 12).toString("hex")}`);
    expect(journalKeys.event("0A")).toBe("e#0A");
    expect(journalKeys.repair(RECORDED)).toBe(`r#${RECORDED}`);
    expect(journalKeys.described(RECORDED, "R1")).toBe(`d#${RECORDED}#R1`);
    expect(journalKeys.start).toBe("start");
  });

  it("compares in UTF-8 byte order at the surrogate boundaries", () => {
    const sign = (a: string, b: string) => Math.sign(compareUtf8(a, b));
    const bytes = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
    const pairs: [string, string][] = [
      ["\u{10000}", "\ue000"],
      ["\ue000", "\u{10000}"],
      ["\u{10FFFF}", "\uffff"],
      ["\ud7ff", "\u{10000}"],
      ["\u{10000}", "\ud7ff"],
      ["\u{10000}", "\u{10001}"],
      ["a", "ab"],
      ["ab", "a"],
      ["b", "a"],
      ["same", "same"],
    ];
    for (const [a, b] of pairs) expect(sign(a, b), `${a} vs ${b}`).toBe(bytes(a, b));
  });
});

describe("record codec", () => {
  const live: LedgerRecord = {
    bucket: "b",
    key: "k",
    sequencer: "0A".padEnd(32, "0"),
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: "2026-11-21T10:00:00.000Z",
    recordedAt: RECORDED,
    origin: { requester: "P", sourceIp: "10.0.0.1", requestId: "R" },
    deleted: false,
    size: 12,
    etag: "e",
    lastModified: "2026-11-21T10:00:00.000Z",
    versionId: "v1",
    contentType: "text/plain",
    tags: { a: "1" },
    withheld: { reason: "kmsDenied", fields: ["checksum"] },
  };
  const tombstone: LedgerRecord = {
    bucket: "b",
    key: "gone",
    cause: "Reconcile:Orphaned",
    source: "reconcile",
    observedAt: RECORDED,
    recordedAt: RECORDED,
    deleted: true,
    expiresAt: 1_800_000_000,
  };

  it("writes a live record's attributes, and only those it has", () => {
    const keys = itemKeys("b", "k", RECORDED);
    expect(toItem(live)).toStrictEqual({
      pk: keys.pk,
      sk: "k",
      changeDay: keys.changeDay,
      changeToken: keys.changeToken,
      bucket: "b",
      deleted: false,
      cause: "ObjectCreated:Put",
      source: "event",
      observedAt: "2026-11-21T10:00:00.000Z",
      recordedAt: RECORDED,
      seq: live.sequencer,
      versionId: "v1",
      requester: "P",
      sourceIp: "10.0.0.1",
      requestId: "R",
      size: 12,
      etag: "e",
      lastModified: "2026-11-21T10:00:00.000Z",
      contentType: "text/plain",
      tags: { a: "1" },
      withheld: { reason: "kmsDenied", fields: ["checksum"] },
    });
    expect(toItem(live, 4).changeDay).toBe(itemKeys("b", "k", RECORDED, 4).changeDay);
  });

  it("writes a tombstone with its TTL and no state", () => {
    const keys = itemKeys("b", "gone", RECORDED);
    expect(toItem(tombstone)).toStrictEqual({
      pk: keys.pk,
      sk: "gone",
      changeDay: keys.changeDay,
      changeToken: keys.changeToken,
      bucket: "b",
      deleted: true,
      cause: "Reconcile:Orphaned",
      source: "reconcile",
      observedAt: RECORDED,
      recordedAt: RECORDED,
      expiresAt: 1_800_000_000,
    });
  });

  it("reads back what it wrote", () => {
    expect(fromItem(toItem(live))).toStrictEqual(live);
    expect(fromItem(toItem(tombstone))).toStrictEqual(tombstone);
  });

  it("reads only string or map details, numbers as numbers, and a deleted flag only when true", () => {
    const item = {
      ...toItem(live),
      contentType: 5,
      tags: ["not", "a", "map"],
      storageClass: "GLACIER",
      restore: { ongoing: true },
      userMetadata: null,
      size: "12",
    };
    const record = fromItem(item);
    expect(record).toMatchObject({ deleted: false, size: 12, storageClass: "GLACIER", restore: { ongoing: true } });
    expect(record).not.toHaveProperty("contentType");
    expect(record).not.toHaveProperty("tags");
    expect(record).not.toHaveProperty("userMetadata");
    expect(fromItem({ ...toItem(live), deleted: "true" }).deleted).toBe(false);
  });

  it("refuses an item missing a required string, naming it", () => {
    const { bucket: _bucket, ...withoutBucket } = toItem(live);
    expect(() => fromItem(withoutBucket)).toThrow(new TypeError("ledger item attribute bucket is not a string"));
    expect(() => fromItem({ ...toItem(live), etag: 5 })).toThrow(new TypeError("ledger item attribute etag is not a string"));
  });

  it("spells origin the same way in ledger and journal items", () => {
    expect(originAttributes(undefined)).toStrictEqual({});
    expect(originAttributes({ requestId: "R" })).toStrictEqual({ requestId: "R" });
    expect(originAttributes({ requester: "P", sourceIp: "ip" })).toStrictEqual({ requester: "P", sourceIp: "ip" });
    expect(originFrom({})).toBeUndefined();
    expect(originFrom({ requester: 5 })).toBeUndefined();
    expect(originFrom({ sourceIp: "ip" })).toStrictEqual({ sourceIp: "ip" });
    expect(originFrom({ requester: "P", requestId: "R" })).toStrictEqual({ requester: "P", requestId: "R" });
    expect(originFrom({ requester: "P" })).toStrictEqual({ requester: "P" });
    expect(originFrom({ requestId: "R" })).toStrictEqual({ requestId: "R" });
    expect(detailsAttributes({ storageClass: "STANDARD", tags: undefined as unknown as Record<string, string> })).toStrictEqual({ storageClass: "STANDARD" });
  });

  it("names the table's key and TTL attributes", () => {
    expect(attributeNames).toMatchObject({ pk: "pk", sk: "sk", changeDay: "changeDay", changeToken: "changeToken", expiresAt: "expiresAt" });
  });
});

describe("item size", () => {
  it("counts a number's significant digits, two a byte, plus one", () => {
    expect(numberSize("0")).toBe(2);
    expect(numberSize("7")).toBe(2);
    expect(numberSize("123")).toBe(3);
    expect(numberSize("+12345")).toBe(4);
    expect(numberSize("-1.50e10")).toBe(2);
    expect(numberSize("0.00012300")).toBe(3);
    expect(numberSize("1000")).toBe(2);
    expect(numberSize("12E-3")).toBe(2);
    expect(numberSize("123456")).toBe(4);
    expect(numberSize("1001")).toBe(3);
    expect(numberSize("1e+5")).toBe(2);
  });

  it("sizes each wire type", () => {
    expect(valueSize({ S: "héllo" })).toBe(6);
    expect(valueSize({ N: "100" })).toBe(2);
    expect(valueSize({ B: "AAEC" })).toBe(3);
    expect(valueSize({ BOOL: true })).toBe(1);
    expect(valueSize({ NULL: true })).toBe(1);
    expect(valueSize({ SS: ["a", "bb"] })).toBe(3);
    expect(valueSize({ NS: ["1", "123"] })).toBe(5);
    expect(valueSize({ BS: ["AAEC", "AA=="] })).toBe(4);
    expect(valueSize({ L: [{ S: "ab" }, { N: "1" }] })).toBe(3 + (1 + 2) + (1 + 2));
    expect(valueSize({ M: { a: { S: "x" }, bb: { BOOL: false } } })).toBe(3 + (1 + 1 + 1) + (1 + 2 + 1));
    expect(() => valueSize({ X: 1 })).toThrow(new TypeError('not a DynamoDB attribute value: {"X":1}'));
    expect(() => valueSize({})).toThrow(new TypeError("not a DynamoDB attribute value: {}"));
  });

  it("sizes an item as names plus values, nothing as zero", () => {
    expect(itemSize(undefined)).toBe(0);
    expect(itemSize({ pk: { S: "ab" }, n: { N: "5" } })).toBe(2 + 2 + 1 + 2);
  });

  it("sizes a document-client item the same way, leaving undefined attributes out", () => {
    const item = {
      s: "ab",
      n: 5,
      big: 10n,
      dec: new NumberValue("123.45"),
      b: true,
      nul: null,
      bin: new Uint8Array(3),
      set: new Set(["a", "bcd"]),
      list: ["a", 1],
      map: { x: "y", u: undefined },
      skip: undefined,
      f: () => 1,
    };
    const expected = 1 + 2 + (1 + 2) + (3 + 2) + (3 + 4) + (1 + 1) + (3 + 1) + (3 + 3) + (3 + 4) + (4 + 3 + (1 + 1) + (1 + 2)) + (3 + 3 + (1 + 1 + 1)) + 1;
    expect(documentItemSize(item)).toBe(expected);
  });

  it("charges writes in 1 KB steps and reads in 4 KB steps, at least one", () => {
    expect(writeUnits(0)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(readUnits(0, true)).toBe(1);
    expect(readUnits(4096, true)).toBe(1);
    expect(readUnits(4097, true)).toBe(2);
    expect(readUnits(4097, false)).toBe(1);
    expect(readUnits(1, false)).toBe(0.5);
  });
});

describe("sequencers", () => {
  it("normalizes to upper case padded to 32 digits, and refuses what cannot be ordered", () => {
    expect(SEQUENCER_WIDTH).toBe(32);
    expect(normalizeSequencer("0a")).toBe("0A".padEnd(32, "0"));
    expect(normalizeSequencer("F".repeat(32))).toBe("F".repeat(32));
    expect(() => normalizeSequencer("F".repeat(33))).toThrow(
      new InvalidSequencerError(`sequencer "${"F".repeat(33)}" is longer than 32 digits and cannot be ordered safely`),
    );
    expect(() => normalizeSequencer("0x1")).toThrow(new InvalidSequencerError('sequencer "0x1" is not a hex string'));
    expect(() => normalizeSequencer("")).toThrow(InvalidSequencerError);
    expect(() => normalizeSequencer("1G")).toThrow(InvalidSequencerError);
    expect(() => normalizeSequencer("G1")).toThrow(InvalidSequencerError);
  });

  it("compares older, equal and newer", () => {
    expect(compareSequencers("0A", "0a0")).toBe(0);
    expect(compareSequencers("09", "0A")).toBe(-1);
    expect(compareSequencers("0B", "0A")).toBe(1);
  });
});

describe("takePage", () => {
  async function* numbers(count: number, closed: { value: boolean }, stopped?: unknown): AsyncGenerator<number, unknown> {
    try {
      for (let i = 1; i <= count; i++) yield i;
      return stopped;
    } finally {
      closed.value = true;
    }
  }

  it("takes up to the limit, with a cursor after the last item only if more remain, and closes the stream", async () => {
    const closed = { value: false };
    expect(await takePage(numbers(3, closed), 2, (last) => `after ${last}`)).toStrictEqual({ items: [1, 2], cursor: "after 2" });
    expect(closed.value).toBe(true);
    expect(await takePage(numbers(2, { value: false }), 2, (last) => `after ${last}`)).toStrictEqual({ items: [1, 2] });
  });

  it("carries the cursor of a stream that stopped on its budget, and nothing else it returns", async () => {
    expect(await takePage(numbers(1, { value: false }, { cursor: "budget" }), 5, String)).toStrictEqual({ items: [1], cursor: "budget" });
    expect(await takePage(numbers(0, { value: false }, { cursor: "budget" }), 5, String)).toStrictEqual({ items: [], cursor: "budget" });
    expect(await takePage(numbers(1, { value: false }, { cursor: 7 }), 5, String)).toStrictEqual({ items: [1] });
    expect(await takePage(numbers(1, { value: false }, null), 5, String)).toStrictEqual({ items: [1] });
    expect(await takePage(numbers(1, { value: false }, "cursor"), 5, String)).toStrictEqual({ items: [1] });
  });
});

describe("cursors", () => {
  const record = { key: "k", recordedAt: RECORDED } as LedgerRecord;

  it("encode their query, base64url JSON", () => {
    const cursor = listCursorAfter("b", "p/", "p/k");
    expect(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))).toStrictEqual({ v: 1, q: "list", b: "b", p: "p/", after: "p/k" });
    expect(decodeCursor(listCursorAfter("b", undefined, "k"))).toStrictEqual({ v: 1, q: "list", b: "b", p: "", after: "k" });
    expect(decodeCursor(listCursor("b", "", { ...record, key: "last" }))).toStrictEqual({ v: 1, q: "list", b: "b", p: "", after: "last" });
    expect(decodeCursor(changesCursor("b", record))).toStrictEqual({ v: 1, q: "changes", b: "b", after: changeToken(RECORDED, "k") });
    expect(decodeCursor(historyCursor("b", "a".repeat(24), "e#01"))).toStrictEqual({ v: 1, q: "history", b: "b", k: "a".repeat(24), after: "e#01" });
    expect(encodeCursor({ v: 1, q: "changes", b: "b", after: "2026-11-21" })).toBe(changesCursorAfter("b", "2026-11-21"));
  });

  it("refuse what is not one of theirs, keeping the parse error", () => {
    let error: unknown;
    try {
      decodeCursor(Buffer.from("{", "utf8").toString("base64url"));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidCursorError);
    expect((error as Error).message).toBe("cursor is not a bucket-ledger cursor");
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
    expect(() => decodeCursor(encodeCursor({ v: 1, q: "changes", b: "b", after: "2026-13-45" }))).toThrow(
      new InvalidCursorError("cursor is not a bucket-ledger cursor"),
    );
    expect(() => decodeCursor(encodeCursor({ v: 1, q: "changes", b: "", after: "2026-11-21" }))).toThrow(InvalidCursorError);
    expect(() => decodeCursor(encodeCursor({ v: 1, q: "list", b: "b", p: "", after: "" }))).toThrow(InvalidCursorError);
    expect(() => decodeCursor(encodeCursor({ v: 1, q: "list", b: "b", p: "x".repeat(1025), after: "x".repeat(1025) }))).toThrow(InvalidCursorError);
    expect(() => decodeCursor(encodeCursor({ v: 1, q: "history", b: "b", k: "A".repeat(24), after: "e" }))).toThrow(InvalidCursorError);
    expect(() => decodeCursor(encodeCursor({ v: 1, q: "history", b: "b", k: "a".repeat(24), after: "e".repeat(2049) }))).toThrow(InvalidCursorError);
    expect(decodeCursor(encodeCursor({ v: 1, q: "history", b: "b", k: "a".repeat(24), after: "e".repeat(2048) })).q).toBe("history");
    for (const after of ["2026-11-21", "2026-11-21T10:11:12.345Z", `2026-11-21T10:11:12.345Z#${"0".repeat(16)}`]) {
      expect(decodeCursor(changesCursorAfter("b", after))).toStrictEqual({ v: 1, q: "changes", b: "b", after });
    }
    for (const after of ["x2026-11-21", "2026-11-21T10:11:12Z", `2026-11-21T10:11:12.345Z#${"0".repeat(15)}`, "2026-11-21T10:11:12.345Zjunk"]) {
      expect(() => decodeCursor(changesCursorAfter("b", after)), after).toThrow(InvalidCursorError);
    }
  });

  it("resume only the query they belong to", () => {
    expect(resumeAfter({ bucket: "b" }, "list")).toBeUndefined();
    expect(resumeAfter({ bucket: "b", cursor: listCursorAfter("b", "p/", "p/k") }, "list", "p/")).toBe("p/k");
    expect(() => resumeAfter({ bucket: "c", cursor: listCursorAfter("b", "p/", "p/k") }, "list", "p/")).toThrow(
      new InvalidCursorError("cursor belongs to a different list query"),
    );
    expect(() => resumeAfter({ bucket: "b", cursor: listCursorAfter("b", "p/", "p/k") }, "list", "q/")).toThrow(
      new InvalidCursorError("cursor belongs to a different list query"),
    );
    expect(() => resumeAfter({ bucket: "b", cursor: listCursorAfter("b", "p/", "p/k") }, "changes")).toThrow(
      new InvalidCursorError("cursor belongs to a different list query"),
    );
    expect(() => resumeAfter({ bucket: "b", cursor: listCursorAfter("b", "p/", "q/k") }, "list", "p/")).toThrow(
      new InvalidCursorError("cursor is not a bucket-ledger cursor"),
    );
    expect(resumeAfter({ bucket: "b", cursor: changesCursorAfter("b", "2026-11-21") }, "changes", "ignored/")).toBe("2026-11-21");
    expect(() => resumeAfter({ bucket: "b", cursor: listCursorAfter("b", undefined, "k") }, "changes")).toThrow(
      new InvalidCursorError("cursor belongs to a different list query"),
    );
    expect(resumeHistoryAfter("b", "a".repeat(24), undefined)).toBeUndefined();
    expect(resumeHistoryAfter("b", "a".repeat(24), historyCursor("b", "a".repeat(24), "e#01"))).toBe("e#01");
    expect(() => resumeHistoryAfter("b", "b".repeat(24), historyCursor("b", "a".repeat(24), "e#01"))).toThrow(
      new InvalidCursorError("cursor belongs to a different history query"),
    );
    expect(() => resumeHistoryAfter("c", "a".repeat(24), historyCursor("b", "a".repeat(24), "e#01"))).toThrow(InvalidCursorError);
    expect(() => resumeHistoryAfter("b", "a".repeat(24), changesCursorAfter("b", "2026-11-21"))).toThrow(
      new InvalidCursorError("cursor belongs to a different changes query"),
    );
  });

  it("expire a change cursor before the horizon, from its day's start or its token's time", () => {
    const horizon = new Date("2026-11-21T00:00:00.000Z");
    const within = (after: string) => () => assertChangesCursorWithin({ bucket: "b", cursor: changesCursorAfter("b", after) }, horizon);
    expect(() => assertChangesCursorWithin({ bucket: "b" }, horizon)).not.toThrow();
    expect(within("2026-11-21")).not.toThrow();
    expect(within(`2026-11-21T00:00:00.000Z#${"f".repeat(16)}`)).not.toThrow();
    expect(within("2026-11-20")).toThrow(
      new InvalidCursorError(
        "cursor expired: it resumes changes from 2026-11-20T00:00:00.000Z, before the change-feed horizon 2026-11-21T00:00:00.000Z " +
          "(tombstones are kept for the retention window only); list the objects again, then follow changes since then",
      ),
    );
    expect(within(`2026-11-20T23:59:59.999Z#${"0".repeat(16)}`)).toThrow(/resumes changes from 2026-11-20T23:59:59.999Z,/);
  });
});

describe("the API's cursor key", () => {
  const SECRET = new Uint8Array(32).fill(0xab);

  function client(answer: (input: Record<string, unknown>) => unknown, inputs: Record<string, unknown>[] = []): DynamoDBDocumentClient {
    return {
      send: async (command: { input: Record<string, unknown> }) => {
        inputs.push(command.input);
        return answer(command.input);
      },
    } as unknown as DynamoDBDocumentClient;
  }

  it("is one item, hex in DynamoDB JSON", () => {
    expect(cursorKeyItem(SECRET)).toStrictEqual({ pk: { S: "registry#api" }, sk: { S: "cursor-key" }, secret: { S: "ab".repeat(32) } });
    expect(cursorKeyItem().secret?.S).toMatch(/^[0-9a-f]{64}$/);
  });

  it("reads back 32 bytes, and refuses a missing or malformed item", async () => {
    const inputs: Record<string, unknown>[] = [];
    expect(await readCursorKey({ tableName: "t", documentClient: client(() => ({ Item: { secret: "ab".repeat(32) } }), inputs) })).toStrictEqual(
      Buffer.from(SECRET),
    );
    expect(inputs).toStrictEqual([{ TableName: "t", Key: { pk: "registry#api", sk: "cursor-key" } }]);
    await expect(readCursorKey({ tableName: "t", documentClient: client(() => ({})) })).rejects.toThrow(
      "the ledger table t holds no cursor key (registry#api): the stack creates it with the query API",
    );
    for (const secret of ["ab".repeat(31), "zz".repeat(32), 5]) {
      await expect(readCursorKey({ tableName: "t", documentClient: client(() => ({ Item: { secret } })) })).rejects.toThrow(
        "the ledger's cursor key item is malformed",
      );
    }
  });

  it("is created only where none is, and a conditional failure is not an error", async () => {
    const inputs: Record<string, unknown>[] = [];
    await createCursorKey({ tableName: "t", documentClient: client(() => ({}), inputs) });
    expect(inputs).toHaveLength(1);
    expect(inputs[0]).toMatchObject({
      TableName: "t",
      Item: { pk: "registry#api", sk: "cursor-key" },
      ConditionExpression: "attribute_not_exists(#pk)",
      ExpressionAttributeNames: { "#pk": "pk" },
    });
    expect((inputs[0]!.Item as { secret: string }).secret).toMatch(/^[0-9a-f]{64}$/);
    const held = new ConditionalCheckFailedException({ message: "held", $metadata: {} });
    await expect(createCursorKey({ tableName: "t", documentClient: client(() => Promise.reject(held)) })).resolves.toBeUndefined();
    await expect(createCursorKey({ tableName: "t", documentClient: client(() => Promise.reject(new Error("down"))) })).rejects.toThrow("down");
  });
});

describe("removeOrigin", () => {
  it("removes the three attributes only from the change read, and tells when the item changed", async () => {
    const inputs: Record<string, unknown>[] = [];
    let failure: unknown;
    const documentClient = {
      send: async (command: { input: Record<string, unknown> }) => {
        inputs.push(command.input);
        if (failure) throw failure;
        return {};
      },
    } as unknown as DynamoDBDocumentClient;
    const ctx = { tableName: "t", documentClient };
    expect(await removeOrigin(ctx, { pk: "p", sk: "s" }, { recordedAt: RECORDED })).toBe("removed");
    expect(await removeOrigin(ctx, { pk: "p", sk: "s" }, { recordedAt: RECORDED, requester: "P" })).toBe("removed");
    const names = { "#recordedAt": "recordedAt", "#o0": "requester", "#o1": "sourceIp", "#o2": "requestId" };
    expect(inputs).toStrictEqual([
      {
        TableName: "t",
        Key: { pk: "p", sk: "s" },
        UpdateExpression: "REMOVE #o0, #o1, #o2",
        ConditionExpression: "#recordedAt = :recordedAt",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ":recordedAt": RECORDED },
      },
      {
        TableName: "t",
        Key: { pk: "p", sk: "s" },
        UpdateExpression: "REMOVE #o0, #o1, #o2",
        ConditionExpression: "#recordedAt = :recordedAt AND #o0 = :requester",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ":recordedAt": RECORDED, ":requester": "P" },
      },
    ]);
    failure = new ConditionalCheckFailedException({ message: "changed", $metadata: {} });
    expect(await removeOrigin(ctx, { pk: "p", sk: "s" }, { recordedAt: RECORDED })).toBe("changed");
    failure = new Error("down");
    await expect(removeOrigin(ctx, { pk: "p", sk: "s" }, { recordedAt: RECORDED })).rejects.toThrow("down");
  });
});

describe("joinByKey", () => {
  async function* keyed(keys: string[], closed: string[], name: string): AsyncGenerator<{ key: string; from: string }> {
    try {
      for (const key of keys) yield { key, from: name };
    } finally {
      closed.push(name);
    }
  }

  it("pairs equal keys and passes each side's others through, in UTF-8 order", async () => {
    const closed: string[] = [];
    const joined: [string | undefined, string | undefined][] = [];
    for await (const [a, b] of joinByKey(keyed(["a", "\uffff", "😀"], closed, "L"), keyed(["b", "\uffff", "😀", "😁"], closed, "R"))) {
      joined.push([a?.key, b?.key]);
    }
    expect(joined).toEqual([
      ["a", undefined],
      [undefined, "b"],
      ["\uffff", "\uffff"],
      ["😀", "😀"],
      [undefined, "😁"],
    ]);
    expect(closed.sort()).toEqual(["L", "R"]);
  });

  it("releases both readers when the consumer stops early", async () => {
    const closed: string[] = [];
    for await (const pair of joinByKey(keyed(["a", "b"], closed, "L"), keyed(["a", "c"], closed, "R"))) {
      expect(pair[0]?.key).toBe("a");
      break;
    }
    expect(closed.sort()).toEqual(["L", "R"]);
  });
});

describe("the table and its errors", () => {
  it("creates the table on demand with its key, the change index projecting everything", () => {
    expect(createTableInput("ledger")).toStrictEqual({
      TableName: "ledger",
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
        { AttributeName: "changeDay", AttributeType: "S" },
        { AttributeName: "changeToken", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: "changes",
          KeySchema: [
            { AttributeName: "changeDay", KeyType: "HASH" },
            { AttributeName: "changeToken", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    });
    expect(ledgerTable).toMatchObject({ shardCount: 16, ttlAttribute: "expiresAt", changeIndex: { maxShards: 32 } });
  });

  it("names each error, exits with usage for a bad cursor or horizon, and says what to do instead", () => {
    const since = new Date("2026-10-01T00:00:00.000Z");
    const horizon = new Date("2026-11-01T00:00:00.000Z");
    const error = new ChangeHorizonError(since, horizon);
    expect(error).toBeInstanceOf(LedgerError);
    expect(error).toMatchObject({ name: "ChangeHorizonError", since, horizon, exitCode: 2 });
    expect(error.message).toBe(
      "changes since 2026-10-01T00:00:00.000Z are older than the change-feed horizon 2026-11-01T00:00:00.000Z " +
        "(tombstones are kept for the retention window only); run a full listing instead, or ask for changes since 2026-11-01T00:00:00.000Z or later",
    );
    expect(new InvalidCursorError("x")).toMatchObject({ name: "InvalidCursorError", exitCode: 2 });
    expect(new InvalidSequencerError("x")).toMatchObject({ name: "InvalidSequencerError", exitCode: 1 });
    expect(new InvalidObjectKeyError("x")).toMatchObject({ name: "InvalidObjectKeyError", exitCode: 1 });
  });
});
