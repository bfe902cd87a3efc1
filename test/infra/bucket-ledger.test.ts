/**
 * The BucketLedger component under Pulumi mocks, one block per meaningful configuration:
 * wiring and security properties asserted on the resource inputs AWS would receive.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import { BucketLedgerConfigError, resolveBucketLedgerArgs, type BucketLedgerArgs } from "../../infra/args.js";
import { BucketLedger } from "../../infra/bucket-ledger.js";
import { ACCOUNT_ID, installMocks, packagedConfig, resolve, type RecordedResource } from "./mocks.js";

// Installed once: replacing the mock monitor mid-file orphans the previous test's late registrations.
const recorded = installMocks();
beforeEach(() => {
  recorded.length = 0;
});

async function deploy(args: BucketLedgerArgs): Promise<{ ledger: BucketLedger; resources: RecordedResource[] }> {
  const ledger = new BucketLedger("ledger", args);
  await resolve(
    pulumi.all([
      ledger.outputs.tableName,
      ledger.outputs.queueUrl,
      ledger.outputs.deadLetterQueueUrl,
      ledger.outputs.trackerFunctionName,
      ledger.outputs.reconcileFunctionName,
      ledger.outputs.scheduleName,
      ledger.outputs.dashboardUrl,
      ledger.outputs.bucketNames,
    ]),
  );
  // Let resources whose inputs wait on those outputs finish registering.
  await new Promise((r) => setTimeout(r, 200));
  return { ledger, resources: [...recorded] };
}

const ofType = (resources: RecordedResource[], type: string) => resources.filter((resource) => resource.type === type);
const one = (resources: RecordedResource[], type: string, nameIncludes = "") => {
  const matches = ofType(resources, type).filter((resource) => resource.name.includes(nameIncludes));
  expect(matches, `${type} ${nameIncludes}`).toHaveLength(1);
  return matches[0]!.inputs;
};
/** The resource of `type` named exactly `name` (names of siblings may contain one another). */
const named = (resources: RecordedResource[], type: string, name: string) => {
  const matches = ofType(resources, type).filter((resource) => resource.name === name);
  expect(matches, `${type} ${name}`).toHaveLength(1);
  return matches[0]!.inputs;
};
type PolicyStatement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
const statements = (policy: unknown): PolicyStatement[] => (JSON.parse(policy as string) as { Statement: PolicyStatement[] }).Statement;
const asList = <T>(value: T | T[]) => (Array.isArray(value) ? value : [value]);

function assertLeastPrivilege(resources: RecordedResource[]): void {
  const policies = ofType(resources, "aws:iam/rolePolicy:RolePolicy");
  expect(policies.length).toBeGreaterThanOrEqual(3);
  for (const policy of policies) {
    for (const statement of statements(policy.inputs.policy)) {
      expect(statement.Effect).toBe("Allow");
      for (const action of asList(statement.Action)) expect(action, policy.name).not.toMatch(/\*/);
      for (const resource of asList(statement.Resource)) expect(resource, `${policy.name} ${statement.Sid}`).not.toBe("*");
    }
  }
}

function assertUniqueNames(resources: RecordedResource[]): void {
  const names = resources.map((resource) => `${resource.type}::${resource.name}`);
  expect(new Set(names).size, "the real engine rejects duplicate names").toBe(names.length);
}

const inventoryOf = (resources: RecordedResource[]) => resources.map((resource) => `${resource.type} ${resource.name}`).sort();

