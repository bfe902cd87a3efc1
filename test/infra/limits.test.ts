/**
 * The stack against AWS's documented limits, which Pulumi mocks do not enforce: every resource
 * registered over a matrix of configurations (many ingestion rules, many adopted buckets with
 * 63-character names, EventBridge delivery, the China and GovCloud partitions) is checked for
 * what AWS would refuse at `pulumi up`.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { BucketLedgerConfigError, resolveBucketLedgerArgs, type BucketLedgerArgs } from "../../infra/args.js";
import { BucketLedger, MAX_COMPONENT_NAME_LENGTH } from "../../infra/bucket-ledger.js";
import type { IngestRuleInput } from "../../ingest/rules.js";
import { DEFAULT_CLOUD, installMocks, mockCloud, packagedConfig, resolve, type MockCloud, type RecordedResource } from "./mocks.js";

const recorded = installMocks();

/**
 * "Function environment variables: 4 KB, for all environment variables associated with the
 * function, in aggregate" (Lambda quotas, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
 * Counted here as the UTF-8 bytes of every name and value.
 */
const LAMBDA_ENVIRONMENT_BYTES = 4 * 1024;

/** Pulumi autonames a resource `<logical name>-<7 hex digits>` when no physical name is given. */
const AUTONAME_SUFFIX = 8;

/**
 * The physical name each resource type takes, the field it is set by, and AWS's documented
 * maximum length.
 */
const NAME_LIMITS: Record<string, { field: string; max: number; source: string; suffix?: (inputs: Record<string, unknown>) => string }> = {
  // "If you specify only the function name, it is limited to 64 characters" (Lambda API, CreateFunction, FunctionName).
  "aws:lambda/function:Function": { field: "name", max: 64, source: "Lambda CreateFunction FunctionName" },
  // IAM API reference, CreateRole, RoleName: maximum length of 64.
  "aws:iam/role:Role": { field: "name", max: 64, source: "IAM CreateRole RoleName" },
  // IAM API reference, PutRolePolicy, PolicyName: maximum length of 128.
  "aws:iam/rolePolicy:RolePolicy": { field: "name", max: 128, source: "IAM PutRolePolicy PolicyName" },
  // EventBridge API reference, PutRule, Name: maximum length of 64.
  "aws:cloudwatch/eventRule:EventRule": { field: "name", max: 64, source: "EventBridge PutRule Name" },
  // "A queue name can have up to 80 characters ... A FIFO queue name must end with the .fifo suffix"; the suffix
  // counts (SQS API reference, CreateQueue; SQS developer guide, quotas-fifo). Autonamed FIFO queues get it appended.
  "aws:sqs/queue:Queue": { field: "name", max: 80, source: "SQS CreateQueue QueueName", suffix: (inputs) => (inputs.fifoQueue === true ? ".fifo" : "") },
  // CloudWatch API reference, PutMetricAlarm, AlarmName: maximum length of 255.
  "aws:cloudwatch/metricAlarm:MetricAlarm": { field: "name", max: 255, source: "CloudWatch PutMetricAlarm AlarmName" },
  // CloudWatch API reference, PutDashboard, DashboardName: at most 255 (see infra/args.ts).
  "aws:cloudwatch/dashboard:Dashboard": { field: "dashboardName", max: 255, source: "CloudWatch PutDashboard DashboardName" },
  // SNS API reference, CreateTopic, Name: "up to 256 characters".
  "aws:sns/topic:Topic": { field: "name", max: 256, source: "SNS CreateTopic Name" },
  // DynamoDB API reference, CreateTable, TableName: maximum length of 255.
  "aws:dynamodb/table:Table": { field: "name", max: 255, source: "DynamoDB CreateTable TableName" },
  // CloudWatch Logs API reference, CreateLogGroup, logGroupName: maximum length of 512.
  "aws:cloudwatch/logGroup:LogGroup": { field: "name", max: 512, source: "CloudWatch Logs CreateLogGroup logGroupName" },
  // EventBridge Scheduler API reference, CreateSchedule, Name: maximum length of 64.
  "aws:scheduler/schedule:Schedule": { field: "name", max: 64, source: "Scheduler CreateSchedule Name" },
  // S3 bucket naming rules: 3 to 63 characters.
  "aws:s3/bucket:Bucket": { field: "bucket", max: 63, source: "S3 bucket naming rules" },
  // API Gateway v2 CreateApi Name: maximum length of 128.
  "aws:apigatewayv2/api:Api": { field: "name", max: 128, source: "API Gateway CreateApi Name" },
};

/**
 * The account's per-table write quota by default: "40,000 table-level read and write throughput"
 * (DynamoDB developer guide, on-demand-capacity-mode-max-throughput and ServiceQuotas); warm
 * throughput cannot exceed it (warm-throughput).
 */
