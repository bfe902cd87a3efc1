/**
 * The one definition of the ledger table. The Pulumi component, the local stack and the
 * tests all build their table from this object, so key names, the change index and the TTL
 * attribute cannot drift apart between environments.
 */
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

export const ledgerTable = {
  /** `<bucket>#<shard>`: spreads one bucket's writes over `shardCount` partitions. */
  partitionKey: "pk",
  /** The raw S3 key. Nothing is prepended: S3 keys may use all 1,024 bytes a sort key allows. */
  sortKey: "sk",
  /**
   * The change feed: per bucket and UTC day of recording, one partition, or with shards N of
   * them; "what changed since T" reads those partitions for each day since T, never the whole
   * bucket. The protocol that shards it is described once, in ledger/change-index/index.ts.
   */
  changeIndex: {
    name: "changes",
    /** `<bucket>#<YYYY-MM-DD>` of `recordedAt`, or `<bucket>#<YYYY-MM-DD>#<shard>` with shards. */
    partitionKey: "changeDay",
    /** `<recordedAt ISO>#<key hash>`: time order within the day, unique per key, the same order across shards. */
    sortKey: "changeToken",
    /** The most shards a stack may ask for (`changeShards`). */
    maxShards: 32,
  },
  /** Epoch seconds; set on tombstones only, so live objects never expire. */
  ttlAttribute: "expiresAt",
  /**
   * Partitions per bucket. 16 x 1,000 WCU/s per partition is far above what one bucket's
   * event stream produces. Changing it re-homes every item, so it is fixed per table.
   */
  shardCount: 16,
} as const;

export type LedgerTableDefinition = typeof ledgerTable;

/** CreateTable input for DynamoDB (Local or real) built from {@link ledgerTable}. */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, changeIndex } = ledgerTable;
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: "S" },
      { AttributeName: sortKey, AttributeType: "S" },
      { AttributeName: changeIndex.partitionKey, AttributeType: "S" },
      { AttributeName: changeIndex.sortKey, AttributeType: "S" },
    ],
    KeySchema: [
      { AttributeName: partitionKey, KeyType: "HASH" },
      { AttributeName: sortKey, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: changeIndex.name,
        KeySchema: [
          { AttributeName: changeIndex.partitionKey, KeyType: "HASH" },
          { AttributeName: changeIndex.sortKey, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ],
  };
}
