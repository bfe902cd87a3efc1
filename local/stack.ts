/**
 * The whole system on loopback: DynamoDB Local, fauxqs (S3 + SQS) with S3 event
 * notifications, the ledger table, buckets, the event queue with its DLQ, and the tracker
 * handler driven by a local SQS event source mapping. `bucket-ledger dev`, the demo, the
 * integration tests and the benchmarks all start it through here.
 */
import { CreateTableCommand, UpdateTimeToLiveCommand, waitUntilTableExists, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { createDocumentClient, createTableInput, DEFAULT_RETENTION_DAYS, Ledger, ledgerTable } from "../ledger/index.js";
import { reconcileBucket, type ReconcileSummary } from "../reconcile/engine.js";
import { listObjectsSource } from "../reconcile/source.js";
import type { TrackerCounts } from "../tracker/counts.js";
import { createTrackerHandler } from "../tracker/handler.js";
import { s3ObjectLookup } from "../tracker/object-lookup.js";
import { createLocalClients, type LocalClients } from "./clients.js";
import { localCredentials, LOCAL_REGION } from "./credentials.js";
import type { LocalStackInfo } from "./dev-file.js";
import { startDynamoDbLocal, type DynamoDbLocal } from "./dynamodb-local.js";
import { SqsEventSourceMapping } from "./event-source-mapping.js";
import { S3Notifier } from "./s3-notifier.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "./s3-sqs-emulator.js";

export interface LocalStackOptions {
  buckets?: string[];
  tableName?: string;
  queueName?: string;
  /** 0 (the default) picks free ports. */
  awsPort?: number;
  dynamoDbPort?: number;
  /** Persist DynamoDB Local's data here instead of in memory. */
  dataDirectory?: string;
  retentionDays?: number;
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
  batchSize?: number;
  maximumBatchingWindowMs?: number;
  pollers?: number;
  writeConcurrency?: number;
  logLevel?: LogLevel;
  /** Reconcile every bucket this often (0: never), as the nightly schedule does in AWS. */
  reconcileIntervalMs?: number;
  onReconcile?: (summary: ReconcileSummary) => void;
  onBatch?: (counts: TrackerCounts) => void;
  onError?: (error: unknown) => void;
}

export { createLocalClients, type LocalClients };

export const LOCAL_DEFAULTS = {
  buckets: ["ledger-demo"],
  tableName: "bucket-ledger-local",
  queueName: "bucket-ledger-events",
  visibilityTimeoutSeconds: 5,
  maxReceiveCount: 3,
} as const;

async function createLedgerTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  await dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: tableName });
  await dynamodb.send(
    new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { Enabled: true, AttributeName: ledgerTable.ttlAttribute } }),
  );
}

async function createQueueWithDlq(sqs: SQSClient, name: string, visibilityTimeoutSeconds: number, maxReceiveCount: number) {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqUrl = dlq.QueueUrl!;
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }));
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount }),
      },
    }),
  );
  const queueUrl = queue.QueueUrl!;
  const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
  return { queueUrl, queueArn, dlqUrl };
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

export class LocalStack {
  private reconcileTimer?: NodeJS.Timeout;
  private reconciling?: Promise<void>;

  private constructor(
    readonly info: LocalStackInfo,
    readonly clients: LocalClients,
    readonly ledger: Ledger,
    readonly notifier: S3Notifier,
    readonly eventSourceMapping: SqsEventSourceMapping,
    private readonly emulators: { aws: S3SqsEmulator; dynamodb: DynamoDbLocal },
  ) {}

