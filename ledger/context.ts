/** What every read of the ledger table needs: the table, a client, and the table's shard count. */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface QueryContext {
  tableName: string;
  documentClient: DynamoDBDocumentClient;
  shardCount: number;
}
