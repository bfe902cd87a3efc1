/**
 * One JSON Lines row, parsed without JSON.parse, for three things it cannot do:
 * - keep each number's text (JSON.parse rounds `9007199254740993` to a double; DynamoDB keeps
 *   38 digits): numbers come as {@link jsonNumber} gives them;
 * - refuse nesting deeper than DynamoDB stores (32 levels, the row's own attributes the first:
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-attributes)
 *   before anything walks the value; the parser itself keeps an explicit stack, so no depth of
 *   input can overflow the call stack;
 * - say what is wrong without quoting the row (Node's JSON errors quote its text).
 * The grammar is RFC 8259's, as JSON.parse reads it: a key repeated keeps its first place and
 * its last value, and `__proto__` is an ordinary key.
 */
import { NumberValue } from "@aws-sdk/lib-dynamodb";
import { jsonNumber } from "./row-number.js";

/** Containers on a path, the row itself included: a scalar inside 31 nested maps or lists is the deepest DynamoDB keeps. */
export const MAX_NESTING = 32;

export type JsonValue = string | number | NumberValue | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonRowResult = { ok: true; values: Record<string, JsonValue> } | { ok: false; reason: string };

class JsonRowError extends Error {}

type Frame = { object: Record<string, JsonValue>; key: string } | { array: JsonValue[] };

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const HEX4 = /^[0-9a-fA-F]{4}$/;

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

export function parseJsonRow(text: string): JsonRowResult {
  try {
    const value = new Parser(text).parse();
    if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof NumberValue) {
      return { ok: false, reason: "a JSON Lines row must be an object" };
    }
    return { ok: true, values: value as Record<string, JsonValue> };
  } catch (error) {
    if (error instanceof JsonRowError) return { ok: false, reason: error.message };
    throw error;
  }
}

class Parser {
  private at = 0;

  constructor(private readonly text: string) {}

  parse(): JsonValue {
    const stack: Frame[] = [];
    let value: JsonValue;
    for (;;) {
      this.skipWhitespace();
      const char = this.text[this.at];
      if (char === "{" || char === "[") {
        if (stack.length >= MAX_NESTING) throw new JsonRowError(`nested deeper than DynamoDB's ${MAX_NESTING} levels`);
        this.at++;
        this.skipWhitespace();
        if (char === "{") {
          if (this.text[this.at] === "}") {
            this.at++;
            value = {};
          } else {
            stack.push({ object: {}, key: this.key() });
            continue;
          }
        } else if (this.text[this.at] === "]") {
          this.at++;
          value = [];
        } else {
          stack.push({ array: [] });
          continue;
        }
      } else {
        value = this.scalar();
      }
      // Hand the value to the container it is in, and close each container that ends here.
      for (;;) {
        const top = stack.at(-1);
        if (top === undefined) {
          this.skipWhitespace();
          if (this.at !== this.text.length) this.fail("unexpected text after the value");
          return value;
        }
        if ("array" in top) top.array.push(value);
        else if (top.key === "__proto__") Object.defineProperty(top.object, top.key, { value, writable: true, enumerable: true, configurable: true });
        else top.object[top.key] = value;
        this.skipWhitespace();
        const next = this.text[this.at++];
        if (next === ",") {
          if (!("array" in top)) {
            this.skipWhitespace();
            top.key = this.key();
          }
          break;
        }
        if (next !== ("array" in top ? "]" : "}"))
          this.fail(next === undefined ? "the line ends inside an object or array" : "expected , or the container's end");
        stack.pop();
        value = "array" in top ? top.array : top.object;
      }
    }
  }

  private fail(problem: string, at = this.at - 1): never {
    throw new JsonRowError(`not JSON: ${problem} (character ${Math.max(at, 0) + 1})`);
  }

  private skipWhitespace(): void {
    while (this.at < this.text.length && isWhitespace(this.text.charCodeAt(this.at))) this.at++;
  }

  /** A member's key and its colon. */
  private key(): string {
    if (this.text[this.at] !== '"') this.fail("expected a quoted key", this.at);
    const key = this.string();
    this.skipWhitespace();
    if (this.text[this.at] !== ":") this.fail("expected : after a key", this.at);
    this.at++;
    return key;
  }

  private scalar(): JsonValue {
    const char = this.text[this.at];
    if (char === '"') return this.string();
    if (char === "-" || (char !== undefined && char >= "0" && char <= "9")) {
      NUMBER.lastIndex = this.at;
      const match = NUMBER.exec(this.text);
      if (!match) this.fail("malformed number", this.at);
      this.at += match[0].length;
      return jsonNumber(match[0]);
    }
    for (const [word, value] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    return this.fail(char === undefined ? "the line ends where a value was expected" : "expected a value", this.at);
  }

  private string(): string {
    const { text } = this;
    let out = "";
    let start = ++this.at;
    for (;;) {
      if (this.at >= text.length) this.fail("the line ends inside a string", this.at);
      const code = text.charCodeAt(this.at);
      if (code === 0x22) {
        out += text.slice(start, this.at++);
        return out;
      }
      if (code < 0x20) this.fail("a control character inside a string (escape it)", this.at);
      if (code !== 0x5c) {
        this.at++;
        continue;
      }
      out += text.slice(start, this.at);
      const escape = text[this.at + 1];
      if (escape === "u") {
        const hex = text.slice(this.at + 2, this.at + 6);
        if (!HEX4.test(hex)) this.fail("a \\u escape needs four hex digits", this.at);
        out += String.fromCharCode(parseInt(hex, 16));
        this.at += 6;
      } else {
        const replacement = escape === undefined ? undefined : ESCAPES[escape];
        if (replacement === undefined) this.fail("an unknown escape in a string", this.at);
        out += replacement;
        this.at += 2;
      }
      start = this.at;
    }
  }
}