describe("sqs delivery to a created bucket (the defaults)", () => {
  it("deploys the table from the shared definition, secured", async () => {
    const { resources, ledger } = await deploy({ createBucket: {} });
    const table = one(resources, "aws:dynamodb/table:Table");
    expect(table).toMatchObject({
      billingMode: "PAY_PER_REQUEST",
      hashKey: "pk",
      rangeKey: "sk",
      ttl: { attributeName: "expiresAt", enabled: true },
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
      deletionProtectionEnabled: true,
      globalSecondaryIndexes: [{ name: "changes", hashKey: "changeDay", rangeKey: "changeToken", projectionType: "ALL" }],
    });
    expect(await resolve(ledger.outputs.tableName)).toBe("ledger-ledger-1a2b3c");
    assertUniqueNames(resources);
    expect(inventoryOf(resources)).toMatchSnapshot();
  });

  it("creates a private, encrypted, TLS-only bucket and points its notifications at the queue", async () => {
    const { resources } = await deploy({ createBucket: { versioning: true } });
    expect(one(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(one(resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")).toBeDefined();
    expect(one(resources, "aws:s3/bucketVersioning:BucketVersioning")).toMatchObject({ versioningConfiguration: { status: "Enabled" } });
    const bucketPolicy = statements(one(resources, "aws:s3/bucketPolicy:BucketPolicy").policy);
    expect(bucketPolicy).toContainEqual(expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }));
    const notification = one(resources, "aws:s3/bucketNotification:BucketNotification");
    expect(notification.queues).toEqual([
      {
        queueArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:ledger-events-1a2b3c`,
        events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"],
      },
    ]);
  });

  it("lets only the tracked buckets of this account send to the queue, with a DLQ behind it", async () => {
    const { resources } = await deploy({ createBucket: {}, tracker: { timeoutSeconds: 45 } });
    const queues = ofType(resources, "aws:sqs/queue:Queue");
    expect(queues.every((q) => q.inputs.sqsManagedSseEnabled === true)).toBe(true);
    const mainQueue = queues.find((q) => q.name === "ledger-events")!.inputs;
    expect(mainQueue.visibilityTimeoutSeconds).toBe(275); // 6 x the function timeout + the batching window
    expect(JSON.parse(mainQueue.redrivePolicy as string)).toEqual({
      deadLetterTargetArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:ledger-events-dlq-1a2b3c`,
      maxReceiveCount: 5,
    });
    const policy = statements(named(resources, "aws:sqs/queuePolicy:QueuePolicy", "ledger-events").policy);
    expect(policy[0]).toMatchObject({
      Effect: "Allow",
      Principal: { Service: "s3.amazonaws.com" },
      Action: "sqs:SendMessage",
      Condition: { ArnLike: { "aws:SourceArn": ["arn:aws:s3:::ledger-bucket-1a2b3c"] }, StringEquals: { "aws:SourceAccount": ACCOUNT_ID } },
    });
    expect(policy.at(-1)).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
  });

  const writerVariables = (resources: Awaited<ReturnType<typeof deploy>>["resources"]) =>
    ["tracker", "reconcile"].map(
      (name) => (one(resources, "aws:lambda/function:Function", name).environment as { variables: Record<string, string> }).variables,
    );

  const journalGrants = (resources: Awaited<ReturnType<typeof deploy>>["resources"]) =>
    ["tracker", "reconcile-function"].map((name) =>
      statements(one(resources, "aws:iam/rolePolicy:RolePolicy", name).policy).filter((statement) => statement.Sid === "WriteJournal"),
    );

  it("turns the journal off in both writers with history: false, and grants them nothing for it", async () => {
    const { resources } = await deploy({ createBucket: {}, history: { enabled: false } });
    expect(writerVariables(resources).map((variables) => variables.HISTORY_DAYS)).toEqual(["0", "0"]);
    expect(journalGrants(resources)).toEqual([[], []]);
  });

  it("gives both writers historyDays, and BatchWriteItem in the journal's partitions only", async () => {
    const { resources } = await deploy({ createBucket: {}, history: { days: 7 } });
    expect(writerVariables(resources).map((variables) => variables.HISTORY_DAYS)).toEqual(["7", "7"]);
    for (const grants of journalGrants(resources))
      expect(grants).toEqual([
        expect.objectContaining({
          Action: "dynamodb:BatchWriteItem",
          Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["journal#*"] } },
        }),
      ]);
  });

  it("tells the tracker which object metadata to keep, and needs no new permission for it", async () => {
    const { resources } = await deploy({ createBucket: {}, enrich: ["contentType", "userMetadata"], changeShards: 1 });
    expect(writerVariables(resources).map((variables) => variables.ENRICH)).toEqual(["contentType,userMetadata", "contentType,userMetadata"]);
    const tracker = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "tracker").policy);
    expect(tracker.flatMap((statement) => statement.Action).sort()).toEqual(
      [
        "dynamodb:BatchWriteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "s3:ListBucket",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
      ].sort(),
    );
  });

  it("passes changeShards to both writers, pre-warms the table and its change index when asked, and budgets a backfill two thirds of that over three table writes a repair", async () => {
    const { resources } = await deploy({ createBucket: {}, changeShards: 16, warmWriteUnitsPerSecond: 24_000 });
    expect(writerVariables(resources).map((variables) => variables.CHANGE_SHARDS)).toEqual(["16", "16"]);
    // A fixed count: no rate to count, so no UpdateItem for the tracker.
    expect(statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "tracker").policy).flatMap((statement) => statement.Action)).not.toContain(
      "dynamodb:UpdateItem",
    );
    const reconcile = one(resources, "aws:lambda/function:Function", "reconcile");
    expect((reconcile.environment as { variables: Record<string, string> }).variables.BACKFILL_REPAIRS_PER_SECOND).toBe("5333");
    const table = one(resources, "aws:dynamodb/table:Table");
    expect(table.warmThroughput).toEqual({ writeUnitsPerSecond: 24_000 });
    expect(table.globalSecondaryIndexes).toEqual([expect.objectContaining({ name: "changes", warmThroughput: { writeUnitsPerSecond: 24_000 } })]);
  });

  it("leaves a table unwarmed by default, with change shards sized from each bucket's rate, and the tracker counting changes in rate# partitions only", async () => {
    const { resources } = await deploy({ createBucket: {} });
    expect(writerVariables(resources).map((variables) => variables.CHANGE_SHARDS)).toEqual(["auto", "auto"]);
    expect(one(resources, "aws:dynamodb/table:Table")).not.toHaveProperty("warmThroughput");
    expect(statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "tracker").policy).find((statement) => statement.Sid === "CountChanges")).toEqual({
      Sid: "CountChanges",
      Effect: "Allow",
      Action: "dynamodb:UpdateItem",
      Resource: expect.any(String),
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["rate#*"] } },
    });
    const reconcile = one(resources, "aws:lambda/function:Function", "reconcile");
    expect((reconcile.environment as { variables: Record<string, string> }).variables.BACKFILL_REPAIRS_PER_SECOND).toBe("750");
  });

  it("runs the tracker on nodejs22.x/arm64 with partial batch failures and bounded concurrency", async () => {
    const { resources } = await deploy({ createBucket: {}, tracker: { batchSize: 250, batchingWindowSeconds: 10, maximumConcurrency: 4 } });
    const tracker = one(resources, "aws:lambda/function:Function", "tracker");
    expect(tracker).toMatchObject({ runtime: "nodejs22.x", architectures: ["arm64"], handler: "index.handler", loggingConfig: { logFormat: "JSON" } });
    expect((tracker.environment as { variables: Record<string, string> }).variables).toMatchObject({
      TABLE_NAME: "ledger-ledger-1a2b3c",
      RETENTION_DAYS: "30",
      HISTORY_DAYS: "90",
      WRITE_CONCURRENCY: "32",
    });
    expect(one(resources, "aws:lambda/eventSourceMapping:EventSourceMapping", "tracker")).toMatchObject({
      batchSize: 250,
      maximumBatchingWindowInSeconds: 10,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: 4 },
    });
    for (const logGroup of ofType(resources, "aws:cloudwatch/logGroup:LogGroup")) expect(logGroup.inputs.retentionInDays).toBe(30);
  });

  it("with tags and storage class kept: subscribes to their events, and grants GetObjectTagging and the tracker's UpdateItem", async () => {
    const { resources } = await deploy({ createBucket: {}, enrich: ["tags", "storageClass"] });
    expect(one(resources, "aws:s3/bucketNotification:BucketNotification", "").queues).toEqual([
      expect.objectContaining({
        events: [
          "s3:ObjectCreated:*",
          "s3:ObjectRemoved:*",
          "s3:LifecycleExpiration:*",
          "s3:ObjectTagging:Put",
          "s3:ObjectTagging:Delete",
          "s3:LifecycleTransition",
          "s3:IntelligentTiering",
          "s3:ObjectRestore:Post",
          "s3:ObjectRestore:Completed",
          "s3:ObjectRestore:Delete",
        ],
      }),
    ]);
    const tracker = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "tracker").policy);
    expect(tracker.find((statement) => statement.Sid === "DescribeLedgerObjects")).toMatchObject({ Action: "dynamodb:UpdateItem" });
    for (const role of ["tracker", "reconcile-function"])
      expect(
        statements(one(resources, "aws:iam/rolePolicy:RolePolicy", role).policy).find((statement) => statement.Sid === "ReadTrackedObjectTags"),
      ).toMatchObject({ Action: ["s3:GetObjectTagging", "s3:GetObjectVersionTagging"] });
  });

  it("with tags kept and EventBridge delivery: the rule takes the tagging detail-types too", async () => {
    const eventBridge = await deploy({ createBucket: {}, enrich: ["tags"], delivery: "eventbridge" });
    const pattern = JSON.parse(one(eventBridge.resources, "aws:cloudwatch/eventRule:EventRule", "").eventPattern as string);
    expect(pattern["detail-type"]).toEqual(["Object Created", "Object Deleted", "Object Tags Added", "Object Tags Deleted"]);
  });

  it("grants each function only what it uses, on named resources", async () => {
    const { resources } = await deploy({ createBucket: {} });
    assertLeastPrivilege(resources);
    const trackerPolicy = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "tracker").policy);
    expect(trackerPolicy.find((s) => s.Sid === "WriteLedger")).toMatchObject({
      Action: "dynamodb:PutItem",
      Resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT_ID}:table/ledger-ledger-1a2b3c`,
    });
    const reconcilePolicy = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "reconcile-function").policy);
    expect(reconcilePolicy.find((s) => s.Sid === "ListTrackedBuckets")).toMatchObject({
      Action: "s3:ListBucket",
      Resource: ["arn:aws:s3:::ledger-bucket-1a2b3c"],
    });
  });

  it("schedules reconciliation nightly, and alarms route to the email topic", async () => {
    const { resources } = await deploy({ createBucket: {}, monitoring: { alarmEmail: "oncall@example.com" } });
    expect(one(resources, "aws:scheduler/schedule:Schedule")).toMatchObject({
      scheduleExpression: "cron(0 3 * * ? *)",
      scheduleExpressionTimezone: "UTC",
      flexibleTimeWindow: { mode: "OFF" },
    });
    expect(one(resources, "aws:sns/topicSubscription:TopicSubscription")).toMatchObject({ protocol: "email", endpoint: "oncall@example.com" });
    const alarms = ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm");
    expect(alarms.map((alarm) => alarm.name).sort()).toEqual([
      "ledger-monitoring-dlq-not-empty",
      "ledger-monitoring-drift",
      "ledger-monitoring-key-encoding",
      "ledger-monitoring-reconcile-failed",
      "ledger-monitoring-reconcile-tasks-dlq",
      "ledger-monitoring-tracker-errors",
      "ledger-monitoring-untracked-bucket-events",
    ]);
    // A run is what fails, not an invocation: the alarm reads the runs' own metric.
    expect(one(resources, "aws:cloudwatch/metricAlarm:MetricAlarm", "reconcile-failed")).toMatchObject({
      namespace: "BucketLedger",
      metricName: "RunsFailed",
      statistic: "Sum",
    });
    for (const alarm of alarms) expect(alarm.inputs.alarmActions).toEqual([expect.stringContaining("arn:")]);
    const dashboard = JSON.parse(one(resources, "aws:cloudwatch/dashboard:Dashboard").dashboardBody as string);
    expect(JSON.stringify(dashboard)).toContain("EventsApplied");
    expect(JSON.stringify(dashboard)).toContain("DriftFound");
  });
});

describe("reconciliation fan-out", () => {
  it("carries range tasks on their own queue to the reconcile function, with bounded concurrency", async () => {
    const { resources } = await deploy({ createBucket: {}, reconcile: { tasksPerRun: 32, maximumConcurrency: 6, timeoutSeconds: 600 } });
    const tasks = ofType(resources, "aws:sqs/queue:Queue").find((queue) => queue.name === "ledger-reconcile-tasks")!.inputs;
    expect(tasks).toMatchObject({ visibilityTimeoutSeconds: 3600, sqsManagedSseEnabled: true });
    expect(JSON.parse(tasks.redrivePolicy as string)).toMatchObject({
      deadLetterTargetArn: expect.stringContaining("reconcile-tasks-dlq"),
      maxReceiveCount: 5,
    });
    expect(one(resources, "aws:lambda/eventSourceMapping:EventSourceMapping", "reconcile-tasks")).toMatchObject({
      eventSourceArn: expect.stringContaining("reconcile-tasks"),
      functionName: expect.stringContaining("reconcile-function"),
      batchSize: 1,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: 6 },
    });
    const reconcile = one(resources, "aws:lambda/function:Function", "reconcile-function");
    expect((reconcile.environment as { variables: Record<string, string> }).variables).toMatchObject({
      TASKS_PER_RUN: "32",
      TASK_QUEUE_URL: expect.stringContaining("reconcile-tasks"),
    });
    const policy = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "reconcile-function").policy);
    expect(policy.find((s) => s.Sid === "QueueTasks")).toMatchObject({ Action: "sqs:SendMessage", Resource: expect.stringContaining("reconcile-tasks") });
    expect(policy.find((s) => s.Sid === "ConsumeTaskQueue")?.Resource).toEqual(expect.not.stringContaining("dlq"));
  });

  it("rejects a task concurrency below what an SQS event source allows", () => {
    expect(() => resolveBucketLedgerArgs({ createBucket: {}, reconcile: { maximumConcurrency: 1 } })).toThrow(/maximumConcurrency/);
  });
});

describe("query API", () => {
  it("is not deployed unless asked for", async () => {
    const { resources } = await deploy({ createBucket: {} });
    expect(resources.filter((resource) => resource.type.startsWith("aws:apigatewayv2/"))).toEqual([]);
  });

  it("serves five GET routes through one Lambda, all IAM-authorized by default, with a throttled stage", async () => {
    const { resources, ledger } = await deploy({ createBucket: {}, api: { enabled: true } });
    expect(one(resources, "aws:apigatewayv2/api:Api")).toMatchObject({ protocolType: "HTTP" });
    const routes = ofType(resources, "aws:apigatewayv2/route:Route");
    expect(routes.map((route) => route.inputs.routeKey).sort()).toEqual([
      "GET /buckets/{bucket}/changes",
      "GET /buckets/{bucket}/diff",
      "GET /buckets/{bucket}/history",
      "GET /buckets/{bucket}/object",
      "GET /buckets/{bucket}/objects",
    ]);
    // Nothing public: every route needs SigV4, and there is no $default catch-all route.
    for (const route of routes) expect(route.inputs.authorizationType).toBe("AWS_IAM");
    expect(one(resources, "aws:apigatewayv2/integration:Integration")).toMatchObject({ integrationType: "AWS_PROXY", payloadFormatVersion: "2.0" });
    expect(one(resources, "aws:apigatewayv2/stage:Stage")).toMatchObject({
      name: "$default",
      autoDeploy: true,
      defaultRouteSettings: { throttlingRateLimit: 50, throttlingBurstLimit: 100 },
    });
    expect(one(resources, "aws:lambda/permission:Permission", "api")).toMatchObject({
      principal: "apigateway.amazonaws.com",
      sourceArn: `arn:aws:execute-api:us-east-1:${ACCOUNT_ID}:a1b2c3d4e5/*/*`,
    });
    const fn = one(resources, "aws:lambda/function:Function", "api-function");
    // Reserved (and capped), so a flood of requests cannot take the account's concurrency from the tracker.
    expect(fn.reservedConcurrentExecutions).toBe(10);
    // The cursor-signing key is written by the stack, so the function stays read-only (below).
    const cursorKey = one(resources, "aws:dynamodb/tableItem:TableItem", "cursor-key");
    expect(cursorKey).toMatchObject({ tableName: "ledger-ledger-1a2b3c", hashKey: "pk", rangeKey: "sk" });
    // A secret reaches the mocks wrapped (Pulumi's secret signature and its value): encrypted in the state.
    expect(typeof cursorKey.item).toBe("object");
    const item = typeof cursorKey.item === "string" ? cursorKey.item : (cursorKey.item as { value: string }).value;
    expect(JSON.parse(item)).toMatchObject({ pk: { S: "registry#api" }, secret: { S: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect((fn.environment as { variables: Record<string, string> }).variables).toMatchObject({ TABLE_NAME: "ledger-ledger-1a2b3c" });
    // The buckets grow with the configuration: they travel in the code archive, not the 4 KB environment.
    expect(await packagedConfig(fn)).toEqual({ BUCKETS: ["ledger-bucket-1a2b3c"] });
    const policy = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "api-function").policy);
    expect(policy.find((s) => s.Sid === "ReadLedger")).toMatchObject({ Action: ["dynamodb:Query", "dynamodb:GetItem"] });
    expect(
      policy.flatMap((s) => [s.Action].flat()).filter((action) => action.startsWith("dynamodb:") && !["dynamodb:Query", "dynamodb:GetItem"].includes(action)),
    ).toEqual([]);
    expect(await resolve(ledger.outputs.apiEndpoint!)).toBe("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com");
    assertLeastPrivilege(resources);
    assertUniqueNames(resources);
  });

  it("opens the routes only when authorization is explicitly none", async () => {
    const { resources } = await deploy({ createBucket: {}, api: { enabled: true, authorization: "none" } });
    for (const route of ofType(resources, "aws:apigatewayv2/route:Route")) expect(route.inputs.authorizationType).toBe("NONE");
  });
});

describe("eventbridge delivery for adopted buckets", () => {
  it("leaves the adopted buckets' notification configuration alone and routes through rules", async () => {
    const { resources } = await deploy({
      adoptBuckets: [{ name: "existing-photos", filters: [{ prefix: "raw/", suffix: ".jpg" }] }, { name: "existing-logs" }],
      delivery: "eventbridge",
    });
    expect(ofType(resources, "aws:s3/bucketNotification:BucketNotification")).toEqual([]);
    expect(ofType(resources, "aws:s3/bucket:Bucket")).toEqual([]);
    const rules = ofType(resources, "aws:cloudwatch/eventRule:EventRule").map((rule) => JSON.parse(rule.inputs.eventPattern as string));
    expect(rules).toEqual([
      {
        source: ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        detail: { bucket: { name: ["existing-photos"] }, object: { key: [{ wildcard: "raw/*.jpg" }] } },
      },
      { source: ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"], detail: { bucket: { name: ["existing-logs"] } } },
    ]);
    const [allow] = statements(named(resources, "aws:sqs/queuePolicy:QueuePolicy", "ledger-events").policy);
    expect(allow).toMatchObject({
      Principal: { Service: "events.amazonaws.com" },
      Condition: { ArnEquals: { "aws:SourceArn": [expect.stringContaining(":rule/"), expect.stringContaining(":rule/")] } },
    });
    expect(ofType(resources, "aws:cloudwatch/eventTarget:EventTarget")).toHaveLength(2);
    assertLeastPrivilege(resources);
    assertUniqueNames(resources);
    expect(inventoryOf(resources)).toMatchSnapshot();
  });

  it("turns on EventBridge delivery only on the bucket it creates", async () => {
    const { resources } = await deploy({ createBucket: {}, adoptBuckets: [{ name: "existing-photos" }], delivery: "eventbridge" });
    const notifications = ofType(resources, "aws:s3/bucketNotification:BucketNotification");
    expect(notifications).toHaveLength(1);
    expect(notifications[0]!.inputs).toEqual({ bucket: "ledger-bucket-1a2b3c", eventbridge: true });
  });
});

describe("sqs delivery for adopted buckets", () => {
  it("refuses to replace an adopted bucket's notification configuration without an explicit opt-in", () => {
    expect(() => new BucketLedger("ledger", { adoptBuckets: [{ name: "existing-photos" }], delivery: "sqs" })).toThrow(BucketLedgerConfigError);
    expect(() => new BucketLedger("ledger", { adoptBuckets: [{ name: "existing-photos" }] })).toThrow(
      /Use delivery "eventbridge".*or set replaceExistingNotifications/,
    );
  });

  it("owns it when told to, with one queue entry per filter", async () => {
    const { resources } = await deploy({
      adoptBuckets: [{ name: "existing-photos", filters: [{ prefix: "raw/" }, { prefix: "thumbs/", suffix: ".png" }] }],
      replaceExistingNotifications: true,
      createBucket: undefined,
    });
    const notification = one(resources, "aws:s3/bucketNotification:BucketNotification");
    expect(notification.bucket).toBe("existing-photos");
    expect(
      (notification.queues as { filterPrefix?: string; filterSuffix?: string }[]).map(({ filterPrefix, filterSuffix }) => ({ filterPrefix, filterSuffix })),
    ).toEqual([
      { filterPrefix: "raw/", filterSuffix: undefined },
      { filterPrefix: "thumbs/", filterSuffix: ".png" },
    ]);
    assertUniqueNames(resources);
    expect(inventoryOf(resources)).toMatchSnapshot();
  });
});

describe("inventory reconciliation", () => {
  it("configures daily CSV inventory into a secured destination the reconciler can read", async () => {
    const { resources, ledger } = await deploy({ createBucket: {}, reconcile: { source: "inventory" } });
    expect(one(resources, "aws:s3/inventory:Inventory")).toMatchObject({
      bucket: "ledger-bucket-1a2b3c",
      name: "bucket-ledger",
      includedObjectVersions: "Current",
      schedule: { frequency: "Daily" },
      destination: { bucket: { format: "CSV", prefix: "inventory", bucketArn: "arn:aws:s3:::ledger-reconcile-inventory-1a2b3c" } },
    });
    const destinationPolicy = statements(one(resources, "aws:s3/bucketPolicy:BucketPolicy", "reconcile-inventory").policy);
    expect(destinationPolicy.find((s) => s.Sid === "S3InventoryDelivery")).toMatchObject({
      Principal: { Service: "s3.amazonaws.com" },
      Resource: "arn:aws:s3:::ledger-reconcile-inventory-1a2b3c/inventory/*",
      Condition: { ArnLike: { "aws:SourceArn": ["arn:aws:s3:::ledger-bucket-1a2b3c"] }, StringEquals: { "aws:SourceAccount": ACCOUNT_ID } },
    });
    const reconcilePolicy = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "reconcile-function").policy);
    expect(reconcilePolicy.find((s) => s.Sid === "ReadInventoryReports")).toMatchObject({
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::ledger-reconcile-inventory-1a2b3c/inventory/*",
    });
    expect(await resolve(ledger.outputs.inventoryDestination!)).toBe("ledger-reconcile-inventory-1a2b3c");
    assertLeastPrivilege(resources);
    assertUniqueNames(resources);
    expect(inventoryOf(resources)).toMatchSnapshot();
  });
});

describe("what only AWS enforces", () => {
  it("encrypts the alarm topic with a key of its own that CloudWatch may use, since alias/aws/sns cannot admit it", async () => {
    const { resources } = await deploy({ createBucket: {}, monitoring: { alarmEmail: "oncall@example.com" } });
    const topic = one(resources, "aws:sns/topic:Topic");
    expect(topic.kmsMasterKeyId).not.toMatch(/^alias\/aws\//);
    expect(topic.kmsMasterKeyId).toMatch(/^arn:aws:mock:.*:Key\//);
    const key = one(resources, "aws:kms/key:Key");
    expect(key.enableKeyRotation).toBe(true);
    const keyPolicy = statements(key.policy);
    // As the SNS guide writes it (sns-key-management, compatibility-with-aws-services): no condition
    // AWS does not document for the KMS call SNS makes on CloudWatch's behalf.
    expect(keyPolicy.find((s) => s.Sid === "CloudWatchAlarmsPublish")).toEqual({
      Sid: "CloudWatchAlarmsPublish",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      Resource: "*",
    });
    expect(keyPolicy.find((s) => s.Sid === "AccountAdministers")).toMatchObject({ Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` } });
    const topicPolicy = statements(one(resources, "aws:sns/topicPolicy:TopicPolicy").policy);
    expect(topicPolicy.filter((statement) => statement.Effect === "Allow")).toEqual([
      expect.objectContaining({ Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish" }),
    ]);
  });

  it("lets the tracker list the tracked buckets, so HeadObject of a deleted key answers 404 rather than 403", async () => {
    const { resources } = await deploy({ createBucket: {}, adoptBuckets: [{ name: "existing-photos" }], delivery: "eventbridge" });
    const trackerPolicy = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "tracker").policy);
    const listing = trackerPolicy.filter((s) => asList(s.Action).includes("s3:ListBucket"));
    expect(listing.flatMap((s) => asList(s.Resource)).sort()).toEqual(["arn:aws:s3:::existing-photos", "arn:aws:s3:::ledger-bucket-1a2b3c"]);
  });

  it("lets the reconciler delete the orphans a dead worker recorded, as a resumed task does", async () => {
    const { resources } = await deploy({ createBucket: {} });
    const policy = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "reconcile-function").policy);
    expect(policy.flatMap((s) => asList(s.Action))).toContain("dynamodb:DeleteItem");
  });

  it("lets the reconciler HEAD tracked objects (confirming inventory drift), with ListBucket so a missing key answers 404", async () => {
    const { resources } = await deploy({ createBucket: {}, reconcile: { source: "inventory" } });
    const policy = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "reconcile-function").policy);
    expect(policy.find((s) => s.Sid === "HeadTrackedObjects")).toMatchObject({ Action: "s3:GetObject", Resource: ["arn:aws:s3:::ledger-bucket-1a2b3c/*"] });
    expect(policy.find((s) => s.Sid === "ListTrackedBuckets")).toMatchObject({ Action: "s3:ListBucket", Resource: ["arn:aws:s3:::ledger-bucket-1a2b3c"] });
  });

  it("asks S3 Inventory for no detail fields when none is kept", async () => {
    const plain = await deploy({ createBucket: {}, reconcile: { source: "inventory" } });
    expect(one(plain.resources, "aws:s3/inventory:Inventory").optionalFields).toEqual(["Size", "LastModifiedDate", "ETag", "StorageClass"]);
  });

  it("asks S3 Inventory for EncryptionStatus and ChecksumAlgorithm with encryption and checksum kept", async () => {
    const enriched = await deploy({ createBucket: {}, reconcile: { source: "inventory" }, enrich: ["encryption", "checksum"] });
    expect(one(enriched.resources, "aws:s3/inventory:Inventory").optionalFields).toEqual([
      "Size",
      "LastModifiedDate",
      "ETag",
      "StorageClass",
      "EncryptionStatus",
      "ChecksumAlgorithm",
    ]);
  });

  it("alarms when reconciliation finds keys stored in another URL-encoding form", async () => {
    const { resources } = await deploy({ createBucket: {} });
    expect(one(resources, "aws:cloudwatch/metricAlarm:MetricAlarm", "key-encoding")).toMatchObject({
      namespace: "BucketLedger",
      metricName: "KeyEncodingMismatches",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
  });

  it("sends notification filters URL-encoded, as S3 matches them, and keeps EventBridge patterns raw", async () => {
    const sqs = await deploy({
      adoptBuckets: [{ name: "existing-logs", filters: [{ prefix: "my logs/", suffix: "+1.json" }] }],
      replaceExistingNotifications: true,
    });
    const notification = one(sqs.resources, "aws:s3/bucketNotification:BucketNotification");
    expect(notification.queues).toEqual([expect.objectContaining({ filterPrefix: "my+logs/", filterSuffix: "%2B1.json" })]);
    const eventbridge = await deploy({
      adoptBuckets: [{ name: "existing-logs", filters: [{ prefix: "my logs/", suffix: "+1.json" }] }],
      delivery: "eventbridge",
    });
    const pattern = JSON.parse(one(eventbridge.resources, "aws:cloudwatch/eventRule:EventRule").eventPattern as string);
    expect(pattern.detail.object.key).toEqual([{ wildcard: "my logs/*+1.json" }]);
  });

  it.each<[string, BucketLedgerArgs, RegExp]>([
    [
      "a batch size above 10 without a batching window",
      { createBucket: {}, tracker: { batchSize: 11, batchingWindowSeconds: 0 } },
      /tracker\.batchSize 11 needs tracker\.batchingWindowSeconds of at least 1/,
    ],
    [
      "a log retention CloudWatch Logs does not accept",
      { createBucket: {}, monitoring: { logRetentionDays: 31 } },
      /monitoring\.logRetentionDays: must be one of the values CloudWatch Logs accepts: 1, 3, 5/,
    ],
    [
      "a dashboard name with characters CloudWatch rejects",
      { createBucket: {}, monitoring: { dashboardName: "my ledger.prod" } },
      /monitoring\.dashboardName: CloudWatch dashboard names hold only/,
    ],
  ])("refuses %s before registering any resource", (_name, args, message) => {
    expect(() => new BucketLedger("ledger", args)).toThrow(message);
    expect(recorded).toEqual([]);
  });

  it("accepts a batch size of 10 without a window, and any batch size with one", () => {
    expect(() => resolveBucketLedgerArgs({ createBucket: {}, tracker: { batchSize: 10, batchingWindowSeconds: 0 } })).not.toThrow();
    expect(() => resolveBucketLedgerArgs({ createBucket: {}, tracker: { batchSize: 10_000, batchingWindowSeconds: 1 } })).not.toThrow();
  });

  it("reports every configuration error at once", () => {
    expect(() =>
      resolveBucketLedgerArgs({
        tracker: { batchSize: 50, batchingWindowSeconds: 0 },
        reconcile: { schedule: "nightly" },
        monitoring: { alarmEmail: "a@example.com", alarmTopicArn: "arn:aws:sns:x" },
      }),
    ).toThrow(/no bucket to track[\s\S]*batchingWindowSeconds[\s\S]*reconcileSchedule[\s\S]*not both/);
  });

  it("gives each component its own dashboard, and refuses two components that would share one", async () => {
    const { resources } = await deploy({ createBucket: {} });
    expect(one(resources, "aws:cloudwatch/dashboard:Dashboard").dashboardName).toBe("bucket-ledger-bucket-ledger-test-ledger");
    recorded.length = 0;
    expect(() => new BucketLedger("second", { createBucket: {}, monitoring: { dashboardName: "bucket-ledger-bucket-ledger-test-ledger" } })).toThrow(
      /already used by BucketLedger "ledger".*give one of them another dashboardName/,
    );
    expect(recorded).toEqual([]);
  });
});

describe("row ingestion", () => {
  const rules = [
    {
      name: "offers",
      bucket: "imports-bucket",
      pattern: "imports/*.csv",
      format: "csv" as const,
      partitionKey: "account",
      sortKey: "offer_id",
      types: { price: "number" as const },
      copyPrefix: "copies/",
    },
    { name: "events", bucket: "imports-bucket", pattern: "events/*.jsonl", format: "jsonl" as const, partitionKey: "id", table: "existing-events" },
  ];
  const args: BucketLedgerArgs = { createBucket: { name: "imports-bucket" }, ingest: { rules, maximumConcurrency: 3 } };

  it("is not deployed without rules", async () => {
    const { resources, ledger } = await deploy({ createBucket: {} });
    expect(ledger.ingestion).toBeUndefined();
    expect(ofType(resources, "aws:lambda/function:Function").map((f) => f.name)).not.toContainEqual(expect.stringContaining("ingest"));
  });

  it("creates a secured on-demand table per rule without one, with the source index sweeping needs", async () => {
    const { resources } = await deploy(args);
    const tables = ofType(resources, "aws:dynamodb/table:Table").filter((table) => table.name.includes("ingest"));
    expect(tables.map((table) => table.name)).toEqual(["ledger-ingest-offers"]);
    expect(tables[0]!.inputs).toMatchObject({
      billingMode: "PAY_PER_REQUEST",
      hashKey: "account",
      rangeKey: "offer_id",
      attributes: [
        { name: "account", type: "S" },
        { name: "offer_id", type: "S" },
        { name: "_source", type: "S" },
        { name: "_version", type: "S" },
      ],
      globalSecondaryIndexes: [{ name: "bucket-ledger-source", hashKey: "_source", rangeKey: "_version", projectionType: "KEYS_ONLY" }],
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
      deletionProtectionEnabled: true,
    });
  });

  it("feeds its own function from a FIFO queue with a FIFO DLQ, ten messages at a time, with bounded concurrency", async () => {
    const { resources } = await deploy(args);
    const queues = ofType(resources, "aws:sqs/queue:Queue").filter((queue) => queue.name.includes("ingest"));
    expect(queues.map((queue) => queue.inputs)).toEqual([
      expect.objectContaining({ fifoQueue: true, contentBasedDeduplication: false, sqsManagedSseEnabled: true }),
      expect.objectContaining({
        fifoQueue: true,
        deduplicationScope: "messageGroup",
        fifoThroughputLimit: "perMessageGroupId",
        visibilityTimeoutSeconds: 900 * 6,
        redrivePolicy: expect.stringContaining('"maxReceiveCount":5'),
      }),
    ]);
    expect(one(resources, "aws:lambda/eventSourceMapping:EventSourceMapping", "ingest")).toMatchObject({
      batchSize: 10,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: 3 },
    });
    expect(one(resources, "aws:lambda/eventSourceMapping:EventSourceMapping", "ingest").maximumBatchingWindowInSeconds).toBeUndefined();
    const ingest = one(resources, "aws:lambda/function:Function", "ingest");
    const env = (ingest.environment as { variables: Record<string, string> }).variables;
    expect(env.INGEST_RULES).toBeUndefined();
    const bound = (await packagedConfig(ingest)).INGEST_RULES as { name: string; table: string }[];
    expect(bound.map((rule) => [rule.name, rule.table])).toEqual([
      ["offers", "ledger-ingest-offers-1a2b3c"],
      ["events", "existing-events"],
    ]);
    expect(env).toMatchObject({ TABLE_NAME: "ledger-ledger-1a2b3c", STOP_MARGIN_MS: "180000" });
  });

  it("gives the ingest role only the covered objects, its prefixes, the row actions and its own ledger partitions", async () => {
    const { resources } = await deploy(args);
    assertLeastPrivilege(resources);
    const policy = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", "ingest-function").policy);
    const sid = (name: string) => policy.find((statement) => statement.Sid === name);
    expect(sid("ReadCoveredObjects")).toMatchObject({
      Action: "s3:GetObject",
      Resource: ["arn:aws:s3:::imports-bucket/imports/*.csv", "arn:aws:s3:::imports-bucket/events/*.jsonl"],
    });
    expect(sid("WriteReportsAndCopies")).toMatchObject({
      Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: ["arn:aws:s3:::imports-bucket/bucket-ledger/ingest-errors/*", "arn:aws:s3:::imports-bucket/copies/*"],
    });
    expect(sid("WriteRows")).toMatchObject({
      Action: ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem"],
      Resource: [
        `arn:aws:dynamodb:us-east-1:${ACCOUNT_ID}:table/ledger-ingest-offers-1a2b3c`,
        `arn:aws:dynamodb:us-east-1:${ACCOUNT_ID}:table/existing-events`,
      ],
    });
    expect(sid("RecordIngestions")).toMatchObject({ Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["ingest#*"] } } });
    // The tracker and reconciliation may send to the queue, and nothing more of it.
    for (const role of ["tracker", "reconcile-function"]) {
      const sends = statements(one(resources, "aws:iam/rolePolicy:RolePolicy", role).policy).filter(
        (statement) => statement.Sid === "RequestIngestion" || statement.Sid === "RequeueIngestion",
      );
      expect(sends, role).toEqual([expect.objectContaining({ Action: "sqs:SendMessage", Resource: expect.stringContaining("ingest") })]);
    }
  });

  it("alarms on failed ingestions and a non-empty ingest DLQ, and exports the queue, the tables and the rules", async () => {
    const { resources, ledger } = await deploy(args);
    expect(one(resources, "aws:cloudwatch/metricAlarm:MetricAlarm", "ingest-failed")).toMatchObject({
      metricName: "IngestionsFailed",
      namespace: "BucketLedger",
      threshold: 0,
    });
    one(resources, "aws:cloudwatch/metricAlarm:MetricAlarm", "ingest-dlq");
    const dashboard = JSON.parse(one(resources, "aws:cloudwatch/dashboard:Dashboard").dashboardBody as string) as {
      widgets: { properties: { title: string } }[];
    };
    expect(dashboard.widgets.map((widget) => widget.properties.title)).toContain("Row ingestion: files and rows");
    const [tables, exported] = await resolve(pulumi.all([ledger.outputs.rowTableNames!, ledger.outputs.ingestRules!]));
    expect(tables).toEqual({ offers: "ledger-ingest-offers-1a2b3c", events: "existing-events" });
    expect(exported.map((rule) => rule.table)).toEqual(["ledger-ingest-offers-1a2b3c", "existing-events"]);
  });

  it("refuses rules AWS or ingestion could not honour, every problem at once", () => {
    const refused = () =>
      resolveBucketLedgerArgs({
        createBucket: {},
        adoptBuckets: [{ name: "adopted-bucket" }],
        delivery: "eventbridge",
        ingest: {
          rules: [
            { name: "a", bucket: "adopted-bucket", pattern: "in/*.csv", format: "csv", partitionKey: "id", errorPrefix: "in/errors/" },
            { name: "b", bucket: "adopted-bucket", pattern: "in/*", format: "jsonl", partitionKey: "id", types: { id: "boolean" } },
            { name: "c", bucket: "unnamed-created", pattern: "x.csv", format: "csv", partitionKey: "id" },
          ],
        },
      });
    expect(refused).toThrow(BucketLedgerConfigError);
    const message = (() => {
      try {
        refused();
      } catch (error) {
        return (error as Error).message;
      }
      return "";
    })();
    expect(message).toContain('errorPrefix "in/errors/" can match rule a\'s pattern "in/*.csv"');
    expect(message).toContain("key column id cannot be boolean");
    expect(message).toContain("patterns of a (in/*.csv) and b (in/*) overlap");
    expect(message).toContain(
      "bucket unnamed-created is not tracked by this stack; ingestion follows the ledger, so track it first (to ingest from the created bucket, give it a name: createBucket.name)",
    );
    expect(() =>
      resolveBucketLedgerArgs({
        createBucket: {},
        ingest: { rules: [{ name: "Bad Name", bucket: "b", pattern: "*", format: "csv", partitionKey: "id" } as never] },
      }),
    ).toThrow(/ingestRules\[0\]\.name|ingest\.rules\.0\.name/);
  });
});
