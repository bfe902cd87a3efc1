/**
 * `bucket-ledger replay` against a running `bucket-ledger dev`: the changes since a moment
 * published into a local SNS FIFO topic with an SQS FIFO queue subscribed (the emulator's, with
 * raw delivery as the stack subscribes queues), and a consumer keeping the deduplication rule
 * (stream/message.ts) ends with the ledger's state.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalClients } from "../../local/clients.js";
import { localCredentials } from "../../local/credentials.js";
import { localStackInfoSchema, type LocalStackInfo } from "../../local/dev-file.js";
import { ChangeDeduplicator, parseChangeMessage, type ChangeMessage } from "../../stream/message.js";
import { CLI, ndjson, runCli, spawnUntilReady, type ReadyProcess } from "../support/cli.js";
import { runCommand } from "../support/run.js";

let workdir: string;
let dev: ReadyProcess;
let info: LocalStackInfo;
let s3: S3Client;
let sns: SNSClient;
let sqs: SQSClient;

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-replay-"));
  dev = spawnUntilReady(process.execPath, [CLI, "dev", "--bucket", "photos", "--reconcile-every", "off"], { cwd: workdir });
  info = localStackInfoSchema.parse(JSON.parse(await dev.ready));
  s3 = createLocalClients(info.endpoints, info.region).s3;
  // The emulator serves SNS beside SQS.
  const common = { region: info.region, credentials: localCredentials, endpoint: info.endpoints.sqs };
  sns = new SNSClient(common);
  sqs = new SQSClient(common);
}, 120_000);

afterAll(async () => {
  dev?.child.kill("SIGINT");
  await dev?.exited;
  await rm(workdir, { recursive: true, force: true });
});

const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: "photos", Key: key, Body: body }));
const remove = (key: string) => s3.send(new DeleteObjectCommand({ Bucket: "photos", Key: key }));

/** A FIFO queue, and a FIFO topic it is subscribed to with raw delivery, as the stack subscribes queues. */
async function subscribedQueue(name: string): Promise<{ topicArn: string; queueUrl: string }> {
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `${name}.fifo`, Attributes: { FifoTopic: "true" } }));
  const queueUrl = await fifoQueue(`${name}-q`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }));
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: Attributes!.QueueArn!, Attributes: { RawMessageDelivery: "true" } }));
  return { topicArn: TopicArn!, queueUrl };
}

async function fifoQueue(name: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: { FifoQueue: "true" } }));
  return QueueUrl!;
}

