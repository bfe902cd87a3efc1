/**
 * The whole system on loopback: DynamoDB Local, S3 (local/s3/) and SQS (fauxqs) on one
 * endpoint with S3 event notifications, the ledger table, buckets, the event queue with its
 * DLQ, and the tracker handler driven by a local SQS event source mapping. `bucket-ledger dev`, the demo, the
 * integration tests and the benchmarks all start it through here.
 */
import { notificationEvents } from "../events/subscriptions.js";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, PutBucketVersioningCommand } from "@aws-sdk/client-s3";
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { createCursorKey } from "../ledger/cursor.js";
import {
  createDocumentClient,
  createTableInput,
  DEFAULT_HISTORY_DAYS,
  DEFAULT_RETENTION_DAYS,
  Ledger,
  ledgerTable,
  type ChangeShardSetting,
} from "../ledger/index.js";
import type { RunSummary } from "../reconcile/run-summary.js";
import type { TrackerCounts } from "../tracker/counts.js";
import { buildTracker } from "../tracker/wiring.js";
import { buildApi } from "../api/wiring.js";
import type { EnrichmentField } from "../events/enrichment-fields.js";
import { trackerSettings, type TrackerSettingsInput } from "../functions/settings/tracker.js";
import { apiSettings } from "../functions/settings/api.js";
import { withoutSdkLogger } from "../aws/lean-client.js";
import { startLocalApiServer, type LocalApiServer } from "./api-server.js";
import { declareResource, queueName, recordCalls, type FunctionRole } from "./call-recorder.js";
import { createLocalClients, type LocalClients } from "./clients.js";
import { DeliveryFaults, type DeliveryFaultOptions } from "./delivery-faults.js";
import { localCredentials, LOCAL_REGION } from "./credentials.js";
import type { LocalStackInfo } from "./dev-file.js";
import { startDynamoDbLocal, type DynamoDbLocal } from "./dynamodb-local.js";
import { LocalReconciler } from "./local-reconciler.js";
import { LocalIngestion } from "./local-ingestion.js";
import type { IngestRuleInput } from "../ingest/rules.js";
import type { IngestOutcome } from "../ingest/ingester.js";
import { createQueueWithDlq, queueDepth } from "./queues.js";
import { SqsEventSourceMapping } from "./event-source-mapping.js";
import { S3Notifier } from "./s3-notifier.js";
import { TableFaults } from "./table-faults.js";
import { startS3SqsEmulator, type S3Commit, type S3SqsEmulator } from "./s3-sqs-emulator.js";
import { RECONCILE_DEFAULTS } from "../reconcile/defaults.js";
import type { PublishReport } from "../stream/publisher.js";
import { LocalChangeStream } from "./stream-local.js";

/**
 * The local stack's options, grouped as a deployed stack's are: what the whole stack shares,
 * then each function's. A function's settings are its deployed settings (functions/settings/),
 * with the same defaults; the rest is what only the local stack has (pollers, chaos, hooks).
 */
