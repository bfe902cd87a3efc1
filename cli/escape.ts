/**
 * Untrusted text shown by the CLI: object keys, content types, tags, user metadata, requesters,
 * reasons. A key may hold any character, and a terminal acts on some instead of showing them
 * (ESC starts a sequence that can clear the screen, hide every later line or plant a link; CR
 * overwrites a row; bidi controls reverse a name), while line splitters other than JSON's break
 * a record at U+2028/U+2029 or C1's NEL. So every such string is escaped where it is shown: on a
 * terminal visibly and unambiguously, as GNU ls `--quoting-style=escape` does (a backslash
 * itself doubled), and in JSON as `\uXXXX`, which parses back to the same value.
 */

/**
 * Characters either output escapes: C0 and DEL, C1 (U+0080-U+009F), the Arabic letter mark, the
 * bidi marks, embeddings, overrides and isolates (U+200E/F, U+202A-U+202E, U+2066-U+2069), the
 * line and paragraph separators, and lone surrogates (which Node would write as U+FFFD, so two
 * keys would look alike). With the `u` flag a well-formed surrogate pair is one astral code
 * point and never matches.
 */
const CONTROL_SOURCE = String.raw`\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff`;

/** On a terminal the backslash is escaped too, so an escape in the output is never the key's own text. */
const TERMINAL_UNSAFE = new RegExp(`[\\\\${CONTROL_SOURCE}]`, "u");
const TERMINAL_UNSAFE_ALL = new RegExp(TERMINAL_UNSAFE.source, "gu");

/** Outside strings JSON text is ASCII, and a string never holds these raw after `\`: replacing them keeps the value. */
const JSON_UNSAFE_ALL = new RegExp(`[\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]`, "gu");

const NAMED: Record<string, string> = {
  "\\": "\\\\",
  "\x07": "\\a",
  "\b": "\\b",
  "\t": "\\t",
  "\n": "\\n",
  "\v": "\\v",
  "\f": "\\f",
  "\r": "\\r",
  "\x1b": "\\e",
};

const hex = (code: number, digits: number) => code.toString(16).padStart(digits, "0");

/** One unsafe character as the terminal shows it: a single byte in UTF-8 as `\xNN`, anything wider as `\uNNNN`. */
function escapeOne(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  const code = char.codePointAt(0)!;
  return code <= 0x7f ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
}

/** Untrusted text made safe to write to a terminal: nothing in it is acted on, and it reads back unambiguously. */
export function escapeTerminal(text: string): string {
  return TERMINAL_UNSAFE.test(text) ? text.replace(TERMINAL_UNSAFE_ALL, escapeOne) : text;
}

/**
 * A message of ours that may quote untrusted text (an error naming a key): escaped as
 * `escapeTerminal` does, but its own line breaks kept, so a multi-line message still reads as
 * lines. A line break a key brings can only start a line, never act on the terminal.
 */
export function escapeTerminalLines(text: string): string {
  return text.split("\n").map(escapeTerminal).join("\n");
}

/**
 * A value as one line of JSON for stdout (NDJSON records and JSON documents alike): the same
 * parsed value as `JSON.stringify`'s, with nothing a terminal or a line splitter acts on.
 */
export function toJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json.replace(JSON_UNSAFE_ALL, (char) => `\\u${hex(char.charCodeAt(0), 4)}`);
}

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]/u;
/** Emoji shown as pictures (by default, or asked for with VS16) take two columns; text-style symbols (©, ™) one. */
const EMOJI = /^\p{Emoji_Presentation}|\ufe0f/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** East Asian Wide and Fullwidth blocks (Unicode UAX #11): two terminal columns each. */
const WIDE_RANGES: [number, number][] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1b000, 0x1b2ff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

function graphemeWidth(grapheme: string): number {
  if (ZERO_WIDTH.test(grapheme)) return 0;
  if (EMOJI.test(grapheme)) return 2;
  const code = grapheme.codePointAt(0)!;
  return WIDE_RANGES.some(([from, to]) => code >= from && code <= to) ? 2 : 1;
}

/** Terminal columns of already escaped text: wide characters take two, combining marks none. */
export function displayWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let width = 0;
  for (const { segment } of segmenter.segment(text)) width += graphemeWidth(segment);
  return width;
}

export function padEndDisplay(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}

export function padStartDisplay(text: string, width: number): string {
  return " ".repeat(Math.max(0, width - displayWidth(text))) + text;
}

/**
 * Untrusted text escaped, then cut to `width` columns with an ellipsis when longer. An escape is
 * never cut in half, so what is shown still reads unambiguously.
 */
export function fitDisplay(text: string, width: number): string {
  const escaped = escapeTerminal(text);
  if (displayWidth(escaped) <= width) return escaped;
  let shown = "";
  let used = 0;
  for (const unit of units(text)) {
    const unitWidth = displayWidth(unit);
    if (used + unitWidth > width - 1) break;
    shown += unit;
    used += unitWidth;
  }
  return `${shown}\u2026`;
}

/** The escaped text as what a reader sees as one thing each: an escape, or a grapheme. */
function* units(text: string): Generator<string> {
  let safe = "";
  for (const char of text) {
    if (!TERMINAL_UNSAFE.test(char)) {
      safe += char;
      continue;
    }
    for (const { segment } of segmenter.segment(safe)) yield segment;
    safe = "";
    yield escapeOne(char);
  }
  for (const { segment } of segmenter.segment(safe)) yield segment;
}
