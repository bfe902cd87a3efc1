/**
 * The IAM contract, both ways. Every AWS call each function's code made during the
 * integration, fault and convergence tests (recorded by local/call-recorder.ts) is mapped to
 * the IAM action and resource AWS would authorize, in the deployed stack's terms, and checked
 * against the role policy the Pulumi program builds for that function under mocks:
 *
 * - a call the policy does not allow fails (the emulators enforce no IAM: this is where
 *   a missing permission shows before a `pulumi up` does);
 * - an allowed action no test ever exercised fails too (least privilege), unless AWS needs it
 *   for something no SDK call of ours shows, listed in NEEDED_WITHOUT_A_CALL with its source.
 *
 * Runs after every other test file (vitest.config.ts: groupOrder), on this run's log only.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { BucketLedger } from "../../infra/bucket-ledger.js";
import { INVENTORY_PREFIX } from "../../infra/reconciler.js";
import { CALL_LOG_ENV, queueName, type FunctionRole, type RecordedCall, type ResourceDeclaration, type ResourceRole } from "../../local/call-recorder.js";
import { installMocks, resolve, type RecordedResource } from "../infra/mocks.js";
import { localTestRules } from "../support/ingest-rules.js";
import { TEST_KMS_KEY_ARN } from "../support/kms-authorizer.js";

interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** One authorization AWS performs for a call. */
interface Requirement {
  action: string;
  resource: string;
  why: string;
  /** DynamoDB: the partition keys of the items the call touches (dynamodb:LeadingKeys), when the recorder saw them. */
  leadingKeys?: string[];
}

const asList = <T>(value: T | T[]) => (Array.isArray(value) ? value : [value]);

/** IAM's wildcard match for actions and resources (`*` any run, `?` any one character). */
function matches(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "s",
  );
  return regex.test(value);
}

/** Role policy statements of each function, as the program builds them. */
const ROLE_POLICY_NAMES: Record<FunctionRole, string> = {
  tracker: "ledger-tracker",
  reconcile: "ledger-reconcile-function",
  api: "ledger-api-function",
  ingest: "ledger-ingest-function",
  stream: "ledger-stream",
};
const ROLES: FunctionRole[] = ["tracker", "reconcile", "api", "ingest", "stream"];

/** The deployed stack's ingestion rules: those the local-stack tests run with, on the created bucket. */
const CONTRACT_BUCKET = "contract-tracked";
const INGEST_RULES = localTestRules(CONTRACT_BUCKET);
/**
 * Allowed actions that no SDK call of our code shows, and why AWS needs them.
 * Everything else a policy allows must be exercised by a test.
 */
const NEEDED_WITHOUT_A_CALL: { role: FunctionRole | "*"; action: string; source: string }[] = [
  {
    role: "*",
    action: "logs:CreateLogStream",
    source: "The Lambda runtime writes the function's logs with its role (Lambda developer guide, 'Sending Lambda function logs to CloudWatch Logs')",
  },
  { role: "*", action: "logs:PutLogEvents", source: "As above" },
  ...(["tracker", "reconcile"] as const).map((role) => ({
    role,
    action: "s3:GetObjectVersionTagging",
    source:
      "GetObjectTagging pinned to a version, in a versioned bucket (the local S3 keeps no versions): https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html",
  })),
  {
    role: "stream",
    action: "dynamodb:ListStreams",
    source:
      "Lambda's DynamoDB Streams event source mapping reads the stream with the function's role, which needs ListStreams beside DescribeStream, GetShardIterator and GetRecords (Lambda developer guide, with-ddb, 'Execution role permissions'); the local mapping is given the stream's ARN",
  },
  {
    role: "stream",
    action: "sqs:SendMessage",
    source:
      "The mapping's on-failure destination: Lambda sends the description of discarded records to the SQS queue with the function's role (services-ddb-params, DestinationConfig; with-ddb, 'Execution role permissions'); the local mapping retries without end instead",
  },
  {
    role: "stream",
    action: "kms:GenerateDataKey",
    source:
      "Publishing to a topic under a KMS key: SNS asks KMS with the publisher's permissions (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html); the local topic is not encrypted",
  },
  { role: "stream", action: "kms:Decrypt", source: "As above" },
  {
    role: "stream",
    action: "events:PutEvents",
    source: "The EventBridge target: no local EventBridge; its call and its answers are tested in test/unit/stream-publisher.test.ts (targets)",
  },
];

