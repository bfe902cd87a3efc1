/**
 * The stack's remaining hardening (issue 29, Low, and review findings) under Pulumi mocks: every
 * queue and the alarm topic TLS only, dead-letter queues usable by their own queue alone, the
 * scheduler role assumable only for this account's schedule group, the event queue refusing
 * sqs:SendMessage to anyone but the tracked buckets or the stack's rules, the tracker told which
 * buckets it tracks, lifecycle and access logging on created buckets, the API's reserved
 * concurrency and reconciliation's ephemeral storage.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import { BucketLedgerConfigError, resolveBucketLedgerArgs, type BucketLedgerArgs } from "../../infra/args.js";
import { BucketLedger } from "../../infra/bucket-ledger.js";
import { argsFromStackConfig } from "../../infra/stack-config.js";
import { configuredLimit, SCRATCH_LIMIT_ENV } from "../../reconcile/scratch.js";
import { ACCOUNT_ID, installMocks, packagedConfig, resolve, type RecordedResource } from "./mocks.js";

const recorded = installMocks();
beforeEach(() => {
  recorded.length = 0;
});

async function deploy(args: BucketLedgerArgs): Promise<RecordedResource[]> {
  const ledger = new BucketLedger("ledger", args);
  const outputs = Object.values(ledger.outputs).filter((output): output is pulumi.Output<unknown> => output !== undefined);
  await resolve(pulumi.all([ledger.placement, ...outputs]));
  // Let resources whose inputs wait on those outputs finish registering.
  await new Promise((r) => setTimeout(r, 250));
  return [...recorded];
}

const ofType = (resources: RecordedResource[], type: string) => resources.filter((resource) => resource.type === type);
const named = (resources: RecordedResource[], type: string, name: string) => {
  const matches = ofType(resources, type).filter((resource) => resource.name === name);
  expect(matches, `${type} ${name}`).toHaveLength(1);
  return matches[0]!.inputs;
};

interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: string | string[];
  Principal?: Record<string, string | string[]>;
  Condition?: Record<string, Record<string, string | string[]>>;
}
const statementsOf = (policy: unknown): PolicyStatement[] => (JSON.parse(policy as string) as { Statement: PolicyStatement[] }).Statement;
const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The mocked queue's physical name, URL and ARN, as mocks.ts computes them. */
const queueUrl = (name: string) => `https://sqs.us-east-1.amazonaws.com/${ACCOUNT_ID}/${name}-1a2b3c`;
const queueArn = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:${name}-1a2b3c`;

const isTlsDeny = (statement: PolicyStatement, action: string) =>
  statement.Effect === "Deny" &&
  JSON.stringify(statement.Principal) === JSON.stringify({ AWS: "*" }) &&
  asList(statement.Action).includes(action) &&
  JSON.stringify(statement.Condition) === JSON.stringify({ Bool: { "aws:SecureTransport": "false" } });

/**
 * A request as IAM sees it, and a small evaluator of resource policies over the condition
 * operators the stack uses, as the IAM user guide defines them ("Condition operators"): a key
 * missing from the request fails a positive operator and satisfies a negated one ("If the policy
 * condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and the
 * right key is not present, the condition is true"). A pattern's `*` is taken at its end only.
 */
interface Request {
  action: string;
  principal: { Service: string } | { AWS: string };
  context: Record<string, string>;
}
function conditionHolds(operator: string, key: string, expected: string | string[], context: Record<string, string>): boolean {
  const value = context[key];
  const values = asList(expected);
  const positive: Record<string, boolean> = { StringEquals: true, ArnEquals: true, ArnLike: true, Bool: true };
  const negated: Record<string, boolean> = { StringNotEquals: true, ArnNotEquals: true, ArnNotLike: true };
  // A `*` matches any run of characters (only at a pattern's end here).
  const matches = (pattern: string) => value !== undefined && (pattern.endsWith("*") ? value.startsWith(pattern.slice(0, -1)) : value === pattern);
  if (positive[operator]) return values.some(matches);
  if (negated[operator]) return value === undefined || !values.some(matches);
  throw new Error(`operator ${operator} not modelled`);
}
function applies(statement: PolicyStatement, request: Request): boolean {
  const actionMatches = asList(statement.Action).some(
    (action) => action === request.action || (action.endsWith(":*") && request.action.startsWith(action.slice(0, -1))),
  );
  if (!actionMatches) return false;
  const principal = statement.Principal ?? {};
  const principalMatches =
    JSON.stringify(principal) === JSON.stringify({ AWS: "*" }) ||
    ("Service" in request.principal && asList(principal.Service ?? []).includes(request.principal.Service)) ||
    ("AWS" in request.principal && asList(principal.AWS ?? []).includes(request.principal.AWS));
  if (!principalMatches) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => conditionHolds(operator, key, expected, request.context)),
  );
}
/** "An explicit deny in any policy overrides any allows" (IAM policy evaluation logic). */
function decision(statements: PolicyStatement[], request: Request): "denied" | "allowed" | "not decided" {
  if (statements.some((statement) => statement.Effect === "Deny" && applies(statement, request))) return "denied";
  return statements.some((statement) => statement.Effect === "Allow" && applies(statement, request)) ? "allowed" : "not decided";
}

describe("TLS only, everywhere a resource policy can say it", () => {
  it("gives every queue (work queues and DLQs, standard and FIFO) one policy that refuses anything but TLS, and the alarm topic too", async () => {
    const resources = await deploy({
      createBucket: { name: "imports-bucket" },
      ingest: { rules: [{ name: "offers", bucket: "imports-bucket", pattern: "imports/*.csv", format: "csv", partitionKey: "id" }] },
      monitoring: { alarmEmail: "oncall@example.com" },
    });
    const queues = ofType(resources, "aws:sqs/queue:Queue");
    expect(queues.map((queue) => queue.name).sort()).toEqual([
      "ledger-events",
      "ledger-events-dlq",
      "ledger-ingest-queue",
      "ledger-ingest-queue-dlq",
      "ledger-reconcile-tasks",
      "ledger-reconcile-tasks-dlq",
    ]);
    const policies = ofType(resources, "aws:sqs/queuePolicy:QueuePolicy");
    for (const queue of queues) {
      const own = policies.filter((policy) => policy.inputs.queueUrl === queueUrl(queue.name));
      expect(own, `${queue.name}: SQS keeps one policy per queue`).toHaveLength(1);
      const statements = statementsOf(own[0]!.inputs.policy);
      expect(
        statements.some((statement) => isTlsDeny(statement, "sqs:*") && statement.Resource === queueArn(queue.name)),
        queue.name,
      ).toBe(true);
    }
    const topicPolicy = statementsOf(ofType(resources, "aws:sns/topicPolicy:TopicPolicy")[0]!.inputs.policy);
    expect(topicPolicy.some((statement) => isTlsDeny(statement, "sns:Publish"))).toBe(true);
  });
});

describe("dead-letter queues", () => {
  it("may be named as a DLQ by their own queue only (RedriveAllowPolicy byQueue)", async () => {
    const resources = await deploy({
      createBucket: { name: "imports-bucket" },
      ingest: { rules: [{ name: "offers", bucket: "imports-bucket", pattern: "imports/*.csv", format: "csv", partitionKey: "id" }] },
    });
    const allows = ofType(resources, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy");
    const sources = ofType(resources, "aws:sqs/queue:Queue").filter((queue) => queue.inputs.redrivePolicy !== undefined);
    expect(sources).toHaveLength(3);
    for (const source of sources) {
      const dlqArn = (JSON.parse(source.inputs.redrivePolicy as string) as { deadLetterTargetArn: string }).deadLetterTargetArn;
      const dlqName = dlqArn
        .split(":")
        .pop()!
        .replace(/-1a2b3c$/, "");
      const allow = allows.filter((policy) => policy.inputs.queueUrl === queueUrl(dlqName));
      expect(allow, dlqName).toHaveLength(1);
      expect(JSON.parse(allow[0]!.inputs.redriveAllowPolicy as string)).toEqual({ redrivePermission: "byQueue", sourceQueueArns: [queueArn(source.name)] });
    }
  });
});

describe("the scheduler role", () => {
  it("may be assumed by EventBridge Scheduler only for this account's schedule group, the one the schedule is in", async () => {
    const resources = await deploy({ createBucket: {} });
    const trust = statementsOf(named(resources, "aws:iam/role:Role", "ledger-reconcile-scheduler").assumeRolePolicy);
    expect(trust).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "scheduler.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": ACCOUNT_ID },
          ArnEquals: { "aws:SourceArn": `arn:aws:scheduler:us-east-1:${ACCOUNT_ID}:schedule-group/default` },
        },
      },
    ]);
    expect(named(resources, "aws:scheduler/schedule:Schedule", "ledger-reconcile").groupName).toBe("default");
  });
});

describe("who may send to the event queue", () => {
  const tracker = { AWS: `arn:aws:iam::${ACCOUNT_ID}:role/ledger-tracker-1a2b3c` };
  const eventQueuePolicy = (resources: RecordedResource[]) => statementsOf(named(resources, "aws:sqs/queuePolicy:QueuePolicy", "ledger-events").policy);

  it("with S3 notifications: the tracked buckets of this account, and no one else, this account's roles included", async () => {
    const policy = eventQueuePolicy(await deploy({ createBucket: { name: "photos" } }));
    const s3 = (bucket: string, account = ACCOUNT_ID): Request => ({
      action: "sqs:SendMessage",
      principal: { Service: "s3.amazonaws.com" },
      context: { "aws:SourceArn": `arn:aws:s3:::${bucket}`, "aws:SourceAccount": account, "aws:SecureTransport": "true" },
    });
    expect(decision(policy, s3("photos"))).toBe("allowed");
    // Another bucket of this account: no allow names it, so SQS refuses it (and the tracker would drop it).
    expect(decision(policy, s3("someone-elses"))).toBe("not decided");
    expect(decision(policy, s3("photos", "999999999999"))).toBe("denied");
    // A role of this account that IAM lets send anywhere, sending a forged event.
    expect(decision(policy, { action: "sqs:SendMessage", principal: tracker, context: { "aws:SecureTransport": "true" } })).toBe("denied");
    // The tracker's own consumption is not touched (its role grants it).
    for (const action of ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]) {
      expect(decision(policy, { action, principal: tracker, context: { "aws:SecureTransport": "true" } }), action).toBe("not decided");
      expect(decision(policy, { action, principal: tracker, context: { "aws:SecureTransport": "false" } }), action).toBe("denied");
    }
    expect(
      policy.filter((statement) => statement.Effect === "Deny" && !isTlsDeny(statement, "sqs:*")).flatMap((statement) => asList(statement.Action)),
    ).toEqual(["sqs:SendMessage"]);
  });

  it("with EventBridge: this stack's rules, and no one else", async () => {
    const resources = await deploy({ adoptBuckets: [{ name: "existing-photos" }, { name: "existing-logs" }], delivery: "eventbridge" });
    const policy = eventQueuePolicy(resources);
    const ruleArns = ofType(resources, "aws:cloudwatch/eventRule:EventRule").map((rule) => `arn:aws:events:us-east-1:${ACCOUNT_ID}:rule/${rule.name}-1a2b3c`);
    expect(ruleArns).toHaveLength(2);
    const rule = (arn: string): Request => ({
      action: "sqs:SendMessage",
      principal: { Service: "events.amazonaws.com" },
      context: { "aws:SourceArn": arn, "aws:SecureTransport": "true" },
    });
    for (const arn of ruleArns) expect(decision(policy, rule(arn))).toBe("allowed");
    expect(decision(policy, rule(`arn:aws:events:us-east-1:${ACCOUNT_ID}:rule/someone-elses`))).toBe("not decided");
    expect(decision(policy, rule("arn:aws:events:us-east-1:999999999999:rule/someone-elses"))).toBe("denied");
    expect(decision(policy, { action: "sqs:SendMessage", principal: tracker, context: { "aws:SecureTransport": "true" } })).toBe("denied");
    expect(decision(policy, { action: "sqs:DeleteMessage", principal: tracker, context: { "aws:SecureTransport": "true" } })).toBe("not decided");
  });
});

describe("the tracker's buckets", () => {
  it("ship in its packaged configuration, every tracked bucket named, so it can drop the rest", async () => {
    const resources = await deploy({ createBucket: { name: "photos" }, adoptBuckets: [{ name: "existing-logs" }], delivery: "eventbridge" });
    const tracker = ofType(resources, "aws:lambda/function:Function").find((fn) => fn.name === "ledger-tracker")!;
    expect((await packagedConfig(tracker.inputs)).BUCKETS).toEqual(["photos", "existing-logs"]);
    // What it drops raises an alarm: something outside the stack sends to its queue.
    expect(named(resources, "aws:cloudwatch/metricAlarm:MetricAlarm", "ledger-monitoring-untracked-bucket-events")).toMatchObject({
      namespace: "BucketLedger",
      metricName: "EventsUntrackedBucket",
      dimensions: { service: "tracker" },
      statistic: "Sum",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
  });
});

describe("created buckets", () => {
  const rules: NonNullable<NonNullable<BucketLedgerArgs["ingest"]>["rules"]> = [
    { name: "offers", bucket: "imports-bucket", pattern: "imports/*.csv", format: "csv", partitionKey: "id", copyPrefix: "copies/" },
    { name: "events", bucket: "imports-bucket", pattern: "events/*.jsonl", format: "jsonl", partitionKey: "id", errorPrefix: "event-errors/" },
  ];

  it("deliver S3 server access logs to the bucket named, under the created bucket's name", async () => {
    const resources = await deploy({ createBucket: { name: "photos", accessLogBucket: "central-access-logs" } });
    expect(named(resources, "aws:s3/bucketLogging:BucketLogging", "ledger-bucket-access-log")).toMatchObject({
      bucket: "photos",
      targetBucket: "central-access-logs",
      targetPrefix: "photos/",
    });
    recorded.length = 0;
    expect(ofType(await deploy({ createBucket: {} }), "aws:s3/bucketLogging:BucketLogging")).toEqual([]);
  });

  it("refuse to log into themselves", () => {
    expect(() => resolveBucketLedgerArgs({ createBucket: { name: "photos", accessLogBucket: "photos" } })).toThrow(
      /accessLogBucket: photos is the created bucket itself/,
    );
  });

  it("expire ingestion's error reports and copies after 90 days by default, one rule per prefix, and never anything else", async () => {
    const resources = await deploy({ createBucket: { name: "imports-bucket" }, ingest: { rules } });
    const lifecycle = named(resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "ledger-bucket-lifecycle");
    expect(lifecycle.rules).toEqual([
      {
        id: "expire-ingest-error-reports-bucket-ledger/ingest-errors/",
        status: "Enabled",
        filter: { prefix: "bucket-ledger/ingest-errors/" },
        expiration: { days: 90 },
      },
      { id: "expire-ingest-copies-copies/", status: "Enabled", filter: { prefix: "copies/" }, expiration: { days: 90 } },
      { id: "expire-ingest-error-reports-event-errors/", status: "Enabled", filter: { prefix: "event-errors/" }, expiration: { days: 90 } },
    ]);
  });

  it("expire the versions a versioned bucket keeps too, after the days configured; none with none", async () => {
    const versioned = await deploy({
      createBucket: { name: "imports-bucket", versioning: true, ingestOutputExpirationDays: 30 },
      ingest: { rules: [rules[0]!] },
    });
    expect(named(versioned, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "ledger-bucket-lifecycle").rules).toContainEqual(
      expect.objectContaining({ filter: { prefix: "copies/" }, expiration: { days: 30 }, noncurrentVersionExpiration: { noncurrentDays: 30 } }),
    );
    recorded.length = 0;
    const kept = await deploy({ createBucket: { name: "imports-bucket", ingestOutputExpirationDays: "none" }, ingest: { rules } });
    expect(ofType(kept, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")).toEqual([]);
  });

  it("keep the inventory destination's daily reports 14 days by default, as configured otherwise, never fewer than 3", async () => {
    const lifecycleOf = (resources: RecordedResource[]) =>
      named(resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "ledger-reconcile-inventory-lifecycle").rules;
    expect(lifecycleOf(await deploy({ createBucket: {}, reconcile: { source: "inventory" } }))).toEqual([
      { id: "expire-inventory-reports", status: "Enabled", filter: { prefix: "inventory/" }, expiration: { days: 14 } },
    ]);
    recorded.length = 0;
    expect(lifecycleOf(await deploy({ createBucket: {}, reconcile: { source: "inventory", inventoryReportExpirationDays: 45 } }))).toEqual([
      expect.objectContaining({ expiration: { days: 45 } }),
    ]);
    expect(() => resolveBucketLedgerArgs(argsFromStackConfig({ inventoryReportExpirationDays: "2" }))).toThrow(/inventoryReportExpirationDays/);
  });
});

describe("the API's reserved concurrency", () => {
  const apiFunction = async (api: BucketLedgerArgs["api"]) =>
    named(await deploy({ createBucket: {}, api: { enabled: true, ...api } }), "aws:lambda/function:Function", "ledger-api-function");

  it("is 10 by default, any positive number asked for, and nothing reserved with none", async () => {
    expect((await apiFunction({})).reservedConcurrentExecutions).toBe(10);
    recorded.length = 0;
    expect((await apiFunction({ reservedConcurrency: 25 })).reservedConcurrentExecutions).toBe(25);
    recorded.length = 0;
    expect((await apiFunction({ reservedConcurrency: "none" })).reservedConcurrentExecutions).toBeUndefined();
  });

  it("reads apiReservedConcurrency from stack config, and refuses 0 (which would throttle every request) naming none", () => {
    const fromConfig = (value: string) => resolveBucketLedgerArgs(argsFromStackConfig({ api: "true", apiReservedConcurrency: value })).api.reservedConcurrency;
    expect(fromConfig("none")).toBe("none");
    expect(fromConfig("50")).toBe(50);
    for (const bad of ["0", "-1", "lots"]) {
      expect(() => fromConfig(bad), bad).toThrow(BucketLedgerConfigError);
      expect(() => fromConfig(bad), bad).toThrow(/apiReservedConcurrency/);
    }
    expect(() => fromConfig("0")).toThrow(/"none"/);
  });
});

describe("reconciliation's ephemeral storage", () => {
  const reconcileFunction = async (reconcile: BucketLedgerArgs["reconcile"]) =>
    named(await deploy({ createBucket: {}, reconcile }), "aws:lambda/function:Function", "ledger-reconcile-function");

  it("is Lambda's 512 MB by default, raised when configured, and bounds the scratch budget at 90% of it", async () => {
    for (const [configured, size] of [
      [undefined, 512],
      [4096, 4096],
    ] as const) {
      recorded.length = 0;
      const fn = await reconcileFunction(configured === undefined ? {} : { ephemeralStorageMb: configured });
      expect(fn.ephemeralStorage).toEqual({ size });
      const limit = (fn.environment as { variables: Record<string, string> }).variables[SCRATCH_LIMIT_ENV];
      // What reconcile/scratch.ts reads, and accepts.
      expect(configuredLimit(limit)).toBe(Math.floor(size * 2 ** 20 * 0.9));
    }
  });

  it("reads reconcileEphemeralStorageMb from stack config within Lambda's 512 to 10,240 MB", () => {
    const fromConfig = (value: string) => resolveBucketLedgerArgs(argsFromStackConfig({ reconcileEphemeralStorageMb: value })).reconcile.ephemeralStorageMb;
    expect(fromConfig("10240")).toBe(10_240);
    for (const bad of ["511", "10241"]) expect(() => fromConfig(bad), bad).toThrow(/ephemeralStorageMb/);
  });
});
