/**
 * `bucket-ledger dev --change-stream`: its ready line (and dev.json) name the local topic and the
 * SQS FIFO queue subscribed to it, and a write to the bucket arrives there as a change message.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, expect, it } from "vitest";
import { localCredentials } from "../../local/credentials.js";
import { localStackInfoSchema } from "../../local/dev-file.js";
import { parseChangeMessage } from "../../stream/message.js";
import { CLI, spawnUntilReady, type ReadyProcess } from "../support/cli.js";

let dev: ReadyProcess | undefined;
let workdir: string | undefined;

afterAll(async () => {
  if (dev) {
    dev.child.kill("SIGINT");
    await dev.exited;
  }
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

it("names the local topic and its queue, which receives the bucket's changes", async () => {
  workdir = await mkdtemp(join(tmpdir(), "bucket-ledger-dev-stream-"));
  dev = spawnUntilReady(process.execPath, [CLI, "dev", "--bucket", "streamed", "--change-stream", "--reconcile-every", "off"], { cwd: workdir });
  const info = localStackInfoSchema.parse(JSON.parse(await dev.ready));
  expect(info.changeTopicArn).toMatch(/:bucket-ledger-changes\.fifo$/);
  expect(info.changeQueueUrl).toMatch(/\/bucket-ledger-changes\.fifo$/);
  const written = localStackInfoSchema.parse(JSON.parse(await readFile(join(workdir, ".bucket-ledger", "dev.json"), "utf8")));
  expect(written.changeQueueUrl).toBe(info.changeQueueUrl);

  const common = { region: info.region, credentials: localCredentials };
  const s3 = new S3Client({ ...common, endpoint: info.endpoints.s3, forcePathStyle: true });
  const sqs = new SQSClient({ ...common, endpoint: info.endpoints.sqs });
  await s3.send(new PutObjectCommand({ Bucket: "streamed", Key: "hello.txt", Body: "hi" }));
  const deadline = Date.now() + 30_000;
  let bodies: string[] = [];
  while (bodies.length === 0 && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: info.changeQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    bodies = Messages.map((message) => message.Body!);
  }
  s3.destroy();
  sqs.destroy();
  expect(bodies.map(parseChangeMessage)).toEqual([expect.objectContaining({ bucket: "streamed", key: "hello.txt", change: "created", size: 2 })]);
}, 120_000);