export interface LocalStackOptions {
  buckets?: string[];
  /** Turn S3 Versioning on (PutBucketVersioning, Enabled) for the buckets the stack creates. */
  versioned?: boolean;
  tableName?: string;
  /** 0 (the default) picks free ports. */
  awsPort?: number;
  dynamoDbPort?: number;
  /** Keep the ledger and the buckets here across restarts (created if missing); in memory and a temporary directory without it. */
  dataDirectory?: string;
  /** As a deployed stack's `retentionDays`. */
  retentionDays?: number;
  /** Days the journal keeps each change, as a deployed stack's `historyDays` (both writers); 0 turns it off. */
  historyDays?: number;
  /** The change-shard setting, as a deployed stack's `changeShards` (both writers). */
  changeShards?: ChangeShardSetting;
  /** Object metadata the writers ask S3 for, as a deployed stack's `enrich`. */
  enrich?: EnrichmentField[];
  /** Receives before a message goes to its DLQ, as a deployed stack's `maxReceiveCount`. */
  maxReceiveCount?: number;
  logLevel?: LogLevel;
  onError?: (error: unknown) => void;
  /** The event queue and what S3 delivers to it. */
  events?: {
    queueName?: string;
    visibilityTimeoutSeconds?: number;
    /** Chaos: lose, duplicate and delay S3 event notifications. */
    deliveryFaults?: DeliveryFaultOptions;
  };
  tracker?: Partial<Pick<TrackerSettingsInput, "origin" | "writeConcurrency">> & {
    batchSize?: number;
    maximumBatchingWindowMs?: number;
    pollers?: number;
    /**
     * Chaos: the tracker reaches DynamoDB through a fault-injecting proxy, so the table can be
     * made unavailable (`tableFaults.startOutage`) or throttled (`tableFaults.proxy.failWhen`).
     */
    tableFaults?: boolean;
    onBatch?: (counts: TrackerCounts) => void;
  };
  reconcile?: {
    /** Reconcile every bucket this often (0: never), as the nightly schedule does in AWS. */
    intervalMs?: number;
    /** Range tasks per run. */
    tasksPerRun?: number;
    /** The delete guard, as a deployed stack's `reconcileMaxDeletePercent` / 100. */
    maxDeleteFraction?: number;
    /** Tasks worked on at once (the task queue's maximum concurrency in AWS). */
    workers?: number;
    writeConcurrency?: number;
    /** Backfill mode's budget for a run (repairs/s), as a deployed stack's `reconcileBackfillRepairsPerSecond`. */
    backfillRepairsPerSecond?: number;
    /** Time a worker spends on one task message before it checkpoints and hands over (a Lambda's timeout). */
    taskBudgetMs?: number;
    checkpointIntervalMs?: number;
    onRun?: (summary: RunSummary) => void;
  };
  /** Row ingestion: with rules, their tables are created in DynamoDB Local. */
  ingest?: {
    /** The stack config's `ingestRules`. */
    rules?: IngestRuleInput[];
    /** A local invocation's length, and how long before its end a file is checkpointed. */
    invocationMs?: number;
    stopMarginMs?: number;
    /** The copy's multipart part size (S3's minimum, 5 MiB, lets a test reach a multipart copy quickly). */
    copyPartBytes?: number;
    onOutcome?: (outcome: IngestOutcome) => void;
  };
  api?: {
    /** Port on loopback (0, the default: a free port). */
    port?: number;
  };
  /** The change stream (a deployed stack's `changeStream`): the table's stream, the publisher, an SNS FIFO topic and one SQS FIFO queue subscribed. */
  changeStream?: {
    enabled?: boolean;
    /** Records per invocation of the publisher. */
    batchSize?: number;
    onBatch?: (report: PublishReport) => void;
  };
}

export { createLocalClients, type LocalClients };

/** One set of clients per deployed function: what each Lambda's role would call (the stream publisher makes its own: SNS, DynamoDB Streams). */
type RoleClients = Record<Exclude<FunctionRole, "stream">, LocalClients>;

export const LOCAL_DEFAULTS = {
  buckets: ["ledger-demo"],
  tableName: "bucket-ledger-local",
  queueName: "bucket-ledger-events",
  reconcileTasks: 4,
  reconcileWorkers: 2,
  visibilityTimeoutSeconds: 5,
  maxReceiveCount: 3,
} as const;

async function createLedgerTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  await dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: tableName });
  await dynamodb.send(
    new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { Enabled: true, AttributeName: ledgerTable.ttlAttribute } }),
  );
  // The API's cursor key, which a deployed stack writes beside its API (infra/query-api.ts).
  await createCursorKey({ tableName, documentClient: createDocumentClient(dynamodb) });
}

export class LocalStack {
  private constructor(
    readonly info: LocalStackInfo,
    /** The caller's clients (tests, the demo, the CLI): not any function's role. */
    readonly clients: LocalClients,
    private readonly roleClients: RoleClients,
    readonly ledger: Ledger,
    readonly notifier: S3Notifier,
    readonly eventSourceMapping: SqsEventSourceMapping,
    readonly reconciler: LocalReconciler,
    private readonly emulators: { aws: S3SqsEmulator; dynamodb: DynamoDbLocal; api: LocalApiServer },
    /** Present when `deliveryFaults` asked for any. */
    readonly deliveryFaults?: DeliveryFaults,
    /** Present with `tableFaults`: stands between the tracker and DynamoDB Local. */
    readonly tableFaults?: TableFaults,
    /** Present when there are ingestion rules. */
    readonly ingestion?: LocalIngestion,
    /** Present with `changeStream.enabled`. */
    readonly changeStream?: LocalChangeStream,
  ) {}

