/**
 * Ingestion rules: which objects are mirrored row by row into which DynamoDB table, and how.
 * One schema for every edge that takes rules (stack config, the component's arguments, the
 * Lambda environment, `bucket-ledger dev --ingest-rules`), with every problem reported at once.
 * Pure: no Pulumi and no AWS imports.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { describeIssues } from "../validation/parse.js";
import { IngestRulesError } from "./errors.js";

/** Attributes bucket-ledger adds to every row item; a column of the same name is refused. */
export const ROW_ATTRIBUTES = {
  /** `s3://<bucket>/<key>` of the file the row came from: the source index's partition key. */
  source: "_source",
  /** The file version the row came from (its version ID, or its ETag in an unversioned bucket). */
  version: "_version",
  /** The line of the file the row starts on. */
  line: "_line",
} as const;

/** The GSI bucket-ledger needs on a target table to find a file's rows (replace and delete). */
export const DEFAULT_SOURCE_INDEX = "bucket-ledger-source";

export const DEFAULT_ERROR_PREFIX = "bucket-ledger/ingest-errors/";

/**
 * DynamoDB attribute names are 1 to 64 KB, but key attribute names are at most 255 bytes:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-attributes
 */
const keyColumn = z
  .string()
  .min(1)
  .refine((name) => Buffer.byteLength(name) <= 255, "key attribute names are at most 255 bytes")
  .refine((name) => !(Object.values(ROW_ATTRIBUTES) as string[]).includes(name), "is an attribute bucket-ledger writes on every row");

/**
 * DynamoDB table names: 3 to 255 of letters, digits, `_`, `-` and `.`:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
 */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const RULE_NAME = /^[a-z0-9][a-z0-9-]{0,38}$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** S3 keys are at most 1,024 bytes of UTF-8. */
const MAX_S3_KEY_BYTES = 1024;
/** Half of a key, so that a digest-named key under it always fits (derivedKey). */
const keyPrefix = z
  .string()
  .min(1)
  .refine((prefix) => Buffer.byteLength(prefix) <= MAX_S3_KEY_BYTES / 2, "is longer than 512 bytes");

export const columnTypeSchema = z.enum(["string", "number", "boolean"]);
export type ColumnType = z.infer<typeof columnTypeSchema>;

export const ingestRuleSchema = z
  .object({
    /** Names the rule's table, metrics and records; lower case, digits and `-`. */
    name: z.string().regex(RULE_NAME, "use 1-39 lower-case letters, digits and -, starting with a letter or digit"),
    bucket: z.string().regex(BUCKET_NAME, "not a valid S3 bucket name"),
    /** `prefix*suffix` with at most one `*`, e.g. `imports/*.csv`; no `*` means one exact key. */
    pattern: z
      .string()
      .min(1)
      .refine((pattern) => pattern.split("*").length <= 2, "has more than one *; use prefix*suffix"),
    format: z.enum(["csv", "jsonl"]),
    /** CSV only: one character. */
    delimiter: z.string().length(1, "must be one character").default(","),
    /** Absent: the stack creates the table (on demand, PITR, SSE, deletion protection). */
    table: z.string().regex(TABLE_NAME, "not a valid DynamoDB table name").optional(),
    /** The GSI on `_source` an existing table must have for `replace` and `delete`. */
    sourceIndex: z.string().regex(TABLE_NAME, "not a valid index name").default(DEFAULT_SOURCE_INDEX),
    partitionKey: keyColumn,
    sortKey: keyColumn.optional(),
    /** Column types; columns not listed are strings. */
    types: z.record(z.string().min(1), columnTypeSchema).default({}),
    onOverwrite: z.enum(["replace", "upsert"]).default("replace"),
    onDelete: z.enum(["keep", "delete"]).default("delete"),
    /** Where a JSON Lines copy of each file's written items goes: `<copyPrefix><key without extension>.jsonl`. */
    copyPrefix: keyPrefix.optional(),
    /** Where each file's error report goes: `<errorPrefix><key>.errors.ndjson`. */
    errorPrefix: keyPrefix.default(DEFAULT_ERROR_PREFIX),
  })
  .strict();

export type IngestRuleInput = z.input<typeof ingestRuleSchema>;
export type IngestRule = z.output<typeof ingestRuleSchema>;

export const ingestRulesSchema = z.array(ingestRuleSchema);

interface Pattern {
  prefix: string;
  suffix: string;
}

export function patternOf(rule: Pick<IngestRule, "pattern">): Pattern & { exact: boolean } {
  const star = rule.pattern.indexOf("*");
  if (star === -1) return { prefix: rule.pattern, suffix: "", exact: true };
  return { prefix: rule.pattern.slice(0, star), suffix: rule.pattern.slice(star + 1), exact: false };
}

export function ruleCovers(rule: IngestRule, bucket: string, key: string): boolean {
  if (rule.bucket !== bucket) return false;
  const { prefix, suffix, exact } = patternOf(rule);
  if (exact) return key === prefix;
  return key.length >= prefix.length + suffix.length && key.startsWith(prefix) && key.endsWith(suffix);
}

/** The rule covering an object, if any; rules never overlap (validated), so there is at most one. */
export function ruleFor(rules: readonly IngestRule[], bucket: string, key: string): IngestRule | undefined {
  return rules.find((rule) => ruleCovers(rule, bucket, key));
}

