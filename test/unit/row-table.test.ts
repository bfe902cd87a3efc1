/**
 * The source index's key layout (ingest/row-table.ts): how a file's rows spread over the index's
 * partitions, that no file's partitions are another's, that the shard count covers the rate one
 * table can take, and that a sweep queries every partition a file's rows can be in.
 */
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toRowItem } from "../../ingest/row-item.js";
import { sweepRows } from "../../ingest/row-sweep.js";
import {
  PARTITION_WRITE_UNITS,
  SOURCE_SHARDS,
  TABLE_WRITE_UNITS,
  shardedSource,
  sourcePartitions,
  sourceShardOf,
  sourceUriOf,
} from "../../ingest/row-table.js";
import { resolveIngestRules, sourceUri } from "../../ingest/rules.js";

const rule = resolveIngestRules([{ name: "offers", bucket: "bkt", pattern: "imports/*.csv", format: "csv", partitionKey: "account", sortKey: "offer_id" }])[0]!;
const source = sourceUri("bkt", "imports/offers.csv");

function sourceOf(values: Record<string, string>, version = "v1"): string {
  const result = toRowItem(rule, values, { source, version, line: 2 });
  if (!result.ok) throw new Error(result.reason);
  return result.item._source as string;
}

describe("a file's rows in the source index", () => {
  it("spread over every shard, evenly, with no row in the legacy partition", () => {
    const perShard = new Map<string, number>();
    const rows = 32_000;
    for (let i = 0; i < rows; i++) {
      const value = sourceOf({ account: `acc${i % 500}`, offer_id: `offer${i}` });
      perShard.set(value, (perShard.get(value) ?? 0) + 1);
    }
    expect([...perShard.keys()].sort()).toEqual(sourcePartitions(source).slice(1).sort());
    const mean = rows / SOURCE_SHARDS;
    for (const count of perShard.values()) expect(Math.abs(count - mean) / mean).toBeLessThan(0.1);
  });

  it("keep a row's shard from one version to the next, so a re-ingested row moves its entry within one partition", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (account, offer) => {
        fc.pre(account !== "" && offer !== "");
        expect(sourceOf({ account, offer_id: offer }, "v1")).toBe(sourceOf({ account, offer_id: offer }, "v2"));
      }),
    );
  });

  it("are never under another file's partition, legacy or sharded", () => {
    const key = fc.string({ unit: "binary", minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(key, key, fc.constantFrom("bkt", "bkt2"), (a, b, bucket) => {
        fc.pre(a !== b);
        const theirs = new Set(sourcePartitions(sourceUri(bucket, b)));
        for (const partition of sourcePartitions(sourceUri(bucket, a))) expect(theirs.has(partition)).toBe(false);
      }),
    );
    // The legacy partition of a key that looks like a shard suffix is still its own.
    expect(sourcePartitions(sourceUri("bkt", "k#03"))).not.toContain(shardedSource(sourceUri("bkt", "k"), 3));
  });

  it("name their file, sharded or legacy", () => {
    expect(sourceUriOf(shardedSource(source, 7))).toBe(source);
    expect(sourceUriOf(source)).toBe(source);
    expect(sourceUriOf(shardedSource(sourceUri("bkt", "a#b/c#d"), 31))).toBe(sourceUri("bkt", "a#b/c#d"));
  });

  it("give one file 32 index partitions: four fifths of what the quotas allow, as the docs say", () => {
    // The table and its index each have the 40,000-unit quota. A first ingestion costs the index
    // one unit a row, a new version two (a delete and a put of its entry), so the quotas allow
    // 40,000 and 20,000 rows a second; 32 partitions of 1,000 units carry 32,000 and 16,000.
    const indexUnits = SOURCE_SHARDS * PARTITION_WRITE_UNITS;
    expect({ first: Math.min(indexUnits, TABLE_WRITE_UNITS), again: Math.min(indexUnits, TABLE_WRITE_UNITS) / 2 }).toEqual({ first: 32_000, again: 16_000 });
    expect(sourceShardOf("x")).toBeLessThan(SOURCE_SHARDS);
  });
});

describe("a sweep", () => {
  it("queries every shard and the legacy partition, and deletes what each lists under that partition", async () => {
    const queried: string[] = [];
    const deletes: { key: unknown; source: unknown }[] = [];
    // The paginator checks the client's class; nothing else of it is used.
    const client = Object.assign(Object.create(DynamoDBDocumentClient.prototype) as object, {
      async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
        const values = command.input.ExpressionAttributeValues as Record<string, string>;
        if (command.constructor.name === "QueryCommand") {
          queried.push(values[":source"]!);
          // One old row in each partition, and one of the kept version.
          const offer = `o-${values[":source"]!.slice(0, 2)}`;
          return {
            Items: [
              { account: "a", offer_id: offer, _source: values[":source"], _version: "old" },
              { account: "a", offer_id: `${offer}-kept`, _source: values[":source"], _version: "new" },
            ],
          };
        }
        deletes.push({ key: command.input.Key, source: values[":source"] });
        return {};
      },
    }) as DynamoDBDocumentClient;
    const counts = await sweepRows({ documentClient: client, tableName: "t", rule, concurrency: 4 }, source, "new");
    expect(queried.sort()).toEqual(sourcePartitions(source).sort());
    expect(queried).toHaveLength(SOURCE_SHARDS + 1);
    expect(counts).toEqual({ deleted: SOURCE_SHARDS + 1, kept: 0 });
    // Each delete is conditioned on the partition its row was listed under.
    for (const { key, source: condition } of deletes) expect((key as { offer_id: string }).offer_id).toBe(`o-${condition as string}`.slice(0, 4));
  });
});