  static async start(options: LocalStackOptions = {}): Promise<LocalStack> {
    const region = LOCAL_REGION;
    const buckets = options.buckets ?? [...LOCAL_DEFAULTS.buckets];
    const tableName = options.tableName ?? LOCAL_DEFAULTS.tableName;
    const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    // Both emulators settle before anything else: if one fails, the other is stopped, not leaked.
    const [dynamoResult, awsResult] = await Promise.allSettled([
      startDynamoDbLocal({ port: options.dynamoDbPort ?? 0, ...(options.dataDirectory !== undefined && { dataDirectory: options.dataDirectory }) }),
      startS3SqsEmulator({ port: options.awsPort ?? 0, region }),
    ]);
    const started = [dynamoResult, awsResult].flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    const failed = [dynamoResult, awsResult].find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed) {
      await Promise.allSettled(started.map((emulator) => emulator.stop()));
      throw failed.reason;
    }
    try {
      const dynamodb = (dynamoResult as PromiseFulfilledResult<DynamoDbLocal>).value;
      const aws = (awsResult as PromiseFulfilledResult<S3SqsEmulator>).value;
      const endpoints = { s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint };
      const clients = createLocalClients(endpoints, region);

      const { queueUrl, queueArn, dlqUrl } = await createQueueWithDlq(
        clients.sqs,
        options.queueName ?? LOCAL_DEFAULTS.queueName,
        options.visibilityTimeoutSeconds ?? LOCAL_DEFAULTS.visibilityTimeoutSeconds,
        options.maxReceiveCount ?? LOCAL_DEFAULTS.maxReceiveCount,
      );
      await Promise.all([
        createLedgerTable(clients.dynamodb, tableName).catch((error: unknown) => {
          // A persisted data directory already holds the table.
          if ((error as Error).name !== "ResourceInUseException") throw error;
        }),
        ...buckets.map((bucket) => clients.s3.send(new CreateBucketCommand({ Bucket: bucket }))),
      ]);

      const notifier = new S3Notifier({
        sqs: clients.sqs,
        region,
        destinations: new Map(buckets.map((bucket) => [bucket, queueUrl])),
        ...(options.onError && { onDeliveryError: options.onError }),
      });
      aws.onCommit(notifier.notify);

      const ledger = new Ledger({ tableName, retentionDays, documentClient: createDocumentClient(clients.dynamodb) });
      const handler = createTrackerHandler({
        ledger,
        lookup: s3ObjectLookup(clients.s3),
        logger: new Logger({ serviceName: "bucket-ledger-tracker", logLevel: options.logLevel ?? "WARN" }),
        concurrency: options.writeConcurrency ?? 32,
        ...(options.onBatch && { onBatchComplete: options.onBatch }),
      });
      const eventSourceMapping = new SqsEventSourceMapping({
        sqs: clients.sqs,
        queueUrl,
        queueArn,
        region,
        handler,
        batchSize: options.batchSize ?? 10,
        maximumBatchingWindowMs: options.maximumBatchingWindowMs ?? 0,
        concurrency: options.pollers ?? 2,
        ...(options.onError && { onError: options.onError }),
      });
      eventSourceMapping.start();

      const info: LocalStackInfo = {
        ready: true,
        region,
        endpoints,
        tableName,
        buckets,
        queueUrl,
        deadLetterQueueUrl: dlqUrl,
        retentionDays,
        pid: process.pid,
      };
      const stack = new LocalStack(info, clients, ledger, notifier, eventSourceMapping, { aws, dynamodb });
      if (options.reconcileIntervalMs) stack.scheduleReconciliation(options.reconcileIntervalMs, options);
      return stack;
    } catch (error) {
      await Promise.allSettled(started.map((emulator) => emulator.stop()));
      throw error;
    }
  }

  /** Reconciles every bucket once, with the same engine the scheduled Lambda runs. */
  async reconcileAll(options: { dryRun?: boolean; force?: boolean } = {}): Promise<ReconcileSummary[]> {
    const summaries: ReconcileSummary[] = [];
    for (const bucket of this.info.buckets) {
      // The emulator lists in localeCompare order, not S3's byte order: let the engine sort.
      const source = listObjectsSource({ s3: this.clients.s3, bucket, ordered: false });
      summaries.push(await reconcileBucket({ ledger: this.ledger, bucket, source, ...options }));
    }
    return summaries;
  }

  private scheduleReconciliation(intervalMs: number, options: LocalStackOptions): void {
    this.reconcileTimer = setInterval(() => {
      if (this.reconciling) return; // never overlap runs
      this.reconciling = this.reconcileAll()
        .then((summaries) => summaries.forEach((summary) => options.onReconcile?.(summary)))
        .catch((error: unknown) => options.onError?.(error))
        .finally(() => (this.reconciling = undefined));
    }, intervalMs);
    this.reconcileTimer.unref();
  }

  /** Environment that points the AWS SDK (and this project's CLI) at the stack. */
  get environment(): Record<string, string> {
    return {
      AWS_REGION: this.info.region,
      AWS_ENDPOINT_URL_S3: this.info.endpoints.s3,
      AWS_ENDPOINT_URL_SQS: this.info.endpoints.sqs,
      AWS_ENDPOINT_URL_DYNAMODB: this.info.endpoints.dynamodb,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      BUCKET_LEDGER_TABLE: this.info.tableName,
    };
  }

  /**
   * Resolves once every notification is delivered and processed: nothing pending in the
   * notifier, nothing in the queue (visible, in flight or delayed), no batch running.
   * Messages waiting out a visibility timeout after a failure count as not idle.
   */
  async waitForIdle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quietChecks = 0;
    for (;;) {
      await this.notifier.flush();
      const depth = await queueDepth(this.clients.sqs, this.info.queueUrl);
      const idle = depth.visible + depth.inFlight + depth.delayed === 0 && !this.eventSourceMapping.active && this.notifier.pending === 0;
      quietChecks = idle ? quietChecks + 1 : 0;
      if (quietChecks >= 2) return;
      if (Date.now() > deadline) {
        throw new Error(`local stack not idle after ${timeoutMs} ms: ${JSON.stringify(depth)}, notifications pending ${this.notifier.pending}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.reconcileTimer);
    await this.reconciling;
    await this.eventSourceMapping.stop();
    await this.notifier.flush();
    for (const client of Object.values(this.clients)) client.destroy();
    await Promise.allSettled([this.emulators.aws.stop(), this.emulators.dynamodb.stop()]);
  }
}