/** Deployed-stack names standing in for the local ones. */
interface Deployed {
  tableArn: string;
  /** The row tables the stack creates, by rule name. */
  rowTableArn: Record<string, string>;
  bucketName: Record<"trackedBucket" | "inventoryDestination", string>;
  queueArn: Record<"eventQueue" | "eventDeadLetterQueue" | "taskQueue" | "taskDeadLetterQueue" | "ingestQueue" | "ingestDeadLetterQueue", string>;
  /** The change stream: the ledger table's stream and the topic the publisher publishes to. */
  streamArn: string;
  topicArn: string;
}

const DYNAMODB_ITEM_ACTIONS: Record<string, string> = {
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  ConditionCheck: "ConditionCheckItem",
  Get: "GetItem",
};
/** Batch SQS operations are authorized as their single-message action (SQS developer guide, "Amazon SQS API permissions"). */
const SQS_BATCH_ACTIONS: Record<string, string> = {
  SendMessageBatch: "SendMessage",
  DeleteMessageBatch: "DeleteMessage",
  ChangeMessageVisibilityBatch: "ChangeMessageVisibility",
};
/**
 * Multipart uploads are authorized as s3:PutObject, except their abort (S3 user guide,
 * "Multipart upload API and permissions":
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuAndPermissions.html).
 */
const S3_ACTIONS: Record<string, string> = {
  CreateMultipartUpload: "PutObject",
  UploadPart: "PutObject",
  CompleteMultipartUpload: "PutObject",
  AbortMultipartUpload: "AbortMultipartUpload",
};
/**
 * The KMS actions S3 takes with the caller's permissions on an object under a KMS key: reading it
 * decrypts its data key, writing one generates a data key ("To upload an object encrypted with an
 * AWS KMS key to Amazon S3, you need kms:GenerateDataKey permissions on the key. To download an
 * object encrypted with an AWS KMS key, you need kms:Decrypt permissions": S3 user guide,
 * UsingKMSEncryption, "Permissions"); a multipart upload needs both, since S3 decrypts the parts
 * to assemble them (S3 user guide, mpuoverview, "Multipart upload API and permissions"); a HEAD
 * with ChecksumMode ENABLED needs kms:Decrypt (HeadObject API reference, ChecksumMode). A HEAD
 * without the mode, a listing and the tagging calls need none.
 */
const S3_KMS_ACTIONS: Record<string, (input: Record<string, unknown>) => string[]> = {
  GetObject: () => ["kms:Decrypt"],
  HeadObject: (input) => (input.ChecksumMode === "ENABLED" ? ["kms:Decrypt"] : []),
  PutObject: () => ["kms:GenerateDataKey"],
  CopyObject: () => ["kms:GenerateDataKey"],
  CreateMultipartUpload: () => ["kms:GenerateDataKey", "kms:Decrypt"],
  UploadPart: () => ["kms:GenerateDataKey", "kms:Decrypt"],
  CompleteMultipartUpload: () => ["kms:GenerateDataKey", "kms:Decrypt"],
};

/**
 * The AWS managed key S3 uses for SSE-KMS without a key id (the local S3 names it by its alias):
 * "When a service uses AWS owned keys or AWS managed keys, the service establishes and maintains
 * the key policies for these KMS keys" (KMS developer guide, key-policy-services), so no role
 * policy of ours can grant it or needs to.
 */
const AWS_MANAGED_S3_KEY = "alias/aws/s3";

/**
 * KMS authorizations our code is known to be refused, and survives: the call is made, S3 answers
 * 403, and the code carries on without what it asked for. Each names the test that shows it.
 * A role that is granted the action later needs no entry.
 */
const DEGRADES_WITHOUT: { role: FunctionRole; command: string; action: string; how: string }[] = (["tracker", "reconcile"] as const).map((role) => ({
  role,
  command: "HeadObject",
  action: "kms:Decrypt",
  how: "the checksum is withheld and the HEAD asked again without ChecksumMode (s3/object-details.ts; test/integration/encrypted-objects.test.ts)",
}));

