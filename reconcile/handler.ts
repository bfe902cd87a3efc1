/**
 * The reconcile Lambda's handler, built by one factory for Lambda (functions/reconcile.ts)
 * and the local stack, so both run exactly this code.
 *
 * - The schedule invokes it with `{"source":"schedule"}`: it plans one run per bucket (unless
 *   the previous one is still going) and queues the run's range tasks.
 * - The task queue invokes it with SQS batches: each message is one task, run within the
 *   invocation's remaining time. Powertools' BatchProcessor reports failed messages alone, and
 *   SQS retries them (then moves them to the task DLQ).
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Logger } from "@aws-lambda-powertools/logger";
import { MetricUnit, type Metrics } from "@aws-lambda-powertools/metrics";
import { METRICS } from "../observability/metrics.js";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { z } from "zod";
import type { EncodingMismatch } from "./drift-checks.js";
import { ReconcileError } from "./errors.js";
import type { Reconciliation } from "./reconciliation.js";
import { budgetReserving, type TimeBudget } from "../foundation/time-budget.js";
import type { RunSummary } from "./run-summary.js";
import type { RunSourceSpec } from "./run-model.js";
import type { ObjectSource } from "./source.js";
import { parseTaskMessage } from "./task-queue.js";

export interface ReconcileHandlerDependencies {
  reconciliation: Reconciliation;
  buckets: string[];
  /** Opens the source a new run is planned on: a listing starting now, or the newest complete inventory. */
  openSourceForPlan: (bucket: string) => Promise<{ source: ObjectSource; spec: RunSourceSpec }>;
  tasksPerRun: number;
  maxDeleteFraction: number;
  /** An unfinished run with no progress for this long is failed, and a new one may start. */
  staleAfterMs: number;
  logger: Logger;
  /** Time kept back from a Lambda invocation for the last checkpoint and the continuation message. */
  reserveMs: number;
  /** Time per task where there is no Lambda context (the local stack). */
  localBudgetMs?: number;
  /** Called when planning a bucket's run fails (the run never started). */
  onPlanFailed?: (bucket: string, error: unknown) => void;
}

const scheduleEventSchema = z.object({
  source: z.literal("schedule"),
  /** Overrides for a run started by hand (`aws lambda invoke`). */
  buckets: z.array(z.string().min(3)).min(1).optional(),
  dryRun: z.boolean().optional(),
  force: z.boolean().optional(),
});

export interface PlanResult {
  planned: { bucket: string; runId: string; tasks: number }[];
  skipped: { bucket: string; runId: string; reason: string }[];
}

/** The schedule's invocation (`{"source":"schedule"}`): plans one run per bucket. */
export type PlanRuns = (event: unknown, context?: Context) => Promise<PlanResult>;
/** The task queue's invocation: works each message's task. */
export type RunTasks = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** Both entry points, and the one handler Lambda calls, which tells the two invocations apart. */
export interface ReconcileHandler {
  planRuns: PlanRuns;
  runTasks: RunTasks;
  handler: (event: unknown, context?: Context) => Promise<SQSBatchResponse | PlanResult>;
}

function isSqsEvent(event: unknown): event is SQSEvent {
  return typeof event === "object" && event !== null && Array.isArray((event as { Records?: unknown }).Records);
}

export class InvalidInvocationError extends ReconcileError {}

