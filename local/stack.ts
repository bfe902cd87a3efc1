/**
 * The whole system on loopback: DynamoDB Local, S3 (local/s3/) and SQS (fauxqs) on one
 * endpoint with S3 event notifications, the ledger table, buckets, the event queue with its
 * DLQ, and the tracker handler driven by a local SQS event source mapping. `bucket-ledger dev`, the demo, the
 * integration tests and the benchmarks all start it through here.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { createDocumentClient, createTableInput, DEFAULT_RETENTION_DAYS, Ledger, ledgerTable } from "../ledger/index.js";
import { summarizeRun, type RunSummary } from "../reconcile/fan-out.js";
import { buildReconciler, type Reconciler } from "../reconcile/wiring.js";
import { FINISHED, type RunStore } from "../reconcile/run-store.js";
import type { TrackerCounts } from "../tracker/counts.js";
import { createTrackerHandler } from "../tracker/handler.js";
import { s3ObjectLookup } from "../sdk/object-lookup.js";
import { createApiHandler } from "../api/handler.js";
import { withoutSdkLogger } from "../sdk/lean-client.js";
import { startLocalApiServer, type LocalApiServer } from "./api-server.js";
import { declareResource, queueName, recordCalls, type FunctionRole } from "./call-recorder.js";
import { createLocalClients, type LocalClients } from "./clients.js";
import { DeliveryFaults, type DeliveryFaultOptions } from "./delivery-faults.js";
import { FaultInjectingProxy } from "./fault-proxy.js";
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
  /** Port of the query API on loopback (0, the default: a free port). */
  apiPort?: number;
  /** Keep the ledger and the buckets here across restarts (created if missing); in memory and a temporary directory without it. */
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
  /** Range tasks per reconciliation run. */
  reconcileTasks?: number;
  /** Tasks worked on at once (the task queue's maximum concurrency in AWS). */
  reconcileWorkers?: number;
  /** Time a worker spends on one task message before it checkpoints and hands over (a Lambda's timeout). */
  reconcileTaskBudgetMs?: number;
  reconcileCheckpointIntervalMs?: number;
  onReconcile?: (summary: RunSummary) => void;
  /** Chaos: lose, duplicate and delay S3 event notifications. */
  deliveryFaults?: DeliveryFaultOptions;
  /**
   * Chaos: the tracker reaches DynamoDB through a fault-injecting proxy, so the table can be
   * made unavailable (`startTableOutage`) or throttled (`tableProxy.failWhen`).
   */
  tableFaults?: boolean;
  onBatch?: (counts: TrackerCounts) => void;
  onError?: (error: unknown) => void;
}

export { createLocalClients, type LocalClients };

/** One set of clients per deployed function: what each Lambda's role would call. */
type RoleClients = Record<FunctionRole, LocalClients>;

export const LOCAL_DEFAULTS = {
  buckets: ["ledger-demo"],
  tableName: "bucket-ledger-local",
  queueName: "bucket-ledger-events",
  taskQueueName: "bucket-ledger-reconcile-tasks",
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
}