/** lib-dynamodb's command names, should the recorder see them instead of the client's. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  Put: "PutItem",
  Get: "GetItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  TransactWrite: "TransactWriteItems",
  TransactGet: "TransactGetItems",
  BatchWrite: "BatchWriteItem",
  BatchGet: "BatchGetItem",
};

function requirements(
  call: RecordedCall,
  deployed: Deployed,
  queues: Map<string, ResourceRole>,
  buckets: Map<string, ResourceRole>,
  tables: Map<string, ResourceRole> = new Map(),
): Requirement[] {
  const { input } = call;
  const why = `${call.role} ${call.service}.${call.command}`;
  switch (call.service) {
    case "DynamoDB": {
      const command = DOCUMENT_COMMANDS[call.command] ?? call.command;
      // Every table the tests create stands for the stack's one ledger table.
      if (command === "TransactWriteItems") {
        // IAM authorizes each item of a transaction by its own action (DynamoDB developer guide,
        // "Using IAM with DynamoDB transactions").
        return (input.TransactItems as { operation: string }[]).map(({ operation }) => ({
          action: `dynamodb:${DYNAMODB_ITEM_ACTIONS[operation]}`,
          resource: deployed.tableArn,
          why: `${why} (${operation})`,
          ...leadingKeysOf(input),
        }));
      }
      // A row table (declared by the local stack) stands for the deployed rule's table; every
      // other table stands for the ledger table.
      const tableName = (input.TableName as string | undefined) ?? (input.RequestItems as string[] | undefined)?.[0];
      const tableArn =
        tableName !== undefined && tables.get(tableName) === "rowTable"
          ? (deployed.rowTableArn[tableName.replace(/^bucket-ledger-rows-/, "")] ?? `undeployed row table ${tableName}`)
          : deployed.tableArn;
      const resource = typeof input.IndexName === "string" ? `${tableArn}/index/${input.IndexName}` : tableArn;
      return [{ action: `dynamodb:${command}`, resource, why, ...leadingKeysOf(input) }];
    }
    case "S3":
      return [...s3Requirements(call, deployed, buckets, why), ...kmsRequirements(call, why)];
    case "SQS": {
      const name = queueName(input.QueueUrl as string);
      const role = queues.get(name);
      if (!role) return [{ action: `sqs:${call.command}`, resource: `undeclared queue ${name}`, why }];
      return [{ action: `sqs:${SQS_BATCH_ACTIONS[call.command] ?? call.command}`, resource: deployed.queueArn[role as keyof Deployed["queueArn"]], why }];
    }
    // What Lambda's event source mapping reads the table's stream with, on the stream's ARN (with-ddb, "Execution role permissions").
    case "DynamoDBStreams":
      return [{ action: `dynamodb:${call.command}`, resource: deployed.streamArn, why }];
    // "The PublishBatch API uses the same Publish API action for IAM policies" (SNS developer guide, sns-batch-api-actions).
    case "SNS":
      return [{ action: `sns:${call.command === "PublishBatch" ? "Publish" : call.command}`, resource: deployed.topicArn, why }];
    default:
      return [{ action: `${call.service.toLowerCase()}:${call.command}`, resource: "unknown", why }];
  }
}

function s3Requirements(call: RecordedCall, deployed: Deployed, buckets: Map<string, ResourceRole>, why: string): Requirement[] {
  const { input } = call;
  const role = buckets.get(input.Bucket as string) ?? "trackedBucket";
  const bucket = deployed.bucketName[role as keyof Deployed["bucketName"]];
  const bucketArn = `arn:aws:s3:::${bucket}`;
  if (call.command === "ListObjectsV2") return [{ action: "s3:ListBucket", resource: bucketArn, why }];
  if (call.command === "HeadObject" || call.command === "GetObject") {
    const read = { action: "s3:GetObject", resource: `${bucketArn}/${input.Key as string}`, why };
    // Without s3:ListBucket, S3 answers 403 instead of 404 for a missing key (S3 API
    // reference, HeadObject and GetObject, "Permissions"): the code's not-found path needs it.
    return call.status === 404 ? [read, { action: "s3:ListBucket", resource: bucketArn, why: `${why} answered 404` }] : [read];
  }
  if (call.command === "GetObjectTagging" && input.VersionId !== undefined)
    return [{ action: "s3:GetObjectVersionTagging", resource: `${bucketArn}/${input.Key as string}`, why }];
  return [{ action: `s3:${S3_ACTIONS[call.command] ?? call.command}`, resource: `${bucketArn}/${(input.Key as string | undefined) ?? ""}`, why }];
}

/** What an S3 call on an object under a customer managed KMS key needs of that key (S3_KMS_ACTIONS), on the key's ARN. */
function kmsRequirements(call: RecordedCall, why: string): Requirement[] {
  const keyId = call.kmsKeyId;
  if (keyId === undefined || keyId === AWS_MANAGED_S3_KEY) return [];
  // IAM names a key by its ARN; a bare id or an alias cannot be matched to a grant.
  const resource = keyId.startsWith("arn:") ? keyId : `unqualified KMS key ${keyId}`;
  return (S3_KMS_ACTIONS[call.command]?.(call.input) ?? []).map((action) => ({ action, resource, why: `${why} (object under ${keyId})` }));
}

