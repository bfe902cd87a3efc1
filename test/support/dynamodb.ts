/** A DynamoDB Local for one test file, with a fresh ledger table per test. */
import { randomUUID } from "node:crypto";
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { createDocumentClient, createTableInput, Ledger, ledgerTable, type LedgerOptions } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { startDynamoDbLocal, type DynamoDbLocal } from "../../local/dynamodb-local.js";

export interface TestDynamoDb {
  emulator: DynamoDbLocal;
  client: DynamoDBClient;
  createLedger(options?: Partial<LedgerOptions> & { endpoint?: string; maxAttempts?: number }): Promise<Ledger>;
  stop(): Promise<void>;
}

export function dynamoDbClient(endpoint: string, maxAttempts?: number): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials, ...(maxAttempts !== undefined && { maxAttempts }) });
}

export async function startTestDynamoDb(): Promise<TestDynamoDb> {
  const emulator = await startDynamoDbLocal();
  const client = dynamoDbClient(emulator.endpoint);
  return {
    emulator,
    client,
    async createLedger(options = {}) {
      const tableName = options.tableName ?? `ledger-${randomUUID()}`;
      await client.send(new CreateTableCommand(createTableInput(tableName)));
      await client.send(
        new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { Enabled: true, AttributeName: ledgerTable.ttlAttribute } }),
      );
      const writer = options.endpoint ? dynamoDbClient(options.endpoint, options.maxAttempts) : client;
      return new Ledger({ ...options, tableName, documentClient: createDocumentClient(writer) });
    },
    async stop() {
      client.destroy();
      await emulator.stop();
    },
  };
}
