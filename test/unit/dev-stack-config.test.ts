import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT } from "../../foundation/user-error.js";
import { StackConfigFileError } from "../../local/errors.js";
import { devStackConfig, readStackConfigFile, stackConfigFilePath } from "../../local/stack-config-file.js";
import { nameStackConfigKey, readStackConfig, STACK_CONFIG_ARG_PATHS, STACK_CONFIG_KEYS } from "../../infra/stack-config.js";

const where = { path: "Pulumi.dev.yaml", project: "bucket-ledger" };
const stackFile = (config: Record<string, unknown>) => devStackConfig({ config }, where);

function problemsOf(config: Record<string, unknown>): readonly string[] {
  try {
    stackFile(config);
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigFileError);
    expect((error as StackConfigFileError).exitCode).toBe(EXIT.usage);
    return (error as StackConfigFileError).problems;
  }
  throw new Error("expected the stack configuration to be refused");
}

describe("dev's stack configuration (Pulumi.<stack>.yaml)", () => {
  it("maps each key the local stack has to its option, as pulumi config set writes them", () => {
    const { options, notUsedLocally } = stackFile({
      "bucket-ledger:bucketName": "photos",
      "bucket-ledger:adoptBuckets": ["logs", "archive/in/*.csv"],
      "bucket-ledger:delivery": "eventbridge",
      "bucket-ledger:enrich": ["contentType", "tags"],
      "bucket-ledger:historyDays": "30",
      "bucket-ledger:retentionDays": 7,
      "bucket-ledger:origin": "none",
      "bucket-ledger:changeShards": "4",
      "bucket-ledger:maxReceiveCount": "2",
      "bucket-ledger:trackerBatchSize": "10",
      "bucket-ledger:trackerBatchingWindowSeconds": "1",
      "bucket-ledger:trackerMaxConcurrency": "3",
      "bucket-ledger:reconcileMaxDeletePercent": "20",
      "bucket-ledger:reconcileTasksPerRun": "8",
      "bucket-ledger:reconcileMaxConcurrency": "4",
      "bucket-ledger:warmWriteUnitsPerSecond": "6000",
      "bucket-ledger:ingestRules": [{ name: "rows", bucket: "photos", pattern: "rows/*.csv", format: "csv", partitionKey: "id" }],
    });
    expect(options).toEqual({
      buckets: ["photos", "logs", "archive"],
      enrich: ["contentType", "tags"],
      historyDays: 30,
      retentionDays: 7,
      changeShards: 4,
      maxReceiveCount: 2,
      tracker: { origin: "none", batchSize: 10, maximumBatchingWindowMs: 1000, pollers: 3 },
      // The backfill budget a deployed stack derives from its warm throughput: a third of it.
      reconcile: { maxDeleteFraction: 0.2, tasksPerRun: 8, workers: 4, backfillRepairsPerSecond: 1333 },
      // Each rule as the schema resolves it, its own defaults applied.
      ingest: {
        rules: [expect.objectContaining({ name: "rows", bucket: "photos", pattern: "rows/*.csv", format: "csv", partitionKey: "id", onDelete: "delete" })],
      },
    });
    expect(notUsedLocally).toEqual([{ key: "delivery", why: "locally S3 sends its events straight to the queue" }]);
  });

  it("sets only what the file sets, so the local defaults stay the local stack's", () => {
    expect(stackFile({})).toEqual({ path: "Pulumi.dev.yaml", options: { tracker: {}, reconcile: {}, ingest: {} }, notUsedLocally: [] });
    expect(stackFile({ "bucket-ledger:history": "false" }).options.historyDays).toBe(0);
    // The stack's created bucket has Pulumi's name; dev's default bucket stands in for it.
    expect(stackFile({ "bucket-ledger:enrich": [] }).options).toEqual({ enrich: [], tracker: {}, reconcile: {}, ingest: {} });
    expect(stackFile({ "bucket-ledger:adoptBuckets": ["logs"], "bucket-ledger:delivery": "eventbridge" }).options.buckets).toEqual(["ledger-demo", "logs"]);
    expect(
      stackFile({ "bucket-ledger:createBucket": false, "bucket-ledger:adoptBuckets": ["logs"], "bucket-ledger:delivery": "eventbridge" }).options.buckets,
    ).toEqual(["logs"]);
  });

  it("reports once each key without local meaning, and other namespaces' keys, never dropping one silently", () => {
    const { notUsedLocally, options } = stackFile({
      "aws:region": "eu-west-1",
      "bucket-ledger:alarmEmail": "ops@example.com",
      "bucket-ledger:accessLogBucket": "access-logs",
      "bucket-ledger:bucketKeys": { "ledger-demo-x": "arn:aws:kms:eu-west-1:123456789012:key/abc" },
      "bucket-ledger:bucketName": "ledger-demo-x",
    });
    expect(notUsedLocally.map(({ key }) => key)).toEqual(["aws:region", "accessLogBucket", "bucketKeys", "alarmEmail"]);
    expect(notUsedLocally.find(({ key }) => key === "aws:region")!.why).toMatch(/configuration of aws/);
    expect(options.buckets).toEqual(["ledger-demo-x"]);
  });

  it("reads the project's keys under its own name", () => {
    const { options } = devStackConfig({ config: { "my-infra:historyDays": "5", "bucket-ledger:historyDays": "9" } }, { path: "p", project: "my-infra" });
    expect(options.historyDays).toBe(5);
  });

  it("refuses an unknown key, naming it", () => {
    expect(problemsOf({ "bucket-ledger:enrichment": ["contentType"] })).toEqual(["bucket-ledger:enrichment: not a configuration key of bucket-ledger"]);
  });

  it("refuses a bad value as pulumi up does, naming the key", () => {
    expect(problemsOf({ "bucket-ledger:historyDays": "thirty" })).toEqual(['config historyDays: expected an integer, got "thirty"']);
    expect(problemsOf({ "bucket-ledger:enrich": ["colour"] })).toEqual([expect.stringMatching(/^config enrich \(enrich\.0\): /)]);
    expect(problemsOf({ "bucket-ledger:reconcileMaxDeletePercent": "250" })).toEqual([
      expect.stringMatching(/^config reconcileMaxDeletePercent \(reconcile\.maxDeleteFraction\): /),
    ]);
    expect(problemsOf({ "bucket-ledger:origin": "everything" })).toEqual([expect.stringMatching(/^config origin: /)]);
  });

  it("reports every problem at once: unreadable values, the schema's and the component's rules", () => {
    const problems = problemsOf({
      "bucket-ledger:retentionDays": "soon",
      "bucket-ledger:history": "maybe",
      "bucket-ledger:nope": "1",
      "bucket-ledger:enrich": ["colour"],
      "bucket-ledger:origin": "everything",
    });
    expect(problems).toHaveLength(5);
    expect(problems.join("\n")).toMatch(/nope/);
    expect(problems.join("\n")).toMatch(/retentionDays/);
    expect(problems.join("\n")).toMatch(/config history:/);
    expect(problems.join("\n")).toMatch(/^config enrich \(enrich\.0\)/m);
    expect(problems.join("\n")).toMatch(/^config origin:/m);
    const rules = problemsOf({
      "bucket-ledger:createBucket": "false",
      "bucket-ledger:alarmEmail": "a@example.com",
      "bucket-ledger:alarmTopicArn": "arn:aws:sns:x",
    });
    expect(rules).toEqual([expect.stringMatching(/no bucket to track/), "set alarmEmail or alarmTopicArn, not both"]);
  });

  it("refuses a secret dev would need, and reports one it would not use", () => {
    expect(problemsOf({ "bucket-ledger:enrich": { secure: "v1:abc" } })).toEqual([expect.stringMatching(/^bucket-ledger:enrich: a secret \(secure:\)/)]);
    expect(problemsOf({ "bucket-ledger:ingestRules": [{ bucket: "b", table: { secure: "v1:abc" } }] })).toEqual([
      expect.stringMatching(/ingestRules: a secret/),
    ]);
    const { notUsedLocally } = stackFile({ "bucket-ledger:alarmEmail": { secure: "v1:abc" } });
    expect(notUsedLocally).toEqual([{ key: "bucket-ledger:alarmEmail", why: expect.stringMatching(/a secret, which dev cannot decrypt/) }]);
  });

  it("names the file in its message, one problem per line", () => {
    expect(() => stackFile({ "bucket-ledger:a": "1", "bucket-ledger:b": "2" })).toThrow(
      "stack configuration Pulumi.dev.yaml: 2 problems:\n- bucket-ledger:a: not a configuration key of bucket-ledger\n- bucket-ledger:b: not a configuration key of bucket-ledger",
    );
    expect(() => devStackConfig(["x"], where)).toThrow(/not a stack settings file/);
  });

  it("reads the file, the project's name from the Pulumi.yaml beside it", async () => {
    const directory = await mkdtemp(join(tmpdir(), "stack-config-"));
    await writeFile(join(directory, "Pulumi.yaml"), "name: my-infra\nruntime: nodejs\n");
    const path = stackConfigFilePath("dev", directory);
    await writeFile(path, 'encryptionsalt: v1:abc\nconfig:\n  my-infra:enrich:\n    - contentType\n  my-infra:historyDays: "3"\n');
    expect((await readStackConfigFile(path)).options).toEqual({ enrich: ["contentType"], historyDays: 3, tracker: {}, reconcile: {}, ingest: {} });
    await expect(readStackConfigFile(join(directory, "Pulumi.none.yaml"))).rejects.toThrow(/Pulumi\.none\.yaml: cannot be read/);
    await writeFile(path, "config: [\n");
    await expect(readStackConfigFile(path)).rejects.toThrow(/not valid YAML/);
  });
});

