import { describe, expect, it } from "vitest";
import { displayWidth, escapeTerminal, escapeTerminalLines, fitDisplay, padEndDisplay, padStartDisplay, toJson } from "../../cli/escape.js";

/** Anything a terminal acts on, or a line splitter breaks at, or that is no character at all. */
const RAW_CONTROL = new RegExp(String.raw`[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}`, "u");
/** Python's str.splitlines() boundaries. */
const SPLITLINES = new RegExp(String.raw`\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]`);

describe("escapeTerminal", () => {
  it.each([
    ["plain ASCII unchanged", "reports/2026/q3.csv", "reports/2026/q3.csv"],
    ["spaces and symbols unchanged", "a b+c%20d=e&f", "a b+c%20d=e&f"],
    ["non-ASCII letters unchanged", "unicode/café/ﬁle.txt", "unicode/café/ﬁle.txt"],
    ["an astral character unchanged", "emoji/😀.png", "emoji/😀.png"],
    ["a combining mark unchanged", "e\u0301.txt", "e\u0301.txt"],
    ["a backslash doubled", "C:\\temp\\x", "C:\\\\temp\\\\x"],
    ["a key that spells an escape stays distinct from one that holds it", "a\\e", "a\\\\e"],
    ["ESC", "report.csv\x1b[8m", "report.csv\\e[8m"],
    ["clear screen", "\x1b[2J\x1b[H", "\\e[2J\\e[H"],
    ["a window title (OSC ... BEL)", "\x1b]0;owned\x07", "\\e]0;owned\\a"],
    ["a hidden link (OSC 8 ... ST)", "\x1b]8;;http://x\x1b\\y\x1b]8;;\x1b\\", "\\e]8;;http://x\\e\\\\y\\e]8;;\\e\\\\"],
    ["CR", "ok.txt\rbad", "ok.txt\\rbad"],
    ["LF and CRLF", "a\nb\r\nc", "a\\nb\\r\\nc"],
    ["TAB, BS, VT, FF", "a\tb\bc\vd\fe", "a\\tb\\bc\\vd\\fe"],
    ["NUL and other C0 as \\xNN", "a\x00b\x01c\x1f", "a\\x00b\\x01c\\x1f"],
    ["DEL", "a\x7fb", "a\\x7fb"],
    ["C1: CSI, NEL, OSC", "a\u009b2Jb\u0085c\u009d", "a\\u009b2Jb\\u0085c\\u009d"],
    ["line and paragraph separators", "a\u2028b\u2029c", "a\\u2028b\\u2029c"],
    ["right-to-left override", "invoice\u202Efdp.exe", "invoice\\u202efdp.exe"],
    [
      "every bidi control",
      "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069",
      "\\u061c\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069",
    ],
    ["a lone high surrogate", "a\ud83db", "a\\ud83db"],
    ["a lone low surrogate", "a\ude00b", "a\\ude00b"],
    ["an astral pair beside a lone surrogate", "😀\ud83d", "😀\\ud83d"],
  ])("%s", (_name, input, shown) => {
    const escaped = escapeTerminal(input);
    expect(escaped).toBe(shown);
    expect(escaped).not.toMatch(RAW_CONTROL);
  });

  it("is one to one: different keys never look the same", () => {
    const keys = ["a\\e", "a\x1b", "a\\\\e", "a\\x1b", "a\\u202e", "a\u202e", "a\ud800", "a\\ud800"];
    expect(new Set(keys.map(escapeTerminal)).size).toBe(keys.length);
  });
});

describe("escapeTerminalLines", () => {
  it("keeps a message's line breaks and escapes everything else", () => {
    expect(escapeTerminalLines("first \x1b[8mkey\nsecond\r\u202e")).toBe("first \\e[8mkey\nsecond\\r\\u202e");
  });
});

describe("toJson", () => {
  it.each([
    ["a plain record", { key: "a b.txt", size: 1 }],
    ["C0 (JSON.stringify's own escapes)", { key: "report.csv\x1b[8m\r\n\t" }],
    ["line and paragraph separators", { key: "a\u2028b\u2029c" }],
    ["C1 and DEL", { key: "a\u0085b\u009bc\x7f" }],
    ["bidi controls", { key: "invoice\u202Efdp.exe\u2066\u200f\u061c" }],
    ["astral characters and a lone surrogate", { key: "😀/\ud83d/\ude00" }],
    ["nested, in keys too", { tags: { "x\u2028": ["\u202e"] }, n: [1.5, null, true] }],
  ])("%s: one line, nothing raw, the same value parsed", (_name, value) => {
    const json = toJson(value);
    expect(json).not.toMatch(RAW_CONTROL);
    expect(json.split(SPLITLINES)).toHaveLength(1);
    expect(JSON.parse(json)).toEqual(value);
  });

  it("keeps the characters it need not touch", () => {
    expect(toJson({ key: "café/😀" })).toBe('{"key":"café/😀"}');
  });
});

describe("display width", () => {
  it.each([
    ["ASCII", "abc", 3],
    ["empty", "", 0],
    ["a combining mark adds nothing", "e\u0301", 1],
    ["CJK takes two columns", "報告.csv", 8],
    ["an emoji takes two", "😀", 2],
    ["a flag is one grapheme of two columns", "🇫🇷", 2],
    ["a text-style symbol takes one", "©", 1],
    ["escapes count as what they show", escapeTerminal("a\x1b"), 3],
  ])("%s", (_name, text, width) => expect(displayWidth(text)).toBe(width));

  it("pads by columns, not code units", () => {
    expect(padEndDisplay("報告", 6)).toBe("報告  ");
    expect(padStartDisplay("😀", 4)).toBe("  😀");
    expect(padEndDisplay("toolong", 3)).toBe("toolong");
  });

  it("fits escaped text to a column, never cutting an escape or a grapheme", () => {
    expect(fitDisplay("text/plain", 18)).toBe("text/plain");
    expect(fitDisplay("text/\x1b[31mred", 10)).toBe("text/\\e[3\u2026");
    expect(fitDisplay("ab\u202ecdef", 5)).toBe("ab\u2026");
    expect(fitDisplay("報告報告", 6)).toBe("報告\u2026");
    expect(displayWidth(fitDisplay("x".repeat(40) + "\x1b", 18))).toBe(18);
  });
});
