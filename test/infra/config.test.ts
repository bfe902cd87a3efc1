/** Stack configuration: parsing, validation errors that name the fix, and Pulumi.yaml in sync. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BucketLedgerConfigError, bucketLedgerArgsSchema, parseBucketPattern, resolveBucketLedgerArgs } from "../../infra/args.js";
import { argsFromStackConfig, STACK_CONFIG_KEYS, type StackConfigValues } from "../../infra/stack-config.js";

const resolve = (values: StackConfigValues) => resolveBucketLedgerArgs(argsFromStackConfig(values));
const list = (...items: string[]) => JSON.stringify(items);

describe("stack configuration", () => {
  it("defaults to a created bucket with sqs delivery and nightly list reconciliation", () => {
    expect(resolve({})).toMatchObject({
      createBucket: { versioning: false, filters: [] },
      adoptBuckets: [],
      delivery: "sqs",
      retentionDays: 30,
      history: { enabled: true, days: 90 },
      enrich: [],
      deletionProtection: true,
      reconcile: { source: "list", schedule: "cron(0 3 * * ? *)", timezone: "UTC", maxDeleteFraction: 0.1 },
    });
  });

  it("reads adopted buckets with prefix*suffix filters, grouped per bucket", () => {
    const args = resolve({ createBucket: "false", delivery: "eventbridge", adoptBuckets: list("photos/raw/*.jpg", "photos/thumbs/", "logs") });
    expect(args.adoptBuckets).toEqual([
      {
        name: "photos",
        filters: [
          { prefix: "raw/", suffix: ".jpg" },
          { prefix: "thumbs/", suffix: "" },
        ],
      },
      { name: "logs", filters: [] },
    ]);
    expect(args.createBucket).toBeUndefined();
  });

  it.each<[string, StackConfigValues, RegExp]>([
    ["a bad cron", { reconcileSchedule: "0 3 * * *" }, /not an EventBridge Scheduler expression: use cron\(/],
    ["a cron without ?", { reconcileSchedule: "cron(0 3 * * 1 *)" }, /one of day-of-month and day-of-week must be \?/],
    ["an unknown delivery mode", { delivery: "kinesis" }, /delivery: Invalid option: expected one of "sqs"\|"eventbridge"/],
    ["no bucket", { createBucket: "false" }, /no bucket to track/],
    ["overlapping filters", { bucketFilters: list("logs/", "logs/2026/*.gz") }, /filters logs\/\* and logs\/2026\/\*\.gz overlap/],
    [
      "an invalid bucket name",
      { createBucket: "false", delivery: "eventbridge", adoptBuckets: list("Not_A_Bucket") },
      /"Not_A_Bucket" is not a valid S3 bucket name/,
    ],
    ["a non-boolean", { deletionProtection: "yes" }, /config deletionProtection: expected true or false/],
    ["a non-integer", { retentionDays: "thirty" }, /config retentionDays: expected an integer/],
    ["a history of no days", { historyDays: "0" }, /history\.days/],
    ["an unknown enrichment", { enrich: list("colour") }, /enrich/],
    ["too many change shards", { changeShards: "64" }, /changeShards/],
    ["a warm throughput under on-demand's own", { warmWriteUnitsPerSecond: "1000" }, /warmWriteUnitsPerSecond/],
    ["an unknown time zone", { reconcileTimezone: "Mars/Olympus" }, /not an IANA time zone/],
    ["sqs on an adopted bucket", { adoptBuckets: list("photos") }, /would replace the whole notification configuration of photos/],
    ["two wildcards", { bucketFilters: list("a*b*c") }, /more than one \*/],
  ])("rejects %s with a clear message", (_name, values, message) => {
    expect(() => resolve(values)).toThrow(BucketLedgerConfigError);
    expect(() => resolve(values)).toThrow(message);
  });

  it("parses bucket patterns", () => {
    expect(parseBucketPattern("b-1/x/y*.z", "t")).toEqual({ name: "b-1", filter: { prefix: "x/y", suffix: ".z" } });
    expect(parseBucketPattern("b-1/*.z", "t")).toEqual({ name: "b-1", filter: { prefix: "", suffix: ".z" } });
  });

  it("declares every key in Pulumi.yaml with the same defaults the program applies", () => {
    const project = parse(readFileSync(new URL("../../Pulumi.yaml", import.meta.url), "utf8")) as {
      config: Record<string, { type: string; default: unknown; description: string }>;
    };
    expect(Object.keys(project.config).sort()).toEqual([...STACK_CONFIG_KEYS].sort());
    for (const [key, declaration] of Object.entries(project.config)) expect(declaration.description, key).toBeTruthy();
    // Feeding Pulumi.yaml's defaults through the program gives the program's own defaults.
    const asConfig = Object.fromEntries(
      Object.entries(project.config).map(([key, { default: value }]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    );
    expect(resolve(asConfig)).toEqual(resolve({}));
    expect(bucketLedgerArgsSchema.parse({ createBucket: {} }).reconcile.maxDeleteFraction * 100).toBe(project.config.reconcileMaxDeletePercent!.default);
  });
});
