/**
 * Which ledger table a command reads, and how to reach it. One of `--table <name>`,
 * `--local` (a running `bucket-ledger dev`) or `--stack <name>` (`pulumi stack output`), or
 * else the BUCKET_LEDGER_TABLE environment variable. With a table name the default AWS
 * credential and endpoint chain applies (AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_S3
 * work).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { ingestRuleSchema, type IngestRule } from "../ingest/rules.js";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Command } from "commander";
import { z } from "zod";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDocumentClient, Ledger } from "../ledger/index.js";
import { withoutSdkLogger } from "../aws/lean-client.js";
import { createLocalClients } from "../local/clients.js";
import { readDevFile } from "../local/dev-file.js";
import { UsageError } from "./errors.js";
import { parseJsonWith } from "../validation/parse.js";
import type { ScheduleSource } from "./status/first-run.js";

export interface TargetOptions {
  table?: string;
  local?: boolean;
  stack?: string;
  region?: string;
}

/** Where row ingestion takes requests, and the rules it follows. */
export interface IngestionTarget {
  sqs: SQSClient;
  queueUrl: string;
  rules: IngestRule[];
}

export interface Target {
  ledger: Ledger;
  /** Row ingestion's queue and rules: from dev.json or the stack's outputs. */
  ingestion(): IngestionTarget;
  documentClient: DynamoDBDocumentClient;
  /** Built on first use: most commands never touch S3. */
  s3(): S3Client;
  /** The local emulator does not list in S3's byte order. */
  local: boolean;
  /** The stack around the table (its queues, alarms and buckets), for `status`; absent with `--table` alone. */
  operations?: Operations;
}

/** The queues `status` reads, by what they hold. */
export interface OperationsQueues {
  events?: string;
  eventDeadLetter?: string;
  taskDeadLetter?: string;
  ingestDeadLetter?: string;
}

export interface Operations {
  where: "stack" | "local";
  /** A name for messages: the stack's name, or "the local stack". */
  name: string;
  sqs: SQSClient;
  queues: OperationsQueues;
  /** The stack's CloudWatch alarms (`--stack`); the local stack has none and answers from its queues. */
  alarmNames: string[];
  /** The buckets the stack tracks. */
  buckets: string[];
  /** `--region`, for the clients `status` builds itself (CloudWatch); absent: the SDK's own chain. */
  region?: string;
  /** The reconciliation schedule, for when the first run is due; absent from a stack or dev.json older than it. */
  schedule?: ScheduleSource;
}

/** The options every command that reads the ledger takes. */
export function withTargetOptions(command: Command): Command {
  return command
    .option("--table <name>", "ledger table (default: $BUCKET_LEDGER_TABLE)")
    .option("--local", "use the running `bucket-ledger dev` stack")
    .option("--stack <name>", "read the table from `pulumi stack output` of this stack (needs the Pulumi CLI)")
    .option("--region <name>", "AWS Region of the table and the stack (default: $AWS_REGION, or the profile's region)");
}

const stackOutputsSchema = z
  .object({
    tableName: z.string().min(3),
    bucketNames: z.array(z.string()).optional(),
    queueUrl: z.string().optional(),
    deadLetterQueueUrl: z.string().optional(),
    reconcileTaskDeadLetterQueueUrl: z.string().optional(),
    alarmNames: z.array(z.string()).optional(),
    ingestQueueUrl: z.string().optional(),
    ingestDeadLetterQueueUrl: z.string().optional(),
    ingestRules: z.array(ingestRuleSchema).optional(),
    reconcileSchedule: z.string().optional(),
    reconcileTimezone: z.string().optional(),
  })
  .loose();

type StackOutputs = z.output<typeof stackOutputsSchema>;

/** Runs the Pulumi CLI; a separate function so the error names exactly what went wrong. */
async function stackOutputs(stack: string): Promise<StackOutputs> {
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)("pulumi", ["stack", "output", "--json", "--stack", stack], { encoding: "utf8", timeout: 60_000 }));
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === "ENOENT")
      throw new UsageError("--stack needs the Pulumi CLI on PATH (https://www.pulumi.com/docs/install/); or pass --table $(pulumi stack output tableName)");
    throw new UsageError(`pulumi stack output --stack ${stack} failed: ${(failure.stderr ?? failure.message).trim()}`);
  }
  const outputs = parseJsonWith(stackOutputsSchema, stdout, (failure) =>
    failure.reason === "json"
      ? new UsageError(`pulumi stack output --stack ${stack} did not print JSON`)
      : new UsageError(`stack ${stack} has no tableName output: is it a bucket-ledger stack, and has it been deployed?`),
  );
  return outputs;
}

/**
 * The Region the SDK would use, resolved before any request: without one, every command's first
 * request would fail with the SDK's bare "Region is missing". The SDK for JavaScript chooses no
 * Region by default; it takes one from the client's constructor (--region), AWS_REGION, or the
 * shared config file's profile ("Set the AWS Region",
 * https://docs.aws.amazon.com/sdk-for-javascript/latest/developer-guide/setting-region.html).
 */