const DEFAULT_TABLE_WRITE_QUOTA = 40_000;

const physicalName = (resource: RecordedResource): { name: string; limit: (typeof NAME_LIMITS)[string] } | undefined => {
  const limit = NAME_LIMITS[resource.type];
  if (!limit) return undefined;
  const explicit = resource.inputs[limit.field] as string | undefined;
  const name = explicit ?? `${resource.name}-${"f".repeat(AUTONAME_SUFFIX - 1)}${limit.suffix?.(resource.inputs) ?? ""}`;
  return { name, limit };
};

/** A bucket name of exactly 63 characters (S3's maximum), distinct per index. */
const longBucket = (index: number) => `bucket-ledger-limits-${String(index).padStart(3, "0")}-`.padEnd(63, "a");

const rulesOn = (buckets: string[], count: number): IngestRuleInput[] =>
  Array.from({ length: count }, (_, index) => ({
    name: `offers-import-rule-number-${String(index).padStart(3, "0")}`,
    bucket: buckets[index % buckets.length]!,
    pattern: `imports/offers/region-${String(index).padStart(3, "0")}/*.csv`,
    format: "csv",
    partitionKey: "offerId",
    sortKey: "sku",
    types: { price: "number", quantity: "number", active: "boolean" },
    copyPrefix: `bucket-ledger/copies/region-${String(index).padStart(3, "0")}/`,
  }));

interface Scenario {
  name: string;
  /** The BucketLedger's own name, which its children's names start with. */
  component?: string;
  cloud?: Partial<MockCloud>;
  args: BucketLedgerArgs;
}

const adopted = (count: number) => Array.from({ length: count }, (_, index) => ({ name: longBucket(index) }));

const SCENARIOS: Scenario[] = [
  {
    name: "40 ingestion rules on a created bucket named with 63 characters, the API, inventory and an alarm topic",
    args: {
      createBucket: { name: longBucket(999) },
      ingest: { rules: rulesOn([longBucket(999)], 40) },
      api: { enabled: true },
      reconcile: { source: "inventory" },
      monitoring: { alarmEmail: "ops@example.com" },
      warmWriteUnitsPerSecond: DEFAULT_TABLE_WRITE_QUOTA,
    },
  },
  {
    name: "60 adopted buckets named with 63 characters, EventBridge delivery, 40 rules across them, the longest component name",
    component: "c".repeat(MAX_COMPONENT_NAME_LENGTH),
    args: {
      adoptBuckets: adopted(60),
      delivery: "eventbridge",
      ingest: {
        rules: rulesOn(
          adopted(60).map((bucket) => bucket.name),
          40,
        ),
      },
      api: { enabled: true },
      enrich: ["checksum", "tags"],
    },
  },
  {
    name: "the China partition (aws-cn, cn-north-1)",
    cloud: { partition: "aws-cn", region: "cn-north-1" },
    args: {
      createBucket: { name: "created-in-china" },
      adoptBuckets: adopted(3),
      delivery: "eventbridge",
      ingest: { rules: rulesOn([longBucket(0)], 3) },
      api: { enabled: true },
      reconcile: { source: "inventory" },
      monitoring: { alarmEmail: "ops@example.com" },
    },
  },
  {
    name: "the GovCloud partition (aws-us-gov, us-gov-west-1), sqs delivery it owns",
    cloud: { partition: "aws-us-gov", region: "us-gov-west-1" },
    args: {
      adoptBuckets: adopted(2),
      replaceExistingNotifications: true,
      ingest: { rules: rulesOn([longBucket(1)], 2) },
      monitoring: { alarmEmail: "ops@example.com" },
    },
  },
];

/** Registers the whole stack once per scenario; the checks read what was recorded. */
async function deploy(scenario: Scenario): Promise<RecordedResource[]> {
  recorded.length = 0;
  Object.assign(mockCloud, { ...DEFAULT_CLOUD, bucketRegions: {} }, scenario.cloud ?? {});
  const ledger = new BucketLedger(scenario.component ?? "ledger", scenario.args);
  const outputs = Object.values(ledger.outputs).filter((output): output is pulumi.Output<unknown> => output !== undefined);
  await resolve(pulumi.all([ledger.placement, ...outputs]), 20_000);
  // Let resources whose inputs wait on those outputs finish registering.
  await new Promise((r) => setTimeout(r, 300));
  return [...recorded];
}

const environmentBytes = (variables: Record<string, string>) =>
  Object.entries(variables).reduce((total, [name, value]) => total + Buffer.byteLength(name) + Buffer.byteLength(value), 0);

/** Every string anywhere in a resource's inputs (policies are JSON strings: their ARNs are found too). */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

