/**
 * The environment contract between infra/ (which sets the variables) and functions/ (which
 * parses them): the types reject a misspelt or missing variable at `tsc` time, and the README's
 * table names every variable each function reads.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  ConfigurationError,
  PACKAGED_CONFIG_FILE,
  parseApiEnvironment,
  parseIngestEnvironment,
  parseReconcileEnvironment,
  parseTrackerEnvironment,
  readPackagedConfig,
  type ReconcilePackaged,
  type ReconcileVariables,
  type TrackerVariables,
} from "../../functions/environment.js";
import type { IngestRuleInput } from "../../ingest/rules.js";

describe("the function environment contract", () => {
  it("is checked by the type checker", () => {
    const complete = {
      TABLE_NAME: "ledger",
      TASK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/tasks",
    } satisfies ReconcileVariables;
    const packaged = { BUCKETS: ["photos"] } satisfies ReconcilePackaged;
    // @ts-expect-error a misspelt variable is not in the contract
    const misspelt: TrackerVariables = { TABLE_NAME: "ledger", WRITE_CONCURENCY: "8" };
    // @ts-expect-error TASK_QUEUE_URL is required
    const incomplete: ReconcileVariables = { TABLE_NAME: "ledger" };
    // @ts-expect-error the buckets travel in the packaged file, not the environment
    const inEnvironment: ReconcileVariables = { ...complete, BUCKETS: '["photos"]' };
    expect(parseReconcileEnvironment(complete, packaged)).toMatchObject({ TASKS_PER_RUN: 16, MAX_DELETE_FRACTION: 0.1, BUCKETS: ["photos"] });
    expect([misspelt, incomplete, inEnvironment]).toHaveLength(3);
  });

  it("is the one the README documents", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const documented = (where: string) =>
      new Set(
        readme
          .split("\n")
          .filter((line) => line.startsWith(`| ${where} Lambda env |`))
          .flatMap((line) => [...line.split("|")[2]!.matchAll(/`([A-Z_]+)`/g)].map((match) => match[1]!)),
      );
    const read = (parse: (env: NodeJS.ProcessEnv) => object, env: NodeJS.ProcessEnv) => new Set(Object.keys(parse(env)));
    const base = {
      TABLE_NAME: "ledger",
      BUCKETS: '["photos"]',
      TASK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/tasks",
      INVENTORY_BUCKET: "inventory",
      INGEST_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/ingest.fifo",
    };
    expect(documented("tracker")).toEqual(read(parseTrackerEnvironment, base));
    const reconcile = documented("reconcile");
    for (const name of ["TABLE_NAME", "RETENTION_DAYS"]) reconcile.add(name);
    expect(reconcile).toEqual(read(parseReconcileEnvironment, base));
    expect(documented("API")).toEqual(read(parseApiEnvironment, base));
    expect(documented("ingest")).toEqual(read(parseIngestEnvironment, base));
  });
});

/**
 * Lambda caps a function's environment at "4 KB, for all environment variables associated with
 * the function, in aggregate" (Lambda quotas): what grows with the configuration is packaged.
 */
describe("the packaged configuration", () => {
  const directories: string[] = [];
  afterAll(() => {
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  });
  const moduleBeside = (packaged: unknown): URL => {
    const directory = mkdtempSync(join(tmpdir(), "packaged-"));
    directories.push(directory);
    if (packaged !== undefined) writeFileSync(join(directory, PACKAGED_CONFIG_FILE), JSON.stringify(packaged));
    return pathToFileURL(join(directory, "index.mjs"));
  };
  const buckets = Array.from({ length: 60 }, (_, index) => `bucket-ledger-limits-${String(index).padStart(3, "0")}-`.padEnd(63, "a"));
  const rules: IngestRuleInput[] = Array.from({ length: 40 }, (_, index) => ({
    name: `offers-import-rule-number-${String(index).padStart(3, "0")}`,
    bucket: buckets[index]!,
    pattern: `imports/offers/region-${String(index).padStart(3, "0")}/*.csv`,
    format: "csv",
    partitionKey: "offerId",
    table: `offers-table-${index}`,
  }));
  const scalars = {
    TABLE_NAME: "bucket-ledger-ledger-1a2b3c4",
    TASK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/bucket-ledger-reconcile-tasks-1a2b3c4",
    INGEST_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/bucket-ledger-ingest-queue-1a2b3c4.fifo",
  };

  it("carries 40 ingestion rules and 60 adopted buckets that the environment could not", () => {
    const packaged = readPackagedConfig(moduleBeside({ BUCKETS: buckets, INGEST_RULES: rules }));
    const inEnvironment = Object.entries({ ...scalars, BUCKETS: JSON.stringify(buckets), INGEST_RULES: JSON.stringify(rules) });
    expect(inEnvironment.reduce((bytes, [name, value]) => bytes + Buffer.byteLength(name) + Buffer.byteLength(value), 0)).toBeGreaterThan(4096);
    const env = parseReconcileEnvironment(scalars, packaged);
    expect(env.BUCKETS).toHaveLength(60);
    expect(env.INGEST_RULES).toHaveLength(40);
    expect(parseIngestEnvironment(scalars, packaged).INGEST_RULES).toHaveLength(40);
  });

  it("is nothing where there is no file, so a local run reads the same names from the environment", () => {
    expect(readPackagedConfig(moduleBeside(undefined))).toEqual({});
    expect(parseApiEnvironment({ TABLE_NAME: "ledger", BUCKETS: '["photos"]' }, {}).BUCKETS).toEqual(["photos"]);
  });

  it("refuses a name set in both places, and a file with names it does not know", () => {
    expect(() => parseApiEnvironment({ TABLE_NAME: "ledger", BUCKETS: '["photos"]' }, { BUCKETS: ["photos"] })).toThrow(ConfigurationError);
    expect(() => readPackagedConfig(moduleBeside({ TABLE_NAME: "ledger" }))).toThrow(/invalid bucket-ledger.json/);
  });
});