/** True if some key could start with `written` and match the rule: a write there would trigger it. */
function prefixReachesRule(written: string, rule: IngestRule): boolean {
  const { prefix, exact } = patternOf(rule);
  if (exact) return prefix.startsWith(written);
  return written.startsWith(prefix) || prefix.startsWith(written);
}

function patternsOverlap(a: IngestRule, b: IngestRule): boolean {
  const x = patternOf(a);
  const y = patternOf(b);
  if (x.exact && y.exact) return x.prefix === y.prefix;
  if (x.exact) return ruleCovers(b, b.bucket, x.prefix);
  if (y.exact) return ruleCovers(a, a.bucket, y.prefix);
  const prefixes = x.prefix.startsWith(y.prefix) || y.prefix.startsWith(x.prefix);
  const suffixes = x.suffix.endsWith(y.suffix) || y.suffix.endsWith(x.suffix);
  return prefixes && suffixes;
}

/** The problems of one rule set as a whole (beyond each rule's schema), in config order. */
function crossRuleProblems(rules: IngestRule[], trackedBuckets: readonly string[] | undefined): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  rules.forEach((rule, index) => {
    const where = `ingestRules[${index}] (${rule.name})`;
    if (names.has(rule.name)) problems.push(`${where}: another rule has the name ${rule.name}`);
    names.add(rule.name);
    if (trackedBuckets && !trackedBuckets.includes(rule.bucket)) {
      problems.push(`${where}: bucket ${rule.bucket} is not tracked by this stack; ingestion follows the ledger, so track it first`);
    }
    if (rule.format === "jsonl" && rule.delimiter !== ",") problems.push(`${where}: delimiter applies to csv only`);
    for (const key of [rule.partitionKey, rule.sortKey]) {
      if (key !== undefined && rule.types[key] === "boolean")
        problems.push(`${where}: key column ${key} cannot be boolean (DynamoDB keys are strings, numbers or binary)`);
    }
    if (rule.sortKey === rule.partitionKey) problems.push(`${where}: partitionKey and sortKey are the same column`);
    for (const other of rules) {
      if (other.bucket !== rule.bucket) continue;
      for (const [what, written] of [
        ["errorPrefix", rule.errorPrefix],
        ["copyPrefix", rule.copyPrefix],
      ] as const) {
        if (written !== undefined && prefixReachesRule(written, other)) {
          problems.push(
            `${where}: ${what} ${JSON.stringify(written)} can match rule ${other.name}'s pattern ${JSON.stringify(other.pattern)}; what ingestion writes would be ingested again`,
          );
        }
      }
    }
  });
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      const [a, b] = [rules[i]!, rules[j]!];
      if (a.bucket === b.bucket && patternsOverlap(a, b))
        problems.push(`ingestRules: patterns of ${a.name} (${a.pattern}) and ${b.name} (${b.pattern}) overlap; an object must belong to one rule`);
    }
  }
  return problems;
}

/**
 * Validates a rule set. `trackedBuckets`, when given, are the buckets the ledger tracks; a rule
 * on any other bucket would never see an event.
 */
export function resolveIngestRules(input: unknown, trackedBuckets?: readonly string[]): IngestRule[] {
  const parsed = ingestRulesSchema.safeParse(input ?? []);
  if (!parsed.success)
    throw new IngestRulesError(`invalid ingestRules: ${describeIssues(parsed.error, "ingestRules").replace(/(^|; )(\d+)\./g, "$1ingestRules[$2].")}`);
  const problems = crossRuleProblems(parsed.data, trackedBuckets);
  if (problems.length === 1) throw new IngestRulesError(problems[0]!);
  if (problems.length > 1) throw new IngestRulesError(`invalid ingestRules:\n- ${problems.join("\n- ")}`);
  return parsed.data;
}

/** The `s3://bucket/key` a row records as its source. */
export function sourceUri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/**
 * A key written for a file (its report, its copy): `<prefix><name><suffix>`, or, when that would
 * pass S3's 1,024 bytes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html),
 * `<prefix>sha256/<the file key's SHA-256><suffix>`, which always fits (prefixes are at most 512
 * bytes): a file whose report could not be written would never finish.
 */
function derivedKey(prefix: string, key: string, name: string, suffix: string): string {
  const full = `${prefix}${name}${suffix}`;
  if (Buffer.byteLength(full) <= MAX_S3_KEY_BYTES) return full;
  return `${prefix}sha256/${createHash("sha256").update(key).digest("hex")}${suffix}`;
}

/** Where a file's error report goes. */
export function errorReportKey(rule: IngestRule, key: string): string {
  return derivedKey(rule.errorPrefix, key, key, ".errors.ndjson");
}

/** `<copyPrefix><key without its extension>.jsonl`, as the seed names its JSON copy. */
export function copyKey(rule: IngestRule, key: string): string | undefined {
  if (rule.copyPrefix === undefined) return undefined;
  const slash = key.lastIndexOf("/");
  const dot = key.lastIndexOf(".");
  return derivedKey(rule.copyPrefix, key, dot > slash + 1 ? key.slice(0, dot) : key, ".jsonl");
}