export function createReconcileHandler(deps: ReconcileHandlerDependencies): ReconcileHandler {
  const { reconciliation, logger } = deps;

  const budgetFor = (context?: Context): TimeBudget => {
    if (context?.getRemainingTimeInMillis) return budgetReserving(() => context.getRemainingTimeInMillis(), deps.reserveMs);
    const ends = Date.now() + (deps.localBudgetMs ?? 60_000);
    return { remainingMs: () => ends - Date.now() };
  };

  const runTasks = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const processRecord = async (record: SQSRecord): Promise<void> => {
      try {
        const message = parseTaskMessage(record.body);
        const outcome = await reconciliation.handle(message, budgetFor(context));
        logger.debug("reconcile task handled", { ...message, outcome });
      } catch (error) {
        logger.error("reconcile task failed", { messageId: record.messageId, error: error as Error });
        throw error;
      }
    };
    return processPartialResponse(event, processRecord, new BatchProcessor(EventType.SQS), {
      ...(context !== undefined && { context }),
      throwOnFullBatchFailure: false,
    });
  };

  const plan = async (event: z.infer<typeof scheduleEventSchema>): Promise<PlanResult> => {
    const result: PlanResult = { planned: [], skipped: [] };
    const failures: unknown[] = [];
    const buckets = event.buckets ?? deps.buckets;
    // One bucket's failure must not keep the others from being reconciled.
    for (const bucket of buckets) {
      try {
        const running = await reconciliation.settlePreviousRuns(bucket, deps.staleAfterMs);
        if (running) {
          logger.warn("previous reconciliation still in progress; not starting another", { bucket, runId: running.runId });
          result.skipped.push({ bucket, runId: running.runId, reason: "previous run in progress" });
          continue;
        }
        const { source, spec } = await deps.openSourceForPlan(bucket);
        const run = await reconciliation.plan({
          bucket,
          source,
          spec,
          tasks: deps.tasksPerRun,
          maxDeleteFraction: deps.maxDeleteFraction,
          ...(event.dryRun !== undefined && { dryRun: event.dryRun }),
          ...(event.force !== undefined && { force: event.force }),
        });
        const planned = { bucket, runId: run.runId, tasks: run.tasksTotal, source: spec.kind, snapshotTime: run.snapshotTime };
        if (spec.kind === "list" && spec.fallback) logger.warn("reconciliation planned on a listing", { ...planned, fallback: spec.fallback });
        else logger.info("reconciliation planned", planned);
        result.planned.push({ bucket, runId: run.runId, tasks: run.tasksTotal });
      } catch (error) {
        logger.error("reconciliation could not start", { bucket, error: error as Error });
        deps.onPlanFailed?.(bucket, error);
        failures.push(error);
      }
    }
    // Failing the invocation lets the scheduler retry and shows in the function's errors.
    if (failures.length > 0) throw new AggregateError(failures, `reconciliation could not start for ${failures.length} of ${buckets.length} buckets`);
    return result;
  };

  const planRuns: PlanRuns = async (event) => {
    const parsed = scheduleEventSchema.safeParse(event);
    if (!parsed.success)
      throw new InvalidInvocationError(
        `reconcile invoked with an event that is neither an SQS batch nor {"source":"schedule"}: ${JSON.stringify(event).slice(0, 200)}`,
      );
    return plan(parsed.data);
  };

  return {
    planRuns,
    runTasks,
    handler: (event, context) => (isSqsEvent(event) ? runTasks(event, context) : planRuns(event, context)),
  };
}

/** Each orphan that is another form of a bucket key: a key-decoding defect, worth a line of its own. */
export function reportEncodingMismatch(bucket: string, mismatch: EncodingMismatch, logger: Logger): void {
  logger.error("ledger key is another URL-encoding form of a bucket key: S3 event keys are being decoded wrongly", { bucket, ...mismatch });
}

/** One structured log line and EMF metrics per finished run: what the alarms and dashboard read. */
export function reportRun(summary: RunSummary, logger: Logger, metrics?: Metrics): void {
  // Without the keys of the mismatch sample: each mismatch has its own ERROR line (reportEncodingMismatch).
  const { encodingMismatchSample: _keys, ...logged } = summary;
  if (summary.status === "succeeded") logger.info("reconciliation finished", logged);
  else logger.error("reconciliation did not succeed", logged);
  if (!metrics) return;
  // No bucket dimension: the alarms and dashboard read one series; the log line has the detail.
  metrics.addMetric(METRICS.reconcile.driftFound, MetricUnit.Count, summary.missing + summary.stale + summary.orphaned);
  metrics.addMetric(METRICS.reconcile.driftMissing, MetricUnit.Count, summary.missing);
  metrics.addMetric(METRICS.reconcile.driftStale, MetricUnit.Count, summary.stale);
  metrics.addMetric(METRICS.reconcile.driftOrphaned, MetricUnit.Count, summary.orphaned);
  metrics.addMetric(METRICS.reconcile.repairsMade, MetricUnit.Count, summary.repaired);
  metrics.addMetric(METRICS.reconcile.newerStateKept, MetricUnit.Count, summary.newerStateKept);
  metrics.addMetric(METRICS.reconcile.driftUnconfirmed, MetricUnit.Count, summary.unconfirmed);
  metrics.addMetric(METRICS.reconcile.keyEncodingMismatches, MetricUnit.Count, summary.encodingMismatches);
  metrics.addMetric(METRICS.reconcile.objectsUndescribed, MetricUnit.Count, summary.undescribed);
  metrics.addMetric(METRICS.reconcile.checksumsWithheld, MetricUnit.Count, summary.checksumsWithheld);
  metrics.addMetric(METRICS.reconcile.objectsScanned, MetricUnit.Count, summary.scanned);
  metrics.addMetric(METRICS.reconcile.objectsPerSecond, MetricUnit.CountPerSecond, summary.objectsPerSecond);
  metrics.addMetric(METRICS.reconcile.runsFailed, MetricUnit.Count, summary.status === "succeeded" ? 0 : 1);
  if (summary.ingestAudit) {
    const { missing, retried, stuck, removals, givenUp } = summary.ingestAudit;
    metrics.addMetric(METRICS.reconcile.ingestionsRequeued, MetricUnit.Count, missing + retried + stuck + removals);
    metrics.addMetric(METRICS.reconcile.ingestionsGivenUp, MetricUnit.Count, givenUp);
  }
  metrics.publishStoredMetrics();
}

/** A run that could not even start counts as a failed run for the alarm. */
export function reportPlanFailure(metrics?: Metrics): void {
  if (!metrics) return;
  metrics.addMetric(METRICS.reconcile.runsFailed, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}