export async function createQueueWithDlq(sqs: SQSClient, name: string, visibilityTimeoutSeconds: number, maxReceiveCount: number) {
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

/** The reconciliation half of the local stack: the same handler and task queue as in AWS. */
export interface LocalReconciler {
  reconciler: Reconciler;
  runs: RunStore;
  taskQueueUrl: string;
  taskDeadLetterQueueUrl: string;
  taskMapping: SqsEventSourceMapping;
  /** Resolvers of `reconcileAll` calls waiting for their runs to finish. */
  waiting: Map<string, (summary: RunSummary) => void>;
}

export class LocalStack {
  private reconcileTimer?: NodeJS.Timeout;
  private reconciling?: Promise<void>;

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
    readonly tableProxy?: FaultInjectingProxy,
  ) {}

  private outageTimer?: NodeJS.Timeout;

  /** Makes the table unreachable for the tracker for `durationMs` (needs `tableFaults`). */
  startTableOutage(durationMs: number): void {
    if (!this.tableProxy) throw new Error("start the local stack with tableFaults to inject table outages");
    clearTimeout(this.outageTimer);
    this.tableProxy.failWhen(() => true);
    this.outageTimer = setTimeout(() => this.tableProxy?.failWhen(() => false), durationMs);
    this.outageTimer.unref();
  }

  static async start(options: LocalStackOptions = {}): Promise<LocalStack> {
    const region = LOCAL_REGION;
    const buckets = options.buckets ?? [...LOCAL_DEFAULTS.buckets];
    const tableName = options.tableName ?? LOCAL_DEFAULTS.tableName;
    const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    // A data directory keeps the whole state or none of it: the ledger (DynamoDB Local's file)
    // and the buckets (objects under s3/) together. A directory that does not exist yet is made.
    const s3Directory = options.dataDirectory !== undefined ? join(options.dataDirectory, "s3") : undefined;
    if (s3Directory) await mkdir(s3Directory, { recursive: true });
    // Both emulators settle before anything else: if one fails, the other is stopped, not leaked.
    const [dynamoResult, awsResult] = await Promise.allSettled([
      startDynamoDbLocal({ port: options.dynamoDbPort ?? 0, ...(options.dataDirectory !== undefined && { dataDirectory: options.dataDirectory }) }),
      startS3SqsEmulator({ port: options.awsPort ?? 0, region, ...(s3Directory !== undefined && { s3Directory }) }),
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
      const awsEndpoints = { s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint };
      const clients = createLocalClients(awsEndpoints, region);
      // Each function gets clients of its own, as each Lambda has a role of its own.
      const roleClients: RoleClients = {
        tracker: createLocalClients(awsEndpoints, region, "tracker"),
        reconcile: createLocalClients(awsEndpoints, region, "reconcile"),
        api: createLocalClients(awsEndpoints, region, "api"),
      };

      const { queueUrl, queueArn, dlqUrl } = await createQueueWithDlq(
        clients.sqs,
        options.queueName ?? LOCAL_DEFAULTS.queueName,
        options.visibilityTimeoutSeconds ?? LOCAL_DEFAULTS.visibilityTimeoutSeconds,
        options.maxReceiveCount ?? LOCAL_DEFAULTS.maxReceiveCount,
      );
      declareResource("queue", queueName(queueUrl), "eventQueue");
      declareResource("queue", queueName(dlqUrl), "eventDeadLetterQueue");
      await Promise.all([
        createLedgerTable(clients.dynamodb, tableName).catch((error: unknown) => {
          // A persisted data directory already holds the table.
          if ((error as Error).name !== "ResourceInUseException") throw error;
        }),
        ...buckets.map((bucket) => clients.s3.send(new CreateBucketCommand({ Bucket: bucket }))),
      ]);

      const deliveryFaults = options.deliveryFaults && DeliveryFaults.from(options.deliveryFaults);
      const notifier = new S3Notifier({
        sqs: clients.sqs,
        region,
        destinations: new Map(buckets.map((bucket) => [bucket, queueUrl])),
        ...(options.onError && { onDeliveryError: options.onError }),
        ...(deliveryFaults && { faults: deliveryFaults }),
      });
      aws.onCommit(notifier.notify);

      const documentClient = createDocumentClient(clients.dynamodb);
      const ledger = new Ledger({ tableName, retentionDays, documentClient });
      const tableProxy = options.tableFaults ? await FaultInjectingProxy.start(dynamodb.endpoint) : undefined;
      if (tableProxy) started.push(tableProxy);
      const trackerTable = tableProxy ? recordCalls(withoutSdkLogger(new DynamoDBClient({ region, credentials: localCredentials, endpoint: tableProxy.endpoint })), "tracker") : roleClients.tracker.dynamodb;
      const trackerLedger = new Ledger({ tableName, retentionDays, documentClient: createDocumentClient(trackerTable) });
      const handler = createTrackerHandler({
        ledger: trackerLedger,
        lookup: s3ObjectLookup(roleClients.tracker.s3),
        logger: new Logger({ serviceName: "bucket-ledger-tracker", logLevel: options.logLevel ?? "WARN" }),
        concurrency: options.writeConcurrency ?? 32,
        ...(options.onBatch && { onBatchComplete: options.onBatch }),
      });
      // Lambda polls the queue with the function's own role.
      const eventSourceMapping = new SqsEventSourceMapping({
        sqs: roleClients.tracker.sqs,
        queueUrl,
        queueArn,
        region,
        handler,
        batchSize: options.batchSize ?? 10,
        maximumBatchingWindowMs: options.maximumBatchingWindowMs ?? 0,
        concurrency: options.pollers ?? 2,
        ...(options.onError && { onError: options.onError }),
      });
      // The API (its port may be taken) and the task queue come up before any poller starts,
      // so a failure here leaves nothing running.
      const apiLedger = new Ledger({ tableName, retentionDays, documentClient: createDocumentClient(roleClients.api.dynamodb) });
      const api = await startLocalApiServer(createApiHandler({ ledger: apiLedger, buckets, ...(options.onError && { onError: options.onError }) }), options.apiPort ?? 0);
      started.push(api);
      const reconciler = await startLocalReconciler(clients, roleClients.reconcile, tableName, retentionDays, buckets, options);
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
        retentionDays,
        pid: process.pid,
      };
      const stack = new LocalStack(info, clients, roleClients, ledger, notifier, eventSourceMapping, reconciler, { aws, dynamodb, api }, deliveryFaults, tableProxy);
      if (options.reconcileIntervalMs) stack.scheduleReconciliation(options.reconcileIntervalMs, options);
      return stack;
    } catch (error) {
      await Promise.allSettled(started.map((emulator) => emulator.stop()));
      throw error;
    }
  }

  /**
   * Reconciles every bucket once the way AWS does: the handler plans a run per bucket as the
   * schedule would, the local task workers carry out its range tasks, and this resolves with
   * each run's recorded summary (a run already in progress is waited for instead).
   */
  async reconcileAll(options: { dryRun?: boolean; force?: boolean; timeoutMs?: number } = {}): Promise<RunSummary[]> {
    const { reconciler, waiting, runs } = this.reconciler;
    const result = await reconciler.planRuns({ source: "schedule", ...(options.dryRun !== undefined && { dryRun: options.dryRun }), ...(options.force !== undefined && { force: options.force }) });
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    const runsToWait = [...result.planned, ...result.skipped];
    return Promise.all(
      runsToWait.map(async ({ bucket, runId }) => {
        const finished = new Promise<RunSummary>((resolve) => waiting.set(runId, resolve));
        // Polled too: the run may have finished before the resolver was registered.
        for (;;) {
          const run = await runs.getRun(bucket, runId);
          if (run && FINISHED.includes(run.status)) {
            waiting.delete(runId);
            return summarizeRun(run);
          }
          const winner = await Promise.race([finished, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 250))]);
          if (winner) return winner;
          if (Date.now() > deadline) throw new Error(`reconciliation ${runId} of ${bucket} did not finish within ${options.timeoutMs ?? 120_000} ms (status ${run?.status})`);
        }
      }),
    );
  }

  private scheduleReconciliation(intervalMs: number, options: LocalStackOptions): void {
    this.reconcileTimer = setInterval(() => {
      if (this.reconciling) return; // never overlap runs
      // Each finished run reaches `onReconcile` from the worker that finished it.
      this.reconciling = this.reconcileAll()
        .then(() => undefined)
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
    clearTimeout(this.outageTimer);
    await this.reconciling?.catch(() => undefined);
    await Promise.all([this.eventSourceMapping.stop(), this.reconciler.taskMapping.stop()]);
    await this.notifier.flush();
    for (const set of [this.clients, ...Object.values(this.roleClients)]) for (const client of Object.values(set)) client.destroy();
    await Promise.allSettled([this.emulators.api.stop(), this.tableProxy?.stop(), this.emulators.aws.stop(), this.emulators.dynamodb.stop()]);
  }
}

async function startLocalReconciler(clients: LocalClients, role: LocalClients, tableName: string, retentionDays: number, buckets: string[], options: LocalStackOptions): Promise<LocalReconciler> {
  const budgetMs = options.reconcileTaskBudgetMs ?? 60_000;
  // A task message stays invisible while its worker's lease lasts, as the Lambda timeout ensures in AWS.
  const leaseMarginMs = 2_000;
  const tasks = await createQueueWithDlq(clients.sqs, LOCAL_DEFAULTS.taskQueueName, Math.ceil((budgetMs + leaseMarginMs) / 1000) + 1, options.maxReceiveCount ?? 5);
  declareResource("queue", queueName(tasks.queueUrl), "taskQueue");
  declareResource("queue", queueName(tasks.dlqUrl), "taskDeadLetterQueue");
  const waiting = new Map<string, (summary: RunSummary) => void>();
  const reconciler = buildReconciler({
    clients: { s3: role.s3, sqs: role.sqs, documentClient: createDocumentClient(role.dynamodb) },
    tableName,
    retentionDays,
    taskQueueUrl: tasks.queueUrl,
    buckets,
    settings: {
      tasksPerRun: options.reconcileTasks ?? LOCAL_DEFAULTS.reconcileTasks,
      maxDeleteFraction: 0.1,
      staleAfterMs: 10 * 60_000,
      writeConcurrency: options.writeConcurrency ?? 16,
      reserveMs: 0,
      localBudgetMs: budgetMs,
      leaseMarginMs,
      ...(options.reconcileCheckpointIntervalMs !== undefined && { checkpointIntervalMs: options.reconcileCheckpointIntervalMs }),
    },
    logger: new Logger({ serviceName: "bucket-ledger-reconcile", logLevel: options.logLevel ?? "WARN" }),
    onRunFinished: (summary) => {
      options.onReconcile?.(summary);
      waiting.get(summary.runId)?.(summary);
      waiting.delete(summary.runId);
    },
  });
  const taskMapping = new SqsEventSourceMapping({
    sqs: role.sqs,
    queueUrl: tasks.queueUrl,
    queueArn: tasks.queueArn,
    region: LOCAL_REGION,
    handler: reconciler.runTasks,
    batchSize: 1,
    concurrency: options.reconcileWorkers ?? LOCAL_DEFAULTS.reconcileWorkers,
    ...(options.onError && { onError: options.onError }),
  });
  taskMapping.start();
  return { reconciler, runs: reconciler.runs, taskQueueUrl: tasks.queueUrl, taskDeadLetterQueueUrl: tasks.dlqUrl, taskMapping, waiting };
}
