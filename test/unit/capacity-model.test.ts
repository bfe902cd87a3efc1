/**
 * The capacity model's arithmetic (ledger/item-size.ts, local/capacity-model.ts): item sizes as DynamoDB computes them,
 * units in 1 KB and 4 KB steps, what each index is charged for a write, and the per-partition and
 * per-table buckets on a clock the test moves.
 */
import { describe, expect, it } from "vitest";
import { documentItemSize, itemSize, numberSize, readUnits, writeUnits, type Item } from "../../ledger/item-size.js";
import { CapacityModel, indexEntry, writeCharges, type TableSchema } from "../../local/capacity-model.js";

const table: TableSchema = {
  name: "ledger",
  partitionKey: "pk",
  sortKey: "sk",
  indexes: [{ name: "changes", partitionKey: "changeDay", sortKey: "changeToken", projection: "ALL" }],
};

const s = (value: string) => ({ S: value });

describe("item size", () => {
  it("counts attribute names and values: strings in UTF-8 bytes, numbers by significant digits, binary raw", () => {
    expect(itemSize({ pk: s("abc") })).toBe(2 + 3);
    expect(itemSize({ ключ: s("é") })).toBe(8 + 2);
    // 1 byte per two significant digits, plus 1; leading and trailing zeros trimmed.
    expect(["123", "1200", "0.001", "-12.50", "0", "12345678901234567890123456789012345678"].map(numberSize)).toEqual([3, 2, 2, 3, 2, 20]);
    expect(itemSize({ n: { N: "123" } })).toBe(1 + 3);
    expect(itemSize({ b: { B: Buffer.alloc(10).toString("base64") } })).toBe(1 + 10);
    expect(itemSize({ t: { BOOL: true }, z: { NULL: true } })).toBe(2 + 2);
  });

  it("adds 3 bytes for a list or map and 1 per element, with nested names", () => {
    expect(itemSize({ l: { L: [s("ab"), { N: "1" }] } })).toBe(1 + 3 + (1 + 2) + (1 + 2));
    expect(itemSize({ m: { M: { a: s("xy") } } })).toBe(1 + 3 + (1 + 1 + 2));
    expect(itemSize({ m: { M: {} } })).toBe(1 + 3);
    expect(itemSize({ m: { M: { inner: { L: [{ M: { k: s("v") } }] } } } })).toBe(1 + 3 + (1 + 5 + (3 + (1 + (3 + (1 + 1 + 1))))));
  });

  it("sizes an item the document client writes as it sizes the same item on the wire", () => {
    const document = { pk: "b#1", n: 1200, big: 9007199254740993n, flag: true, gone: undefined, bytes: new Uint8Array(7), tags: { team: "a" }, list: ["x", 1] };
    const wire: Item = {
      pk: s("b#1"),
      n: { N: "1200" },
      big: { N: "9007199254740993" },
      flag: { BOOL: true },
      bytes: { B: Buffer.alloc(7).toString("base64") },
      tags: { M: { team: s("a") } },
      list: { L: [s("x"), { N: "1" }] },
    };
    expect(documentItemSize(document)).toBe(itemSize(wire));
  });
});

describe("units", () => {
  it("charges writes in 1 KB steps and reads in 4 KB steps, half for an eventually consistent read", () => {
    expect([0, 1, 1024, 1025, 1229, 2048, 400 * 1024].map(writeUnits)).toEqual([1, 1, 1, 2, 2, 2, 400]);
    expect([0, 4096, 4097, 10 * 1024].map((bytes) => readUnits(bytes, true))).toEqual([1, 1, 2, 3]);
    expect([0, 4096, 4097].map((bytes) => readUnits(bytes, false))).toEqual([0.5, 0.5, 1]);
  });
});

