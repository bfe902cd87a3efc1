import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.js";
import { Command } from "commander";
import { bucketListOption, formatDuration, parseBucketName, parseDuration, parseInterval, parseSince, parseTime } from "../../cli/option-parsers.js";

describe("--since", () => {
  const now = new Date("2026-11-22T12:00:00.000Z");

  it("accepts durations ago and ISO-8601 times", () => {
    expect(parseSince("15m", now).toISOString()).toBe("2026-11-22T11:45:00.000Z");
    expect(parseSince("2d", now).toISOString()).toBe("2026-11-20T12:00:00.000Z");
    expect(parseSince("2026-11-21T09:30:00Z", now).toISOString()).toBe("2026-11-21T09:30:00.000Z");
  });

  it("rejects anything else with a usage error that shows the accepted forms", () => {
    expect(() => parseSince("yesterday", now)).toThrow(UsageError);
    expect(() => parseSince("2026-13-45", now)).toThrow(/ISO-8601/);
  });
});

describe("durations", () => {
  it("--reconcile-every takes 5m, 30s, milliseconds (300000, what --help once showed) and off", () => {
    const parse = parseInterval("--reconcile-every");
    expect(parse("5m")).toBe(300_000);
    expect(parse("30s")).toBe(30_000);
    expect(parse("300000")).toBe(300_000);
    expect(parse("off")).toBe(0);
    expect(() => parse("5 minutes")).toThrow(/--reconcile-every takes a duration like 30s/);
  });

  it("a default is shown in the largest whole unit", () => {
    expect(formatDuration(300_000)).toBe("5m");
    expect(formatDuration(900_000)).toBe("15m");
    expect(formatDuration(90_000)).toBe("90s");
    expect(formatDuration(7_200_000)).toBe("2h");
    expect(formatDuration(1500)).toBe("1500ms");
    expect(formatDuration(0)).toBe("0ms");
    for (const ms of [300_000, 90_000, 1500, 7_200_000]) expect(parseDuration("--timeout")(formatDuration(ms))).toBe(ms);
  });
});

describe("<bucket>", () => {
  it("takes a name S3 allows, as it is", () => {
    expect(parseBucketName("ledger-demo")).toBe("ledger-demo");
  });

  it("refuses a name no bucket can have as a usage error naming the rule it breaks", () => {
    expect(() => parseBucketName("Bad_Bucket!")).toThrow(UsageError);
    for (const [name, rule] of [
      ["Bad_Bucket!", /only of lowercase letters, numbers, periods \(\.\) and hyphens \(-\)/],
      ["ab", /between 3 and 63 characters/],
      ["-abc", /begin and end with a letter or number/],
      ["a..b", /two adjacent periods/],
      ["10.0.0.1", /IP address/],
      ["xn--abc", /reserved prefix xn--/],
      ["abc-s3alias", /reserved suffix -s3alias/],
    ] as const)
      expect(() => parseBucketName(name), name).toThrow(rule);
    expect(() => parseBucketName("Bad_Bucket!")).toThrow(/bucketnamingrules\.html/);
  });
});

describe("--bucket <name...>", () => {
  const parse = (...args: string[]) =>
    new Command()
      .addOption(bucketListOption("-b, --bucket <name...>", "buckets", ["ledger-demo"]))
      .exitOverride()
      .parse(args, { from: "user" })
      .opts<{ bucket: string[] }>().bucket;

  it("the default unless given; given names replace it, repeated or listed", () => {
    expect(parse()).toEqual(["ledger-demo"]);
    expect(parse("--bucket", "photos")).toEqual(["photos"]);
    expect(parse("--bucket", "photos", "--bucket", "logs")).toEqual(["photos", "logs"]);
    expect(parse("-b", "photos", "logs")).toEqual(["photos", "logs"]);
  });

  it("each name checked as a <bucket> is", () => {
    expect(() => parse("--bucket", "photos", "Bad_Bucket!")).toThrow(/"Bad_Bucket!" is not an S3 bucket name/);
  });
});

describe("time options", () => {
  const now = new Date("2026-11-22T12:00:00.000Z");

  it("take ISO-8601 or a duration ago, as --since does", () => {
    expect(parseTime("--as-of", "1w", now).toISOString()).toBe("2026-11-15T12:00:00.000Z");
    expect(parseTime("--from", "2h", now).toISOString()).toBe("2026-11-22T10:00:00.000Z");
    expect(parseTime("--to", "2026-11-21T09:30:00+01:00", now).toISOString()).toBe("2026-11-21T08:30:00.000Z");
  });

  it("name the option in the usage error", () => {
    expect(() => parseTime("--as-of", "noon", now)).toThrow(
      new UsageError('--as-of "noon" is not a time: use ISO-8601 (2026-11-21T09:00:00Z) or a duration ago (15m, 6h, 2d)'),
    );
    expect(() => parseTime("--to", "2026-02-30T25:00:00Z", now)).toThrow(/^--to "2026-02-30T25:00:00Z" is not a time/);
    expect(() => parseSince("noon", now)).toThrow(/^--since "noon"/);
  });
});
