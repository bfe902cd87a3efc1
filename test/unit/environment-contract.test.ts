/**
 * The settings contract between infra/ (which writes them) and functions/ (which reads them):
 * the types reject a misspelt or missing setting at `tsc` time, and what one side writes the
 * other reads back. docs/reference/environment.md is generated from the same contracts
 * (test/unit/reference-docs.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { apiSettings } from "../../functions/settings/api.js";
import { ConfigurationError, PACKAGED_CONFIG_FILE, readPackagedConfig } from "../../functions/settings/contract.js";
import { ingestSettings } from "../../functions/settings/ingest.js";
import { reconcilerWiringOf, reconcileSettings, type ReconcileSettingsInput } from "../../functions/settings/reconcile.js";
import { trackerSettings, type TrackerSettings, type TrackerSettingsInput } from "../../functions/settings/tracker.js";
import type { IngestRuleInput } from "../../ingest/rules.js";

describe("the function settings contract", () => {
  it("is checked by the type checker", () => {
    const complete = {
      tableName: "ledger",
      taskQueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/tasks",
      buckets: ["photos"],
    } satisfies ReconcileSettingsInput;
    // @ts-expect-error a misspelt setting is not in the contract
    const misspelt: TrackerSettingsInput = { tableName: "ledger", buckets: ["photos"], writeConcurency: 8 };
    // @ts-expect-error taskQueueUrl is required
    const incomplete: ReconcileSettingsInput = { tableName: "ledger", buckets: ["photos"] };
    const { environment, packaged } = reconcileSettings.write(complete);
    // The buckets travel in the packaged file, not the environment.
    expect(environment).not.toHaveProperty("BUCKETS");
    expect(reconcileSettings.read(environment, packaged)).toMatchObject({ tasksPerRun: 16, maxDeleteFraction: 0.1, buckets: ["photos"] });
    expect([misspelt, incomplete]).toHaveLength(2);
  });

  it("reads back every setting it writes, each in its variable's spelling", () => {
    const settings: TrackerSettings = {
      tableName: "ledger",
      retentionDays: 7,
      historyDays: 14,
      changeShards: 4,
      enrich: ["contentType", "tags"],
      writeConcurrency: 8,
      origin: "full",
      buckets: ["photos", "logs"],
      ingestRules: [],
      ingestQueueUrl: "https://sqs.us-east-1.amazonaws.com/1/ingest.fifo",
    };
    const written = trackerSettings.write(settings);
    expect(written.environment).toEqual({
      TABLE_NAME: "ledger",
      RETENTION_DAYS: "7",
      HISTORY_DAYS: "14",
      CHANGE_SHARDS: "4",
      ENRICH: "contentType,tags",
      WRITE_CONCURRENCY: "8",
      ORIGIN: "full",
      INGEST_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/ingest.fifo",
    });
    expect(written.packaged).toEqual({ BUCKETS: ["photos", "logs"], INGEST_RULES: [] });
    expect(trackerSettings.read(written.environment, written.packaged)).toEqual(settings);
    const api = apiSettings.write({ tableName: "ledger", buckets: ["photos"], servePersonalData: true });
    expect(api.environment).toEqual({ TABLE_NAME: "ledger", SERVE_PERSONAL_DATA: "true" });
    expect(apiSettings.read(api.environment, api.packaged)).toEqual({ tableName: "ledger", retentionDays: 30, buckets: ["photos"], servePersonalData: true });
  });

  it("hands reconciliation its wiring: minutes as milliseconds, the inventory only with that source", () => {
    const base = { tableName: "ledger", buckets: ["photos"], taskQueueUrl: "https://sqs.us-east-1.amazonaws.com/1/tasks" };
    const listed = reconcilerWiringOf(reconcileSettings.resolve(base));
    expect(listed.inventory).toBeUndefined();
    expect(listed.settings).toMatchObject({ staleAfterMs: 360 * 60_000, backfill: { repairsPerSecond: 750, tasksAtOnce: 4 } });
    const inventory = reconcilerWiringOf(reconcileSettings.resolve({ ...base, source: "inventory", inventoryBucket: "reports" }));
    expect(inventory.inventory).toEqual({ bucket: "reports", prefix: "inventory", configurationId: "bucket-ledger" });
  });

  it("refuses what the function would refuse, before it is deployed, naming the variable", () => {
    expect(() => trackerSettings.write({ tableName: "ledger", buckets: ["photos"], writeConcurrency: 0 })).toThrow(/WRITE_CONCURRENCY/);
    expect(() => trackerSettings.read({ TABLE_NAME: "ledger", BUCKETS: '["photos"]', ORIGIN: "everything" })).toThrow(/invalid tracker environment: ORIGIN/);
    expect(() => trackerSettings.read({ TABLE_NAME: "ledger", BUCKETS: "photos" })).toThrow(/BUCKETS must be JSON/);
    const rule: IngestRuleInput = { name: "offers", bucket: "photos", pattern: "offers/*.csv", format: "csv", partitionKey: "id", table: "offers" };
    expect(() => trackerSettings.read({ TABLE_NAME: "ledger", BUCKETS: '["photos"]', INGEST_RULES: JSON.stringify([rule]) })).toThrow(
      /INGEST_QUEUE_URL: INGEST_RULES needs INGEST_QUEUE_URL/,
    );
    expect(() =>
      reconcileSettings.read({
        TABLE_NAME: "ledger",
        BUCKETS: '["photos"]',
        TASK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/t",
        RECONCILE_SOURCE: "inventory",
      }),
    ).toThrow(/INVENTORY_BUCKET: RECONCILE_SOURCE=inventory needs INVENTORY_BUCKET/);
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
    const settings = reconcileSettings.read(scalars, packaged);
    expect(settings.buckets).toHaveLength(60);
    expect(settings.ingestRules).toHaveLength(40);
    expect(ingestSettings.read(scalars, { INGEST_RULES: packaged.INGEST_RULES }).ingestRules).toHaveLength(40);
  });

  it("is nothing where there is no file, so a local run reads the same names from the environment", () => {
    expect(readPackagedConfig(moduleBeside(undefined))).toEqual({});
    expect(apiSettings.read({ TABLE_NAME: "ledger", BUCKETS: '["photos"]' }, {}).buckets).toEqual(["photos"]);
  });

  it("refuses a name set in both places, and a file with names it does not know", () => {
    expect(() => apiSettings.read({ TABLE_NAME: "ledger", BUCKETS: '["photos"]' }, { BUCKETS: ["photos"] })).toThrow(ConfigurationError);
    expect(() => apiSettings.read({}, readPackagedConfig(moduleBeside({ TABLE_NAME: "ledger" })))).toThrow(/invalid bucket-ledger.json/);
  });
});