describe("what a write costs", () => {
  const item = (key: string, day: string, padding = 0): Item => ({
    pk: s("b#1"),
    sk: s(key),
    changeDay: s(day),
    changeToken: s("t"),
    pad: s("x".repeat(padding)),
  });

  it("charges the table the larger of the item before and after", () => {
    const [small, large] = [item("k", "d", 10), item("k", "d", 1_500)];
    expect(writeCharges(table, { pk: s("b#1"), sk: s("k") }, large, small)[0]).toEqual({ table: "ledger", partition: '{"S":"b#1"}', units: 2 });
    // A delete of an item that is not there still costs one unit.
    expect(writeCharges(table, { pk: s("b#1"), sk: s("k") }, undefined, undefined)).toEqual([{ table: "ledger", partition: '{"S":"b#1"}', units: 1 }]);
  });

  it("puts a new index entry, moves a changed key with a delete and a put, and charges nothing outside the index", () => {
    const key = { pk: s("b#1"), sk: s("k") };
    const created = writeCharges(table, key, undefined, item("k", "day1", 1_200));
    expect(created).toEqual([
      { table: "ledger", partition: '{"S":"b#1"}', units: 2 },
      { table: "ledger", index: "changes", partition: '{"S":"day1"}', units: 2 },
    ]);
    const moved = writeCharges(table, key, item("k", "day1", 10), item("k", "day2", 1_200));
    expect(moved.slice(1)).toEqual([
      { table: "ledger", index: "changes", partition: '{"S":"day1"}', units: 1 },
      { table: "ledger", index: "changes", partition: '{"S":"day2"}', units: 2 },
    ]);
    const { changeDay: _day, ...outside } = item("k", "day1");
    expect(writeCharges(table, key, undefined, outside)).toHaveLength(1);
    // Same index keys: one write when a projected attribute changes, none when the entry is the same.
    expect(writeCharges(table, key, item("k", "day1", 1), item("k", "day1", 2)).slice(1)).toEqual([
      { table: "ledger", index: "changes", partition: '{"S":"day1"}', units: 1 },
    ]);
    expect(writeCharges(table, key, item("k", "day1"), item("k", "day1"))).toHaveLength(1);
  });

  it("sizes a KEYS_ONLY or INCLUDE entry from the keys and the attributes projected", () => {
    const keysOnly = { name: "i", partitionKey: "changeDay", projection: "KEYS_ONLY" as const };
    const included = { ...keysOnly, projection: ["changeToken"] };
    expect(Object.keys(indexEntry(table, keysOnly, item("k", "d", 3_000))!).sort()).toEqual(["changeDay", "pk", "sk"]);
    expect(Object.keys(indexEntry(table, included, item("k", "d", 3_000))!).sort()).toEqual(["changeDay", "changeToken", "pk", "sk"]);
    expect(writeCharges({ ...table, indexes: [keysOnly] }, { pk: s("b#1"), sk: s("k") }, undefined, item("k", "d", 3_000))[1]!.units).toBe(1);
  });
});

describe("the buckets", () => {
  const clock = () => {
    let now = 0;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };
  const write = (partition: string, units: number, index?: string) => ({ table: "t", partition: JSON.stringify(s(partition)), units, ...(index && { index }) });

  it("admits 1,000 write units a second to one partition, refilling with time, and counts what it refuses", () => {
    const time = clock();
    const model = new CapacityModel({ now: time.now });
    let admitted = 0;
    for (let i = 0; i < 1_500; i++) if (!model.admitWrite([write("hot", 1)])) admitted++;
    expect(admitted).toBe(1_000);
    // 2-unit items: half as many.
    time.advance(1_000);
    let large = 0;
    for (let i = 0; i < 1_000; i++) if (!model.admitWrite([write("hot", 2)])) large++;
    expect(large).toBe(500);
    time.advance(250);
    expect(model.admitWrite([write("hot", 250)])).toBeUndefined();
    expect(model.admitWrite([write("hot", 1)])).toEqual({ reason: "TableWriteKeyRangeThroughputExceeded", table: "t" });
    expect(model.admitWrite([write("cold", 1)])).toBeUndefined();
    expect(model.partition("t", "hot")).toMatchObject({
      attemptedWriteUnits: 1_500 + 2_000 + 251,
      admittedWriteUnits: 1_000 + 1_000 + 250,
      throttledWriteUnits: 501 + 1_000,
    });
  });

  it("refuses the whole write when one index partition is spent, charging the table nothing", () => {
    const model = new CapacityModel({ now: () => 0 });
    expect(model.admitWrite([write("index-day", 1_000, "changes")])).toBeUndefined();
    expect(model.admitWrite([write("table-shard", 1), write("index-day", 1, "changes")])).toEqual({
      reason: "IndexWriteKeyRangeThroughputExceeded",
      table: "t",
      index: "changes",
    });
    expect(model.partition("t", "table-shard")).toMatchObject({ admittedWriteUnits: 0, throttledWriteUnits: 1 });
  });

  it("holds the table, and each index apart, to 40,000 units a second", () => {
    const model = new CapacityModel({ now: () => 0 });
    for (let partition = 0; partition < 40; partition++) expect(model.admitWrite([write(`p${partition}`, 1_000)])).toBeUndefined();
    expect(model.admitWrite([write("p40", 1)])).toEqual({ reason: "TableWriteAccountLimitExceeded", table: "t" });
    // The index has a quota of its own (API_ThrottlingReason: IndexWriteAccountLimitExceeded): the table's spent one does not bind it...
    const fresh = new CapacityModel({ now: () => 0 });
    for (let partition = 0; partition < 40; partition++)
      expect(fresh.admitWrite([write(`p${partition}`, 1_000), write(`i${partition}`, 1_000, "changes")])).toBeUndefined();
    // ...and it is spent by its own writes, named as the index's.
    expect(fresh.admitWrite([write("i40", 1, "changes")])).toEqual({ reason: "IndexWriteAccountLimitExceeded", table: "t", index: "changes" });
  });

  it("refuses reads of a partition already spent, charging reads after they are answered", () => {
    const model = new CapacityModel({ now: () => 0 });
    expect(model.admitRead("t", write("hot", 0).partition)).toBeUndefined();
    model.charge("read", [write("hot", 3_000)]);
    expect(model.admitRead("t", write("hot", 0).partition)).toEqual({ reason: "TableReadKeyRangeThroughputExceeded", table: "t" });
    expect(model.partition("t", "hot")).toMatchObject({ admittedReadUnits: 3_000, throttledReadUnits: 1 });
  });
});
