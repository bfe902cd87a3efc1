/**
 * DynamoDB's per-partition capacity, enforced in front of DynamoDB Local by the fault proxy's
 * capacity model (local/capacity-model.ts), seen through the real SDK: a hot partition takes
 * 1,000 write units a second, a 1.2 KB item costs two of them, an index partition that is spent
 * throttles the table write, and BatchWriteItem hands back what does not fit. The model's clock
 * stands still unless the test moves it, so "a second" is exact however fast the emulator is.
 */
import { randomUUID } from "node:crypto";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import pLimit from "p-limit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, createTableInput } from "../../ledger/index.js";
import { CapacityModel } from "../../local/capacity-model.js";
import { FaultInjectingProxy } from "../../local/fault-proxy.js";
import { dynamoDbClient, startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";

let dynamodb: TestDynamoDb;
let proxy: FaultInjectingProxy;
beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
  proxy = await FaultInjectingProxy.start(dynamodb.emulator.endpoint);
});
afterAll(async () => {
  await proxy?.stop();
  await dynamodb?.stop();
});

/** A fresh ledger table, a model on a clock the test moves, and a client that does not retry (each refusal is seen). */
async function setUp() {
  const tableName = `capacity-${randomUUID()}`;
  await dynamodb.client.send(new CreateTableCommand(createTableInput(tableName)));
  const clock = { now: 0 };
  const model = new CapacityModel({ now: () => clock.now });
  proxy.useCapacity(model);
  const documentClient = createDocumentClient(dynamoDbClient(proxy.endpoint, 1));
  return { tableName, model, clock, documentClient };
}

/** An item of about `bytes`, in one table partition, outside the change index unless given a day. */
const item = (key: string, bytes: number, changeDay?: string) => ({
  pk: "hot#0",
  sk: key,
  pad: "x".repeat(bytes - 30),
  ...(changeDay && { changeDay, changeToken: key }),
});

async function putAll(send: (index: number) => Promise<unknown>, count: number): Promise<{ admitted: number; throttled: number }> {
  const limit = pLimit(16);
  let admitted = 0;
  let throttled = 0;
  await Promise.all(
    Array.from({ length: count }, (_, index) =>
      limit(async () => {
        try {
          await send(index);
          admitted++;
        } catch (error) {
          if ((error as Error).name !== "ProvisionedThroughputExceededException") throw error;
          throttled++;
        }
      }),
    ),
  );
  return { admitted, throttled };
}

// Over a thousand requests a test, each read and written by the model: slow on a shared machine.
describe("DynamoDB capacity through the fault proxy", { timeout: 120_000 }, () => {
  it("a hot partition takes 1,000 write units a second: 1,000 items under 1 KB, 500 of 1.2 KB", async () => {
    const { tableName, model, clock, documentClient } = await setUp();
    const small = await putAll((index) => documentClient.send(new PutCommand({ TableName: tableName, Item: item(`small-${index}`, 900) })), 1_100);
    expect(small).toEqual({ admitted: 1_000, throttled: 100 });
    clock.now += 1_000;
    const large = await putAll((index) => documentClient.send(new PutCommand({ TableName: tableName, Item: item(`large-${index}`, 1_229) })), 600);
    expect(large).toEqual({ admitted: 500, throttled: 100 });
    expect(model.partition(tableName, "hot#0")).toMatchObject({ admittedWriteUnits: 2_000, throttledWriteUnits: 100 + 200 });
    // Another partition of the same table is not affected.
    await documentClient.send(new PutCommand({ TableName: tableName, Item: { ...item("cold", 100), pk: "cold#0" } }));
    proxy.useCapacity(undefined);
  });

  it("throttles table writes to many partitions when the index partition they share is spent (back-pressure)", async () => {
    const { tableName, model, documentClient } = await setUp();
    const spread = (index: number) => ({ ...item(`k${index}`, 1_229, "bucket#2026-12-04"), pk: `bucket#${index % 16}` });
    const result = await putAll((index) => documentClient.send(new PutCommand({ TableName: tableName, Item: spread(index) })), 600);
    expect(result).toEqual({ admitted: 500, throttled: 100 });
    expect(model.partition(tableName, "bucket#2026-12-04", "changes")).toMatchObject({ admittedWriteUnits: 1_000, throttledWriteUnits: 200 });
    const error = await documentClient.send(new PutCommand({ TableName: tableName, Item: spread(1_000) })).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: "ProvisionedThroughputExceededException", ThrottlingReasons: [{ reason: "IndexWriteKeyRangeThroughputExceeded" }] });
    proxy.useCapacity(undefined);
  });

  it("hands back a BatchWriteItem's items over the limit in UnprocessedItems, charging an overwrite at the larger size", async () => {
    const { tableName, model, clock, documentClient } = await setUp();
    const batch = (from: number, bytes: number) =>
      documentClient.send(
        new BatchWriteCommand({
          RequestItems: { [tableName]: Array.from({ length: 25 }, (_, index) => ({ PutRequest: { Item: item(`b${from + index}`, bytes) } })) },
        }),
      );
    let unprocessed = 0;
    for (let from = 0; from < 1_000; from += 25) unprocessed += ((await batch(from, 900)).UnprocessedItems?.[tableName] ?? []).length;
    expect(unprocessed).toBe(0);
    // The partition is spent: a whole batch that cannot be written is the throttling error.
    await expect(batch(0, 100)).rejects.toMatchObject({ name: "ProvisionedThroughputExceededException" });
    clock.now += 500;
    // Half a second refills 500 units; 25 overwrites of 900 B items with 100 B ones cost 1 unit each.
    const { UnprocessedItems } = await batch(0, 100);
    expect(UnprocessedItems?.[tableName] ?? []).toHaveLength(0);
    // Overwrites of 100 B items with 3 KB ones cost 3 each: 475 left fit 158 of them.
    let written = 0;
    for (let from = 0; from < 175; from += 25) written += 25 - ((await batch(from, 3_000)).UnprocessedItems?.[tableName] ?? []).length;
    expect(written).toBe(158);
    await expect(batch(175, 3_000)).rejects.toMatchObject({ name: "ProvisionedThroughputExceededException" });
    expect(model.partition(tableName, "hot#0").admittedWriteUnits).toBe(1_000 + 25 + 158 * 3);
    proxy.useCapacity(undefined);
  });

  it("charges an update by the item it leaves, and throttles nothing with the model off", async () => {
    const { tableName, model, documentClient } = await setUp();
    const key = { pk: "counter#0", sk: "minute" };
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: "SET #pad = :pad",
        ExpressionAttributeNames: { "#pad": "pad" },
        ExpressionAttributeValues: { ":pad": "x".repeat(2_500) },
      }),
    );
    expect(model.partition(tableName, "counter#0").admittedWriteUnits).toBe(3);
    proxy.useCapacity(undefined);
    const result = await putAll((index) => documentClient.send(new PutCommand({ TableName: tableName, Item: item(`free-${index}`, 1_229) })), 600);
    expect(result).toEqual({ admitted: 600, throttled: 0 });
  });
});
