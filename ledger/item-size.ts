/**
 * An item's size as DynamoDB computes it, and what it costs in capacity units: the one home of
 * this arithmetic, for the writers that size their partitions by it (ledger/change-index) and
 * for the local capacity model that enforces it (local/capacity-model.ts).
 *
 * Size: the sum of attribute name and value lengths; strings in UTF-8 bytes; numbers 1 byte per
 * two significant digits (leading and trailing zeros trimmed) plus 1; binary its raw bytes; null
 * and Boolean 1 byte; a list or map 3 bytes plus 1 per element and its elements' sizes (developer
 * guide, "DynamoDB item sizes and formats":
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 * Sets are not on that page; they are counted as their elements' sizes.
 *
 * Units: a write 1 KB steps of the item's size, a read 4 KB steps, half for an eventually
 * consistent read (developer guide, "DynamoDB read and write operations":
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
 */
import { NumberValue } from "@aws-sdk/lib-dynamodb";

/** An attribute value in DynamoDB's wire format (`{ "S": "..." }`, `{ "N": "1" }`, ...). */
export type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

const KB = 1024;
const utf8 = (text: string) => Buffer.byteLength(text, "utf8");

/** A number's size from its decimal text. */
export function numberSize(text: string): number {
  const digits = text
    .replace(/^[+-]/, "")
    .replace(/[eE].*$/, "")
    .replace(".", "")
    .replace(/^0+/, "")
    .replace(/0+$/, "");
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

/** The size of a wire-format value, without its name. */
export function valueSize(value: AttributeValue): number {
  const [type, content] = Object.entries(value)[0] ?? [];
  switch (type) {
    case "S":
      return utf8(content as string);
    case "N":
      return numberSize(content as string);
    case "B":
      return Buffer.from(content as string, "base64").length;
    case "BOOL":
    case "NULL":
      return 1;
    case "SS":
      return (content as string[]).reduce((sum, element) => sum + utf8(element), 0);
    case "NS":
      return (content as string[]).reduce((sum, element) => sum + numberSize(element), 0);
    case "BS":
      return (content as string[]).reduce((sum, element) => sum + Buffer.from(element, "base64").length, 0);
    case "L":
      return 3 + (content as AttributeValue[]).reduce((sum, element) => sum + 1 + valueSize(element), 0);
    case "M":
      return 3 + Object.entries(content as Item).reduce((sum, [name, element]) => sum + 1 + utf8(name) + valueSize(element), 0);
    default:
      throw new TypeError(`not a DynamoDB attribute value: ${JSON.stringify(value)}`);
  }
}

/** A wire-format item's size (0 for no item). */
export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

/** The size of a value as the document client writes it (ledger/ledger.ts leaves undefined attributes out). */
function documentValueSize(value: unknown): number {
  if (typeof value === "string") return utf8(value);
  if (typeof value === "number" || typeof value === "bigint" || value instanceof NumberValue) return numberSize(String(value));
  if (typeof value === "boolean" || value === null) return 1;
  if (value instanceof Uint8Array) return value.length;
  if (value instanceof Set) return [...(value as Set<unknown>)].reduce((sum: number, element) => sum + documentValueSize(element), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, element) => sum + 1 + documentValueSize(element), 0);
  if (typeof value === "object")
    return 3 + Object.entries(value).reduce((sum, [name, element]) => (element === undefined ? sum : sum + 1 + utf8(name) + documentValueSize(element)), 0);
  return 0;
}

/** The size of an item as the document client takes it (plain JS values). */
export function documentItemSize(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((sum, [name, value]) => (value === undefined ? sum : sum + utf8(name) + documentValueSize(value)), 0);
}

/** Write units for an item of `bytes`: 1 KB steps, and at least one (a delete of nothing costs one). */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / KB));
}

/** Read units for `bytes` read: 4 KB steps, at least one step, half for an eventually consistent read. */
export function readUnits(bytes: number, consistent: boolean): number {
  const steps = Math.max(1, Math.ceil(bytes / (4 * KB)));
  return consistent ? steps : steps / 2;
}