const degrades = (role: FunctionRole, call: RecordedCall, requirement: Requirement) =>
  DEGRADES_WITHOUT.some((known) => known.role === role && known.command === call.command && known.action === requirement.action);

function readLog(): { calls: RecordedCall[]; declarations: ResourceDeclaration[] } {
  const directory = process.env[CALL_LOG_ENV];
  if (!directory) throw new Error(`${CALL_LOG_ENV} is not set: run the tests through vitest.config.ts`);
  let files: string[] = [];
  try {
    files = readdirSync(directory).filter((file) => file.endsWith(".ndjson"));
  } catch {
    // No directory: nothing was recorded.
  }
  const lines = files.flatMap((file) =>
    readFileSync(join(directory, file), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as RecordedCall | ResourceDeclaration),
  );
  return {
    calls: lines.filter((line): line is RecordedCall => line.type === "call"),
    declarations: lines.filter((line): line is ResourceDeclaration => line.type === "resource"),
  };
}

let deployed: Deployed;
let policies: Record<FunctionRole, Statement[]>;
let calls: RecordedCall[];
let queues: Map<string, ResourceRole>;
let buckets: Map<string, ResourceRole>;
let tables: Map<string, ResourceRole>;

beforeAll(async () => {
  const recorded: RecordedResource[] = installMocks();
  // Every option that adds a permission: the policies are the union of what any stack gets.
  const ledger = new BucketLedger("ledger", {
    createBucket: { name: CONTRACT_BUCKET },
    reconcile: { source: "inventory" },
    api: { enabled: true },
    ingest: { rules: INGEST_RULES },
    // Tags add GetObjectTagging; tags and storage class add the tracker's UpdateItem.
    enrich: ["contentType", "tags", "storageClass"],
    // The key the encryption tests put objects under (test/integration/encrypted-objects.test.ts).
    bucketKeys: { [CONTRACT_BUCKET]: TEST_KMS_KEY_ARN },
    changeStream: { enabled: true, targets: ["sns", "eventbridge"] },
  });
  const ingestion = ledger.ingestion!;
  const [tableArn, tracked, destination, eventQueue, eventDeadLetterQueue, taskQueue, taskDeadLetterQueue, ingestQueue, ingestDeadLetterQueue] = (await resolve(
    pulumi.all([
      ledger.outputs.tableArn,
      ledger.createdBucket!.name,
      ledger.outputs.inventoryDestination!,
      ledger.delivery.queue.arn,
      ledger.delivery.deadLetterQueue.arn,
      ledger.reconciler.taskQueue.arn,
      ledger.reconciler.taskDeadLetterQueue.arn,
      ingestion.queue.queue.arn,
      ingestion.queue.deadLetterQueue.arn,
    ]),
  )) as [string, string, string, string, string, string, string, string, string];
  const [streamArn, topicArn] = (await resolve(pulumi.all([ledger.table.streamArn, ledger.changeStream!.topic!.arn]))) as [string, string];
  const rowTables: Record<string, string> = {};
  for (const [rule, table] of Object.entries(ingestion.createdTables)) rowTables[rule] = await resolve(table.arn);
  await new Promise((wait) => setTimeout(wait, 300));
  deployed = {
    tableArn,
    bucketName: { trackedBucket: tracked, inventoryDestination: destination },
    queueArn: { eventQueue, eventDeadLetterQueue, taskQueue, taskDeadLetterQueue, ingestQueue, ingestDeadLetterQueue },
    rowTableArn: rowTables,
    streamArn,
    topicArn,
  };
  const policyOf = (name: string) => {
    const policy = recorded.find((resource) => resource.type === "aws:iam/rolePolicy:RolePolicy" && resource.name === name);
    if (!policy) throw new Error(`no role policy ${name}`);
    return (JSON.parse(policy.inputs.policy as string) as { Statement: Statement[] }).Statement;
  };
  policies = Object.fromEntries(ROLES.map((role) => [role, policyOf(ROLE_POLICY_NAMES[role])])) as Record<FunctionRole, Statement[]>;
  const log = readLog();
  calls = log.calls;
  queues = new Map(log.declarations.filter((d) => d.kind === "queue").map((d) => [d.name, d.resourceRole]));
  buckets = new Map(log.declarations.filter((d) => d.kind === "bucket").map((d) => [d.name, d.resourceRole]));
  tables = new Map(log.declarations.filter((d) => d.kind === "table").map((d) => [d.name, d.resourceRole]));
});

