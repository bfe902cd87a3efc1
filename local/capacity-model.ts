/**
 * DynamoDB's capacity, as AWS documents it, for the local stack: what a request costs in read and
 * write units, and whether the partitions it touches have the units this second. DynamoDB Local
 * never throttles, so without this a design that needs more than a partition gives looks fine
 * here and fails on AWS. The fault proxy (local/fault-proxy.ts) puts it in front of DynamoDB Local.
 *
 * What is modelled, and from where:
 * - Item size and units: ledger/item-size.ts (developer guide, CapacityUnitCalculations.html and
 *   read-write-operations.html); a write costs the larger of the item before and after it.
 * - Indexes: each global secondary index is written separately; an index key that changes costs a
 *   delete of the old entry and a put of the new one, an item outside the index costs nothing there
 *   (developer guide, GSI.html#GSI.Writes:
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes).
 * - Limits: 1,000 write units and 3,000 read units a second per partition, for a table and each of
 *   its indexes alike (bp-partition-key-design.html; knowledge center, "on-demand table
 *   throttling": https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb). A partition is
 *   modelled as one partition-key value: DynamoDB splits a hot partition no further than that
 *   (bp-partition-key-design.html). An index that cannot take its write throttles the table write
 *   (GSI.html#GSI.ThroughputConsiderations). The table, and each of its indexes apart, takes at most
 *   40,000 of each a second, the default per-table quota of an on-demand table (developer guide,
 *   ServiceQuotas.html, "Read/write throughput", and on-demand-capacity-mode-max-throughput.html,
 *   which sets limits "on individual tables and associated global secondary indexes"); an index
 *   has its own: API_ThrottlingReason.html names `IndexWriteAccountLimitExceeded` for "a table or
 *   global secondary index (GSI) in on-demand mode" exceeding "the per-table account-level
 *   service quotas".
 * - Burst: AWS keeps up to 300 s of unused provisioned capacity for bursts
 *   (bp-partition-key-design.html#bp-partition-key-throughput-bursting) but promises none per
 *   partition, so each bucket here holds one second of units and no more.
 */
import { itemSize, writeUnits, type AttributeValue, type Item } from "../ledger/item-size.js";

export interface KeySchema {
  partitionKey: string;
  sortKey?: string;
}

export interface IndexSchema extends KeySchema {
  name: string;
  /** ALL, KEYS_ONLY, or the non-key attributes of an INCLUDE projection. */
  projection: "ALL" | "KEYS_ONLY" | readonly string[];
}

export interface TableSchema extends KeySchema {
  name: string;
  indexes: readonly IndexSchema[];
}

/** Units asked of one partition: of the table (`index` absent) or of one of its indexes. */
export interface PartitionCharge {
  table: string;
  index?: string;
  /** The partition-key value, as its wire format's JSON. */
  partition: string;
  units: number;
}

const partitionOf = (item: Item, key: string) => JSON.stringify(item[key]);

/** The item's entry in the index, or undefined when the item lacks one of the index's keys (a sparse index). */
export function indexEntry(table: TableSchema, index: IndexSchema, item: Item | undefined): Item | undefined {
  if (!item) return undefined;
  const indexKeys = [index.partitionKey, ...(index.sortKey ? [index.sortKey] : [])];
  if (indexKeys.some((name) => item[name] === undefined)) return undefined;
  if (index.projection === "ALL") return item;
  const kept = new Set([
    ...indexKeys,
    table.partitionKey,
    ...(table.sortKey ? [table.sortKey] : []),
    ...(index.projection === "KEYS_ONLY" ? [] : index.projection),
  ]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => kept.has(name)));
}

const canonical = (item: Item): string =>
  JSON.stringify(
    Object.keys(item)
      .sort()
      .map((name) => [name, item[name]]),
  );

/**
 * What a write of one item costs, partition by partition: the table at the larger of the item
 * before and after, and each index as GSI.Writes says. `before` and `after` are undefined for an
 * item that does not exist before (a put of a new key) or after (a delete).
 */
export function writeCharges(table: TableSchema, key: Item, before: Item | undefined, after: Item | undefined): PartitionCharge[] {
  const charges: PartitionCharge[] = [
    { table: table.name, partition: partitionOf(key, table.partitionKey), units: writeUnits(Math.max(itemSize(before), itemSize(after))) },
  ];
  for (const index of table.indexes) {
    const old = indexEntry(table, index, before);
    const next = indexEntry(table, index, after);
    const charge = (entry: Item, bytes: number) =>
      charges.push({ table: table.name, index: index.name, partition: partitionOf(entry, index.partitionKey), units: writeUnits(bytes) });
    const sameKeys =
      old && next && [index.partitionKey, index.sortKey].every((name) => name === undefined || JSON.stringify(old[name]) === JSON.stringify(next[name]));
    if (old && next && sameKeys) {
      // Only projected attributes change: one write, and none when the entry is the same.
      if (canonical(old) !== canonical(next)) charge(next, Math.max(itemSize(old), itemSize(next)));
      continue;
    }
    if (old) charge(old, itemSize(old));
    if (next) charge(next, itemSize(next));
  }
  return charges;
}

