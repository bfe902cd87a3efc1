/**
 * The capacity model (local/capacity-model.ts) applied to DynamoDB's wire protocol, for the fault
 * proxy: reads the item a write replaces straight from DynamoDB Local (not through the proxy) to
 * charge the larger of before and after, refuses what the partitions cannot take with DynamoDB's
 * throttling error, and charges reads by what they return.
 *
 * Refusals, as AWS answers them: a single write or read gets a 400
 * ProvisionedThroughputExceededException carrying ThrottlingReasons (API_ThrottlingReason.html);
 * a BatchWriteItem hands back the items over the limit in UnprocessedItems, and fails with that
 * exception only when none could be written
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html); a
 * transaction costs two units per unit of its items
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling).
 *
 * Simplifications, each on the side of throttling no less than AWS: an UpdateItem is admitted on
 * its item as it was and charged its new size after it is done (the new item is known only then);
 * a Query or Scan is charged by the items it returns (a filter or projection makes that less than
 * AWS charges).
 */
import { itemSize, readUnits, type Item } from "../ledger/item-size.js";
import { writeCharges, type CapacityModel, type IndexSchema, type PartitionCharge, type Refusal, type TableSchema } from "./capacity-model.js";

export interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Sends a request body (with this operation) to DynamoDB Local, bypassing the gate. */
export type Exchange = (operation: string, body: Buffer) => Promise<WireResponse>;

type Json = Record<string, unknown>;

const ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#";

function jsonResponse(status: number, body: unknown): WireResponse {
  return { status, headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "capacity-model" }, body: Buffer.from(JSON.stringify(body)) };
}

function throttled(refusal: Refusal): WireResponse {
  const resource = `arn:aws:dynamodb:us-east-1:000000000000:table/${refusal.table}${refusal.index ? `/index/${refusal.index}` : ""}`;
  return jsonResponse(400, {
    __type: `${ERROR_PREFIX}ProvisionedThroughputExceededException`,
    message: `Throughput exceeds the current capacity for one or more global secondary indexes or partitions (${refusal.reason}, bucket-ledger's capacity model)`,
    ThrottlingReasons: [{ reason: refusal.reason, resource }],
  });
}

const errorType = (response: WireResponse): string | undefined =>
  response.status === 200 ? undefined : String((JSON.parse(response.body.toString("utf8") || "{}") as Json).__type ?? "").replace(ERROR_PREFIX, "");

export class CapacityGate {
  private readonly schemas = new Map<string, Promise<TableSchema>>();

  constructor(
    readonly model: CapacityModel,
    private readonly exchange: Exchange,
  ) {}

  /** Answers one request: forwarded (and charged) or refused. Operations the model does not charge pass through. */
  async handle(operation: string, body: Buffer): Promise<WireResponse> {
    const request = JSON.parse(body.toString("utf8") || "{}") as Json;
    switch (operation) {
      case "PutItem":
      case "DeleteItem":
      case "UpdateItem":
        return this.write(operation, request, body);
      case "BatchWriteItem":
        return this.batchWrite(request);
      case "TransactWriteItems":
        return this.transactWrite(request, body);
      case "GetItem":
      case "Query":
      case "Scan":
      case "BatchGetItem":
        return this.read(operation, request, body);
      default:
        return this.exchange(operation, body);
    }
  }

  private async write(operation: "PutItem" | "DeleteItem" | "UpdateItem", request: Json, body: Buffer): Promise<WireResponse> {
    const schema = await this.schema(String(request.TableName));
    const key = operation === "PutItem" ? keyOf(schema, request.Item as Item) : (request.Key as Item);
    const before = await this.current(schema, key);
    const after = operation === "PutItem" ? (request.Item as Item) : operation === "DeleteItem" ? undefined : before;
    const charges = writeCharges(schema, key, before, after);
    const refusal = this.model.admitWrite(charges);
    if (refusal) return throttled(refusal);
    const response = await this.exchange(operation, body);
    const error = errorType(response);
    if (error === "ConditionalCheckFailedException") this.model.refund(charges.filter((charge) => charge.index !== undefined));
    else if (error !== undefined) this.model.refund(charges);
    else if (operation === "UpdateItem") {
      this.model.refund(charges);
      this.model.charge("write", writeCharges(schema, key, before, await this.current(schema, key)));
    }
    return response;
  }

