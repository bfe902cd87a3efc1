/**
 * One parsed row -> the DynamoDB item bucket-ledger writes, or the reason it cannot be written.
 * The seed's cleaning (empty strings dropped) plus what DynamoDB would refuse, checked before
 * the write so that one bad row is rejected alone instead of failing its batch of 25.
 */
import { NumberValue } from "@aws-sdk/lib-dynamodb";
import { dynamoNumber, type NumberResult } from "./row-number.js";
import { shardedSource, sourceShardOf } from "./row-table.js";
import { ROW_ATTRIBUTES, type IngestRule } from "./rules.js";

export type RowItem = Record<string, unknown>;

const RESERVED = new Set<string>(Object.values(ROW_ATTRIBUTES));

export interface RowOrigin {
  /** `s3://bucket/key`; the row's `_source` is its shard of it (row-table.ts). */
  source: string;
  /**
   * `unsharded`: `_source` is the file's URI alone, as before the source index was sharded. Only
   * the benchmark writes it, to measure the two layouts side by side.
   */
  layout?: "sharded" | "unsharded";
  version: string;
  line: number;
  /**
   * An upper bound of the item's size, when the caller knows one (a CSV row: its header's names
   * plus its own bytes): below 400 KB, the exact size need not be computed.
   */
  sizeBound?: number;
}

export type RowResult = { ok: true; item: RowItem; identity: string } | { ok: false; reason: string };

/**
 * DynamoDB's limits (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html):
 * an item is at most 400 KB, names included; a partition key value at most 2,048 bytes, a sort key
 * value at most 1,024. Numbers: row-number.ts.
 */
export const MAX_ITEM_BYTES = 400 * 1024;
const MAX_PARTITION_KEY_BYTES = 2048;
const MAX_SORT_KEY_BYTES = 1024;

function significantDigits(text: string): number {
  const mantissa = text.replace(/^[+-]/, "").split(/[eE]/)[0]!.replace(".", "");
  return mantissa.replace(/^0+/, "").replace(/0+$/, "").length || 1;
}

/** A declared number column's value: text (CSV, or a JSON string) or a JSON number. */
function toNumber(value: unknown): NumberResult {
  if (typeof value === "number") return dynamoNumber(String(value));
  if (value instanceof NumberValue || typeof value === "string") return dynamoNumber(value.toString());
  return { problem: `is ${Array.isArray(value) ? "a list" : value === null ? "null" : typeof value}, not a number` };
}

/**
 * Checks every number in a JSON value, in place: each NumberValue the reader kept as text becomes
 * what DynamoDB will store (row-number.ts). Depth is bounded by the reader (json-row.ts).
 */
function settleNumbers(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const element: unknown = value[index];
      if (element instanceof NumberValue) {
        const number = dynamoNumber(element.toString());
        if ("problem" in number) return number.problem;
        value[index] = number.value;
      } else if (typeof element === "object" && element !== null) {
        const problem = settleNumbers(element);
        if (problem !== undefined) return problem;
      }
    }
  } else if (typeof value === "object" && value !== null && !(value instanceof NumberValue)) {
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      const element = object[key];
      if (element instanceof NumberValue) {
        const number = dynamoNumber(element.toString());
        if ("problem" in number) return number.problem;
        object[key] = number.value;
      } else if (typeof element === "object" && element !== null) {
        const problem = settleNumbers(element);
        if (problem !== undefined) return problem;
      }
    }
  }
  return undefined;
}

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value !== "string") return undefined;
  const text = value.trim().toLowerCase();
  return text === "true" ? true : text === "false" ? false : undefined;
}

/**
 * An upper bound of DynamoDB's item size: names and string values in UTF-8 bytes, numbers at
 * one byte per two significant digits plus one, 3 bytes of overhead per map or list
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 */
export function itemSize(item: RowItem): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(value: unknown): number {
  if (typeof value === "string") return Buffer.byteLength(value);
  if (typeof value === "number") return Math.ceil(significantDigits(String(value)) / 2) + 1;
  if (value instanceof NumberValue) return Math.ceil(significantDigits(value.toString()) / 2) + 1;
  if (typeof value === "boolean" || value === null) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, element) => sum + 1 + valueSize(element), 0);
  if (typeof value === "object") return 3 + itemSize(value as RowItem) + Object.keys(value).length;
  return 0;
}

