/**
 * A consumer that joins late: `dev --change-stream` publishes every change live; a new consumer
 * subscribes its queue to the stack's topic after some changes were made, then `replay`s the
 * changes since before them into its own queue while more changes are being made. Applying the
 * deduplication rule to everything it receives, it ends with the ledger's state: no gap between
 * the replay and the live stream, and every duplicate removable.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLocalClients } from "../../local/clients.js";
import { localCredentials } from "../../local/credentials.js";
import { localStackInfoSchema, type LocalStackInfo } from "../../local/dev-file.js";
import { ChangeDeduplicator, parseChangeMessage, type ChangeMessage } from "../../stream/message.js";
import { CLI, ndjson, runCli, spawnUntilReady, type ReadyProcess } from "../support/cli.js";

let workdir: string;
let dev: ReadyProcess;
let info: LocalStackInfo;
let s3: S3Client;
let sqs: SQSClient;
let sns: SNSClient;

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-replay-live-"));
  dev = spawnUntilReady(process.execPath, [CLI, "dev", "--bucket", "photos", "--change-stream", "--reconcile-every", "off"], { cwd: workdir });
  info = localStackInfoSchema.parse(JSON.parse(await dev.ready));
  s3 = createLocalClients(info.endpoints, info.region).s3;
  const common = { region: info.region, credentials: localCredentials, endpoint: info.endpoints.sqs };
  sqs = new SQSClient(common);
  sns = new SNSClient(common);
}, 120_000);

afterAll(async () => {
  dev?.child.kill("SIGINT");
  await dev?.exited;
  await rm(workdir, { recursive: true, force: true });
});

const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: "photos", Key: key, Body: body }));
const remove = (key: string) => s3.send(new DeleteObjectCommand({ Bucket: "photos", Key: key }));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type State = Map<string, { etag: string; size: number }>;

async function ledgerState(): Promise<State> {
  const listed = await runCli(["ls", "photos", "--local", "--json"], { cwd: workdir });
  return new Map(ndjson(listed.stdout).map((record) => [record.key as string, { etag: record.etag as string, size: record.size as number }]));
}

/** Receives (and deletes) until the queue has stayed empty for `quietMs`. */
async function receiveUntilQuiet(queueUrl: string, quietMs: number): Promise<ChangeMessage[]> {
  const messages: ChangeMessage[] = [];
  let quietSince = Date.now();
  while (Date.now() - quietSince < quietMs) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    if (Messages.length === 0) continue;
    quietSince = Date.now();
    messages.push(...Messages.map((message) => parseChangeMessage(message.Body!)));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({ Id: `m${index}`, ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  return messages;
}

it("a consumer that subscribes late, then replays, ends with the ledger's state", async () => {
  expect(info.changeTopicArn).toBeDefined();
  const before = new Date().toISOString();
  // Before the consumer exists: only the replay can bring these.
  await put("early/kept", "early");
  await put("early/overwritten", "v1");
  await put("early/overwritten", "v2 longer");
  await put("early/deleted", "x");
  await remove("early/deleted");
  await put("both/changed-again", "first");
  for (let tries = 0; !(await ledgerState()).has("both/changed-again") && tries < 100; tries++) await pause(200);

  // The consumer subscribes its own FIFO queue to the stack's topic, as a deployed subscriber would.
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "late-consumer.fifo", Attributes: { FifoQueue: "true" } }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl!, AttributeNames: ["QueueArn"] }));
  await sns.send(
    new SubscribeCommand({ TopicArn: info.changeTopicArn!, Protocol: "sqs", Endpoint: Attributes!.QueueArn!, Attributes: { RawMessageDelivery: "true" } }),
  );
  await pause(1_500);

  // More changes while the replay runs: these come live, and may come in the replay too.
  const later = (async () => {
    for (let i = 0; i < 10; i++) {
      await put(`late/${i}`, `late ${i}`);
      if (i === 3) await put("both/changed-again", "second, much longer");
      if (i === 6) await remove("early/kept");
    }
  })();
  // Into the consumer's own queue: the other subscribers of the topic are not sent the replay.
  const replayed = await runCli(["replay", "photos", "--local", "--since", before, "--to", `sqs:${queueUrl}`, "--yes"], { cwd: workdir });
  await later;
  expect(replayed.code).toBe(0);
  expect(JSON.parse(replayed.stdout)).toMatchObject({ end: "complete" });

  // Everything recorded, everything published, everything received.
  for (let tries = 0; (await ledgerState()).size !== 12 && tries < 100; tries++) await pause(200);
  const messages = await receiveUntilQuiet(queueUrl!, 5_000);
  const rule = new ChangeDeduplicator();
  const state: State = new Map();
  let dropped = 0;
  for (const message of messages) {
    if (!rule.accept(message)) {
      dropped++;
      continue;
    }
    if (message.change === "deleted") state.delete(message.key);
    else state.set(message.key, { etag: message.etag!, size: message.size! });
  }
  const ledger = await ledgerState();
  // early/overwritten, both/changed-again and late/0-9.
  expect(ledger.size).toBe(12);
  expect(state).toEqual(ledger);
  expect(state.get("both/changed-again")?.size).toBe("second, much longer".length);
  expect(state.has("early/kept")).toBe(false);
  // Every key the ledger holds came to the consumer: the replay's (early/*) or the live stream's.
  expect(messages.filter((message) => message.key.startsWith("early/")).length).toBeGreaterThanOrEqual(3);
  expect(dropped).toBeLessThan(messages.length);
}, 180_000);
