/**
 * JSON Lines rows and numbers as DynamoDB keeps them (ingest/json-row.ts, ingest/row-number.ts,
 * ingest/row-item.ts): the parser agrees with JSON.parse on everything but numbers' precision,
 * keeps each number's text, bounds nesting at DynamoDB's 32 levels without recursing, and no
 * reason quotes the row.
 */
import { NumberValue } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_NESTING, parseJsonRow } from "../../ingest/json-row.js";
import { dynamoNumber, jsonNumber } from "../../ingest/row-number.js";
import { toRowItem } from "../../ingest/row-item.js";
import { resolveIngestRules } from "../../ingest/rules.js";

/** What a parsed value means, numbers as their decimal value, for comparison with JSON.parse. */
function plain(value: unknown): unknown {
  if (value instanceof NumberValue) return Number(value.toString());
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([key, element]) => [key, plain(element)]));
  return value;
}

describe("the JSON Lines parser", () => {
  it("reads any JSON object as JSON.parse does, numbers aside", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 6 })), fc.constantFrom("", " ", "\t", "\r\n "), (object, space) => {
        const text = JSON.stringify(object, null, space);
        const parsed = parseJsonRow(text);
        expect(parsed.ok).toBe(true);
        expect(plain(parsed.ok && parsed.values)).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses what JSON.parse refuses, and says where without quoting the row", () => {
    for (const text of [
      '{"a":1,}',
      '{"a":01}',
      '{"a":"x\ty"}',
      '{"a":1} x',
      '{"a":tru}',
      '{"a":"\\x"}',
      '{"a":[1,2}',
      '{"secret',
      "{'a':1}",
      '{"a":.5}',
      '{"a":NaN}',
    ]) {
      expect(() => JSON.parse(text)).toThrow();
      const parsed = parseJsonRow(text);
      expect(parsed).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON: .* \(character \d+\)$/) });
      expect(!parsed.ok && parsed.reason).not.toMatch(/secret|tru|'a'/);
    }
    expect(parseJsonRow("[1]")).toEqual({ ok: false, reason: "a JSON Lines row must be an object" });
    expect(parseJsonRow("9007199254740993")).toEqual({ ok: false, reason: "a JSON Lines row must be an object" });
  });

  it("keeps a repeated key's first place and last value, and __proto__ as a key", () => {
    const parsed = parseJsonRow('{"a":1,"b":2,"a":3,"__proto__":{"x":1}}');
    expect(parsed.ok && Object.keys(parsed.values)).toEqual(["a", "b", "__proto__"]);
    expect(parsed.ok && parsed.values.a).toBe(3);
    expect(parsed.ok && Object.getPrototypeOf(parsed.values)).toBe(Object.prototype);
  });

  it("keeps each number's text when a double would change it", () => {
    const parsed = parseJsonRow('{"a":9007199254740993,"b":19.99,"c":1.0,"d":12345678901234567890123456789012345678,"e":1e-7,"f":-0}');
    expect(parsed.ok).toBe(true);
    const values = parsed.ok ? parsed.values : {};
    expect(values.a).toEqual(NumberValue.from("9007199254740993"));
    expect(values.b).toBe(19.99);
    expect(values.d).toEqual(NumberValue.from("12345678901234567890123456789012345678"));
    expect(values.c).toEqual(NumberValue.from("1.0"));
    expect(values.e).toEqual(NumberValue.from("1e-7"));
    expect(jsonNumber("42")).toBe(42);
  });

  it("refuses nesting past DynamoDB's 32 levels, however deep, without overflowing the stack", () => {
    const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
    expect(parseJsonRow(nested(MAX_NESTING)).ok).toBe(true);
    expect(parseJsonRow(nested(MAX_NESTING + 1))).toEqual({ ok: false, reason: "nested deeper than DynamoDB's 32 levels" });
    expect(parseJsonRow(`{"a":${"[".repeat(5_000)}${"]".repeat(5_000)}}`)).toEqual({ ok: false, reason: "nested deeper than DynamoDB's 32 levels" });
    expect(parseJsonRow(`{"a":${"[".repeat(1_000_000)}`).ok).toBe(false);
  });
});

describe("DynamoDB numbers", () => {
  it("are checked on their decimal text: 38 significant digits, 1E-130 to 9.99...E+125", () => {
    const nines = `9.${"9".repeat(37)}E+125`;
    expect(dynamoNumber(nines)).toEqual({ value: NumberValue.from(`${"9".repeat(38)}${"0".repeat(88)}`) });
    expect(dynamoNumber("1E+126")).toMatchObject({ problem: expect.stringMatching(/outside DynamoDB's number range/) });
    expect(dynamoNumber("-1E-130")).toEqual({ value: NumberValue.from(`-0.${"0".repeat(129)}1`) });
    expect(dynamoNumber("1E-131")).toMatchObject({ problem: expect.stringMatching(/outside/) });
    expect(dynamoNumber("1".repeat(39))).toMatchObject({ problem: expect.stringMatching(/38 significant digits/) });
    // Leading and trailing zeros are not significant (DynamoDB trims them).
    expect(dynamoNumber(`000${"1".repeat(38)}000`)).toEqual({ value: NumberValue.from(`${"1".repeat(38)}000`) });
    expect(dynamoNumber("0e999999")).toEqual({ value: 0 });
    expect(dynamoNumber("+1.50")).toEqual({ value: 1.5 });
    expect(dynamoNumber("9007199254740993")).toEqual({ value: NumberValue.from("9007199254740993") });
    expect(dynamoNumber("1e99999999999999999999")).toMatchObject({ problem: expect.stringMatching(/outside/) });
    expect(dynamoNumber("12abc")).toEqual({ problem: "is not a number" });
  });
});

describe("a JSON Lines row as an item", () => {
  const rule = resolveIngestRules([{ name: "events", bucket: "bkt", pattern: "e/*.jsonl", format: "jsonl", partitionKey: "id", types: { n: "number" } }])[0]!;
  const origin = { source: "s3://bkt/e/x.jsonl", version: "v1", line: 7 };
  const item = (text: string) => {
    const parsed = parseJsonRow(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    return toRowItem(rule, parsed.values, origin);
  };

  it("carries numbers exactly, nested ones too, and a number key as its text", () => {
    const result = item('{"id":9007199254740993,"n":"123456789012345678901234567890","big":9007199254740993,"deep":{"x":[1.10,2e3]}}');
    expect(result).toMatchObject({
      ok: true,
      item: {
        id: "9007199254740993",
        n: NumberValue.from("123456789012345678901234567890"),
        big: NumberValue.from("9007199254740993"),
        deep: { x: [1.1, 2000] },
      },
    });
  });

  it("rejects a number DynamoDB cannot hold, naming the column, never the value", () => {
    for (const [text, column] of [
      ['{"id":"a","n":1234567890123456789012345678901234567890}', "n"],
      ['{"id":"a","x":1e200}', "x"],
      ['{"id":"a","meta":{"deep":[1e-131]}}', "meta"],
      ['{"id":"a","n":"SSN-123-45-6789"}', "n"],
    ] as const) {
      const result = item(text);
      expect(result).toMatchObject({ ok: false, reason: expect.stringContaining(`column ${column}`) });
      expect(!result.ok && result.reason).not.toMatch(/1234567890|1e200|1e-131|SSN/);
    }
  });
});
