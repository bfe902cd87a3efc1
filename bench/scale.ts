/**
 * The capacity model (`npm run bench -- scale`). Two halves:
 *
 *  1. From the real code: a synthetic workload at the target rates is driven through the
 *     project's own key layout (ledger/keys.ts `itemKeys`, the journal's partition, the change
 *     index's shards), counting the writes each base-table, change-index and journal partition
 *     takes per second. An overwrite moves a key's change-index entry, which DynamoDB writes as
 *     a delete from the old partition and a put into the new one.
 *  2. AWS's documented limits and prices, and the per-request latency the benchmarks assume,
 *     combined with those counts and the stack's defaults into the goals of the scale issue: the
 *     sustained events/s of one bucket, the first backfill of 10,000,000 objects, the nightly
 *     reconciliation of that bucket with 1% drift, and the requests of "changes since T".
 *
 * Every assumption is in ASSUMPTIONS with its source; docs/benchmarks.md's table (Scale per bucket) is this output.
 */
import { randomUUID } from "node:crypto";
import { itemKeys, journalPartitionKey, ledgerTable, toItem, type LedgerRecord } from "../ledger/index.js";
import { shardsForRate, type ChangeShardSetting } from "../ledger/change-index/index.js";
import { documentItemSize, writeUnits } from "../ledger/item-size.js";
import { backfillBudget, backfillTableWritesPerRepair, RECONCILE_DEFAULTS } from "../reconcile/defaults.js";
import { TRACKER_DEFAULTS } from "../tracker/defaults.js";
import { changeStreamModel, STREAM_ASSUMPTIONS } from "../stream/capacity.js";

export const ASSUMPTIONS = {
  /** "A single partition can support a maximum of ... 1,000 WCUs": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html */
  partitionWritesPerSecond: 1_000,
  /** An update that changes an index key writes the index twice (delete, put): https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes */
  indexWritesPerKeyChange: 2,
  /** A new on-demand table takes 4,000 writes/s at once, then up to double its previous peak within 30 minutes: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html */
  onDemandInitialWritesPerSecond: 4_000,
  /** DynamoDB's "single-digit millisecond" latency, as the benchmarks' aws profile holds each request. */
  dynamodbLatencyMs: 8,
  /** An assumption: "tens of milliseconds" for a ListObjectsV2 page of 1,000 keys (the scale issue). */
  s3ListPageMs: 50,
  s3ListPageKeys: 1_000,
  /** On-demand, us-east-1: https://aws.amazon.com/dynamodb/pricing/on-demand/ */
  dollarsPerMillionWriteUnits: 0.625,
  dollarsPerMillionReadUnits: 0.125,
  /** An eventually consistent read unit reads 8 KB (half a unit per 4 KB): https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html */
  readUnitBytes: 8_192,
  /** S3 Standard LIST requests, us-east-1: https://aws.amazon.com/s3/pricing/ */
  dollarsPerThousandLists: 0.005,
  /** S3 Inventory, per million objects listed: https://aws.amazon.com/s3/pricing/ (Management & insights) */
  dollarsPerMillionInventoried: 0.0025,
  /** Lambda arm64, per GB-second: https://aws.amazon.com/lambda/pricing/ */
  dollarsPerLambdaGbSecond: 0.0000133334,
  /** The reconcile function's memory (infra/args.ts default). */
  reconcileMemoryGb: 1,
  /** Lambda's default concurrency quota per account and Region: https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html */
  accountConcurrency: 1_000,
  /** The tracker's maximum concurrency on its queue (infra/args.ts default). */
  trackerInstances: 10,
} as const;

const BUCKET = "landing-zone";
const SECONDS = 5;

/** A ledger item as the tracker writes it for a typical object: its size in bytes, from the codec itself. */
function typicalItemBytes(): number {
  const now = new Date().toISOString();
  const record: LedgerRecord = {
    bucket: BUCKET,
    key: `landing/2026/12/01/${randomUUID()}.json.gz`,
    deleted: false,
    size: 48_213,
    etag: "9b2cf535f27731c974343645a3985328",
    lastModified: now,
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: now,
    recordedAt: now,
    sequencer: "0055AED6DCD90281E5000000000000000",
    origin: { requester: "AWS:AIDAJDPLRKLG7UEXAMPLE", sourceIp: "172.16.0.1", requestId: "C3D13FE58DE4C810" },
  };
  return documentItemSize(toItem(record));
}

