/**
 * Numbers as DynamoDB keeps them, decided on their decimal text, never on a JS double: "up to 38
 * digits of precision", leading and trailing zeros trimmed, magnitude from 1E-130 to
 * 9.9999999999999999999999999999999999999E+125 (developer guide, "Supported data types and
 * naming rules", Number:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes).
 * "Numbers are sent across the network to DynamoDB as strings" (same page), so a number a double
 * cannot hold goes as its text, in lib-dynamodb's NumberValue.
 */
import { NumberValue } from "@aws-sdk/lib-dynamodb";

export const MAX_NUMBER_DIGITS = 38;
/** The exponent of a number's first significant digit: 1E-130 and 9.99...E+125 at the ends. */
const MIN_LEADING_EXPONENT = -130;
const MAX_LEADING_EXPONENT = 125;

/** A decimal's sign, its significant digits (none for zero) and the power of ten of the last one. */
interface Decimal {
  negative: boolean;
  digits: string;
  exponent: number;
}

/** Decimal text as CSV cells and JSON give it: `-12`, `+1.5`, `.5`, `5.`, `1e-7`. */
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

function decimalOf(text: string): Decimal | undefined {
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, sign, whole = "", fraction = "", exponent = "0"] = match;
  if (whole === "" && fraction === "") return undefined;
  let digits = whole + fraction;
  let power = Number(exponent) - fraction.length;
  const first = digits.search(/[1-9]/);
  if (first === -1) return { negative: false, digits: "", exponent: 0 };
  digits = digits.slice(first);
  const zeros = digits.length - digits.replace(/0+$/, "").length;
  if (zeros > 0) [digits, power] = [digits.slice(0, -zeros), power + zeros];
  return { negative: sign === "-", digits, exponent: power };
}

/** Plain decimal text, no exponent: what any DynamoDB number looks like on the wire. */
function plainText({ negative, digits, exponent }: Decimal): string {
  if (digits === "") return "0";
  const point = digits.length + exponent;
  const text =
    exponent >= 0 ? digits + "0".repeat(exponent) : point > 0 ? `${digits.slice(0, point)}.${digits.slice(point)}` : `0.${"0".repeat(-point)}${digits}`;
  return negative ? `-${text}` : text;
}

export type NumberResult = { value: number | NumberValue } | { problem: string };

/**
 * The value to write for a number given as text, or what DynamoDB would refuse in it (never the
 * value itself: rows may hold what their owner would not see in a report). A JS number when it
 * holds the value exactly and the document client takes it (a safe magnitude), else NumberValue.
 */
export function dynamoNumber(text: string): NumberResult {
  const decimal = decimalOf(text.trim());
  if (!decimal) return { problem: "is not a number" };
  if (decimal.digits.length > MAX_NUMBER_DIGITS) return { problem: `has more than DynamoDB's ${MAX_NUMBER_DIGITS} significant digits` };
  const leading = decimal.exponent + decimal.digits.length - 1;
  if (decimal.digits !== "" && (leading < MIN_LEADING_EXPONENT || leading > MAX_LEADING_EXPONENT))
    return { problem: "is outside DynamoDB's number range (1E-130 to 9.9999999999999999999999999999999999999E+125 in magnitude)" };
  const plain = plainText(decimal);
  const number = Number(plain);
  return { value: Math.abs(number) <= Number.MAX_SAFE_INTEGER && String(number) === plain ? number : NumberValue.from(plain) };
}

/**
 * A JSON number as the row reader keeps it: a JS number when JSON.parse would give the same
 * text back (most integers and short decimals: nothing to check), else its source text, checked
 * and normalised by {@link dynamoNumber} when the row becomes an item.
 */
export function jsonNumber(text: string): number | NumberValue {
  const number = Number(text);
  return Math.abs(number) <= Number.MAX_SAFE_INTEGER && String(number) === text && !text.includes("e") ? number : NumberValue.from(text);
}