export interface CapacityLimits {
  partitionWriteUnits: number;
  partitionReadUnits: number;
  /** The per-table quota of an on-demand table, for the table and for each of its indexes apart. */
  tableWriteUnits: number;
  tableReadUnits: number;
}

export const AWS_LIMITS: CapacityLimits = { partitionWriteUnits: 1_000, partitionReadUnits: 3_000, tableWriteUnits: 40_000, tableReadUnits: 40_000 };

/** Counted per partition (units); `throttled` is what was asked and refused. */
export interface PartitionCounters {
  table: string;
  index?: string;
  partition: string;
  attemptedWriteUnits: number;
  admittedWriteUnits: number;
  throttledWriteUnits: number;
  admittedReadUnits: number;
  throttledReadUnits: number;
}

/** Which limit refused a request, named as DynamoDB's ThrottlingReason names it (API_ThrottlingReason.html). */
export type ThrottlingReason =
  | "TableWriteKeyRangeThroughputExceeded"
  | "IndexWriteKeyRangeThroughputExceeded"
  | "TableReadKeyRangeThroughputExceeded"
  | "IndexReadKeyRangeThroughputExceeded"
  | "TableWriteAccountLimitExceeded"
  | "TableReadAccountLimitExceeded"
  | "IndexWriteAccountLimitExceeded"
  | "IndexReadAccountLimitExceeded";

function accountLimitRefusal(kind: Kind, table: string, index: string | undefined): Refusal {
  if (index === undefined) return { reason: kind === "write" ? "TableWriteAccountLimitExceeded" : "TableReadAccountLimitExceeded", table };
  return { reason: kind === "write" ? "IndexWriteAccountLimitExceeded" : "IndexReadAccountLimitExceeded", table, index };
}

export interface Refusal {
  reason: ThrottlingReason;
  table: string;
  index?: string;
}

/** A token bucket holding one second of units, refilled continuously. Debt (a negative level) is allowed for charges taken after the fact. */
class Bucket {
  private level: number;
  private at: number;
  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.level = perSecond;
    this.at = now;
  }
  available(now: number): number {
    this.level = Math.min(this.perSecond, this.level + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    return this.level;
  }
  take(units: number): void {
    this.level -= units;
  }
}

export interface CapacityModelOptions {
  limits?: Partial<CapacityLimits>;
  /** Milliseconds; tests move it by hand. */
  now?: () => number;
}

type Kind = "write" | "read";

export class CapacityModel {
  readonly limits: CapacityLimits;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();
  private readonly counters = new Map<string, PartitionCounters>();

