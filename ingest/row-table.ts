/**
 * The one definition of a rule's target table, for the Pulumi component and for DynamoDB Local:
 * the rule's key columns, and the source index ingestion uses to find a file's rows. The index
 * is KEYS_ONLY (the table's keys plus `_source` and `_version`): sweeping needs nothing more,
 * and it keeps the index's write cost to the smallest item.
 *
 * The index's partition key is sharded. An index partition is one partition-key value, and one
 * takes 1,000 write units a second; a write to a full one is throttled, and so is the table write
 * that caused it (back-pressure). When every row of a file shared `_source` (and `_version`, so
 * DynamoDB could not split the partition for heat either), a file went in at 1,000 rows/s at best
 * and 500 when re-ingested, whose rows move their index entry (a delete and a put)
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html;
 * GSI.html#GSI.ThroughputConsiderations). So a row's `_source` is `<shard>#s3://bucket/key`, the
 * shard a hash of the row's table key: a row keeps its shard across versions, and a file's rows
 * spread over SOURCE_SHARDS partitions.
 *
 * Rows written before sharding have `_source` = `s3://bucket/key` (the legacy partition); a
 * sweep reads it beside the shards, so those tables and rows need no migration. A sharded value
 * starts with a digit and a legacy one with `s3://`: no file's legacy value is another's shard.
 */
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import { ROW_ATTRIBUTES, type IngestRule } from "./rules.js";

/** Write units a second one partition takes, of a table or of an index (bp-partition-key-design.html). */
export const PARTITION_WRITE_UNITS = 1_000;
/**
 * What one table takes by default, and each of its indexes apart: 40,000 write request units a
 * second for an on-demand table (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html,
 * "Read/write throughput"; on-demand-capacity-mode-max-throughput.html sets the limits "on
 * individual tables and associated global secondary indexes", and API_ThrottlingReason.html
 * names an index's own `IndexWriteAccountLimitExceeded`).
 */
export const TABLE_WRITE_UNITS = 40_000;

/**
 * The source index is sized never to be what limits a file in practice: 32 partitions take
 * 32,000 entry writes a second, so one file's rows go in at up to 32,000 a second on a first
 * ingestion (one entry each) and 16,000 on a new version (a delete and a put of its entry),
 * against the 40,000 the row table itself takes; one ingest function writes far fewer (see the
 * ingest-layouts benchmark). Rows under 1 KB. A constant of the key layout: another count would
 * move rows between shards.
 */
export const SOURCE_SHARDS = 32;
const SHARD_DIGITS = String(SOURCE_SHARDS - 1).length;

/** FNV-1a over the key's UTF-16 code units: cheap, and stable across runs and runtimes. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/** The shard of a row, from its table key's identity (row-item.ts). */
export function sourceShardOf(identity: string, shards: number = SOURCE_SHARDS): number {
  return hash(identity) % shards;
}

/** The `_source` a row of `source` (`s3://bucket/key`) in `shard` carries: an index partition-key value. */
export function shardedSource(source: string, shard: number): string {
  return `${String(shard).padStart(SHARD_DIGITS, "0")}#${source}`;
}

/** Every index partition a file's rows can be in: the legacy one, then each shard. */
export function sourcePartitions(source: string): string[] {
  return [source, ...Array.from({ length: SOURCE_SHARDS }, (_, shard) => shardedSource(source, shard))];
}

/** The `s3://bucket/key` a row's `_source` names, sharded or not. */
export function sourceUriOf(value: string): string {
  return value.startsWith("s3://") ? value : value.slice(value.indexOf("#") + 1);
}

export interface RowTableDefinition {
  hashKey: string;
  rangeKey?: string;
  attributes: { name: string; type: "S" | "N" }[];
  sourceIndex: { name: string; hashKey: string; rangeKey: string; projectionType: "KEYS_ONLY" };
}

export function rowTableDefinition(rule: IngestRule): RowTableDefinition {
  const typeOf = (column: string): "S" | "N" => (rule.types[column] === "number" ? "N" : "S");
  return {
    hashKey: rule.partitionKey,
    ...(rule.sortKey !== undefined && { rangeKey: rule.sortKey }),
    attributes: [
      { name: rule.partitionKey, type: typeOf(rule.partitionKey) },
      ...(rule.sortKey !== undefined ? [{ name: rule.sortKey, type: typeOf(rule.sortKey) }] : []),
      { name: ROW_ATTRIBUTES.source, type: "S" as const },
      { name: ROW_ATTRIBUTES.version, type: "S" as const },
    ],
    sourceIndex: { name: rule.sourceIndex, hashKey: ROW_ATTRIBUTES.source, rangeKey: ROW_ATTRIBUTES.version, projectionType: "KEYS_ONLY" },
  };
}

export function createRowTableInput(rule: IngestRule, tableName: string): CreateTableCommandInput {
  const definition = rowTableDefinition(rule);
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: definition.attributes.map(({ name, type }) => ({ AttributeName: name, AttributeType: type })),
    KeySchema: [
      { AttributeName: definition.hashKey, KeyType: "HASH" },
      ...(definition.rangeKey !== undefined ? [{ AttributeName: definition.rangeKey, KeyType: "RANGE" as const }] : []),
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: definition.sourceIndex.name,
        KeySchema: [
          { AttributeName: definition.sourceIndex.hashKey, KeyType: "HASH" },
          { AttributeName: definition.sourceIndex.rangeKey, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: definition.sourceIndex.projectionType },
      },
    ],
  };
}

/** A rule's target table: the existing one it names, or the one the stack (or `dev`) created for it. */
export function tableNameOf(rule: Pick<IngestRule, "name" | "table">): string {
  return rule.table ?? createdTableName(rule);
}

/**
 * The name of the table `bucket-ledger dev` creates for a rule without `table`. Deployed, the
 * component creates the table and hands the function each rule with its physical name in `table`.
 */
export function createdTableName(rule: Pick<IngestRule, "name">): string {
  return `bucket-ledger-rows-${rule.name}`;
}
