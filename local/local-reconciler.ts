/**
 * The reconciliation half of the local stack: the same wiring as the Lambda
 * (reconcile/wiring.ts), a local task queue with its DLQ, and workers polling it as Lambda's
 * event source mapping does. It plans runs on demand or on an interval, as the nightly
 * schedule does in AWS, and keeps to itself which callers wait for which run.
 */
import type { ChangeShardSetting } from "../ledger/change-index/index.js";
import type { EnrichmentField } from "../events/enrichment-fields.js";
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { createDocumentClient } from "../ledger/index.js";
import { summarizeRun, type RunSummary } from "../reconcile/run-summary.js";
import { FINISHED } from "../reconcile/run-model.js";
import type { RunStore } from "../reconcile/run-store.js";
import { buildReconcileFunction, type ReconcileFunction } from "../reconcile/wiring.js";
import { declareResource, queueName } from "./call-recorder.js";
import type { LocalClients } from "./clients.js";
import { LOCAL_REGION } from "./credentials.js";
import { SqsEventSourceMapping } from "./event-source-mapping.js";
import { createQueueWithDlq } from "./queues.js";
import { reconcilerWiringOf, reconcileSettings } from "../functions/settings/reconcile.js";
import type { IngestQueue } from "../ingest/ingest-queue.js";
import type { IngestRule } from "../ingest/rules.js";

/** How long a finished run's summary may take to arrive from its worker (the ingestion audit runs first). */
const REPORT_GRACE_MS = 5_000;

export const LOCAL_TASK_QUEUE = "bucket-ledger-reconcile-tasks";

const LOCAL_STALE_RUN_MINUTES = 10;

export interface LocalReconcilerOptions {
  /** Clients of the caller, for setting up the task queue. */
  clients: LocalClients;
  /** The reconcile function's own clients: what they call is checked against its IAM policy. */
  role: LocalClients;
  tableName: string;
  retentionDays: number;
  historyDays?: number;
  changeShards?: ChangeShardSetting;
  /** Backfill mode's budget for a run, as a deployed stack's `reconcileBackfillRepairsPerSecond`. */
  backfillRepairsPerSecond?: number;
  enrich?: EnrichmentField[];
  buckets: string[];
  tasksPerRun: number;
  /** The delete guard (the reconcile function's MAX_DELETE_FRACTION); its default otherwise. */
  maxDeleteFraction?: number;
  /** Tasks worked on at once (the task queue's maximum concurrency in AWS). */
  workers: number;
  writeConcurrency: number;
  maxReceiveCount: number;
  /** Time a worker spends on one task message before it checkpoints and hands over (a Lambda's timeout). */
  taskBudgetMs?: number;
  checkpointIntervalMs?: number;
  logLevel: LogLevel;
  onReconcile?: (summary: RunSummary) => void;
  onError?: (error: unknown) => void;
  /** Row ingestion's rules and queue (as the reconcile function's role sends to it). */
  ingestion?: { rules: readonly IngestRule[]; queue: IngestQueue };
}

export class LocalReconciler {
  private timer?: NodeJS.Timeout;
  private reconciling: Promise<void> | undefined;

  private constructor(
    private readonly reconciler: ReconcileFunction,
    private readonly taskMapping: SqsEventSourceMapping,
    /** Resolvers of `reconcileAll` calls waiting for their runs to finish. */
    private readonly waiting: Map<string, (summary: RunSummary) => void>,
    /** Where tasks that failed every attempt go, as the stack's task DLQ. */
    readonly taskDeadLetterQueueUrl: string,
  ) {}

  get runs(): RunStore {
    return this.reconciler.runs;
  }