async function requireRegion(client: DynamoDBClient): Promise<void> {
  try {
    await client.config.region();
  } catch {
    throw new UsageError(
      "no AWS Region configured: pass --region <name> (e.g. --region eu-west-1), set AWS_REGION, or use a profile that names one (AWS_PROFILE=<name>, with `region = ...` under that profile in ~/.aws/config)",
    );
  }
}

function noIngestion(where: string): never {
  throw new UsageError(`${where} has no ingestion rules (configure ingestRules, or start \`bucket-ledger dev --ingest-rules <file>\`)`);
}

export async function openTarget(options: TargetOptions): Promise<Target> {
  const given = [options.table !== undefined && "--table", options.local && "--local", options.stack !== undefined && "--stack"].filter(Boolean);
  if (given.length > 1) throw new UsageError(`${given.join(" and ")} both name a table: give one`);
  if (options.local && options.region !== undefined) throw new UsageError("--region and --local: the local stack has its own Region (in its dev.json)");
  if (options.local) {
    const info = await readDevFile();
    const clients = createLocalClients(info.endpoints, info.region);
    const documentClient = createDocumentClient(clients.dynamodb);
    return {
      ledger: new Ledger({ tableName: info.tableName, retentionDays: info.retentionDays, documentClient }),
      ingestion: () =>
        info.ingestQueueUrl && info.ingestRules ? { sqs: clients.sqs, queueUrl: info.ingestQueueUrl, rules: info.ingestRules } : noIngestion("the local stack"),
      documentClient,
      s3: () => clients.s3,
      local: true,
      operations: {
        where: "local",
        name: "the local stack",
        sqs: clients.sqs,
        queues: {
          events: info.queueUrl,
          eventDeadLetter: info.deadLetterQueueUrl,
          ...(info.taskDeadLetterQueueUrl !== undefined && { taskDeadLetter: info.taskDeadLetterQueueUrl }),
          ...(info.ingestDeadLetterQueueUrl !== undefined && { ingestDeadLetter: info.ingestDeadLetterQueueUrl }),
        },
        alarmNames: [],
        buckets: info.buckets,
        ...(info.startedAt !== undefined &&
          info.reconcileEveryMs !== undefined && { schedule: { kind: "interval" as const, everyMs: info.reconcileEveryMs, startedAt: info.startedAt } }),
      },
    };
  }
  const outputs = options.stack !== undefined ? await stackOutputs(options.stack) : undefined;
  const tableName = options.table ?? outputs?.tableName ?? process.env.BUCKET_LEDGER_TABLE;
  if (!tableName) {
    throw new UsageError(
      "no ledger table given: pass --table <name> (from `pulumi stack output tableName`), --stack <name> with the Pulumi CLI installed, --local with a running `bucket-ledger dev`, or set BUCKET_LEDGER_TABLE",
    );
  }
  const retentionDays = process.env.BUCKET_LEDGER_RETENTION_DAYS;
  const clientConfig = options.region === undefined ? {} : { region: options.region };
  const dynamodb = withoutSdkLogger(new DynamoDBClient(clientConfig));
  await requireRegion(dynamodb);
  const documentClient = createDocumentClient(dynamodb);
  return {
    ledger: new Ledger({ tableName, documentClient, ...(retentionDays && { retentionDays: Number(retentionDays) }) }),
    ingestion: () => {
      if (!outputs) throw new UsageError("ingestion needs --stack <name> (it reads the ingestion queue and rules from the stack's outputs) or --local");
      return outputs.ingestQueueUrl && outputs.ingestRules
        ? { sqs: withoutSdkLogger(new SQSClient(clientConfig)), queueUrl: outputs.ingestQueueUrl, rules: outputs.ingestRules }
        : noIngestion(`stack ${options.stack}`);
    },
    documentClient,
    s3: () => withoutSdkLogger(new S3Client(clientConfig)),
    local: false,
    ...(outputs && {
      operations: {
        where: "stack" as const,
        name: `stack ${options.stack}`,
        sqs: withoutSdkLogger(new SQSClient(clientConfig)),
        ...(options.region !== undefined && { region: options.region }),
        queues: {
          ...(outputs.queueUrl !== undefined && { events: outputs.queueUrl }),
          ...(outputs.deadLetterQueueUrl !== undefined && { eventDeadLetter: outputs.deadLetterQueueUrl }),
          ...(outputs.reconcileTaskDeadLetterQueueUrl !== undefined && { taskDeadLetter: outputs.reconcileTaskDeadLetterQueueUrl }),
          ...(outputs.ingestDeadLetterQueueUrl !== undefined && { ingestDeadLetter: outputs.ingestDeadLetterQueueUrl }),
        },
        alarmNames: outputs.alarmNames ?? [],
        buckets: outputs.bucketNames ?? [],
        ...(outputs.reconcileSchedule !== undefined && {
          schedule: { kind: "expression" as const, expression: outputs.reconcileSchedule, timezone: outputs.reconcileTimezone ?? "UTC", tableName },
        }),
      },
    }),
  };
}

export async function openLedger(options: TargetOptions): Promise<Ledger> {
  return (await openTarget(options)).ledger;
}
