/** The keys ingestion writes for a file (its error report, its copy) always fit S3's 1,024 bytes (issue 29 Medium 7). */
import fc from "fast-check";
import { expect, it } from "vitest";
import { copyKey, errorReportKey, resolveIngestRules } from "../../ingest/rules.js";

const rule = resolveIngestRules([
  { name: "offers", bucket: "bkt", pattern: "imports/*", format: "csv", partitionKey: "id", copyPrefix: "copies/", errorPrefix: "errors/" },
])[0]!;

it("a short key's report and copy are named after it; a long one's by its digest, under the same prefix", () => {
  expect(errorReportKey(rule, "imports/a.csv")).toBe("errors/imports/a.csv.errors.ndjson");
  expect(copyKey(rule, "imports/a.csv")).toBe("copies/imports/a.jsonl");
  const long = `imports/${"é".repeat(506)}.csv`;
  expect(errorReportKey(rule, long)).toMatch(/^errors\/sha256\/[0-9a-f]{64}\.errors\.ndjson$/);
  expect(copyKey(rule, long)).toMatch(/^copies\/sha256\/[0-9a-f]{64}\.jsonl$/);
});

it("whatever the key and prefixes, derived keys fit and two files never share one", () => {
  const key = fc.string({ unit: "grapheme", minLength: 1, maxLength: 1_024 }).filter((k) => Buffer.byteLength(`imports/${k}`) <= 1_024);
  const prefix = fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 512 });
  fc.assert(
    fc.property(key, key, prefix, (a, b, errorPrefix) => {
      fc.pre(a !== b);
      const r = { ...rule, errorPrefix };
      for (const k of [a, b]) expect(Buffer.byteLength(errorReportKey(r, `imports/${k}`))).toBeLessThanOrEqual(1_024);
      expect(errorReportKey(r, `imports/${a}`)).not.toBe(errorReportKey(r, `imports/${b}`));
    }),
    { numRuns: 300 },
  );
  expect(() =>
    resolveIngestRules([{ name: "x", bucket: "bkt", pattern: "imports/*", format: "csv", partitionKey: "id", errorPrefix: "e".repeat(513) }]),
  ).toThrow(/longer than 512 bytes/);
});