  private async batchWrite(request: Json): Promise<WireResponse> {
    const requestItems = request.RequestItems as Record<string, Json[]>;
    const admitted: Record<string, Json[]> = {};
    const unprocessed: Record<string, Json[]> = {};
    let admittedCount = 0;
    let firstRefusal: Refusal | undefined;
    for (const [table, writes] of Object.entries(requestItems)) {
      const schema = await this.schema(table);
      for (const write of writes) {
        const put = write.PutRequest as { Item: Item } | undefined;
        const key = put ? keyOf(schema, put.Item) : (write.DeleteRequest as { Key: Item }).Key;
        const refusal = this.model.admitWrite(writeCharges(schema, key, await this.current(schema, key), put?.Item));
        if (refusal) {
          firstRefusal ??= refusal;
          (unprocessed[table] ??= []).push(write);
        } else {
          (admitted[table] ??= []).push(write);
          admittedCount++;
        }
      }
    }
    if (admittedCount === 0 && firstRefusal) return throttled(firstRefusal);
    const response = await this.exchange("BatchWriteItem", Buffer.from(JSON.stringify({ ...request, RequestItems: admitted })));
    if (response.status !== 200) return response;
    const answered = JSON.parse(response.body.toString("utf8")) as { UnprocessedItems?: Record<string, Json[]> };
    const merged = { ...(answered.UnprocessedItems ?? {}) };
    for (const [table, writes] of Object.entries(unprocessed)) merged[table] = [...(merged[table] ?? []), ...writes];
    return withBody(response, { ...answered, UnprocessedItems: merged });
  }

  private async transactWrite(request: Json, body: Buffer): Promise<WireResponse> {
    const charges: PartitionCharge[] = [];
    for (const action of request.TransactItems as Json[]) {
      const [kind, detail] = Object.entries(action)[0] as [string, Json];
      const schema = await this.schema(String(detail.TableName));
      const key = kind === "Put" ? keyOf(schema, detail.Item as Item) : (detail.Key as Item);
      const before = await this.current(schema, key);
      const after = kind === "Put" ? (detail.Item as Item) : kind === "Delete" ? undefined : before;
      const itemCharges = kind === "ConditionCheck" ? writeCharges({ ...schema, indexes: [] }, key, before, before) : writeCharges(schema, key, before, after);
      charges.push(...itemCharges.map((charge) => ({ ...charge, units: charge.units * 2 })));
    }
    const refusal = this.model.admitWrite(charges);
    if (refusal) return throttled(refusal);
    const response = await this.exchange("TransactWriteItems", body);
    if (response.status !== 200) this.model.refund(charges.filter((charge) => charge.index !== undefined));
    return response;
  }

  private async read(operation: "GetItem" | "Query" | "Scan" | "BatchGetItem", request: Json, body: Buffer): Promise<WireResponse> {
    const table = String(request.TableName ?? "");
    const index = typeof request.IndexName === "string" ? request.IndexName : undefined;
    let partition: string | undefined;
    if (operation === "GetItem" || operation === "Query") {
      const schema = await this.schema(table);
      const keys: { partitionKey: string } = index ? schema.indexes.find((candidate) => candidate.name === index)! : schema;
      partition = operation === "GetItem" ? JSON.stringify((request.Key as Item)[keys.partitionKey]) : queriedPartition(request, keys.partitionKey);
      const refusal = this.model.admitRead(table, partition, index);
      if (refusal) return throttled(refusal);
    }
    const response = await this.exchange(operation, body);
    if (response.status !== 200) return response;
    const answer = JSON.parse(response.body.toString("utf8")) as Json;
    const consistent = request.ConsistentRead === true;
    const charge = (of: string, where: string | undefined, bytes: number, consistentRead: boolean, indexName?: string) => {
      if (where !== undefined)
        this.model.charge("read", [
          { table: of, partition: where, units: readUnits(bytes, consistentRead), ...(indexName !== undefined && { index: indexName }) },
        ]);
    };
    if (operation === "GetItem") charge(table, partition, itemSize(answer.Item as Item | undefined), consistent, index);
    else if (operation === "Query") charge(table, partition, sumSizes(answer.Items as Item[]), consistent, index);
    else if (operation === "Scan") {
      const schema = await this.schema(table);
      const key = index ? schema.indexes.find((candidate) => candidate.name === index)!.partitionKey : schema.partitionKey;
      for (const [where, bytes] of groupSizes(answer.Items as Item[], key)) charge(table, where, bytes, consistent, index);
    } else {
      // BatchGetItem: each item a GetItem of its own (read-write-operations.html).
      const requested = request.RequestItems as Record<string, { ConsistentRead?: boolean }>;
      for (const [of, items] of Object.entries((answer.Responses ?? {}) as Record<string, Item[]>)) {
        const schema = await this.schema(of);
        for (const item of items) charge(of, JSON.stringify(item[schema.partitionKey]), itemSize(item), requested[of]?.ConsistentRead === true);
      }
    }
    return response;
  }

