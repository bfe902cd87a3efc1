/**
 * The stream publisher's bundle as deployed (infra/bundle.ts builds what `pulumi up` ships), run
 * under Node 22 (Lambda's nodejs22.x) with a DynamoDB Streams event shaped as Lambda hands it,
 * publishing to an SNS FIFO topic of the emulator with an SQS FIFO queue subscribed. The bundle
 * reaches the emulator only through AWS_ENDPOINT_URL_SNS, as it would reach AWS with none set.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BUNDLE_FILE, bundleFunction } from "../../infra/bundle.js";
import { toItem, type LedgerRecord } from "../../ledger/record.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";
import { parseChangeMessage } from "../../stream/message.js";
import { NODE22 } from "../support/node22.js";
import { runCommand } from "../support/run.js";

let aws: S3SqsEmulator;
let directory: string;
let sqs: SQSClient;

beforeAll(async () => {
  aws = await startS3SqsEmulator({ region: LOCAL_REGION });
  sqs = new SQSClient({ endpoint: aws.endpoint, region: LOCAL_REGION, credentials: localCredentials });
  directory = await mkdtemp(join(tmpdir(), "bucket-ledger-stream-node22-"));
}, 60_000);

afterAll(async () => {
  sqs?.destroy();
  await Promise.all([aws?.stop(), directory && rm(directory, { recursive: true, force: true })]);
});

it("functions/stream.ts under Node 22 publishes a stream batch's changes to the topic and reports no failure", async () => {
  const sns = new SNSClient({ endpoint: aws.endpoint, region: LOCAL_REGION, credentials: localCredentials });
  const { TopicArn } = await sns.send(
    new CreateTopicCommand({ Name: "bundle-changes.fifo", Attributes: { FifoTopic: "true", ContentBasedDeduplication: "false" } }),
  );
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "bundle-changes.fifo", Attributes: { FifoQueue: "true" } }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: "true" } }));
  sns.destroy();

  const record: LedgerRecord = {
    bucket: "photos",
    key: "a b+c.txt",
    deleted: false,
    size: 3,
    etag: "e1",
    lastModified: "2026-12-01T10:00:00.000Z",
    sequencer: "0055AED6DCD90281E5".padEnd(32, "0"),
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: "2026-12-01T10:00:00.000Z",
    recordedAt: "2026-12-01T10:00:01.000Z",
  };
  const item = toItem(record);
  const event: DynamoDBStreamEvent = {
    Records: [
      {
        eventName: "INSERT",
        dynamodb: {
          SequenceNumber: "100",
          Keys: marshall({ pk: item.pk, sk: item.sk }) as never,
          NewImage: marshall(item, { removeUndefinedValues: true }) as never,
          StreamViewType: "NEW_AND_OLD_IMAGES",
        },
      },
    ],
  };
  const bundle = join(directory, `stream-${BUNDLE_FILE}`);
  await writeFile(bundle, bundleFunction("stream"));
  await writeFile(
    join(directory, "invoke.mjs"),
    `import { writeFileSync } from "node:fs";
const [bundle, event, out] = process.argv.slice(2);
const { handler } = await import(bundle);
writeFileSync(out, JSON.stringify({ node: process.version, result: (await handler(JSON.parse(event), {})) ?? null }));`,
  );
  const out = join(directory, "result.json");
  const run = await runCommand(NODE22, [join(directory, "invoke.mjs"), pathToFileURL(bundle).href, JSON.stringify(event), out], {
    env: {
      PATH: process.env.PATH ?? "",
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_ENDPOINT_URL_SNS: aws.endpoint,
      TOPIC_ARN: TopicArn!,
    },
  });
  expect(run.code, run.stderr).toBe(0);
  expect(`${run.stderr}${run.stdout}`).not.toMatch(/"level":"(ERROR|WARN)"|Warning/);
  const { node, result } = JSON.parse(await readFile(out, "utf8")) as { node: string; result: unknown };
  expect(node).toMatch(/^v22\./);
  expect(result).toEqual({ batchItemFailures: [] });
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  expect(Messages.map((message) => parseChangeMessage(message.Body!))).toEqual([
    expect.objectContaining({ bucket: "photos", key: "a b+c.txt", change: "created", sequencer: record.sequencer, size: 3 }),
  ]);
}, 120_000);