  constructor(options: CapacityModelOptions = {}) {
    this.limits = { ...AWS_LIMITS, ...options.limits };
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Takes the units of one write (all its partitions) or refuses it whole: a write is not done in
   * part, and an index partition that cannot take its entry throttles the table write.
   */
  admitWrite(charges: readonly PartitionCharge[]): Refusal | undefined {
    return this.admit("write", charges, true);
  }

  /** Reads are charged after they are answered (their size is known only then): refused when a partition is already spent. */
  admitRead(table: string, partition: string | undefined, index?: string): Refusal | undefined {
    return this.admit("read", partition === undefined ? [] : [{ table, partition, units: 0, ...(index !== undefined && { index }) }], false);
  }

  /** Units taken after the fact (an update's new size, a read's result), which may put a partition in debt. */
  charge(kind: Kind, charges: readonly PartitionCharge[]): void {
    const now = this.now();
    for (const charge of charges) {
      this.bucket(kind, charge, now).take(charge.units);
      this.bucket(kind, { table: charge.table, ...(charge.index !== undefined && { index: charge.index }), partition: "" }, now, true).take(charge.units);
      const counters = this.counter(charge);
      if (kind === "write") {
        counters.attemptedWriteUnits += charge.units;
        counters.admittedWriteUnits += charge.units;
      } else {
        counters.admittedReadUnits += charge.units;
      }
    }
  }

  /** Gives back units charged for a write that did not happen (a failed condition writes no index entry). */
  refund(charges: readonly PartitionCharge[]): void {
    this.charge(
      "write",
      charges.map((charge) => ({ ...charge, units: -charge.units })),
    );
  }

  /** Every partition's counters so far. */
  partitions(): PartitionCounters[] {
    return [...this.counters.values()].map((counters) => ({ ...counters }));
  }

  /** One partition's counters (zeros if it was never touched). `partition` is the key value as a string. */
  partition(table: string, partitionKeyValue: string, index?: string): PartitionCounters {
    const key = counterKey({ table, partition: JSON.stringify({ S: partitionKeyValue }), ...(index !== undefined && { index }) });
    return { ...(this.counters.get(key) ?? emptyCounters({ table, partition: partitionKeyValue, ...(index !== undefined && { index }) })) };
  }

  reset(): void {
    this.buckets.clear();
    this.counters.clear();
  }

  private admit(kind: Kind, charges: readonly PartitionCharge[], take: boolean): Refusal | undefined {
    const now = this.now();
    const limit = kind === "write" ? this.limits.partitionWriteUnits : this.limits.partitionReadUnits;
    let refusal: Refusal | undefined;
    // The account-level quota binds the table and each index apart: keyed by both.
    const perResource = new Map<string, { table: string; index?: string; units: number }>();
    // Two charges to one partition (an index entry moved within it) are asked of it together.
    const perPartition = new Map<string, PartitionCharge>();
    for (const charge of charges) {
      const resource = `${charge.table}|${charge.index ?? ""}`;
      const held = perResource.get(resource);
      perResource.set(resource, { table: charge.table, ...(charge.index !== undefined && { index: charge.index }), units: (held?.units ?? 0) + charge.units });
      const key = counterKey(charge);
      const seen = perPartition.get(key);
      perPartition.set(key, seen ? { ...seen, units: seen.units + charge.units } : charge);
    }
    for (const charge of perPartition.values()) {
      const available = this.bucket(kind, charge, now).available(now);
      // A single request larger than a second's units is let through a full bucket rather than never.
      const fits = take ? available >= Math.min(charge.units, limit) : available > 0;
      if (!fits && !refusal) refusal = keyRangeRefusal(kind, charge);
    }
    for (const { table, index, units } of perResource.values()) {
      const available = this.bucket(kind, { table, ...(index !== undefined && { index }), partition: "" }, now, true).available(now);
      if (!refusal && (take ? available < units : available <= 0)) refusal = accountLimitRefusal(kind, table, index);
    }
    if (kind === "write") {
      for (const charge of charges) {
        const counters = this.counter(charge);
        counters.attemptedWriteUnits += charge.units;
        if (refusal) counters.throttledWriteUnits += charge.units;
      }
    } else if (refusal) {
      // A read is refused before its size is known: counted as one refused request.
      for (const charge of charges) this.counter(charge).throttledReadUnits += 1;
    }
    if (refusal || !take) return refusal;
    for (const charge of charges) {
      this.bucket(kind, charge, now).take(charge.units);
      const counters = this.counter(charge);
      if (kind === "write") counters.admittedWriteUnits += charge.units;
      else counters.admittedReadUnits += charge.units;
    }
    for (const { table, index, units } of perResource.values())
      this.bucket(kind, { table, ...(index !== undefined && { index }), partition: "" }, now, true).take(units);
    return undefined;
  }

  private bucket(kind: Kind, charge: Pick<PartitionCharge, "table" | "index" | "partition">, now: number, wholeTable = false): Bucket {
    const key = `${kind}|${wholeTable ? "table" : "partition"}|${counterKey(charge)}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      const { limits } = this;
      const perSecond = wholeTable
        ? kind === "write"
          ? limits.tableWriteUnits
          : limits.tableReadUnits
        : kind === "write"
          ? limits.partitionWriteUnits
          : limits.partitionReadUnits;
      bucket = new Bucket(perSecond, now);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  private counter(charge: Pick<PartitionCharge, "table" | "index" | "partition">): PartitionCounters {
    const key = counterKey(charge);
    let counters = this.counters.get(key);
    if (!counters) {
      counters = emptyCounters({ ...charge, partition: displayPartition(charge.partition) });
      this.counters.set(key, counters);
    }
    return counters;
  }
}

function keyRangeRefusal(kind: Kind, charge: PartitionCharge): Refusal {
  const reason: ThrottlingReason =
    kind === "write"
      ? charge.index === undefined
        ? "TableWriteKeyRangeThroughputExceeded"
        : "IndexWriteKeyRangeThroughputExceeded"
      : charge.index === undefined
        ? "TableReadKeyRangeThroughputExceeded"
        : "IndexReadKeyRangeThroughputExceeded";
  return { reason, table: charge.table, ...(charge.index !== undefined && { index: charge.index }) };
}

const counterKey = (charge: Pick<PartitionCharge, "table" | "index" | "partition">) => `${charge.table}|${charge.index ?? ""}|${charge.partition}`;

/** A partition-key value as people write it: the string or number itself. */
function displayPartition(wire: string): string {
  try {
    const value = JSON.parse(wire) as AttributeValue;
    const [content] = Object.values(value);
    return typeof content === "string" ? content : wire;
  } catch {
    return wire;
  }
}

function emptyCounters(where: Pick<PartitionCounters, "table" | "index" | "partition">): PartitionCounters {
  return { ...where, attemptedWriteUnits: 0, admittedWriteUnits: 0, throttledWriteUnits: 0, admittedReadUnits: 0, throttledReadUnits: 0 };
}
