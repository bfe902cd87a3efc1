/**
 * Keys that break naive trackers: form encoding, unicode, astral characters, 1,024 bytes. The
 * demo uploads them, and the tests check the ledger, the CLI and the API against them.
 */
export const TRICKY_KEYS = [
  "reports/2026/q1 summary.pdf",
  "math/1+1=2.txt",
  "math/a + b = c.txt",
  "percent/100%.txt",
  "query/what?x=1&y=2#frag.txt",
  "unicode/日本語/ファイル.txt",
  "unicode/café/ﬁle.txt",
  "emoji/😀 party.txt",
  "emoji/\u{1F680}/rocket.bin",
  "halfwidth/\uFF61dot.txt",
  `long/${"k".repeat(1024 - "long/".length)}`,
  "empty-file.txt",
  "deep/a/b/c/d/e/f/g/h.json",
];
