/**
 * The change feed over a sharded day and the settings a ledger writes with (ledger/queries.ts,
 * ledger/ledger.ts, ledger/writer.ts) over an in-memory table: shards merged in token order, a
 * cut shard stopping the merge at its cut, a deadline reached exactly, the tombstones' and the
 * journal's expiry, and the origin setting.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { changesCursorAfter } from "../../ledger/cursor.js";
import { Ledger } from "../../ledger/ledger.js";
import { listChanges } from "../../ledger/queries.js";
import { toItem, type LedgerRecord } from "../../ledger/record.js";
import { fakeLedgerTable, type Item } from "./fake-ledger-table.js";

const NOW = new Date("2026-11-21T12:00:00.000Z");
const change = (key: string, recordedAt: string): Item => {
  const record: LedgerRecord = {
    bucket: "b",
    key,
    cause: "c",
    source: "event",
    observedAt: recordedAt,
    recordedAt,
    deleted: false,
    size: 1,
    etag: "e",
    lastModified: recordedAt,
  };
  return toItem(record, 2);
};

async function drain<T, R>(generator: AsyncGenerator<T, R>): Promise<{ items: T[]; returned: R }> {
  const items: T[] = [];
  for (;;) {
    const next = await generator.next();
    if (next.done) return { items, returned: next.value };
    items.push(next.value);
  }
}

describe("the change feed over a sharded day", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  const keys = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"];
  const changes = keys.map((key, index) => change(key, `2026-11-21T0${index}:00:00.000Z`));
  const registry = { pk: "registry#buckets", sk: "b", changeShards: [{ from: "2026-11-01T00:00:00.000Z", count: 2 }] };
  const ctx = () => {
    const fake = fakeLedgerTable([registry, ...changes]);
    return { fake, ctx: { tableName: "ledger", documentClient: fake.client, shardCount: 16 } };
  };

  it("merges the day's shards in recording order", async () => {
    const { fake, ctx: context } = ctx();
    expect(new Set(changes.map((item) => item.changeDay)).size).toBe(2);
    const { items } = await drain(listChanges(context, { bucket: "b", since: new Date("2026-11-21T00:00:00.000Z") }));
    expect(items.map(({ key }) => key)).toEqual(keys);
    expect(fake.queries().map((input) => (input.ExpressionAttributeValues as Record<string, string>)[":day"])).toEqual(["b#2026-11-21#00", "b#2026-11-21#01"]);
  });

  it("stops at the lowest token a cut shard examined and resumes there without losing or repeating a change", async () => {
    const { ctx: context } = ctx();
    const seen: string[] = [];
    let cursor: string | undefined;
    let reads = 0;
    do {
      const { items, returned } = await drain(
        listChanges(context, { bucket: "b", since: new Date("2026-11-21T00:00:00.000Z"), pageSize: 1, budget: { maxQueries: 2 }, ...(cursor && { cursor }) }),
      );
      seen.push(...items.map(({ key }) => key));
      cursor = (returned as { cursor: string } | undefined)?.cursor;
      reads++;
    } while (cursor !== undefined && reads < 20);
    expect(seen).toEqual(keys);
    expect(reads).toBeGreaterThan(2);
    const first = await drain(listChanges(context, { bucket: "b", since: new Date("2026-11-21T00:00:00.000Z"), pageSize: 1, budget: { maxQueries: 2 } }));
    const tokens = changes.map((item) => item.changeToken as string);
    const firstOfEach = ["b#2026-11-21#00", "b#2026-11-21#01"].map((day) => changes.find((item) => item.changeDay === day)!.changeToken as string).sort();
    expect(first.items).toHaveLength(1);
    expect(first.returned).toStrictEqual({ cursor: changesCursorAfter("b", firstOfEach[0]!) });
    expect(tokens[0]).toBe(firstOfEach[0]);
  });

  it("is spent at its deadline exactly, after each shard's first page", async () => {
    const { fake, ctx: context } = ctx();
    const { items, returned } = await drain(
      listChanges(context, { bucket: "b", since: new Date("2026-11-20T00:00:00.000Z"), pageSize: 1, budget: { deadline: NOW.getTime() } }),
    );
    // The first day's two shards, each read once whatever the budget; then the deadline stops it.
    expect(fake.queries()).toHaveLength(2);
    expect(items).toEqual([]);
    expect(returned).toStrictEqual({ cursor: changesCursorAfter("b", "2026-11-21") });
  });
});

describe("a ledger's write settings", () => {
  const upsert = {
    kind: "upsert" as const,
    bucket: "b",
    key: "k",
    sequencer: "0A",
    eventTime: NOW.toISOString(),
    eventName: "ObjectCreated:Put",
    state: { size: 1, etag: "e", lastModified: NOW.toISOString() },
    origin: { requester: "P", sourceIp: "192.0.2.1" },
  };

  it("keeps tombstones the retention's days and journal entries the history's", async () => {
    const fake = fakeLedgerTable([]);
    const ledger = new Ledger({ tableName: "ledger", documentClient: fake.client, now: () => NOW, retentionDays: 2, historyDays: 3, changeShards: 1 });
    await ledger.apply({ kind: "delete", bucket: "b", key: "k", sequencer: "0B", eventTime: NOW.toISOString(), eventName: "ObjectRemoved:Delete" });
    const put = fake.sent.find(({ command }) => command === "PutCommand")!.input.Item as Item;
    expect(put.expiresAt).toBe(NOW.getTime() / 1000 + 2 * 86_400);
    const batch = fake.sent.find(({ command }) => command === "BatchWriteCommand")!.input.RequestItems as Record<string, { PutRequest: { Item: Item } }[]>;
    expect(batch.ledger![0]!.PutRequest.Item.expiresAt).toBe(NOW.getTime() / 1000 + 3 * 86_400);
  });

  it("writes only the origin its setting keeps, all of it by default", async () => {
    const written = async (origin?: "none" | "principal") => {
      const fake = fakeLedgerTable([]);
      const ledger = new Ledger({ tableName: "ledger", documentClient: fake.client, now: () => NOW, ...(origin && { origin }) });
      await ledger.apply(upsert);
      return fake.sent.find(({ command }) => command === "PutCommand")!.input.Item as Item;
    };
    expect(await written()).toMatchObject({ requester: "P", sourceIp: "192.0.2.1" });
    expect(await written("principal")).not.toHaveProperty("sourceIp");
    expect(await written("none")).not.toHaveProperty("requester");
  });
});
