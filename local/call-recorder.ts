/**
 * Records every AWS API call a function's code makes while the tests run, so the IAM contract
 * test (test/contract/iam.test.ts) can check each one against the policy the Pulumi program
 * gives that function. The emulators enforce no IAM; this is how a call the deployed role
 * would refuse still fails a test here.
 *
 * Off unless BUCKET_LEDGER_CALL_LOG names a directory (the test configuration sets it); each
 * process appends NDJSON lines to a file of its own there. Lambda code never uses this: the
 * local stack and the test harnesses wrap the clients they build for each function.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ledgerTable } from "../ledger/table.js";

/** The functions the stack deploys, each with a role of its own. */
export type FunctionRole = "tracker" | "reconcile" | "api" | "ingest" | "stream";

/** What a queue or bucket is in the deployed stack: local names are random, roles are not. */
export type ResourceRole =
  | "eventQueue"
  | "eventDeadLetterQueue"
  | "taskQueue"
  | "taskDeadLetterQueue"
  | "ingestQueue"
  | "ingestDeadLetterQueue"
  | "trackedBucket"
  | "inventoryDestination"
  | "rowTable";

export interface RecordedCall {
  type: "call";
  role: FunctionRole;
  service: string;
  command: string;
  input: Record<string, unknown>;
  /** HTTP status of the response; 0 when none came (a network failure). */
  status: number;
  /**
   * S3: the KMS key of the object the call wrote or read, as S3 answered it
   * (`x-amz-server-side-encryption-aws-kms-key-id`, the SDK's SSEKMSKeyId); absent when the object
   * is not under a KMS key or the call failed. With `input.ChecksumMode`, what maps a call to the
   * KMS actions S3 needs for it.
   */
  kmsKeyId?: string;
}

export interface ResourceDeclaration {
  type: "resource";
  kind: "queue" | "bucket" | "table";
  /** A queue URL's last path segment, a bucket name, or a table name. */
  name: string;
  resourceRole: ResourceRole;
}

export const CALL_LOG_ENV = "BUCKET_LEDGER_CALL_LOG";

/** Directories already made by this process: the log is appended to on every call. */
const made = new Set<string>();

function write(line: RecordedCall | ResourceDeclaration): void {
  const directory = process.env[CALL_LOG_ENV];
  if (!directory) return;
  if (!made.has(directory)) {
    mkdirSync(directory, { recursive: true });
    made.add(directory);
  }
  appendFileSync(join(directory, `${process.pid}.ndjson`), `${JSON.stringify(line)}\n`);
}

/** The parts of a request that decide its IAM action and resource. */
function summarize(input: Record<string, unknown>): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  for (const name of ["TableName", "IndexName", "Bucket", "Key", "QueueUrl", "ChecksumMode"]) if (typeof input[name] === "string") summary[name] = input[name];
  if (Array.isArray(input.TransactItems)) {
    summary.TransactItems = (input.TransactItems as Record<string, { TableName?: string }>[]).map((item) => {
      const [operation, body] = Object.entries(item)[0]!;
      return { operation, TableName: body.TableName };
    });
  }
  if (input.RequestItems && typeof input.RequestItems === "object") summary.RequestItems = Object.keys(input.RequestItems);
  const leadingKeys = leadingKeysOf(input);
  if (leadingKeys.length > 0) summary.LeadingKeys = leadingKeys;
  return summary;
}

/** A ledger item's partition key, marshalled ({S}) or not, as the recorder may see either. */
function partitionKeyOf(key: unknown): string[] {
  const value = (key as Record<string, unknown> | undefined)?.[ledgerTable.partitionKey];
  if (typeof value === "string") return [value];
  const marshalled = (value as { S?: unknown } | undefined)?.S;
  return typeof marshalled === "string" ? [marshalled] : [];
}

/** A Query's partition: the value its key condition gives the table's partition key (not an index's). */
function queriedPartitionOf(input: Record<string, unknown>): string[] {
  if (typeof input.KeyConditionExpression !== "string" || input.IndexName !== undefined) return [];
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  for (const [, name, placeholder] of input.KeyConditionExpression.matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    if ((names[name!] ?? name) === ledgerTable.partitionKey)
      return partitionKeyOf({ [ledgerTable.partitionKey]: (input.ExpressionAttributeValues as Record<string, unknown>)?.[placeholder!] });
  }
  return [];
}

/**
 * The partition keys of the items a DynamoDB write or read by key touches: what IAM's
 * dynamodb:LeadingKeys condition sees (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
 */
function leadingKeysOf(input: Record<string, unknown>): string[] {
  const ofBody = (body: Record<string, unknown> | undefined) => [...partitionKeyOf(body?.Key), ...partitionKeyOf(body?.Item)];
  const keys = [...ofBody(input), ...queriedPartitionOf(input)];
  if (Array.isArray(input.TransactItems))
    for (const item of input.TransactItems as Record<string, Record<string, unknown>>[]) keys.push(...ofBody(Object.values(item)[0]));
  if (input.RequestItems && typeof input.RequestItems === "object") {
    for (const requests of Object.values(input.RequestItems as Record<string, Record<string, Record<string, unknown>>[]>)) {
      for (const request of requests) keys.push(...ofBody(request.PutRequest), ...ofBody(request.DeleteRequest));
    }
  }
  return keys;
}

interface HasMiddlewareStack {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: object }) => Promise<{ response: unknown; output?: unknown }>,
        context: { clientName?: string; commandName?: string },
      ) => (args: { input: object }) => Promise<{ response: unknown; output?: unknown }>,
      options: { step: "initialize"; name: string },
    ): void;
  };
}

/** Records the client's calls as made by `role`'s code (a no-op unless the call log is on). */
export function recordCalls<Client extends HasMiddlewareStack>(client: Client, role: FunctionRole): Client {
  if (!process.env[CALL_LOG_ENV]) return client;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const call = {
        type: "call" as const,
        role,
        service: (context.clientName ?? "").replace(/Client$/, ""),
        command: (context.commandName ?? "").replace(/Command$/, ""),
        input: summarize(args.input as Record<string, unknown>),
      };
      try {
        const result = await next(args);
        const kmsKeyId = (result.output as { SSEKMSKeyId?: unknown } | undefined)?.SSEKMSKeyId;
        write({ ...call, status: (result.response as { statusCode?: number }).statusCode ?? 200, ...(typeof kmsKeyId === "string" && { kmsKeyId }) });
        return result;
      } catch (error) {
        write({ ...call, status: (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0 });
        throw error;
      }
    },
    { step: "initialize", name: "bucketLedgerCallRecorder" },
  );
  return client;
}

/** Says what a local queue or bucket stands for in the deployed stack. */
export function declareResource(kind: ResourceDeclaration["kind"], name: string, resourceRole: ResourceRole): void {
  write({ type: "resource", kind, name, resourceRole });
}

/** A queue's name, from its URL. */
export const queueName = (queueUrl: string) => queueUrl.slice(queueUrl.lastIndexOf("/") + 1);