function keyValue(
  rule: IngestRule,
  values: Record<string, unknown>,
  column: string,
  maxBytes: number,
): { value: string | number | NumberValue } | { reason: string } {
  const value = values[column];
  if (value === undefined) return { reason: `key column ${column} is missing or empty` };
  if (typeof value !== "string" && typeof value !== "number" && !(value instanceof NumberValue)) {
    return { reason: `key column ${column} must be a string or a number, got ${Array.isArray(value) ? "a list" : typeof value}` };
  }
  const bytes = Buffer.byteLength(String(value));
  if (bytes > maxBytes) return { reason: `key column ${column} is ${bytes} bytes; DynamoDB allows ${maxBytes}` };
  if (rule.types[column] !== "number" && typeof value !== "string") return { value: String(value) };
  return { value };
}

/** Stable identity of a row's table key, so duplicates in one batch can be collapsed. */
function identityOf(partition: unknown, sort: unknown): string {
  return JSON.stringify([String(partition), sort === undefined ? null : String(sort)]);
}

export function toRowItem(rule: IngestRule, values: Record<string, unknown>, origin: RowOrigin): RowResult {
  const item: RowItem = {};
  for (const [column, raw] of Object.entries(values)) {
    if (raw === "" || raw === undefined) continue;
    if (RESERVED.has(column)) return { ok: false, reason: `column ${column} is reserved for bucket-ledger's row attributes` };
    // Reasons name the column and the kind of problem, never the value: rows may hold what the
    // people who read error reports should not see.
    const type = rule.types[column];
    if (type === "number") {
      const number = toNumber(raw);
      if ("problem" in number) return { ok: false, reason: `column ${column} is declared number; its value ${number.problem}` };
      item[column] = number.value;
    } else if (type === "boolean") {
      const boolean = toBoolean(raw);
      if (boolean === undefined) return { ok: false, reason: `column ${column} is declared boolean; its value is neither true nor false` };
      item[column] = boolean;
    } else if (raw instanceof NumberValue) {
      const number = dynamoNumber(raw.toString());
      if ("problem" in number) return { ok: false, reason: `column ${column}: a number that ${number.problem}` };
      item[column] = number.value;
    } else {
      const problem = settleNumbers(raw);
      if (problem !== undefined) return { ok: false, reason: `column ${column}: a number inside it ${problem}` };
      item[column] = raw;
    }
  }
  const partition = keyValue(rule, item, rule.partitionKey, MAX_PARTITION_KEY_BYTES);
  if ("reason" in partition) return { ok: false, reason: partition.reason };
  item[rule.partitionKey] = partition.value;
  let sortValue: unknown;
  if (rule.sortKey !== undefined) {
    const sort = keyValue(rule, item, rule.sortKey, MAX_SORT_KEY_BYTES);
    if ("reason" in sort) return { ok: false, reason: sort.reason };
    item[rule.sortKey] = sortValue = sort.value;
  }
  const identity = identityOf(partition.value, sortValue);
  item[ROW_ATTRIBUTES.source] = origin.layout === "unsharded" ? origin.source : shardedSource(origin.source, sourceShardOf(identity));
  item[ROW_ATTRIBUTES.version] = origin.version;
  item[ROW_ATTRIBUTES.line] = origin.line;
  const size = origin.sizeBound !== undefined && origin.sizeBound <= MAX_ITEM_BYTES ? 0 : itemSize(item);
  if (size > MAX_ITEM_BYTES) return { ok: false, reason: `row is ${size} bytes as an item; DynamoDB allows ${MAX_ITEM_BYTES} (400 KB)` };
  return { ok: true, item, identity };
}

/** The table key of an item, as DeleteItem takes it. */
export function rowKey(rule: Pick<IngestRule, "partitionKey" | "sortKey">, item: RowItem): RowItem {
  return rule.sortKey === undefined
    ? { [rule.partitionKey]: item[rule.partitionKey] }
    : { [rule.partitionKey]: item[rule.partitionKey], [rule.sortKey]: item[rule.sortKey] };
}