  /** The item as DynamoDB Local holds it now (a strongly consistent read the model does not charge). */
  private async current(schema: TableSchema, key: Item): Promise<Item | undefined> {
    const response = await this.exchange("GetItem", Buffer.from(JSON.stringify({ TableName: schema.name, Key: key, ConsistentRead: true })));
    if (response.status !== 200) return undefined;
    return (JSON.parse(response.body.toString("utf8")) as { Item?: Item }).Item;
  }

  /** The table's keys and indexes, read with DescribeTable once per table. */
  private schema(table: string): Promise<TableSchema> {
    let schema = this.schemas.get(table);
    if (!schema) {
      schema = this.describe(table);
      this.schemas.set(table, schema);
      schema.catch(() => this.schemas.delete(table));
    }
    return schema;
  }

  private async describe(table: string): Promise<TableSchema> {
    const response = await this.exchange("DescribeTable", Buffer.from(JSON.stringify({ TableName: table })));
    if (response.status !== 200) throw new Error(`DescribeTable ${table} failed: ${response.body.toString("utf8")}`);
    const { Table } = JSON.parse(response.body.toString("utf8")) as { Table: DescribedTable };
    const keys = (schema: DescribedKey[]) => ({
      partitionKey: schema.find((key) => key.KeyType === "HASH")!.AttributeName,
      ...(schema.some((key) => key.KeyType === "RANGE") && { sortKey: schema.find((key) => key.KeyType === "RANGE")!.AttributeName }),
    });
    const indexes: IndexSchema[] = (Table.GlobalSecondaryIndexes ?? []).map((index) => ({
      name: index.IndexName,
      ...keys(index.KeySchema),
      projection:
        index.Projection.ProjectionType === "INCLUDE" ? (index.Projection.NonKeyAttributes ?? []) : (index.Projection.ProjectionType as "ALL" | "KEYS_ONLY"),
    }));
    return { name: table, ...keys(Table.KeySchema), indexes };
  }

  /** Forgets table schemas (a table deleted and created again under its name). */
  forgetTables(): void {
    this.schemas.clear();
  }
}

interface DescribedKey {
  AttributeName: string;
  KeyType: "HASH" | "RANGE";
}
interface DescribedTable {
  KeySchema: DescribedKey[];
  GlobalSecondaryIndexes?: { IndexName: string; KeySchema: DescribedKey[]; Projection: { ProjectionType: string; NonKeyAttributes?: string[] } }[];
}

function keyOf(schema: TableSchema, item: Item): Item {
  return Object.fromEntries([schema.partitionKey, ...(schema.sortKey ? [schema.sortKey] : [])].map((name) => [name, item[name]!]));
}

function withBody(response: WireResponse, body: unknown): WireResponse {
  // DynamoDB's CRC32 of the body no longer matches the rewritten one.
  const { "x-amz-crc32": _crc, "content-length": _length, ...headers } = response.headers;
  return { ...response, headers, body: Buffer.from(JSON.stringify(body)) };
}

const sumSizes = (items: Item[] | undefined) => (items ?? []).reduce((sum, item) => sum + itemSize(item), 0);

function groupSizes(items: Item[] | undefined, key: string): Map<string, number> {
  const groups = new Map<string, number>();
  for (const item of items ?? []) {
    const where = JSON.stringify(item[key]);
    groups.set(where, (groups.get(where) ?? 0) + itemSize(item));
  }
  return groups;
}

/** The partition-key value a Query names: `#pk = :v` (or `pk = :v`) in its key condition, or the legacy KeyConditions. */
export function queriedPartition(request: Json, partitionKey: string): string | undefined {
  const legacy = request.KeyConditions as Record<string, { AttributeValueList?: unknown[] }> | undefined;
  if (legacy?.[partitionKey]?.AttributeValueList?.[0] !== undefined) return JSON.stringify(legacy[partitionKey].AttributeValueList[0]);
  const expression = typeof request.KeyConditionExpression === "string" ? request.KeyConditionExpression : "";
  const names = (request.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (request.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  for (const match of expression.matchAll(/([#\w.-]+)\s*=\s*(:[\w-]+)/g)) {
    const name = match[1]!.startsWith("#") ? names[match[1]!] : match[1];
    if (name === partitionKey && values[match[2]!] !== undefined) return JSON.stringify(values[match[2]!]);
  }
  return undefined;
}