const leadingKeysOf = (input: Record<string, unknown>) => (Array.isArray(input.LeadingKeys) ? { leadingKeys: input.LeadingKeys as string[] } : {});

/**
 * A statement's dynamodb:LeadingKeys condition, the one condition our policies use: every
 * partition key the call touches must match one of its patterns, and a call whose keys were not
 * seen is not allowed by it.
 */
function meetsConditions(statement: Statement, requirement: Requirement): boolean {
  const patterns = statement.Condition?.["ForAllValues:StringLike"]?.["dynamodb:LeadingKeys"];
  if (patterns === undefined) return true;
  const keys = requirement.leadingKeys ?? [];
  return keys.length > 0 && keys.every((key) => asList(patterns).some((pattern) => matches(pattern, key)));
}

const allowedBy = (statements: Statement[], requirement: Requirement) =>
  statements.filter(
    (statement) =>
      statement.Effect === "Allow" &&
      asList(statement.Action).some((action) => matches(action, requirement.action)) &&
      asList(statement.Resource).some((resource) => matches(resource, requirement.resource)) &&
      meetsConditions(statement, requirement),
  );

describe("IAM contract: what each function calls, against the policy it is deployed with", () => {
  it("has a recording of every function's calls from this run", () => {
    const roles = new Set(calls.map((call) => call.role));
    expect([...roles].sort(), "run the whole suite (npm test): this file checks what the other tests recorded").toEqual([...ROLES].sort());
  });

  it.each<FunctionRole>(ROLES)("%s: every call is allowed by its role policy", (role) => {
    const refused = new Set<string>();
    for (const call of calls.filter((candidate) => candidate.role === role)) {
      for (const requirement of requirements(call, deployed, queues, buckets, tables)) {
        if (allowedBy(policies[role], requirement).length === 0 && !degrades(role, call, requirement))
          refused.add(`${requirement.action} on ${requirement.resource} (${requirement.why})`);
      }
    }
    expect([...refused].sort()).toEqual([]);
  });

  it.each<FunctionRole>(ROLES)("%s: every allowed action is exercised by some test (least privilege)", (role) => {
    const exercised = new Set<string>();
    for (const call of calls.filter((candidate) => candidate.role === role)) {
      for (const requirement of requirements(call, deployed, queues, buckets, tables)) {
        for (const statement of allowedBy(policies[role], requirement)) {
          for (const action of asList(statement.Action)) if (matches(action, requirement.action)) exercised.add(`${statement.Sid ?? "?"} ${action}`);
        }
      }
    }
    const unexercised = policies[role]
      .filter((statement) => statement.Effect === "Allow")
      .flatMap((statement) => asList(statement.Action).map((action) => ({ sid: statement.Sid ?? "?", action })))
      .filter(({ sid, action }) => !exercised.has(`${sid} ${action}`))
      .filter(({ action }) => !NEEDED_WITHOUT_A_CALL.some((need) => (need.role === "*" || need.role === role) && need.action === action))
      .map(({ sid, action }) => `${sid}: ${action}`);
    expect(unexercised).toEqual([]);
  });

  it("maps calls to actions as AWS authorizes them (the contract's own rules)", () => {
    const at = (call: Partial<RecordedCall>) =>
      requirements(
        { type: "call", role: "tracker", service: "S3", command: "HeadObject", input: { Bucket: "b", Key: "k" }, status: 200, ...call },
        deployed,
        new Map([["tasks-1", "taskQueue"]]),
        new Map(),
      );
    expect(at({}).map((r) => r.action)).toEqual(["s3:GetObject"]);
    expect(at({ status: 404 }).map((r) => r.action)).toEqual(["s3:GetObject", "s3:ListBucket"]);
    expect(at({ service: "SQS", command: "DeleteMessageBatch", input: { QueueUrl: "http://127.0.0.1:1/000000000000/tasks-1" } })).toEqual([
      expect.objectContaining({ action: "sqs:DeleteMessage", resource: deployed.queueArn.taskQueue }),
    ]);
    expect(
      at({ service: "DynamoDB", command: "TransactWriteItems", input: { TransactItems: [{ operation: "Update" }, { operation: "ConditionCheck" }] } }).map(
        (r) => r.action,
      ),
    ).toEqual(["dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]);
    expect(at({ service: "DynamoDB", command: "Query", input: { TableName: "t", IndexName: "changes" } })[0]!.resource).toBe(
      `${deployed.tableArn}/index/changes`,
    );
    // An object under a customer managed KMS key: each call needs the key's actions on its ARN.
    const key = TEST_KMS_KEY_ARN;
    const onKey = (command: string, input: Record<string, unknown> = {}) =>
      at({ command, input: { Bucket: "b", Key: "k", ...input }, kmsKeyId: key })
        .filter((r) => r.action.startsWith("kms:"))
        .map((r) => `${r.action} ${r.resource === key ? "on the key" : r.resource}`);
    expect(onKey("GetObject")).toEqual(["kms:Decrypt on the key"]);
    expect(onKey("HeadObject", { ChecksumMode: "ENABLED" })).toEqual(["kms:Decrypt on the key"]);
    expect(onKey("HeadObject")).toEqual([]);
    expect(onKey("PutObject")).toEqual(["kms:GenerateDataKey on the key"]);
    expect(onKey("CopyObject")).toEqual(["kms:GenerateDataKey on the key"]);
    expect(onKey("CreateMultipartUpload")).toEqual(["kms:GenerateDataKey on the key", "kms:Decrypt on the key"]);
    expect(onKey("UploadPart")).toEqual(["kms:GenerateDataKey on the key", "kms:Decrypt on the key"]);
    expect(onKey("ListObjectsV2")).toEqual([]);
    expect(at({ command: "GetObject", kmsKeyId: AWS_MANAGED_S3_KEY }).map((r) => r.action)).toEqual(["s3:GetObject"]);
    expect(at({ service: "SNS", command: "PublishBatch", input: {} })).toEqual([
      expect.objectContaining({ action: "sns:Publish", resource: deployed.topicArn }),
    ]);
    expect(at({ service: "DynamoDBStreams", command: "GetRecords", input: {} })).toEqual([
      expect.objectContaining({ action: "dynamodb:GetRecords", resource: deployed.streamArn }),
    ]);
    expect(matches(`arn:aws:s3:::b/${INVENTORY_PREFIX}/*`, "arn:aws:s3:::b/inventory/x/y")).toBe(true);
    expect(matches("arn:aws:s3:::b/inventory/*", "arn:aws:s3:::b/other/x")).toBe(false);
  });
});