  static async start(options: LocalStackOptions = {}): Promise<LocalStack> {
    const region = LOCAL_REGION;
    const buckets = options.buckets ?? [...LOCAL_DEFAULTS.buckets];
    const tableName = options.tableName ?? LOCAL_DEFAULTS.tableName;
    const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    const historyDays = options.historyDays ?? DEFAULT_HISTORY_DAYS;
    const { events = {}, tracker = {}, reconcile = {}, ingest = {} } = options;
    // A data directory keeps the whole state or none of it: the ledger (DynamoDB Local's file)
    // and the buckets (objects under s3/) together. A directory that does not exist yet is made.
    // Owner-only (0700): the tables and objects are whatever the developer put there.
    const s3Directory = options.dataDirectory !== undefined ? join(options.dataDirectory, "s3") : undefined;
    if (options.dataDirectory !== undefined) await mkdir(options.dataDirectory, { recursive: true, mode: 0o700 });
    if (s3Directory) await mkdir(s3Directory, { recursive: true, mode: 0o700 });
    // Both emulators settle before anything else: if one fails, the other is stopped, not leaked.
    const [dynamoResult, awsResult] = await Promise.allSettled([
      startDynamoDbLocal({ port: options.dynamoDbPort ?? 0, ...(options.dataDirectory !== undefined && { dataDirectory: options.dataDirectory }) }),
      startS3SqsEmulator({ port: options.awsPort ?? 0, region, ...(s3Directory !== undefined && { s3Directory }) }),
    ]);
    const started: { stop(): Promise<void> }[] = [dynamoResult, awsResult].flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    const failed = [dynamoResult, awsResult].find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed) {
      await Promise.allSettled(started.map((emulator) => emulator.stop()));
      throw failed.reason;
    }
    try {
      const dynamodb = (dynamoResult as PromiseFulfilledResult<DynamoDbLocal>).value;
      const aws = (awsResult as PromiseFulfilledResult<S3SqsEmulator>).value;
      const awsEndpoints = { s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint };
      const clients = createLocalClients(awsEndpoints, region);
      // Each function gets clients of its own, as each Lambda has a role of its own.
      const roleClients: RoleClients = {
        tracker: createLocalClients(awsEndpoints, region, "tracker"),
        reconcile: createLocalClients(awsEndpoints, region, "reconcile"),
        api: createLocalClients(awsEndpoints, region, "api"),
        ingest: createLocalClients(awsEndpoints, region, "ingest"),
      };

      const { queueUrl, queueArn, dlqUrl } = await createQueueWithDlq(
        clients.sqs,
        events.queueName ?? LOCAL_DEFAULTS.queueName,
        events.visibilityTimeoutSeconds ?? LOCAL_DEFAULTS.visibilityTimeoutSeconds,
        options.maxReceiveCount ?? LOCAL_DEFAULTS.maxReceiveCount,
      );
      declareResource("queue", queueName(queueUrl), "eventQueue");
      declareResource("queue", queueName(dlqUrl), "eventDeadLetterQueue");
      await Promise.all([
        createLedgerTable(clients.dynamodb, tableName).catch((error: unknown) => {
          // A persisted data directory already holds the table.
          if ((error as Error).name !== "ResourceInUseException") throw error;
        }),
        ...buckets.map(async (bucket) => {
          await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
          if (options.versioned) await clients.s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
        }),
      ]);

      const deliveryFaults = events.deliveryFaults && DeliveryFaults.from(events.deliveryFaults);
      const notifier = new S3Notifier({
        sqs: clients.sqs,
        region,
        destinations: new Map(buckets.map((bucket) => [bucket, queueUrl])),
        // The configuration a deployed stack writes (infra/event-delivery.ts) for the same enrichment.
        events: notificationEvents(options.enrich ?? []),
        ...(options.onError && { onDeliveryError: options.onError }),
        ...(deliveryFaults && { faults: deliveryFaults }),
      });
      aws.onCommit(notifier.notify);

      const ingestion =
        ingest.rules && ingest.rules.length > 0
          ? await LocalIngestion.start({
              clients,
              role: roleClients.ingest,
              tableName,
              retentionDays,
              buckets,
              rules: ingest.rules,
              visibilityTimeoutSeconds: Math.max(30, events.visibilityTimeoutSeconds ?? LOCAL_DEFAULTS.visibilityTimeoutSeconds),
              maxReceiveCount: options.maxReceiveCount ?? LOCAL_DEFAULTS.maxReceiveCount,
              ...(ingest.invocationMs !== undefined && { invocationMs: ingest.invocationMs }),
              ...(ingest.stopMarginMs !== undefined && { stopMarginMs: ingest.stopMarginMs }),
              ...(ingest.copyPartBytes !== undefined && { copyPartBytes: ingest.copyPartBytes }),
              logLevel: options.logLevel ?? "WARN",
              ...(ingest.onOutcome && { onOutcome: ingest.onOutcome }),
              ...(options.onError && { onError: options.onError }),
            })
          : undefined;
      if (ingestion) started.push(ingestion);

      const documentClient = createDocumentClient(clients.dynamodb);
      const ledger = new Ledger({ tableName, retentionDays, documentClient });
      const tableFaults = tracker.tableFaults ? await TableFaults.start(dynamodb.endpoint) : undefined;
      if (tableFaults) started.push(tableFaults);
      const trackerTable = tableFaults
        ? recordCalls(withoutSdkLogger(new DynamoDBClient({ region, credentials: localCredentials, endpoint: tableFaults.endpoint })), "tracker")
        : roleClients.tracker.dynamodb;
      // The tracker as deployed: its settings through its contract, its wiring shared with the Lambda.
      const { handler } = buildTracker({
        clients: { s3: roleClients.tracker.s3, documentClient: createDocumentClient(trackerTable) },
        settings: trackerSettings.resolve({
          tableName,
          retentionDays,
          historyDays,
          // As deployed: events about a bucket the stack was not started with are dropped.
          buckets,
          ...(options.changeShards !== undefined && { changeShards: options.changeShards }),
          ...(options.enrich !== undefined && { enrich: options.enrich }),
          ...(tracker.origin !== undefined && { origin: tracker.origin }),
          ...(tracker.writeConcurrency !== undefined && { writeConcurrency: tracker.writeConcurrency }),
        }),
        ...(ingestion && { ingestion: { rules: ingestion.rules, queue: ingestion.queueFor(roleClients.tracker) } }),
        logger: new Logger({ serviceName: "bucket-ledger-tracker", logLevel: options.logLevel ?? "WARN" }),
        ...(tracker.onBatch && { onBatchComplete: tracker.onBatch }),
      });
      // Lambda polls the queue with the function's own role.
      const eventSourceMapping = new SqsEventSourceMapping({
        sqs: roleClients.tracker.sqs,
        queueUrl,
        queueArn,
        region,
        handler,
        batchSize: tracker.batchSize ?? 10,
        maximumBatchingWindowMs: tracker.maximumBatchingWindowMs ?? 0,
        concurrency: tracker.pollers ?? 2,
        ...(options.onError && { onError: options.onError }),
      });
      // The API (its port may be taken) and the task queue come up before any poller starts,
      // so a failure here leaves nothing running.
      const api = await startLocalApiServer(
        buildApi({
          clients: { documentClient: createDocumentClient(roleClients.api.dynamodb) },
          // As an IAM-authorized API: only the developer reaches the loopback port.
          settings: apiSettings.resolve({ tableName, retentionDays, buckets, servePersonalData: true }),
          ...(options.onError && { onError: options.onError }),
        }),
        options.api?.port ?? 0,
      );
      started.push(api);
      const reconciler = await LocalReconciler.start({
        clients,
        role: roleClients.reconcile,
        tableName,
        retentionDays,
        historyDays,
        ...(options.changeShards !== undefined && { changeShards: options.changeShards }),
        ...(options.enrich && { enrich: options.enrich }),
        buckets,
        ...(reconcile.taskBudgetMs !== undefined && { taskBudgetMs: reconcile.taskBudgetMs }),
        ...(reconcile.checkpointIntervalMs !== undefined && { checkpointIntervalMs: reconcile.checkpointIntervalMs }),
        tasksPerRun: reconcile.tasksPerRun ?? LOCAL_DEFAULTS.reconcileTasks,
        ...(reconcile.maxDeleteFraction !== undefined && { maxDeleteFraction: reconcile.maxDeleteFraction }),
        workers: reconcile.workers ?? LOCAL_DEFAULTS.reconcileWorkers,
        ...(reconcile.backfillRepairsPerSecond !== undefined && { backfillRepairsPerSecond: reconcile.backfillRepairsPerSecond }),
        writeConcurrency: reconcile.writeConcurrency ?? RECONCILE_DEFAULTS.writeConcurrency,
        maxReceiveCount: options.maxReceiveCount ?? 5,
        logLevel: options.logLevel ?? "WARN",
        ...(reconcile.onRun && { onReconcile: reconcile.onRun }),
        ...(options.onError && { onError: options.onError }),
        ...(ingestion && { ingestion: { rules: ingestion.rules, queue: ingestion.queueFor(roleClients.reconcile) } }),
      });
      const changeStream = options.changeStream?.enabled
        ? await LocalChangeStream.start({
            dynamodb: clients.dynamodb,
            sqs: clients.sqs,
            // fauxqs answers SNS on the same endpoint as SQS.
            endpoints: { dynamodb: dynamodb.endpoint, sns: aws.endpoint },
            region,
            tableName,
            ...(options.changeStream.batchSize !== undefined && { batchSize: options.changeStream.batchSize }),
            logLevel: options.logLevel ?? "WARN",
            ...(options.changeStream.onBatch && { onBatch: options.changeStream.onBatch }),
            ...(options.onError && { onError: options.onError }),
          })
        : undefined;
      if (changeStream) started.push(changeStream);
      eventSourceMapping.start();
      const endpoints = { ...awsEndpoints, api: api.endpoint };

      const info: LocalStackInfo = {
        ready: true,
        region,
        endpoints,
        tableName,
        buckets,
        queueUrl,
        deadLetterQueueUrl: dlqUrl,
        taskDeadLetterQueueUrl: reconciler.taskDeadLetterQueueUrl,
        retentionDays,
        pid: process.pid,
        // The schedule below starts now: `status` says when its first run is due.
        startedAt: new Date().toISOString(),
        reconcileEveryMs: reconcile.intervalMs ?? 0,
        ...(ingestion && { ingestQueueUrl: ingestion.queueUrl, ingestDeadLetterQueueUrl: ingestion.deadLetterQueueUrl, ingestRules: ingestion.rules }),
        ...(changeStream && { changeTopicArn: changeStream.topicArn, changeQueueUrl: changeStream.queueUrl }),
      };
      const stack = new LocalStack(
        info,
        clients,
        roleClients,
        ledger,
        notifier,
        eventSourceMapping,
        reconciler,
        { aws, dynamodb, api },
        deliveryFaults,
        tableFaults,
        ingestion,
        changeStream,
      );
      if (reconcile.intervalMs) reconciler.scheduleEvery(reconcile.intervalMs, options.onError);
      return stack;
    } catch (error) {
      await Promise.allSettled(started.map((emulator) => emulator.stop()));
      throw error;
    }
  }

  /**
   * Reconciles every bucket once the way AWS does (see LocalReconciler.reconcileAll) and
   * resolves with each run's recorded summary.
   */
  reconcileAll(options: { dryRun?: boolean; force?: boolean; timeoutMs?: number } = {}): Promise<RunSummary[]> {
    return this.reconciler.reconcileAll(options);
  }

  /** What an S3 Lifecycle rule's transition does to one object (the local S3 has no lifecycle rules). */
  transition(bucket: string, key: string, storageClass: string): Promise<void> {
    return this.emulators.aws.transition(bucket, key, storageClass);
  }

  /** Hears every write the local S3 commits, as its notifier does: a benchmark delivers the same notifications to a queue of its own. */
  onS3Commit(listener: (commit: S3Commit) => void): () => void {
    return this.emulators.aws.onCommit(listener);
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
      const idle =
        depth.visible + depth.inFlight + depth.delayed === 0 &&
        !this.eventSourceMapping.active &&
        this.notifier.pending === 0 &&
        ((await this.ingestion?.idle()) ?? true) &&
        (this.changeStream?.idle ?? true);
      quietChecks = idle ? quietChecks + 1 : 0;
      if (quietChecks >= 2) return;
      if (Date.now() > deadline) {
        throw new Error(`local stack not idle after ${timeoutMs} ms: ${JSON.stringify(depth)}, notifications pending ${this.notifier.pending}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.eventSourceMapping.stop(), this.reconciler.stop(), this.ingestion?.stop(), this.changeStream?.stop()]);
    await this.notifier.flush();
    for (const set of [this.clients, ...Object.values(this.roleClients)]) for (const client of Object.values(set)) client.destroy();
    await Promise.allSettled([this.emulators.api.stop(), this.tableFaults?.stop(), this.emulators.aws.stop(), this.emulators.dynamodb.stop()]);
  }
}
