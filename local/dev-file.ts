/** `.bucket-ledger/dev.json`: how other commands find a running local stack (`--local`). */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { ingestRuleSchema } from "../ingest/rules.js";
import { parseJsonWith } from "../validation/parse.js";
import { LocalStackNotRunningError } from "./errors.js";

export const localStackInfoSchema = z.object({
  ready: z.literal(true),
  region: z.string(),
  endpoints: z.object({ s3: z.string().url(), sqs: z.string().url(), dynamodb: z.string().url(), api: z.string().url() }),
  tableName: z.string(),
  buckets: z.array(z.string()).min(1),
  queueUrl: z.string(),
  deadLetterQueueUrl: z.string(),
  /** Reconciliation's task DLQ; absent in a dev.json written before `status` read it. */
  taskDeadLetterQueueUrl: z.string().optional(),
  retentionDays: z.number().int().positive(),
  pid: z.number().int(),
  ingestQueueUrl: z.string().optional(),
  ingestDeadLetterQueueUrl: z.string().optional(),
  /** Each with the table `dev` made for it. */
  ingestRules: z.array(ingestRuleSchema).optional(),
  /** When the stack was ready, and how often it reconciles from then (0: never): when `status` expects the first run. */
  startedAt: z.string().datetime().optional(),
  reconcileEveryMs: z.number().int().nonnegative().optional(),
  /** With the change stream: the local SNS FIFO topic and the SQS FIFO queue subscribed to it. */
  changeTopicArn: z.string().optional(),
  changeQueueUrl: z.string().optional(),
});

export type LocalStackInfo = z.infer<typeof localStackInfoSchema>;

export function devFilePath(cwd: string = process.cwd()): string {
  return join(cwd, ".bucket-ledger", "dev.json");
}

export async function writeDevFile(info: LocalStackInfo, path: string = devFilePath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(info, null, 2)}\n`);
  // Rename so a reader never sees half a file.
  await rename(temporary, path);
}

export async function readDevFile(path: string = devFilePath()): Promise<LocalStackInfo> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new LocalStackNotRunningError(path, `${path} does not exist`);
  }
  const info = parseJsonWith(localStackInfoSchema, text, (failure) =>
    failure.reason === "json"
      ? new LocalStackNotRunningError(path, `${path} is not valid JSON`)
      : new LocalStackNotRunningError(path, `${path} is not a dev.json written by this version`),
  );
  try {
    process.kill(info.pid, 0);
  } catch {
    throw new LocalStackNotRunningError(path, `the stack that wrote ${path} (pid ${info.pid}) is no longer running`);
  }
  return info;
}

export async function removeDevFile(path: string = devFilePath()): Promise<void> {
  await rm(path, { force: true });
}
