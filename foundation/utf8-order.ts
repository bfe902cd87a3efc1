/**
 * Compares strings in UTF-8 byte order, the order of S3 listings and DynamoDB sort keys.
 * JavaScript's `<` compares UTF-16 code units, which puts astral characters (surrogate
 * pairs, U+D800-DFFF) before U+E000-FFFF; UTF-8 and code-point order put them after.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) {
      // Only one side is astral: it is the larger code point only against U+E000 and up.
      if (xSurrogate) return y >= 0xe000 ? 1 : x - y;
      return x >= 0xe000 ? -1 : x - y;
    }
    return x - y;
  }
  return a.length - b.length;
}