describe("where each stack key lands in the component's arguments", () => {
  const at = (value: unknown, path: string) =>
    path.split(".").reduce<unknown>((object, part) => (object as Record<string, unknown> | undefined)?.[part], value);
  const SAMPLES = ["true", "7", '["abc"]', "[{}]", '{"b":"c"}', "text"];

  it.each(STACK_CONFIG_KEYS)("%s", (key) => {
    // The first sample the key reads without a problem must land at its path: the table follows readStackConfig.
    const landed = SAMPLES.some((sample) => {
      const { args, problems } = readStackConfig({ [key]: sample });
      return problems.length === 0 && at(args, STACK_CONFIG_ARG_PATHS[key]) !== undefined;
    });
    expect(landed).toBe(true);
  });

  it("names a problem by its key, the path beside it when they differ", () => {
    expect(nameStackConfigKey("history.days: Too big")).toBe("config historyDays (history.days): Too big");
    expect(nameStackConfigKey("createBucket.name: not a valid S3 bucket name")).toBe("config bucketName (createBucket.name): not a valid S3 bucket name");
    expect(nameStackConfigKey("retentionDays: Too small")).toBe("config retentionDays: Too small");
    expect(nameStackConfigKey("set alarmEmail or alarmTopicArn, not both")).toBe("set alarmEmail or alarmTopicArn, not both");
  });
});