/** Every message the queue holds now, received and deleted. */
async function drain(queueUrl: string): Promise<ChangeMessage[]> {
  const messages: ChangeMessage[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    if (Messages.length === 0) return messages;
    messages.push(...Messages.map((message) => parseChangeMessage(message.Body!)));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({ Id: `m${index}`, ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
}

/** A consumer of the stream: the deduplication rule, and the state it builds. */
class Consumer {
  readonly rule = new ChangeDeduplicator();
  readonly state = new Map<string, { etag: string; size: number }>();
  applied = 0;
  dropped = 0;

  apply(messages: ChangeMessage[]): void {
    for (const message of messages) {
      if (!this.rule.accept(message)) {
        this.dropped++;
        continue;
      }
      this.applied++;
      if (message.change === "deleted") this.state.delete(message.key);
      else this.state.set(message.key, { etag: message.etag!, size: message.size! });
    }
  }
}

/** The ledger's live objects, as `ls` lists them. */
async function ledgerState(): Promise<Map<string, { etag: string; size: number }>> {
  const listed = await runCli(["ls", "photos", "--local", "--json"], { cwd: workdir });
  expect(listed.code).toBe(0);
  return new Map(ndjson(listed.stdout).map((record) => [record.key as string, { etag: record.etag as string, size: record.size as number }]));
}

/** Waits until the ledger holds `keys` (the tracker works asynchronously), then past the replay's settle window. */
async function recorded(...keys: string[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = await ledgerState();
    if (keys.every((key) => state.has(key))) break;
    if (Date.now() > deadline) throw new Error(`the ledger never recorded ${keys.join(", ")}: it holds ${[...state.keys()].join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}

const replay = (args: string[]) => runCli(["replay", "photos", "--local", "--settle", "0s", ...args], { cwd: workdir });

describe("replay", () => {
  it("rebuilds a consumer from the changes since a moment: it ends with the ledger's state, deletes included", async () => {
    await put("keep/a", "a1");
    await put("keep/a", "a2 overwritten");
    await put("keep/b c", "b");
    await put("gone", "soon deleted");
    await remove("gone");
    await put("tricky/\u2028 + %2B", "x");
    await recorded("keep/a", "keep/b c", "tricky/\u2028 + %2B");
    // The delete, recorded after the puts above, is waited for too: `gone` must be gone.
    for (let tries = 0; (await ledgerState()).has("gone") && tries < 50; tries++) await new Promise((resolve) => setTimeout(resolve, 200));

    const { topicArn, queueUrl } = await subscribedQueue("rebuild");
    const result = await replay(["--since", "10m", "--to", `sns:${topicArn}`, "--yes"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      bucket: "photos",
      to: `sns:${topicArn}`,
      dryRun: false,
      end: "complete",
      published: 4,
      changes: { upserted: 3, deleted: 1 },
    });

    const consumer = new Consumer();
    const messages = await drain(queueUrl);
    consumer.apply(messages);
    expect(messages.map((message) => message.key).sort()).toEqual(["gone", "keep/a", "keep/b c", "tricky/\u2028 + %2B"]);
    expect(consumer.state).toEqual(await ledgerState());
    expect(consumer.state.get("keep/a")?.size).toBe("a2 overwritten".length);
  }, 90_000);

  it("goes on from its cursor after --limit, repeating nothing, and again the same changes are duplicates the topic and the rule drop", async () => {
    for (const key of ["limit/1", "limit/2", "limit/3", "limit/4", "limit/5"]) await put(key, key);
    await recorded("limit/1", "limit/2", "limit/3", "limit/4", "limit/5");
    const { topicArn, queueUrl } = await subscribedQueue("resume");

    const first = await replay(["--since", "10m", "--prefix", "limit/", "--to", `sns:${topicArn}`, "--yes", "--limit", "2"]);
    expect(first.code).toBe(0);
    const stopped = JSON.parse(first.stdout) as { end: string; published: number; cursor: string };
    expect(stopped).toMatchObject({ end: "limit", published: 2 });
    expect(first.stderr).toBe(`stopped at the --limit: go on with --cursor ${stopped.cursor}\n`);

    const rest = await replay(["--cursor", stopped.cursor, "--prefix", "limit/", "--to", `sns:${topicArn}`, "--yes"]);
    expect(JSON.parse(rest.stdout)).toMatchObject({ end: "complete", published: 3 });
    const consumer = new Consumer();
    const messages = await drain(queueUrl);
    consumer.apply(messages);
    expect(messages.map((message) => message.key).sort()).toEqual(["limit/1", "limit/2", "limit/3", "limit/4", "limit/5"]);

    // The whole replay again, at once: every change is one the consumer holds.
    const again = await replay(["--since", "10m", "--prefix", "limit/", "--to", `sns:${topicArn}`, "--yes"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ end: "complete", published: 5 });
    const repeated = await drain(queueUrl);
    consumer.apply(repeated);
    // The FIFO queue drops a repeated deduplication id within 5 minutes; what it lets through, the rule drops.
    expect(consumer.applied).toBe(5);
    expect(consumer.dropped).toBe(repeated.length);
  }, 90_000);

  it("sends to a FIFO queue directly (sqs:), the body the message itself", async () => {
    await put("direct/1", "one");
    await recorded("direct/1");
    const queueUrl = await fifoQueue("direct");
    const result = await replay(["--since", "10m", "--prefix", "direct/", "--to", `sqs:${queueUrl}`, "--yes"]);
    expect(JSON.parse(result.stdout)).toMatchObject({ to: `sqs:${queueUrl}`, end: "complete", published: 1 });
    const [message] = await drain(queueUrl);
    expect(message).toMatchObject({ version: 1, bucket: "photos", key: "direct/1", change: "upserted", size: 3 });
  }, 60_000);

  it("--dry-run counts what it would publish and publishes nothing", async () => {
    await put("dry/1", "1");
    await put("dry/2", "2");
    await recorded("dry/1", "dry/2");
    const { topicArn, queueUrl } = await subscribedQueue("dry");
    const result = await replay(["--since", "10m", "--prefix", "dry/", "--to", `sns:${topicArn}`, "--dry-run"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ dryRun: true, end: "complete", wouldPublish: 2, changes: { upserted: 2 } });
    expect(result.stderr).toBe("dry run: nothing was published\n");
    expect(await drain(queueUrl)).toEqual([]);
  }, 60_000);

  it("on a terminal, asks first with the count, and publishes only on yes", async () => {
    await put("confirm/1", "one");
    await recorded("confirm/1");
    const queueUrl = await fifoQueue("confirm");
    const quote = (part: string) => `'${part.replaceAll("'", "'\\''")}'`;
    const command = [
      process.execPath,
      CLI,
      "replay",
      "photos",
      "--local",
      "--settle",
      "0s",
      "--since",
      "10m",
      "--prefix",
      "confirm/",
      "--to",
      `sqs:${queueUrl}`,
    ]
      .map(quote)
      .join(" ");
    // util-linux script gives the command a terminal, and passes it what it reads: the answer.
    const answer = (text: string) => runCommand("sh", ["-c", `printf '${text}\\n' | script -qec ${quote(command)} /dev/null`], { cwd: workdir });

    const declined = await answer("n");
    expect(declined.stdout).toContain(`publish 1 changes of photos recorded from `);
    expect(declined.stdout).toContain(` to sqs:${queueUrl}? [y/N] `);
    expect(declined.stdout).toContain("nothing published");
    expect(await drain(queueUrl)).toEqual([]);

    const accepted = await answer("y");
    expect(accepted.stdout).toMatch(/published 1 changes of photos \(1 upserted\) to sqs:/);
    expect((await drain(queueUrl)).map((message) => message.key)).toEqual(["confirm/1"]);
  }, 90_000);

  it("stops with exit 1 and a cursor when the target refuses (a topic that does not exist)", async () => {
    // A change of its own to publish, whatever ran before.
    await put("refused/1", "x");
    await recorded("refused/1");
    const result = await replay(["--since", "10m", "--to", "sns:arn:aws:sns:us-east-1:000000000000:nowhere.fifo", "--yes"]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ end: "failed", published: 0, failure: { target: "sns" } });
    expect(result.stderr).toMatch(/^bucket-ledger: sns refused a message: .+; fix it, then go on with --cursor [A-Za-z0-9_-]+\n$/);
  }, 60_000);
});

describe("replay refuses bad input with exit 2, publishing nothing", () => {
  const refused = async (args: string[], message: RegExp) => {
    const result = await runCli(["replay", "photos", "--local", ...args], { cwd: workdir });
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe("");
    expect(result.code).toBe(2);
  };
  const topic = "sns:arn:aws:sns:us-east-1:000000000000:rebuild.fifo";

  it("without --yes when not at a terminal", () => refused(["--since", "1h", "--to", topic], /pass --yes to publish, or --dry-run to count first/));
  it("a target of no known form", () => refused(["--since", "1h", "--to", "kafka:x", "--yes"], /give sns:<FIFO topic ARN>/));
  it("a standard topic", () => refused(["--since", "1h", "--to", "sns:arn:aws:sns:us-east-1:000000000000:plain", "--yes"], /not a FIFO topic/));
  it("EventBridge locally", () => refused(["--since", "1h", "--to", "events:default", "--yes"], /the local stack has no EventBridge/));
  it("no start", () => refused(["--to", topic, "--yes"], /give --since <time> or --cursor <cursor>/));
  it("a --since before the horizon", () => refused(["--since", "400d", "--to", topic, "--yes"], /older than the change-feed horizon/));
  it("a cursor that is not one", () => refused(["--cursor", "AAAA", "--to", topic, "--yes"], /cursor is not a bucket-ledger cursor/));
});