  static async start(options: LocalReconcilerOptions): Promise<LocalReconciler> {
    const budgetMs = options.taskBudgetMs ?? 60_000;
    // A task message stays invisible while its worker's lease lasts, as the Lambda timeout ensures in AWS.
    const leaseMarginMs = 2_000;
    const tasks = await createQueueWithDlq(options.clients.sqs, LOCAL_TASK_QUEUE, Math.ceil((budgetMs + leaseMarginMs) / 1000) + 1, options.maxReceiveCount);
    declareResource("queue", queueName(tasks.queueUrl), "taskQueue");
    declareResource("queue", queueName(tasks.dlqUrl), "taskDeadLetterQueue");
    const waiting = new Map<string, (summary: RunSummary) => void>();
    // The reconcile function's settings as deployed, through its contract (its defaults, one home)...
    const deployed = reconcilerWiringOf(
      reconcileSettings.resolve({
        tableName: options.tableName,
        retentionDays: options.retentionDays,
        ...(options.historyDays !== undefined && { historyDays: options.historyDays }),
        ...(options.changeShards !== undefined && { changeShards: options.changeShards }),
        ...(options.enrich && { enrich: options.enrich }),
        taskQueueUrl: tasks.queueUrl,
        buckets: options.buckets,
        tasksPerRun: options.tasksPerRun,
        ...(options.maxDeleteFraction !== undefined && { maxDeleteFraction: options.maxDeleteFraction }),
        writeConcurrency: options.writeConcurrency,
        ...(options.backfillRepairsPerSecond !== undefined && { backfillRepairsPerSecond: options.backfillRepairsPerSecond }),
        taskConcurrency: options.workers,
        // A run a stopped dev left unfinished is failed soon, not after the deployed six hours.
        staleRunMinutes: LOCAL_STALE_RUN_MINUTES,
      }),
    );
    const reconciler = buildReconcileFunction({
      ...deployed,
      clients: { s3: options.role.s3, sqs: options.role.sqs, documentClient: createDocumentClient(options.role.dynamodb) },
      // ...then what only a local worker has: no Lambda invocation to keep time back from, its own budget and a short lease.
      settings: {
        ...deployed.settings,
        reserveMs: 0,
        localBudgetMs: budgetMs,
        leaseMarginMs,
        ...(options.checkpointIntervalMs !== undefined && { checkpointIntervalMs: options.checkpointIntervalMs }),
      },
      logger: new Logger({ serviceName: "bucket-ledger-reconcile", logLevel: options.logLevel }),
      ...(options.ingestion && { ingestion: options.ingestion }),
      onRunFinished: (summary) => {
        options.onReconcile?.(summary);
        waiting.get(summary.runId)?.(summary);
        waiting.delete(summary.runId);
      },
    });
    const taskMapping = new SqsEventSourceMapping({
      sqs: options.role.sqs,
      queueUrl: tasks.queueUrl,
      queueArn: tasks.queueArn,
      region: LOCAL_REGION,
      handler: reconciler.runTasks,
      batchSize: 1,
      concurrency: options.workers,
      ...(options.onError && { onError: options.onError }),
    });
    taskMapping.start();
    return new LocalReconciler(reconciler, taskMapping, waiting, tasks.dlqUrl);
  }

  /**
   * Reconciles every bucket once the way AWS does: the handler plans a run per bucket as the
   * schedule would, the local task workers carry out its range tasks, and this resolves with
   * each run's recorded summary (a run already in progress is waited for instead).
   */
  async reconcileAll(options: { dryRun?: boolean; force?: boolean; timeoutMs?: number } = {}): Promise<RunSummary[]> {
    const result = await this.reconciler.planRuns({
      source: "schedule",
      ...(options.dryRun !== undefined && { dryRun: options.dryRun }),
      ...(options.force !== undefined && { force: options.force }),
    });
    const timeoutMs = options.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    return Promise.all(
      [...result.planned, ...result.skipped].map(async ({ bucket, runId }) => {
        const finished = new Promise<RunSummary>((resolve) => this.waiting.set(runId, resolve));
        // Polled too: the run may have finished before the resolver was registered.
        for (;;) {
          const run = await this.runs.getRun(bucket, runId);
          if (run && FINISHED.includes(run.status)) {
            // The worker that finished it reports once its ingestion audit is done; only a run
            // finished by another process never reports here.
            const reported = await Promise.race([finished, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), REPORT_GRACE_MS))]);
            this.waiting.delete(runId);
            return reported ?? summarizeRun(run);
          }
          const winner = await Promise.race([finished, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 250))]);
          if (winner) return winner;
          if (Date.now() > deadline) throw new Error(`reconciliation ${runId} of ${bucket} did not finish within ${timeoutMs} ms (status ${run?.status})`);
        }
      }),
    );
  }

  /** Reconciles every bucket this often, never two at once, as the nightly schedule does in AWS. */
  scheduleEvery(intervalMs: number, onError?: (error: unknown) => void): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (this.reconciling) return;
      // Each finished run reaches `onReconcile` from the worker that finished it.
      this.reconciling = this.reconcileAll()
        .then(() => undefined)
        .catch((error: unknown) => onError?.(error))
        .finally(() => (this.reconciling = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reconciling?.catch(() => undefined);
    await this.taskMapping.stop();
  }
}
