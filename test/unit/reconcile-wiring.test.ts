/**
 * Reconciliation wired from clients and settings (reconcile/wiring.ts), over a recording
 * in-memory table and queue: the run's settings as the stack gives them (the backfill budget
 * shared by the tasks at once, writers, checkpoints), the run that a schedule plans, the wrapped
 * source, and what a finished run, a mismatch and a failed plan report.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { Ledger } from "../../ledger/index.js";
import { DynamoDbRunStore } from "../../reconcile/dynamodb-run-store.js";
import type { RunOptions } from "../../reconcile/run-options.js";
import { zeroCounts } from "../../reconcile/run-model.js";
import type { RunSummary } from "../../reconcile/run-summary.js";
import type { ObjectSource } from "../../reconcile/source.js";
import { buildReconcileFunction, type ReconcileFunctionWiring } from "../../reconcile/wiring.js";
import { fakeLedgerTable, type Sent } from "./fake-ledger-table.js";

function wired(overrides: Partial<ReconcileFunctionWiring> = {}, options: { failTable?: boolean; metrics?: boolean } = {}) {
  const lines: [string, string, unknown][] = [];
  const log = (level: string) => (message: string, extra?: unknown) => void lines.push([level, message, extra]);
  const logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") } as unknown as Logger;
  const metrics: Record<string, number> = {};
  const sink = {
    addMetric: (name: string, _unit: string, value: number) => void (metrics[name] = value),
    publishStoredMetrics: () => undefined,
  } as unknown as Metrics;
  const table = fakeLedgerTable([], options.failTable ? { onSend: () => Promise.reject(new Error("table down")) } : {});
  const queued: unknown[] = [];
  const sqs = { send: async (command: { input: unknown }) => (queued.push(command.input), {}) } as unknown as SQSClient;
  const finished: RunSummary[] = [];
  const built = buildReconcileFunction({
    clients: { s3: {} as S3Client, sqs, documentClient: table.client },
    tableName: "ledger",
    retentionDays: 7,
    taskQueueUrl: "https://sqs/tasks",
    buckets: ["bkt"],
    settings: { tasksPerRun: 1, maxDeleteFraction: 0.25, staleAfterMs: 1_000, writeConcurrency: 5, reserveMs: 1_000 },
    logger,
    ...(options.metrics !== false && { metrics: sink }),
    onRunFinished: (summary) => void finished.push(summary),
    ...overrides,
  });
  const runOptions = (built.reconciliation as unknown as { coordinator: { options: RunOptions } }).coordinator.options;
  return { built, runOptions, lines, metrics, queued, finished, sent: table.sent as Sent[] };
}

const summary = (extra: Partial<RunSummary> = {}): RunSummary =>
  ({
    ...zeroCounts(),
    runId: "r",
    status: "succeeded",
    tasks: 1,
    backfill: false,
    sampled: 0,
    bucket: "bkt",
    source: "list",
    snapshotTime: "t",
    dryRun: false,
    ...extra,
  }) as RunSummary;

describe("buildReconcileFunction", () => {
  it("runs over the ledger and run store of the table, with the stack's settings", () => {
    const { built, runOptions } = wired({ historyDays: 3, changeShards: 4 });
    expect(built.runs).toBeInstanceOf(DynamoDbRunStore);
    expect(runOptions.runs).toBe(built.runs);
    expect(runOptions.ledger).toBeInstanceOf(Ledger);
    expect(runOptions.ledger).toMatchObject({ tableName: "ledger", retentionDays: 7, changeShards: 4, originDays: 3 });
    expect(runOptions.writeConcurrency).toBe(5);
    expect(runOptions.backfill).toStrictEqual({ writeConcurrency: 64, repairsPerSecond: 750 / 4, runRepairsPerSecond: 750 });
    for (const absent of ["describer", "checkpointIntervalMs", "leaseMarginMs"]) expect(runOptions).not.toHaveProperty(absent);
    expect(wired().runOptions.ledger).toMatchObject({ changeShards: "auto", originDays: undefined });
  });

  it("shares the run's backfill budget among the tasks at once, and passes checkpoint and lease settings and enrichment", () => {
    const { runOptions } = wired({
      enrich: ["contentType"],
      settings: {
        tasksPerRun: 1,
        maxDeleteFraction: 0.25,
        staleAfterMs: 1,
        writeConcurrency: 5,
        reserveMs: 1,
        checkpointIntervalMs: 11,
        leaseMarginMs: 12,
        backfill: { repairsPerSecond: 1_000, tasksAtOnce: 5 },
      },
    });
    expect(runOptions.backfill).toStrictEqual({ writeConcurrency: 64, repairsPerSecond: 200, runRepairsPerSecond: 1_000 });
    expect(runOptions).toMatchObject({ checkpointIntervalMs: 11, leaseMarginMs: 12 });
    expect(runOptions.describer).toBeDefined();
    expect(wired({ enrich: [] }).runOptions).not.toHaveProperty("describer");
  });

  it("reopens a run's source wrapped as asked", async () => {
    const wrappedSources: ObjectSource[] = [];
    const { runOptions } = wired({ wrapSource: (source) => (wrappedSources.push(source), { ...source, kind: "inventory" }) });
    const source = await runOptions.openSource("bkt", { kind: "list" }, new Date("2026-12-04T00:00:00.000Z"));
    expect(source.kind).toBe("inventory");
    expect(wrappedSources[0]!.snapshotTime).toStrictEqual(new Date("2026-12-04T00:00:00.000Z"));
    const plain = await wired().runOptions.openSource("bkt", { kind: "list" }, new Date(0));
    expect(plain.kind).toBe("list");
  });

  it("plans a scheduled run with the stack's settings and queues its task on the task queue", async () => {
    const { built, queued, sent } = wired();
    const result = await built.handler({ source: "schedule" });
    expect(result).toMatchObject({ planned: [{ bucket: "bkt", tasks: 1 }], skipped: [] });
    const runItem = sent.find(({ command, input }) => command === "PutCommand" && String((input.Item as { sk: string }).sk).startsWith("run#"))!;
    expect(runItem.input.Item).toMatchObject({ maxDeleteFraction: 0.25, tasksTotal: 1, status: "scanning" });
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ QueueUrl: "https://sqs/tasks" });
  });

  it("reports a finished run, audits ingestion after a real success only, and hands the summary on", async () => {
    const { runOptions, lines, metrics, finished } = wired({ ingestion: { rules: [], queue: { send: async () => undefined } as never } });
    await runOptions.onRunFinished!(summary());
    expect(finished[0]!.ingestAudit).toBeDefined();
    expect(lines[0]![1]).toBe("reconciliation finished");
    expect(metrics.RunsFailed).toBe(0);
    await runOptions.onRunFinished!(summary({ dryRun: true }));
    await runOptions.onRunFinished!(summary({ status: "failed" }));
    expect(finished[1]).not.toHaveProperty("ingestAudit");
    expect(finished[2]).not.toHaveProperty("ingestAudit");
    const plain = wired();
    await plain.runOptions.onRunFinished!(summary());
    expect(plain.finished[0]).not.toHaveProperty("ingestAudit");
  });

  it("keeps a run's success when its ingestion audit fails, logging why", async () => {
    const failing = {
      filter: () => {
        throw new Error("rules unreadable");
      },
    };
    const { runOptions, lines, finished } = wired({ ingestion: { rules: failing as never, queue: {} as never } });
    await runOptions.onRunFinished!(summary());
    expect(lines[0]).toEqual(["error", "ingestion audit failed", { bucket: "bkt", runId: "r", error: new Error("rules unreadable") }]);
    expect(finished[0]).toStrictEqual(summary());
  });

  it("leaves reporting to the caller without metrics", async () => {
    const { runOptions, lines, finished } = wired({}, { metrics: false });
    await runOptions.onRunFinished!(summary());
    expect(lines).toEqual([]);
    expect(finished).toHaveLength(1);
  });

  it("logs and hands on each encoding mismatch", () => {
    const mismatches: unknown[] = [];
    const { runOptions, lines } = wired({ onEncodingMismatch: (bucket, mismatch) => void mismatches.push([bucket, mismatch]) });
    runOptions.onEncodingMismatch!("bkt", { ledgerKey: "a b", bucketKey: "a+b" });
    expect(lines[0]![0]).toBe("error");
    expect(lines[0]![2]).toStrictEqual({ bucket: "bkt", ledgerKey: "a b", bucketKey: "a+b" });
    expect(mismatches).toEqual([["bkt", { ledgerKey: "a b", bucketKey: "a+b" }]]);
    expect(() => wired().runOptions.onEncodingMismatch!("bkt", { ledgerKey: "a", bucketKey: "b" })).not.toThrow();
  });

  it("counts a run that could not be planned as failed", async () => {
    const { built, metrics } = wired({}, { failTable: true });
    await expect(built.handler({ source: "schedule" })).rejects.toThrow("reconciliation could not start for 1 of 1 buckets");
    expect(metrics.RunsFailed).toBe(1);
  });
});