describe.each(SCENARIOS)("AWS's limits: $name", (scenario) => {
  let resources: RecordedResource[] = [];
  let partition: string = DEFAULT_CLOUD.partition;
  beforeAll(async () => {
    resources = await deploy(scenario);
    partition = mockCloud.partition;
  }, 60_000);

  it("keeps every function's environment within Lambda's 4 KB, and ships the rest (every rule, every bucket) in its code archive", async () => {
    const functions = resources.filter((resource) => resource.type === "aws:lambda/function:Function");
    expect(functions.length).toBeGreaterThanOrEqual(2);
    for (const fn of functions) {
      const variables = (fn.inputs.environment as { variables: Record<string, string> }).variables;
      expect(environmentBytes(variables), `${fn.name} environment bytes`).toBeLessThanOrEqual(LAMBDA_ENVIRONMENT_BYTES);
    }
    const rules = scenario.args.ingest?.rules?.length ?? 0;
    const buckets = (scenario.args.adoptBuckets?.length ?? 0) + (scenario.args.createBucket ? 1 : 0);
    const byName = (part: string) => functions.find((fn) => fn.name.includes(part))!.inputs;
    expect((await packagedConfig(byName("reconcile"))).BUCKETS).toHaveLength(buckets);
    if (rules > 0) {
      for (const part of ["tracker", "reconcile", "ingest"]) expect((await packagedConfig(byName(part))).INGEST_RULES, part).toHaveLength(rules);
    }
  });

  it("names every resource within its type's documented length", () => {
    const tooLong = resources.flatMap((resource) => {
      const named = physicalName(resource);
      return named && named.name.length > named.limit.max
        ? [`${resource.type} ${named.name} (${named.name.length} > ${named.limit.max}, ${named.limit.source})`]
        : [];
    });
    expect(tooLong).toEqual([]);
  });

  it("builds every ARN from the provider's partition", () => {
    const foreign = resources.flatMap((resource) =>
      strings(resource.inputs)
        .flatMap((text) => [...text.matchAll(/arn:([a-z-]*):/g)].map((match) => match[1]!))
        .filter((found) => found !== partition)
        .map((found) => `${resource.type} ${resource.name}: arn:${found}:`),
    );
    expect(foreign).toEqual([]);
  });

  it("keeps every queue policy within SQS's 8,192 bytes and 20 statements", () => {
    // "Amazon SQS policy quotas": Bytes 8,192, Statements 20
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html).
    for (const policy of resources.filter((resource) => resource.type === "aws:sqs/queuePolicy:QueuePolicy")) {
      const text = policy.inputs.policy as string;
      expect(Buffer.byteLength(text), `${policy.name} policy bytes`).toBeLessThanOrEqual(8_192);
      expect((JSON.parse(text) as { Statement: unknown[] }).Statement.length, policy.name).toBeLessThanOrEqual(20);
    }
  });

  it("warms the table and its indexes no further than the table quota", () => {
    for (const table of resources.filter((resource) => resource.type === "aws:dynamodb/table:Table")) {
      const warm = [
        table.inputs.warmThroughput,
        ...((table.inputs.globalSecondaryIndexes as { warmThroughput?: unknown }[] | undefined) ?? []).map((index) => index.warmThroughput),
      ];
      for (const setting of warm) {
        const writes = (setting as { writeUnitsPerSecond?: number } | undefined)?.writeUnitsPerSecond ?? 0;
        expect(writes, table.name).toBeLessThanOrEqual(DEFAULT_TABLE_WRITE_QUOTA);
      }
    }
  });
});

describe("the component's own name", () => {
  it("is refused when its children's names could not fit", () => {
    expect(() => new BucketLedger("c".repeat(MAX_COMPONENT_NAME_LENGTH + 1), { createBucket: {} })).toThrow(/at most 36 characters/);
  });
});

describe("warm throughput against the account's table quota", () => {
  it("refuses a warm throughput above the default quota of 40,000 write units, naming the setting that raises it", () => {
    expect(() => resolveBucketLedgerArgs({ createBucket: {}, warmWriteUnitsPerSecond: 40_001 })).toThrow(BucketLedgerConfigError);
    expect(() => resolveBucketLedgerArgs({ createBucket: {}, warmWriteUnitsPerSecond: 40_001 })).toThrow(/tableWriteQuota/);
  });

  it("accepts one up to a raised quota the account states", () => {
    expect(resolveBucketLedgerArgs({ createBucket: {}, warmWriteUnitsPerSecond: 80_000, tableWriteQuota: 80_000 } as BucketLedgerArgs)).toMatchObject({
      warmWriteUnitsPerSecond: 80_000,
    });
  });
});
