/** Parsers for the CLI's option values; each names its option in the error it throws. */
import { Argument, InvalidArgumentError, Option } from "commander";
import { BUCKET_NAMING_RULES_URL, bucketNameProblem } from "../aws/bucket-name.js";
import { UsageError } from "./errors.js";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A time option (`--since`, `--as-of`, `--from`, `--to`): an ISO-8601 time, or a duration ago
 * such as `15m`, `6h`, `2d`. Anything else is a usage error naming the option `name`.
 */
export function parseTime(name: string, value: string, now: Date = new Date()): Date {
  const relative = /^(\d+)\s*([smhdw])$/.exec(value.trim());
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[relative[2]!]!);
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const parsed = new Date(value);
    if (!Number.isNaN(parsed.getTime())) return parsed;
  }
  throw new UsageError(`${name} ${JSON.stringify(value)} is not a time: use ISO-8601 (2026-11-21T09:00:00Z) or a duration ago (15m, 6h, 2d)`);
}

export const parseSince = (value: string, now?: Date): Date => parseTime("--since", value, now);

export function parsePositiveInt(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
    return parsed;
  };
}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A bare number is milliseconds: what `--help` once showed as these options' defaults. */
const MILLISECONDS = /^\d+$/;

/** Parses `500ms`, `2s`, `10m`, `1h` (or milliseconds, `1500`) for the option `name`. */
export function parseDuration(name: string) {
  return (value: string): number => {
    if (MILLISECONDS.test(value.trim())) return Number(value);
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
    if (!match) throw new InvalidArgumentError(`${name} takes a duration like 500ms, 2s, 10m or 1h, got ${JSON.stringify(value)}`);
    return Math.round(Number(match[1]) * DURATION_MS[match[2]!]!);
  };
}

/** A duration as the options take it, in the largest whole unit: 300000 is `5m`, 1500 is `1500ms`. For `--help`'s defaults. */
export function formatDuration(ms: number): string {
  const unit = (["h", "m", "s"] as const).find((candidate) => ms > 0 && ms % DURATION_MS[candidate]! === 0);
  return unit ? `${ms / DURATION_MS[unit]!}${unit}` : `${ms}ms`;
}

/** An option taking a duration (parseDuration), its default shown in `--help` as a duration (`15m`), not milliseconds. */
export function durationOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, description).argParser(parseDuration(optionName(flags))).default(defaultMs, formatDuration(defaultMs));
}

const optionName = (flags: string) => flags.split(/[ ,]/)[0]!;

/** A port for the option `name`; 0 picks a free one. */
export function parsePort(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new InvalidArgumentError(`${name} must be a port number (0 picks a free one)`);
    return parsed;
  };
}

/** `30s`, `10m`, `1h`, milliseconds (`300000`) or `off` (0) for the option `name`. */
export function parseInterval(name: string) {
  return (value: string): number => {
    if (value === "off") return 0;
    if (MILLISECONDS.test(value)) return Number(value);
    const match = /^(\d+)([smh])$/.exec(value);
    if (!match) throw new InvalidArgumentError(`${name} takes a duration like 30s, 10m, 1h, or off`);
    return Number(match[1]) * DURATION_MS[match[2]!]!;
  };
}

/** An option taking an interval (parseInterval), its default shown in `--help` as a duration (`5m`). */
export function intervalOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, description).argParser(parseInterval(optionName(flags))).default(defaultMs, formatDuration(defaultMs));
}

/** Parses a fraction 0-1 for the option `name`. */
export function parseFraction(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === "" || !Number.isFinite(parsed) || parsed < 0 || parsed > 1)
      throw new InvalidArgumentError(`${name} must be a fraction between 0 and 1 (0.1 = 10%), got ${JSON.stringify(value)}`);
    return parsed;
  };
}

/** `--content-type 'image/*'`: a media type with `*` for any run of characters, matched whole and case-insensitively. */
export function parseContentTypePattern(value: string): RegExp {
  const pattern = value.trim().toLowerCase();
  if (!/^[a-z0-9*][a-z0-9!#$&^_.+*-]*\/[a-z0-9!#$&^_.+*-]+$/.test(pattern))
    throw new InvalidArgumentError(`--content-type takes a media type such as image/png or image/*, got ${JSON.stringify(value)}`);
  return new RegExp(`^${pattern.replace(/[.+^$]/g, "\\$&").replaceAll("*", ".*")}$`);
}

/** One `--tag`: `key=value` (that value) or `key` (any value). */
export interface TagFilter {
  key: string;
  value?: string;
}

/** `--tag team=data`, repeatable: every one must hold. */
export function parseTagFilter(value: string, previous: TagFilter[] = []): TagFilter[] {
  const equals = value.indexOf("=");
  const key = equals === -1 ? value : value.slice(0, equals);
  if (key.length === 0) throw new InvalidArgumentError(`--tag takes key=value or key, got ${JSON.stringify(value)}`);
  return [...previous, equals === -1 ? { key } : { key, value: value.slice(equals + 1) }];
}

/**
 * A `<bucket>` argument. A name no S3 bucket can have is a typo, not a bucket the ledger has
 * not seen yet: a usage error naming the rule it breaks, before the ledger is asked. The name
 * is quoted as given: the CLI escapes every error message for the terminal.
 */
export function parseBucketName(value: string): string {
  const problem = bucketNameProblem(value);
  if (problem !== undefined) throw new UsageError(`"${value}" is not an S3 bucket name: ${problem} (${BUCKET_NAMING_RULES_URL})`);
  return value;
}

export const bucketArgument = (): Argument => new Argument("<bucket>", "bucket name").argParser(parseBucketName);

/** A repeatable `--bucket <name...>`, each name checked as a `<bucket>` is; given ones replace the default. */
export function bucketListOption(flags: string, description: string, defaults: string[]): Option {
  // Commander hands a custom parser of a variadic option the default first: it is replaced, not appended to.
  return new Option(flags, description)
    .argParser((value, previous: string[]) => [...(previous === defaults ? [] : previous), parseBucketName(value)])
    .default(defaults);
}
