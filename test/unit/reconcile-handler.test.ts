/**
 * The reconcile Lambda's handler (reconcile/handler.ts) with a scripted reconciliation: which
 * invocation it takes an event for, how planning skips a bucket whose run is going and fails the
 * invocation after trying every bucket, the time budget a task gets, the batch's failures, and
 * the metrics a finished run publishes.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { Context, SQSEvent } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createReconcileHandler,
  InvalidInvocationError,
  reportEncodingMismatch,
  reportPlanFailure,
  reportRun,
  type ReconcileHandlerDependencies,
} from "../../reconcile/handler.js";
import type { Reconciliation } from "../../reconcile/reconciliation.js";
import { zeroCounts } from "../../reconcile/run-model.js";
import type { RunSummary } from "../../reconcile/run-summary.js";
import type { TimeBudget } from "../../foundation/time-budget.js";

function recordingLogger() {
  const lines: [string, string, unknown][] = [];
  const log = (level: string) => (message: string, extra?: unknown) => void lines.push([level, message, extra]);
  return { lines, logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") } as unknown as Logger };
}

function handlerWith(
  options: { running?: Record<string, string>; failing?: string[]; fallback?: string; handle?: (budget: TimeBudget) => Promise<string> } = {},
) {
  const { lines, logger } = recordingLogger();
  const plans: Record<string, unknown>[] = [];
  const settled: [string, number][] = [];
  const failedPlans: string[] = [];
  const reconciliation = {
    settlePreviousRuns: async (bucket: string, staleAfterMs: number) => {
      settled.push([bucket, staleAfterMs]);
      const runId = options.running?.[bucket];
      return runId ? { runId } : undefined;
    },
    plan: async (request: Record<string, unknown>) => {
      if (options.failing?.includes(request.bucket as string)) throw new Error(`no source for ${String(request.bucket)}`);
      plans.push(request);
      return { runId: `run-${String(request.bucket)}`, tasksTotal: 3, snapshotTime: "t" };
    },
    handle: async (_message: unknown, budget: TimeBudget) => (options.handle ? options.handle(budget) : "completed"),
  } as unknown as Reconciliation;
  const deps: ReconcileHandlerDependencies = {
    reconciliation,
    buckets: ["aaa", "bbb"],
    openSourceForPlan: async () => ({
      source: {} as never,
      spec: options.fallback ? { kind: "list", fallback: options.fallback } : { kind: "inventory", reportFolder: "r" },
    }),
    tasksPerRun: 8,
    maxDeleteFraction: 0.2,
    staleAfterMs: 1_000,
    logger,
    reserveMs: 5_000,
    localBudgetMs: 30_000,
    onPlanFailed: (bucket) => void failedPlans.push(bucket),
  };
  return { ...createReconcileHandler(deps), lines, plans, settled, failedPlans, deps };
}

const sqsEvent = (...bodies: string[]): SQSEvent =>
  ({
    Records: bodies.map((body, index) => ({ messageId: `m${index}`, body, eventSource: "aws:sqs", attributes: {}, messageAttributes: {} })),
  }) as unknown as SQSEvent;
const message = JSON.stringify({ bucket: "aaa", runId: "r", task: 0, phase: "scan" });

describe("planning on the schedule", () => {
  it("plans one run per configured bucket with the stack's settings", async () => {
    const { handler, plans, settled, lines } = handlerWith();
    expect(await handler({ source: "schedule" })).toStrictEqual({
      planned: [
        { bucket: "aaa", runId: "run-aaa", tasks: 3 },
        { bucket: "bbb", runId: "run-bbb", tasks: 3 },
      ],
      skipped: [],
    });
    expect(settled).toEqual([
      ["aaa", 1_000],
      ["bbb", 1_000],
    ]);
    expect(plans[0]).toStrictEqual({ bucket: "aaa", source: {}, spec: { kind: "inventory", reportFolder: "r" }, tasks: 8, maxDeleteFraction: 0.2 });
    expect(lines[0]).toEqual(["info", "reconciliation planned", { bucket: "aaa", runId: "run-aaa", tasks: 3, source: "inventory", snapshotTime: "t" }]);
  });

  it("takes the buckets, dry run and force of a run started by hand", async () => {
    const { planRuns, plans } = handlerWith();
    await planRuns({ source: "schedule", buckets: ["ccc"], dryRun: true, force: false });
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ bucket: "ccc", dryRun: true, force: false });
  });

  it("warns when a run meant for inventory lists instead", async () => {
    const { planRuns, lines } = handlerWith({ fallback: "no inventory yet" });
    await planRuns({ source: "schedule", buckets: ["aaa"] });
    expect(lines[0]).toEqual([
      "warn",
      "reconciliation planned on a listing",
      { bucket: "aaa", runId: "run-aaa", tasks: 3, source: "list", snapshotTime: "t", fallback: "no inventory yet" },
    ]);
  });

  it("skips a bucket whose previous run is still going", async () => {
    const { planRuns, plans, lines } = handlerWith({ running: { aaa: "old" } });
    expect(await planRuns({ source: "schedule" })).toStrictEqual({
      planned: [{ bucket: "bbb", runId: "run-bbb", tasks: 3 }],
      skipped: [{ bucket: "aaa", runId: "old", reason: "previous run in progress" }],
    });
    expect(plans.map(({ bucket }) => bucket)).toEqual(["bbb"]);
    expect(lines[0]).toEqual(["warn", "previous reconciliation still in progress; not starting another", { bucket: "aaa", runId: "old" }]);
  });

  it("tries every bucket, then fails the invocation naming how many could not start", async () => {
    const { planRuns, plans, failedPlans } = handlerWith({ failing: ["aaa"] });
    const failure = await planRuns({ source: "schedule" }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AggregateError);
    expect((failure as AggregateError).message).toBe("reconciliation could not start for 1 of 2 buckets");
    expect((failure as AggregateError).errors).toEqual([new Error("no source for aaa")]);
    expect(plans.map(({ bucket }) => bucket)).toEqual(["bbb"]);
    expect(failedPlans).toEqual(["aaa"]);
  });

  it("refuses an event that is neither an SQS batch nor the schedule's", async () => {
    const { handler } = handlerWith();
    for (const event of [{ source: "other" }, null, { Records: "x" }, { source: "schedule", buckets: [] }, { source: "schedule", buckets: ["ab"] }]) {
      await expect(handler(event)).rejects.toThrow(InvalidInvocationError);
    }
    await expect(handler({ source: "nope" })).rejects.toThrow(
      `reconcile invoked with an event that is neither an SQS batch nor {"source":"schedule"}: {"source":"nope"}`,
    );
    await expect(handler({ source: "x".repeat(300) })).rejects.toThrow(/: \{"source":"x+$/);
    const long = await handler({ source: "x".repeat(300) }).catch((error: Error) => error.message);
    expect(long).toHaveLength(`reconcile invoked with an event that is neither an SQS batch nor {"source":"schedule"}: `.length + 200);
  });
});

describe("tasks from the queue", () => {
  afterEach(() => vi.useRealTimers());

  it("works each message and reports only the failed ones, logging why", async () => {
    const { handler, lines } = handlerWith();
    expect(await handler(sqsEvent(message, "not json"))).toStrictEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
    expect(lines.find(([level]) => level === "debug")).toEqual([
      "debug",
      "reconcile task handled",
      { bucket: "aaa", runId: "r", task: 0, phase: "scan", outcome: "completed" },
    ]);
    const failed = lines.find(([level]) => level === "error")!;
    expect(failed[1]).toBe("reconcile task failed");
    expect(failed[2]).toMatchObject({ messageId: "m1" });
    expect(lines).toHaveLength(2);
  });

  it("gives a task the invocation's remaining time less the reserve, or the local budget without a context", async () => {
    const budgets: number[] = [];
    const { runTasks } = handlerWith({ handle: async (budget) => (budgets.push(budget.remainingMs()), "completed") });
    const context = { getRemainingTimeInMillis: () => 65_000 } as unknown as Context;
    await runTasks(sqsEvent(message), context);
    vi.useFakeTimers({ toFake: ["Date"] });
    await runTasks(sqsEvent(message));
    expect(budgets).toEqual([60_000, 30_000]);
  });

  it("gives a minute without a context or a local budget", async () => {
    const budgets: number[] = [];
    const { reconciliation, logger } = handlerWith({ handle: async (budget) => (budgets.push(budget.remainingMs()), "completed") }).deps;
    const { runTasks } = createReconcileHandler({
      reconciliation,
      logger,
      buckets: [],
      openSourceForPlan: async () => ({}) as never,
      tasksPerRun: 1,
      maxDeleteFraction: 0,
      staleAfterMs: 0,
      reserveMs: 0,
    });
    vi.useFakeTimers({ toFake: ["Date"] });
    await runTasks(sqsEvent(message));
    expect(budgets).toEqual([60_000]);
  });
});

describe("reports", () => {
  const summary = {
    ...zeroCounts(),
    runId: "r",
    status: "succeeded",
    tasks: 1,
    backfill: false,
    sampled: 0,
    bucket: "aaa",
    source: "list",
    snapshotTime: "t",
    dryRun: false,
    missing: 1,
    stale: 2,
    orphaned: 4,
    repaired: 7,
    newerStateKept: 8,
    unconfirmed: 9,
    encodingMismatches: 10,
    undescribed: 11,
    checksumsWithheld: 12,
    scanned: 13,
    objectsPerSecond: 14,
    encodingMismatchSample: [{ ledgerKey: "a b", bucketKey: "a+b" }],
  } as unknown as RunSummary;

  function recordingMetrics() {
    const metrics: Record<string, [string, number]> = {};
    let published = 0;
    return {
      metrics,
      published: () => published,
      sink: {
        addMetric: (name: string, unit: string, value: number) => void (metrics[name] = [unit, value]),
        publishStoredMetrics: () => void published++,
      } as unknown as Metrics,
    };
  }

  it("logs a finished run without its mismatch keys, and publishes its metrics", () => {
    const { lines, logger } = recordingLogger();
    const { metrics, published, sink } = recordingMetrics();
    reportRun(summary, logger, sink);
    const { encodingMismatchSample: _sample, ...logged } = summary;
    expect(lines).toEqual([["info", "reconciliation finished", logged]]);
    expect(metrics).toStrictEqual({
      DriftFound: ["Count", 7],
      DriftMissing: ["Count", 1],
      DriftStale: ["Count", 2],
      DriftOrphaned: ["Count", 4],
      RepairsMade: ["Count", 7],
      NewerStateKept: ["Count", 8],
      DriftUnconfirmed: ["Count", 9],
      KeyEncodingMismatches: ["Count", 10],
      ObjectsUndescribed: ["Count", 11],
      ChecksumsWithheld: ["Count", 12],
      ObjectsScanned: ["Count", 13],
      ObjectsPerSecond: ["Count/Second", 14],
      RunsFailed: ["Count", 0],
    });
    expect(published()).toBe(1);
  });

  it("logs a run that did not succeed as an error, counts it failed, and the ingestion audit's requeues", () => {
    const { lines, logger } = recordingLogger();
    const { metrics, sink } = recordingMetrics();
    reportRun({ ...summary, status: "failed", ingestAudit: { missing: 1, retried: 2, stuck: 3, removals: 4, givenUp: 5 } as never }, logger, sink);
    expect(lines[0]![0]).toBe("error");
    expect(lines[0]![1]).toBe("reconciliation did not succeed");
    expect(metrics).toMatchObject({ RunsFailed: ["Count", 1], IngestionsRequeued: ["Count", 10], IngestionsGivenUp: ["Count", 5] });
    reportRun(summary, logger);
    expect(lines).toHaveLength(2);
  });

  it("counts a run that could not start as failed, and names an encoding mismatch on a line of its own", () => {
    const { metrics, published, sink } = recordingMetrics();
    reportPlanFailure(sink);
    reportPlanFailure();
    expect(metrics).toStrictEqual({ RunsFailed: ["Count", 1] });
    expect(published()).toBe(1);
    const { lines, logger } = recordingLogger();
    reportEncodingMismatch("aaa", { ledgerKey: "a b", bucketKey: "a+b" }, logger);
    expect(lines).toEqual([
      [
        "error",
        "ledger key is another URL-encoding form of a bucket key: S3 event keys are being decoded wrongly",
        { bucket: "aaa", ledgerKey: "a b", bucketKey: "a+b" },
      ],
    ]);
  });
});
