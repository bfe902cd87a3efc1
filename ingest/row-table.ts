/**
 * The one definition of a rule's target table, for the Pulumi component and for DynamoDB Local:
 * the rule's key columns, and the source index ingestion uses to find a file's rows. The index
 * is KEYS_ONLY (the table's keys plus `_source` and `_version`): sweeping needs nothing more,
 * and it keeps the index's write cost to the smallest item.
 */
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import { ROW_ATTRIBUTES, type IngestRule } from "./rules.js";

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
