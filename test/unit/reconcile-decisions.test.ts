/**
 * Reconciliation's pure decisions, without emulators: the merge-join diff and its counts, the
 * order check, the delete guard, an operator's view of a drift, what drift checks ask S3 before
 * a repair (through tiny in-test fakes of the ledger, the source and the describer), the key
 * ranges a listing is split into, and the backfill budget.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import type { LedgerRecord, ObjectState, RepairMutation } from "../../ledger/index.js";
import { deleteGuard } from "../../reconcile/delete-guard.js";
import { RECONCILE_DEFAULTS, backfillBudget } from "../../reconcile/defaults.js";
import { assertOrdered, diffSorted, type DiffCounts, type Drift } from "../../reconcile/diff.js";
import { countWithheld, driftChecks, type DriftChecksOptions } from "../../reconcile/drift-checks.js";
import { driftRecord } from "../../reconcile/drift-record.js";
import { MaxDeleteExceededError, SourceOrderError } from "../../reconcile/errors.js";
import { inRange, listObjectsSource, rangesFromBoundaries, type ObjectSource, type SourceObject } from "../../reconcile/source.js";
import type { DescribedObject, ObjectDescriber, UndescribedObject } from "../../s3/object-details.js";

async function* stream<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const object = (key: string, size = 1, etag = `e-${key}`): SourceObject => ({ key, size, etag, lastModified: "2026-11-20T00:00:00.000Z" });

const base = {
  bucket: "b",
  cause: "ObjectCreated:Put",
  source: "event" as const,
  observedAt: "2026-11-20T00:00:00.000Z",
  recordedAt: "2026-11-20T00:00:01.000Z",
};
const live = (key: string, size = 1, etag = `e-${key}`): LedgerRecord => ({
  ...base,
  key,
  deleted: false,
  size,
  etag,
  lastModified: "2026-11-19T00:00:00.000Z",
});
const tombstone = (key: string): LedgerRecord => ({ ...base, key, deleted: true, expiresAt: 1 });

describe("diffSorted", () => {
  it("yields only the keys that differ, and counts what it scanned and what the ledger indexes", async () => {
    const counts: DiffCounts = { scanned: 0, bytes: 0, indexed: 0 };
    const source = [object("a", 5), object("b", 7), object("c", 11), object("d", 13), object("e", 17, "new")];
    const ledger = [live("b", 7), tombstone("c"), live("e", 17, "old"), live("f"), tombstone("g"), live("h", 2)];
    const drifts = await collect(diffSorted(stream(source), stream(ledger), counts));
    expect(drifts).toStrictEqual([
      { kind: "missing", object: object("a", 5) },
      { kind: "missing", object: object("c", 11), tombstone: tombstone("c") },
      { kind: "missing", object: object("d", 13) },
      { kind: "stale", object: object("e", 17, "new"), record: live("e", 17, "old") },
      { kind: "orphaned", record: live("f") },
      { kind: "orphaned", record: live("h", 2) },
    ]);
    expect(counts).toStrictEqual({ scanned: 5, bytes: 5 + 7 + 11 + 13 + 17, indexed: 4 });
  });

  it("judges by size and ETag only: another last-modified time is no drift", async () => {
    const counts: DiffCounts = { scanned: 0, bytes: 0, indexed: 0 };
    const drifts = await collect(diffSorted(stream([object("k", 3, "x"), object("m", 4, "y")]), stream([live("k", 3, "x"), live("m", 5, "y")]), counts));
    expect(drifts).toStrictEqual([{ kind: "stale", object: object("m", 4, "y"), record: live("m", 5, "y") }]);
    expect(counts).toStrictEqual({ scanned: 2, bytes: 7, indexed: 2 });
  });

  it("hands every key to onAdvance in order, and stops when it says so", async () => {
    const seen: string[] = [];
    const counts: DiffCounts = { scanned: 0, bytes: 0, indexed: 0 };
    const drifts = await collect(
      diffSorted(stream([object("a"), object("c"), object("d")]), stream([live("b"), tombstone("c"), live("z")]), counts, (key) => {
        seen.push(key);
        return key !== "c";
      }),
    );
    expect(seen).toEqual(["a", "b", "c"]);
    expect(drifts.map((drift) => drift.kind)).toEqual(["missing", "orphaned", "missing"]);
    expect(counts).toStrictEqual({ scanned: 2, bytes: 2, indexed: 1 });
  });

  it("a tombstone the source does not list is no drift, and still advances", async () => {
    const seen: string[] = [];
    const counts: DiffCounts = { scanned: 0, bytes: 0, indexed: 0 };
    const drifts = await collect(diffSorted(stream([]), stream([tombstone("t")]), counts, async (key) => (seen.push(key), true)));
    expect(drifts).toEqual([]);
    expect(seen).toEqual(["t"]);
    expect(counts).toStrictEqual({ scanned: 0, bytes: 0, indexed: 0 });
  });
});

describe("assertOrdered", () => {
  it("passes a strictly ascending UTF-8 stream through", async () => {
    const keys = ["a", "b", "\uffff", "😀"];
    expect((await collect(assertOrdered(stream(keys.map((key) => ({ key }))), "the listing"))).map((item) => item.key)).toEqual(keys);
  });

  it("refuses a repeated or descending key, naming both", async () => {
    await expect(collect(assertOrdered(stream([{ key: "a" }, { key: "a" }]), "the listing"))).rejects.toThrow(
      new SourceOrderError('the listing is not in UTF-8 key order ("a" before "a"); nothing was deleted'),
    );
    const descending = collect(assertOrdered(stream([{ key: "😀" }, { key: "\uffff" }]), "the inventory"));
    await expect(descending).rejects.toBeInstanceOf(SourceOrderError);
    await expect(descending).rejects.toThrow('the inventory is not in UTF-8 key order ("😀" before "\uffff"); nothing was deleted');
  });
});

describe("deleteGuard", () => {
  it("allows up to the fraction of the index, refuses one more unless forced", () => {
    expect(deleteGuard({ orphaned: 10, indexed: 100, maxDeleteFraction: 0.1, force: false })).toBeUndefined();
    const refused = deleteGuard({ orphaned: 11, indexed: 100, maxDeleteFraction: 0.1, force: false });
    expect(refused).toBeInstanceOf(MaxDeleteExceededError);
    expect(refused).toMatchObject({ orphans: 11, indexed: 100, maxDeleteFraction: 0.1 });
    expect(refused?.message).toBe(
      "refusing to tombstone 11 of 100 indexed objects (11.0%, limit 10.0%); nothing was deleted. Check the source, then rerun with a higher limit or force",
    );
    expect(deleteGuard({ orphaned: 11, indexed: 100, maxDeleteFraction: 0.1, force: true })).toBeUndefined();
    expect(deleteGuard({ orphaned: 0, indexed: 0, maxDeleteFraction: 0, force: false })).toBeUndefined();
    expect(deleteGuard({ orphaned: 1, indexed: 0, maxDeleteFraction: 1, force: false })).toBeInstanceOf(MaxDeleteExceededError);
  });
});

describe("driftRecord", () => {
  const seen = (source: SourceObject) => ({ size: source.size, etag: source.etag, lastModified: source.lastModified });

  it("shows each side of a drift as the operator reads it", () => {
    const drifts: Drift[] = [
      { kind: "missing", object: object("a", 2) },
      { kind: "missing", object: object("b"), tombstone: tombstone("b") },
      { kind: "stale", object: object("c", 9), record: live("c", 8) },
      { kind: "orphaned", record: live("d") },
    ];
    expect(drifts.map(driftRecord)).toStrictEqual([
      { kind: "missing", key: "a", source: seen(object("a", 2)) },
      { kind: "missing", key: "b", ledger: { deleted: true, recordedAt: base.recordedAt }, source: seen(object("b")) },
      { kind: "stale", key: "c", ledger: { deleted: false, size: 8, etag: "e-c", lastModified: "2026-11-19T00:00:00.000Z" }, source: seen(object("c", 9)) },
      { kind: "orphaned", key: "d", ledger: { deleted: false, size: 1, etag: "e-d", lastModified: "2026-11-19T00:00:00.000Z" } },
    ]);
  });
});

describe("driftChecks", () => {
  const SNAPSHOT = new Date("2026-11-20T12:00:00.000Z");
  const reported: ObjectState = { size: 4, etag: "listed", lastModified: "2026-11-20T11:00:00.000Z" };
  const now: ObjectState = { size: 5, etag: "current", lastModified: "2026-11-20T11:30:00.000Z" };

  function harness(options: { lagsBucket: boolean; held?: Record<string, ObjectState>; describer?: ObjectDescriber; snapshotTime?: Date }) {
    const repairs: RepairMutation[] = [];
    const heads: string[] = [];
    const source: ObjectSource = {
      kind: options.lagsBucket ? "inventory" : "list",
      snapshotTime: SNAPSHOT,
      ordered: true,
      lagsBucket: options.lagsBucket,
      objects: () => stream([]),
      head: async (key) => (heads.push(key), options.held?.[key]),
    };
    const ledger = {
      repair: async (mutation: RepairMutation) => (repairs.push(mutation), "repaired" as const),
    } as unknown as DriftChecksOptions["ledger"];
    const withheld: unknown[] = [];
    const checks = driftChecks({
      ledger,
      bucket: "b",
      source,
      ...(options.describer && { describer: options.describer }),
      ...(options.snapshotTime && { snapshotTime: options.snapshotTime }),
      onWithheld: (w) => withheld.push(w),
    });
    return { checks, repairs, heads, withheld };
  }

  it("a listing's repairs are written as reported, with no HEAD", async () => {
    const { checks, repairs, heads } = harness({ lagsBucket: false });
    expect(await checks.repairPresent("stale", "k", reported, true)).toBe("repaired");
    expect(await checks.tombstone("gone")).toBe("repaired");
    expect(heads).toEqual([]);
    expect(repairs).toStrictEqual([
      { kind: "stale", bucket: "b", key: "k", state: reported, snapshotTime: SNAPSHOT },
      { kind: "orphaned", bucket: "b", key: "gone", snapshotTime: SNAPSHOT },
    ]);
  });

  it("a lagging source's repair of a known key takes the state S3 holds now, or writes nothing", async () => {
    const { checks, repairs, heads } = harness({ lagsBucket: true, held: { k: now }, snapshotTime: new Date(0) });
    expect(await checks.repairPresent("stale", "k", reported, true)).toBe("repaired");
    expect(await checks.repairPresent("missing", "deleted-since", reported, true)).toBe("unconfirmed");
    // A key the ledger never saw is written from the report, with no HEAD.
    expect(await checks.repairPresent("missing", "new", reported, false)).toBe("repaired");
    expect(heads).toEqual(["k", "deleted-since"]);
    expect(repairs).toStrictEqual([
      { kind: "stale", bucket: "b", key: "k", state: now, snapshotTime: new Date(0) },
      { kind: "missing", bucket: "b", key: "new", state: reported, snapshotTime: new Date(0) },
    ]);
  });

  it("a lagging source's orphan is tombstoned only if S3 confirms it is gone", async () => {
    const { checks, repairs } = harness({ lagsBucket: true, held: { still: now } });
    expect(await checks.tombstone("still")).toBe("unconfirmed");
    expect(await checks.tombstone("gone")).toBe("repaired");
    expect(repairs).toStrictEqual([{ kind: "orphaned", bucket: "b", key: "gone", snapshotTime: SNAPSHOT }]);
  });

  it("describes a repair only when the source left a kept field out, and keeps details of the same version only", async () => {
    const described: Record<string, DescribedObject | UndescribedObject | undefined> = {
      same: { state: { ...reported, contentType: "text/plain", describedAt: "T1" }, details: { contentType: "text/plain", describedAt: "T1" } },
      other: { state: { ...now, contentType: "image/png", describedAt: "T2" }, details: { contentType: "image/png", describedAt: "T2" } },
      sealed: { details: { describedAt: "T3", withheld: { reason: "sseCustomerKey", fields: ["contentType"] } } },
    };
    const asked: string[] = [];
    const describer: ObjectDescriber = { fields: ["contentType"], describe: async (_bucket, key) => (asked.push(key), described[key]) };
    const { checks, repairs, withheld } = harness({ lagsBucket: false, describer });
    await checks.repairPresent("missing", "same", reported, false);
    await checks.repairPresent("missing", "other", reported, false);
    await checks.repairPresent("missing", "sealed", reported, false);
    await checks.repairPresent("missing", "gone", reported, false);
    await checks.repairPresent("missing", "reported", { ...reported, contentType: "text/csv" }, false);
    expect(asked).toEqual(["same", "other", "sealed", "gone"]);
    expect(repairs.map((repair) => repair.state)).toStrictEqual([
      { ...reported, contentType: "text/plain", describedAt: "T1" },
      reported,
      { ...reported, describedAt: "T3", withheld: { reason: "sseCustomerKey", fields: ["contentType"] } },
      reported,
      { ...reported, contentType: "text/csv" },
    ]);
    expect(withheld).toStrictEqual([{ reason: "sseCustomerKey", fields: ["contentType"] }]);
  });

  it("describes when the source left any one kept field out, and needs no listener for withheld fields", async () => {
    const asked: string[] = [];
    const sealed: UndescribedObject = { details: { describedAt: "T4", withheld: { reason: "accessDenied", fields: ["tags"] } } };
    const describer: ObjectDescriber = { fields: ["contentType", "tags"], describe: async (_bucket, key) => (asked.push(key), sealed) };
    const repairs: RepairMutation[] = [];
    const ledger = { repair: async (mutation: RepairMutation) => (repairs.push(mutation), "repaired" as const) } as unknown as DriftChecksOptions["ledger"];
    const source: ObjectSource = {
      kind: "list",
      snapshotTime: SNAPSHOT,
      ordered: true,
      lagsBucket: false,
      objects: () => stream([]),
      head: async () => undefined,
    };
    const checks = driftChecks({ ledger, bucket: "b", source, describer });
    expect(await checks.repairPresent("missing", "half", { ...reported, contentType: "text/csv" }, false)).toBe("repaired");
    expect(asked).toEqual(["half"]);
    expect(repairs[0]?.state).toStrictEqual({ ...reported, contentType: "text/csv", describedAt: "T4", withheld: sealed.details.withheld });
  });

  it("finds the bucket key an orphan is the encoded or decoded form of", async () => {
    const { checks, heads } = harness({ lagsBucket: false, held: { "a b": now, "c+d": now } });
    expect(await checks.encodingMismatch("a+b")).toStrictEqual({ ledgerKey: "a+b", bucketKey: "a b" });
    expect(await checks.encodingMismatch("c+d")).toBeUndefined();
    expect(await checks.encodingMismatch("c%2Bd")).toStrictEqual({ ledgerKey: "c%2Bd", bucketKey: "c+d" });
    expect(await checks.encodingMismatch("100%")).toBeUndefined();
    expect(await checks.encodingMismatch("plain")).toBeUndefined();
    expect(heads).toEqual(["a%2Bb", "a b", "c%2Bd", "c d", "c%252Bd", "c+d", "100%25"]);
  });

  it("counts a withheld checksum apart from an object left undescribed", () => {
    const counts = { undescribed: 0, checksumsWithheld: 0 };
    const count = countWithheld(counts);
    count({ reason: "kmsDenied", fields: ["checksum"] });
    count({ reason: "sseCustomerKey", fields: ["contentType", "checksum"] });
    count({ reason: "accessDenied", fields: ["tags"] });
    expect(counts).toStrictEqual({ undescribed: 2, checksumsWithheld: 1 });
  });
});

describe("key ranges", () => {
  it("inRange is (after, through], each bound optional, in UTF-8 order", () => {
    expect(inRange("b", { after: "a", through: "b" })).toBe(true);
    expect(inRange("a", { after: "a", through: "b" })).toBe(false);
    expect(inRange("c", { after: "a", through: "b" })).toBe(false);
    expect(inRange("😀", { after: "\uffff" })).toBe(true);
    expect(inRange("\uffff", { through: "😀" })).toBe(true);
    expect(inRange("anything", {})).toBe(true);
  });

  it("rangesFromBoundaries covers every key once, boundaries deduplicated and sorted in UTF-8 order", () => {
    expect(rangesFromBoundaries([])).toStrictEqual([{}]);
    expect(rangesFromBoundaries(["m/", "😀/", "\uffff/", "m/"])).toStrictEqual([
      { through: "m/" },
      { after: "m/", through: "\uffff/" },
      { after: "\uffff/", through: "😀/" },
      { after: "😀/" },
    ]);
  });
});

describe("listObjectsSource", () => {
  /** Answers ListObjectsV2 from `keys` as S3 would for a delimiter "/", one page, URL-encoded. */
  function fakeS3(keys: string[], calls: Record<string, unknown>[]): S3Client {
    // A real client (the SDK's paginator checks the class) whose send answers in memory.
    const client = new S3Client({ region: "us-east-1", credentials: { accessKeyId: "unit", secretAccessKey: "unit" } });
    const send = async (command: { input: { Prefix?: string; Delimiter?: string; StartAfter?: string } }) => {
      const input = command.input;
      calls.push({ ...input });
      const prefix = input.Prefix ?? "";
      const under = keys.filter((key) => key.startsWith(prefix) && (input.StartAfter === undefined || key > input.StartAfter));
      if (input.Delimiter) {
        const prefixes = [
          ...new Set(
            under
              .map((key) => key.slice(prefix.length))
              .filter((rest) => rest.includes("/"))
              .map((rest) => prefix + rest.slice(0, rest.indexOf("/") + 1)),
          ),
        ];
        return { CommonPrefixes: prefixes.map((p) => ({ Prefix: encodeURIComponent(p) })) };
      }
      return {
        Contents: under.map((key) => ({
          Key: encodeURIComponent(key),
          Size: key.length,
          ETag: `"${key}"`,
          LastModified: new Date(0),
          StorageClass: "STANDARD",
        })),
      };
    };
    client.send = send as unknown as S3Client["send"];
    return client;
  }

  const NOW = new Date("2026-11-21T00:00:00.000Z");

  it("reads a range with StartAfter and stops past its upper bound", async () => {
    const calls: Record<string, unknown>[] = [];
    const source = listObjectsSource({ s3: fakeS3(["a", "b", "c", "d"], calls), bucket: "bk", now: () => NOW });
    expect(source).toMatchObject({ kind: "list", ordered: true, lagsBucket: false, snapshotTime: NOW });
    expect(await collect(source.objects({ after: "a", through: "c" }))).toStrictEqual([
      { key: "b", size: 1, etag: "b", lastModified: new Date(0).toISOString(), storageClass: "STANDARD" },
      { key: "c", size: 1, etag: "c", lastModified: new Date(0).toISOString(), storageClass: "STANDARD" },
    ]);
    expect(calls[0]).toMatchObject({ Bucket: "bk", StartAfter: "a" });
  });

  it("reads a whole ordered listing, stamped with the time it began, and asks S3 for one key", async () => {
    const calls: Record<string, unknown>[] = [];
    const before = Date.now();
    const source = listObjectsSource({ s3: fakeS3(["a", "b"], calls), bucket: "bk" });
    expect(source.snapshotTime.getTime()).toBeGreaterThanOrEqual(before);
    expect((await collect(source.objects())).map((item) => item.key)).toEqual(["a", "b"]);
    expect((await collect(source.objects({ after: "a" }))).map((item) => item.key)).toEqual(["b"]);
  });

  it("an unordered store is listed whole and filtered", async () => {
    const calls: Record<string, unknown>[] = [];
    const source = listObjectsSource({ s3: fakeS3(["a", "b", "c", "d"], calls), bucket: "bk", ordered: false, now: () => NOW });
    expect((await collect(source.objects({ after: "a", through: "c" }))).map((item) => item.key)).toEqual(["b", "c"]);
    expect(calls[0]).not.toHaveProperty("StartAfter");
  });

  it("plans ranges from the bucket's directories, breadth first, about the target in number", async () => {
    const keys = ["a/1", "a/x/1", "b/1", "c/1", "d/1", "d/y/1"];
    const calls: Record<string, unknown>[] = [];
    const source = listObjectsSource({ s3: fakeS3(keys, calls), bucket: "bk", now: () => NOW });
    expect(await source.planRanges!(1)).toStrictEqual([{}]);
    expect(calls).toEqual([]);
    expect(await source.planRanges!(3)).toStrictEqual([{ through: "a/" }, { after: "a/", through: "c/" }, { after: "c/" }]);
    const three = listObjectsSource({ s3: fakeS3(["a/1", "b/1", "c/1"], []), bucket: "bk", now: () => NOW });
    expect(await three.planRanges!(3)).toStrictEqual([{ through: "a/" }, { after: "a/", through: "b/" }, { after: "b/" }]);
    expect(calls.map((call) => call.Prefix)).toEqual(["", "a/", "b/", "c/", "d/", "a/x/", "d/y/"]);
    calls.length = 0;
    await source.planRanges!(100);
    expect(calls).toHaveLength(7);
    calls.length = 0;
    const limited = listObjectsSource({ s3: fakeS3(keys, calls), bucket: "bk", planningRequests: 2, now: () => NOW });
    expect(await limited.planRanges!(100)).toStrictEqual(rangesFromBoundaries(["a/", "b/", "c/", "d/", "a/x/"]));
    expect(calls).toHaveLength(2);
  });
});

describe("defaults", () => {
  it("a backfill runs at 750 repairs/s, or two thirds of the warm write units over the table writes a repair makes", () => {
    expect(backfillBudget()).toBe(750);
    // Two thirds of the warm writes, at three table writes a repair with history (item, journal entry, start item).
    expect(backfillBudget(24_000)).toBe(5_333);
    expect(backfillBudget(4_001)).toBe(889);
    expect(backfillBudget(24_000, false)).toBe(16_000);
    expect(RECONCILE_DEFAULTS.maxDeleteFraction).toBe(0.1);
  });
});