interface PartitionLoad {
  /** The busiest partition's writes in its busiest second. */
  base: number;
  changeIndex: number;
  journal: number;
}

/**
 * Drives `eventsPerSecond` events for SECONDS seconds through the key layout; `overwriteShare`
 * of them rewrite one of `workingSet` keys (moving its change-index entry), the rest create new keys.
 */
function partitionLoad(eventsPerSecond: number, changeShards: number, overwriteShare: number, workingSet = 100_000): PartitionLoad {
  let random = 42;
  const next = () => (random = (random * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const start = Date.parse("2026-12-01T12:00:00.000Z");
  const indexOf = new Map<string, string>();
  const peak = { base: 0, changeIndex: 0, journal: 0 };
  for (let second = 0; second < SECONDS; second++) {
    const counts = { base: new Map<string, number>(), changeIndex: new Map<string, number>(), journal: new Map<string, number>() };
    const add = (map: Map<string, number>, partition: string) => map.set(partition, (map.get(partition) ?? 0) + 1);
    for (let event = 0; event < eventsPerSecond; event++) {
      const key = next() < overwriteShare ? `hot/${Math.floor(next() * workingSet)}` : `landing/${second}/${event}.json`;
      const recordedAt = new Date(start + second * 1_000 + Math.floor((event * 1_000) / eventsPerSecond)).toISOString();
      const keys = itemKeys(BUCKET, key, recordedAt, changeShards);
      add(counts.base, keys.pk);
      add(counts.changeIndex, keys.changeDay);
      const previous = indexOf.get(key);
      if (previous !== undefined) add(counts.changeIndex, previous);
      indexOf.set(key, keys.changeDay);
      add(counts.journal, journalPartitionKey(BUCKET, key));
    }
    for (const name of ["base", "changeIndex", "journal"] as const) peak[name] = Math.max(peak[name], ...counts[name].values());
  }
  return peak;
}

/** The events/s at which the busiest partition reaches its limit, scaling the measured load. */
const ceilingOf = (eventsPerSecond: number, busiest: number) => Math.floor((eventsPerSecond * ASSUMPTIONS.partitionWritesPerSecond) / busiest);

interface Setup {
  name: string;
  changeShards: ChangeShardSetting;
  /** Fan-out tasks at once (the task queue's maximum concurrency). */
  reconcileConcurrency: number;
  warmWritesPerSecond?: number;
  history: boolean;
}

const SETUPS: Setup[] = [
  { name: "defaults (changeShards auto)", changeShards: "auto", reconcileConcurrency: RECONCILE_DEFAULTS.maximumConcurrency, history: true },
  {
    name: "auto, warmWriteUnitsPerSecond 24,000",
    changeShards: "auto",
    reconcileConcurrency: RECONCILE_DEFAULTS.maximumConcurrency,
    warmWritesPerSecond: 24_000,
    history: true,
  },
  { name: "changeShards 1 (fixed)", changeShards: 1, reconcileConcurrency: RECONCILE_DEFAULTS.maximumConcurrency, history: true },
];

/** Write units of a typical object's item, and so of its change-index entry (the index projects the whole item). */
const typicalUnits = () => writeUnits(typicalItemBytes());

/**
 * The shards a bucket's changes are written with at `changesPerSecond` of entries costing
 * `unitsPerChange`: sized by the writers in write units (ledger/change-index/sizer.ts), or fixed.
 */
const shardsAt = (setup: Setup, changesPerSecond: number, unitsPerChange = typicalUnits()) =>
  setup.changeShards === "auto" ? shardsForRate(changesPerSecond * unitsPerChange) : setup.changeShards;

/** The events/s a bucket sustains; `unitsPerChange` 2 for items (and index entries) over 1 KB, which a partition takes half as many of. */
function sustained(setup: Setup, overwriteShare: number, unitsPerChange = typicalUnits()) {
  const rate = 10_000;
  const shards = shardsAt(setup, rate, unitsPerChange);
  const load = partitionLoad(rate, shards, overwriteShare);
  const tracker = Math.floor((ASSUMPTIONS.trackerInstances * TRACKER_DEFAULTS.writeConcurrency * 1_000) / ASSUMPTIONS.dynamodbLatencyMs);
  const limits = {
    base: ceilingOf(rate, load.base * unitsPerChange),
    changeIndex: ceilingOf(rate, load.changeIndex * unitsPerChange),
    journal: ceilingOf(rate, load.journal),
    tracker,
  };
  return { shards, load, limits, eventsPerSecond: Math.min(...Object.values(limits)) };
}

function backfill(setup: Setup, objects = 10_000_000) {
  const writeUnitsPerObject = backfillTableWritesPerRepair(setup.history);
  const budget = backfillBudget(setup.warmWritesPerSecond, setup.history);
  // Reconciliation sizes the shards for the budget when it plans the run.
  const shards = shardsAt(setup, budget);
  const ceiling = (count: number) => ceilingOf(10_000, partitionLoad(10_000, count, 0).changeIndex);
  const load = partitionLoad(10_000, shards, 0);
  const limits = {
    // Backfill mode: 64 repairs in flight per task, paced to the run's budget.
    writers: Math.min(budget, Math.floor((setup.reconcileConcurrency * RECONCILE_DEFAULTS.backfillWriteConcurrency * 1_000) / ASSUMPTIONS.dynamodbLatencyMs)),
    listing: Math.floor((setup.reconcileConcurrency * ASSUMPTIONS.s3ListPageKeys * 1_000) / ASSUMPTIONS.s3ListPageMs),
    changeIndex: ceilingOf(10_000, load.changeIndex),
    base: ceilingOf(10_000, load.base),
    table: Math.floor((setup.warmWritesPerSecond ?? ASSUMPTIONS.onDemandInitialWritesPerSecond) / writeUnitsPerObject),
  };
  const objectsPerSecond = Math.min(...Object.values(limits));
  // What the backfill leaves the tracker: the table's writes not spent on repairs, and room in
  // the change index, which sized shards raise as the tracker's events add to the backfill's.
  const tableWrites = setup.warmWritesPerSecond ?? ASSUMPTIONS.onDemandInitialWritesPerSecond;
  const indexRoom = (setup.changeShards === "auto" ? ceiling(shardsForRate(Infinity)) : limits.changeIndex) - objectsPerSecond;
  const trackerEventsLeft = Math.max(0, Math.min((tableWrites - objectsPerSecond * writeUnitsPerObject) / writeUnitsPerObject, indexRoom));
  return { budget, shards, limits, objectsPerSecond, minutes: objects / objectsPerSecond / 60, trackerEventsLeft };
}

function nightly(setup: Setup, source: "list" | "inventory", objects = 10_000_000, drift = 0.01) {
  const bytes = typicalItemBytes();
  const repairs = objects * drift;
  // A missing object: the item, its change-index entry, and (with history) its journal entry and
  // the journal's start item for a key it has not seen.
  const writeUnits = repairs * (1 + 1 + (setup.history ? 2 : 0));
  const readUnits = Math.ceil((objects * bytes) / ASSUMPTIONS.readUnitBytes);
  const scanSeconds = objects / ((setup.reconcileConcurrency * ASSUMPTIONS.s3ListPageKeys * 1_000) / ASSUMPTIONS.s3ListPageMs);
  // A nightly run is no backfill: 16 repairs in flight per task, and the change partitions' ceiling.
  const repairRate = Math.min(
    Math.floor((setup.reconcileConcurrency * RECONCILE_DEFAULTS.writeConcurrency * 1_000) / ASSUMPTIONS.dynamodbLatencyMs),
    backfill(setup).limits.changeIndex,
  );
  const repairSeconds = repairs / repairRate;
  const seconds = scanSeconds + repairSeconds;
  const cost = {
    source:
      source === "list"
        ? (objects / ASSUMPTIONS.s3ListPageKeys / 1_000) * ASSUMPTIONS.dollarsPerThousandLists
        : (objects / 1_000_000) * ASSUMPTIONS.dollarsPerMillionInventoried,
    indexReads: (readUnits / 1_000_000) * ASSUMPTIONS.dollarsPerMillionReadUnits,
    repairs: (writeUnits / 1_000_000) * ASSUMPTIONS.dollarsPerMillionWriteUnits,
    lambda: setup.reconcileConcurrency * seconds * ASSUMPTIONS.reconcileMemoryGb * ASSUMPTIONS.dollarsPerLambdaGbSecond,
  };
  return { minutes: seconds / 60, cost, dollars: Object.values(cost).reduce((sum, value) => sum + value, 0), itemBytes: bytes };
}

/**
 * Requests for "what changed since T": the bucket's registry item (its shard counts), each day's
 * partitions once, and one per further page (1 MB).
 */
function changesRequests(shards: number, days: number, changes: number) {
  const perPage = Math.floor((1024 * 1024) / typicalItemBytes());
  return 1 + days * shards + Math.max(0, Math.ceil(changes / perPage) - days * shards);
}

/**
 * The cheapest nightly run of 10,000,000 objects with 1% drift that on-demand prices allow, for
 * any design that keeps a change feed: each missing object's item and its change-index entry
 * (no journal), listed from S3 Inventory, with nothing read from the index at all.
 */
function nightlyFloor(objects = 10_000_000, drift = 0.01) {
  const repairs = objects * drift * 2 * (ASSUMPTIONS.dollarsPerMillionWriteUnits / 1_000_000);
  return repairs + (objects / 1_000_000) * ASSUMPTIONS.dollarsPerMillionInventoried;
}

export async function benchScale(log: (line: string) => void): Promise<object> {
  const quietRate = 10_000 / 86_400;
  const results = SETUPS.map((setup) => ({
    setup,
    sustained: { creates: sustained(setup, 0), overwrites: sustained(setup, 1), largeCreates: sustained(setup, 0, 2) },
    backfill: backfill(setup),
    nightly: {
      list: nightly(setup, "list"),
      inventory: nightly(setup, "inventory"),
      undriftedList: nightly(setup, "list", 10_000_000, 0),
      undriftedInventory: nightly(setup, "inventory", 10_000_000, 0),
    },
    changes: {
      // 1,000,000 objects, 10,000 of them changed a day.
      sinceYesterdayAt1M: changesRequests(shardsAt(setup, quietRate), 2, 10_000),
      fullListingAt1M: 1_000_000 / ASSUMPTIONS.s3ListPageKeys,
      // A bucket changing 10,000 times a second, read back for one hour.
      busyShards: shardsAt(setup, 10_000),
      busyHour: changesRequests(shardsAt(setup, 10_000), 1, 10_000 * 3_600),
    },
  }));
  const number = (value: number) => value.toLocaleString("en-US");
  log("| | " + results.map((result) => result.setup.name).join(" | ") + " |");
  log("|---|" + results.map(() => "---").join("|") + "|");
  const row = (name: string, cell: (result: (typeof results)[number]) => string) => log(`| ${name} | ${results.map(cell).join(" | ")} |`);
  row(
    "sustained events/s per bucket, creates (goal 10,000)",
    (r) => `${number(r.sustained.creates.eventsPerSecond)} (${r.sustained.creates.shards} shard${r.sustained.creates.shards === 1 ? "" : "s"})`,
  );
  row("sustained events/s per bucket, overwrites", (r) => number(r.sustained.overwrites.eventsPerSecond));
  row(
    "sustained events/s per bucket, creates of 1.2 KB items (2 write units each)",
    (r) => `${number(r.sustained.largeCreates.eventsPerSecond)} (${r.sustained.largeCreates.shards} shard${r.sustained.largeCreates.shards === 1 ? "" : "s"})`,
  );
  row("busiest partition at 10,000 creates/s: base / change index / journal", (r) => {
    const load = r.sustained.creates.load;
    return `${number(load.base)} / ${number(load.changeIndex)} / ${number(load.journal)} writes/s`;
  });
  row(
    "first backfill, 10,000,000 objects (goal 30 min)",
    (r) =>
      `${r.backfill.minutes.toFixed(1)} min at ${number(r.backfill.objectsPerSecond)}/s (budget ${number(r.backfill.budget)}, ${r.backfill.shards} shard${r.backfill.shards === 1 ? "" : "s"})`,
  );
  row("tracker events/s the backfill leaves room for", (r) => number(Math.floor(r.backfill.trackerEventsLeft)));
  row(
    "nightly run, 10,000,000 objects, 1% drift, list (goal 15 min, $0.15)",
    (r) => `${r.nightly.list.minutes.toFixed(1)} min, $${r.nightly.list.dollars.toFixed(3)}`,
  );
  row("the same from S3 Inventory", (r) => `${r.nightly.inventory.minutes.toFixed(1)} min, $${r.nightly.inventory.dollars.toFixed(3)}`);
  row("of which the 100,000 repairs' writes (item, change index, journal entry and start item)", (r) => `$${r.nightly.list.cost.repairs.toFixed(3)}`);
  row(
    "of which reading the index (items of about this many bytes, from the codec)",
    (r) => `$${r.nightly.list.cost.indexReads.toFixed(3)} (${r.nightly.list.itemBytes} B)`,
  );
  row(
    "nightly run without drift: list / inventory",
    (r) => `$${r.nightly.undriftedList.dollars.toFixed(3)} / $${r.nightly.undriftedInventory.dollars.toFixed(3)}`,
  );
  row("lowest any change-feed design can cost: items and index entries only, inventory, no reads", () => `$${nightlyFloor().toFixed(3)}`);
  row(
    "changes since yesterday, 1,000,000 objects, 10,000 changes a day (goal 100 x fewer than 1,000)",
    (r) => `${r.changes.sinceYesterdayAt1M} requests (${Math.floor(r.changes.fullListingAt1M / r.changes.sinceYesterdayAt1M)} x fewer)`,
  );
  row(
    "changes of the last hour at 10,000 changes/s (36,000,000)",
    (r) => `${number(r.changes.busyHour)} requests, ${r.changes.busyShards} of them for the shards`,
  );
  const stream = changeStreamModel({ dollarsPerLambdaGbSecond: ASSUMPTIONS.dollarsPerLambdaGbSecond });
  log("");
  log("| change stream at 10,000 changes/s per bucket | |");
  log("|---|---|");
  log(`| message size (the publisher's, from the code) | ${stream.messageBytes} B |`);
  log(
    `| one shard's batch of ${STREAM_ASSUMPTIONS.streamBatchSize} records (creates: ${stream.recordsPerChange.creates} records a change) | ${stream.perShard.creates.messages} changes in ${stream.perShard.creates.calls} PublishBatch calls, ${number(stream.perShard.creates.changesPerSecond)} changes/s |`,
  );
  log(`| stream shards to carry 10,000 changes/s | ${stream.shardsAtFactorOne} at ParallelizationFactor 1, ${stream.shardsAtMaxFactor} at 10 |`);
  log(`| SNS FIFO, FifoThroughputScope Topic | ${number(stream.limits.snsTopicScope)} changes/s: the bound |`);
  log(
    `| each subscribed SQS FIFO queue without high-throughput mode | ${number(stream.limits.subscriberQueue)} changes/s (${number(stream.limits.subscriberQueueBatched)} if SNS batched): the bound for that queue |`,
  );
  log(`| EventBridge PutEvents, us-east-1 (per entry) | ${number(stream.limits.eventBridge)} changes/s |`);
  log(
    `| added cost per million changes: SNS publishes / payload / Lambda requests / duration / stream reads | $${stream.perMillion.snsPublishes.toFixed(3)} / $${stream.perMillion.snsPayload.toFixed(3)} / $${stream.perMillion.lambdaRequests.toFixed(3)} / $${stream.perMillion.lambdaDuration.toFixed(3)} / $0 |`,
  );
  log(`| in all, SNS target / with EventBridge | $${stream.dollarsPerMillion.toFixed(3)} / $${stream.withEventBridge.toFixed(3)} |`);
  return {
    assumptions: ASSUMPTIONS,
    partitionLimit: ledgerTable.changeIndex.maxShards,
    nightlyFloor: nightlyFloor(),
    results,
    changeStream: { assumptions: STREAM_ASSUMPTIONS, ...stream },
  };
}
