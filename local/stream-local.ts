/**
 * The change stream on the local stack: the ledger table's stream turned on in DynamoDB Local
 * (UpdateTable, StreamSpecification NEW_AND_OLD_IMAGES, as infra/ledger-table.ts does), the
 * same publisher a deployed stack runs (stream/wiring.ts, its settings through their contract),
 * driven by a local event source mapping (local/stream-poller.ts), publishing to an SNS FIFO
 * topic of the emulator (fauxqs) with one SQS FIFO queue subscribed, raw delivery, as a deployed
 * subscription is made (infra/change-stream.ts).
 *
 * fauxqs emulates FIFO topics, PublishBatch, SQS FIFO subscriptions, raw delivery and filter
 * policies on the message body; it deduplicates per subscribed queue rather than per topic (AWS
 * does both) and delivers a message whose subscription's filter policy is not valid JSON
 * instead of refusing the policy. Neither changes what the stream delivers here.
 */
import { DescribeTableCommand, UpdateTableCommand, waitUntilTableExists, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { withoutSdkLogger } from "../aws/lean-client.js";
import { streamSettings } from "../functions/settings/stream.js";
import type { PublishReport } from "../stream/publisher.js";
import { buildPublisher } from "../stream/wiring.js";
import { recordCalls } from "./call-recorder.js";
import { localCredentials } from "./credentials.js";
import { DynamoDbStreamPoller } from "./stream-poller.js";

export interface LocalChangeStreamOptions {
  /** The caller's clients: the table and the queue are the stack's, not the publisher's. */
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  endpoints: { dynamodb: string; sns: string };
  region: string;
  tableName: string;
  /** The topic's and the subscribed queue's name, before `.fifo`. */
  name?: string;
  batchSize?: number;
  logLevel?: LogLevel;
  onBatch?: (report: PublishReport) => void;
  onError?: (error: unknown) => void;
}

export const LOCAL_STREAM_NAME = "bucket-ledger-changes";

/** Turns the table's stream on (a persisted table may have it already) and returns its ARN, and whether it was on before. */
export async function enableStream(dynamodb: DynamoDBClient, tableName: string): Promise<{ streamArn: string; existed: boolean }> {
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  if (Table?.StreamSpecification?.StreamEnabled && Table.LatestStreamArn) return { streamArn: Table.LatestStreamArn, existed: true };
  await dynamodb.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" } }));
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: tableName });
  const after = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  const streamArn = after.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`DynamoDB Local gave ${tableName} no stream`);
  return { streamArn, existed: false };
}

export class LocalChangeStream {
  private constructor(
    readonly topicArn: string,
    readonly queueUrl: string,
    readonly streamArn: string,
    private readonly poller: DynamoDbStreamPoller,
    private readonly clients: { sns: SNSClient; streams: DynamoDBStreamsClient },
  ) {}

  static async start(options: LocalChangeStreamOptions): Promise<LocalChangeStream> {
    const name = options.name ?? LOCAL_STREAM_NAME;
    const common = { region: options.region, credentials: localCredentials };
    // The publisher's role: what it calls, and what Lambda's event source mapping reads with it, is recorded for the IAM contract.
    const sns = recordCalls(withoutSdkLogger(new SNSClient({ ...common, endpoint: options.endpoints.sns })), "stream");
    const streams = recordCalls(withoutSdkLogger(new DynamoDBStreamsClient({ ...common, endpoint: options.endpoints.dynamodb })), "stream");
    const { streamArn, existed } = await enableStream(options.dynamodb, options.tableName);
    // The topic and its subscription are the stack's, made with the caller's client, not the publisher's.
    const admin = withoutSdkLogger(new SNSClient({ ...common, endpoint: options.endpoints.sns }));
    const { TopicArn } = await admin.send(
      new CreateTopicCommand({
        Name: `${name}.fifo`,
        Attributes: { FifoTopic: "true", ContentBasedDeduplication: "false", FifoThroughputScope: "MessageGroup" },
      }),
    );
    const { QueueUrl } = await options.sqs.send(
      new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: { FifoQueue: "true", ContentBasedDeduplication: "false" } }),
    );
    const { Attributes } = await options.sqs.send(new GetQueueAttributesCommand({ QueueUrl: QueueUrl!, AttributeNames: ["QueueArn"] }));
    await admin.send(
      new SubscribeCommand({ TopicArn: TopicArn!, Protocol: "sqs", Endpoint: Attributes!.QueueArn!, Attributes: { RawMessageDelivery: "true" } }),
    );

    admin.destroy();
    const handler = buildPublisher({
      clients: { sns },
      settings: streamSettings.resolve({ topicArn: TopicArn! }),
      logger: new Logger({ serviceName: "bucket-ledger-stream", logLevel: options.logLevel ?? "WARN" }),
      ...(options.onBatch && { onBatchComplete: options.onBatch }),
    });
    const poller = new DynamoDbStreamPoller({
      streams,
      streamArn,
      region: options.region,
      handler,
      batchSize: options.batchSize ?? 100,
      // A stream turned on just now holds only what came after: read all of it. One kept from an
      // earlier run starts at its end, as a new event source mapping does (LATEST).
      startingPosition: existed ? "LATEST" : "TRIM_HORIZON",
      ...(options.onError && { onError: options.onError }),
    });
    poller.start();
    return new LocalChangeStream(TopicArn!, QueueUrl!, streamArn, poller, { sns, streams });
  }

  /** Every record of the stream so far published (or being retried: not idle). */
  get idle(): boolean {
    return this.poller.idle;
  }

  async waitForIdle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    while (quiet < 2) {
      if (Date.now() > deadline) throw new Error(`change stream not caught up after ${timeoutMs} ms`);
      quiet = this.idle ? quiet + 1 : 0;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  async stop(): Promise<void> {
    await this.poller.stop();
    this.clients.sns.destroy();
    this.clients.streams.destroy();
  }
}
