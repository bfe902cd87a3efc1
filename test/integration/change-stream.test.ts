/**
 * The change stream end to end on the local stack: the AWS CLI writes (aws s3 cp, aws s3 rm) ->
 * the local S3 and its notifications -> the tracker -> DynamoDB Local and its stream -> the
 * publisher (the Lambda's code, driven as Lambda's event source mapping would) -> the SNS FIFO
 * topic (fauxqs) -> the subscribed SQS FIFO queue, read with the AWS CLI's receive-message as a
 * consumer would; the consumer keeps the deduplication rule and ends with the ledger's state.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DeleteItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerTable, partitionKeyOf } from "../../ledger/index.js";
import { localEnvironment } from "../../local/environment.js";
import { LocalStack } from "../../local/stack.js";
import type { PublishReport } from "../../stream/publisher.js";
import { ChangeDeduplicator, parseChangeMessage, type ChangeMessage } from "../../stream/message.js";

const run = promisify(execFile);
const bucket = "stream-bucket";
let stack: LocalStack;
let workdir: string;
const reports: PublishReport[] = [];
const errors: unknown[] = [];

/** The AWS CLI against the local stack, as `dev` tells a developer to run it. */
async function aws(...args: string[]): Promise<string> {
  const service = args[0] === "s3" ? stack.info.endpoints.s3 : stack.info.endpoints.sqs;
  const { stdout } = await run("aws", [...args, "--endpoint-url", service], {
    env: { ...process.env, ...localEnvironment(stack.info), AWS_DEFAULT_REGION: stack.info.region, AWS_PAGER: "" },
  });
  return stdout;
}

/** Everything in the subscribed queue, in the order SQS FIFO hands it out, deleting what was read. */
async function drain(): Promise<ChangeMessage[]> {
  const messages: ChangeMessage[] = [];
  for (let empty = 0; empty < 2;) {
    const out = await aws("sqs", "receive-message", "--queue-url", stack.info.changeQueueUrl!, "--max-number-of-messages", "10", "--wait-time-seconds", "1");
    const received = out.trim() === "" ? [] : ((JSON.parse(out) as { Messages?: { Body: string; ReceiptHandle: string }[] }).Messages ?? []);
    if (received.length === 0) {
      empty++;
      continue;
    }
    empty = 0;
    for (const message of received) {
      messages.push(parseChangeMessage(message.Body));
      await aws("sqs", "delete-message", "--queue-url", stack.info.changeQueueUrl!, "--receipt-handle", message.ReceiptHandle);
    }
  }
  return messages;
}

beforeAll(async () => {
  stack = await LocalStack.start({
    buckets: [bucket],
    events: { visibilityTimeoutSeconds: 1 },
    logLevel: "SILENT",
    changeStream: { enabled: true, onBatch: (report) => reports.push(report) },
    onError: (error) => errors.push(error),
  });
  workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-stream-"));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

describe("the change stream, locally", () => {
  it("delivers each change of the AWS CLI's writes once, in order per key, and a consumer keeping the rule ends with the ledger's state", async () => {
    const file = join(workdir, "body.txt");
    await writeFile(file, "first");
    await aws("s3", "cp", file, `s3://${bucket}/a b+c.txt`);
    await aws("s3", "cp", file, `s3://${bucket}/keep/日本.txt`);
    await writeFile(file, "second, longer");
    await aws("s3", "cp", file, `s3://${bucket}/a b+c.txt`);
    await aws("s3", "rm", `s3://${bucket}/keep/日本.txt`);
    await aws("s3", "cp", file, `s3://${bucket}/gone.txt`);
    await aws("s3", "rm", `s3://${bucket}/gone.txt`);
    await stack.waitForIdle();
    await stack.changeStream!.waitForIdle();

    const messages = await drain();
    const byKey = (key: string) => messages.filter((message) => message.key === key).map((message) => message.change);
    expect(byKey("a b+c.txt")).toEqual(["created", "overwritten"]);
    expect(byKey("keep/日本.txt")).toEqual(["created", "deleted"]);
    expect(byKey("gone.txt")).toEqual(["created", "deleted"]);
    expect(new Set(messages.map((message) => message.id)).size).toBe(messages.length);
    for (const message of messages)
      expect(message).toMatchObject({ version: 1, bucket, source: "event", cause: expect.stringMatching(/^Object(Created|Removed):/) });

    // The consumer: the rule, then the state it keeps.
    const dedup = new ChangeDeduplicator();
    const state = new Map<string, ChangeMessage>();
    for (const message of messages) if (dedup.accept(message)) state.set(message.key, message);
    const live = [...state.values()].filter((message) => message.change !== "deleted").map((message) => [message.key, message.size, message.etag]);
    const ledger = [];
    for await (const record of stack.ledger.list({ bucket })) ledger.push([record.key, record.size, record.etag]);
    expect(live.sort()).toEqual(ledger.sort());
    expect(reports.every((report) => report.failure === undefined)).toBe(true);
  }, 120_000);

  it("publishes reconciliation's repair of a lost change, marked as such, nothing for the item's removal, and nothing for a run without drift", async () => {
    expect(await drain()).toEqual([]);
    // The ledger loses an object it held (as if its events were lost): a removal, which is no change in S3.
    const key = "a b+c.txt";
    await stack.clients.dynamodb.send(
      new DeleteItemCommand({
        TableName: stack.info.tableName,
        Key: { [ledgerTable.partitionKey]: { S: partitionKeyOf(bucket, key) }, [ledgerTable.sortKey]: { S: key } },
      }),
    );
    await stack.changeStream!.waitForIdle();
    expect(await drain()).toEqual([]);

    await stack.reconcileAll();
    await stack.waitForIdle().catch((error: unknown) => {
      throw new Error(`${String(error)}; last publisher reports: ${JSON.stringify(reports.slice(-2))}; errors: ${errors.slice(-2).map(String).join("; ")}`);
    });
    const repaired = await drain();
    expect(repaired).toHaveLength(1);
    expect(repaired[0]).toMatchObject({ key, change: "created", source: "reconcile", cause: "Reconcile:Missing", size: 14 });
    expect(repaired[0]).not.toHaveProperty("sequencer");

    await stack.reconcileAll();
    await stack.waitForIdle();
    expect(await drain()).toEqual([]);
  }, 120_000);
});
