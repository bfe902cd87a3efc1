/**
 * A run's summary (reconcile/run-summary.ts) and the coordinator's edges (reconcile/coordinator.ts):
 * the duration it reports, what it leaves out, when a run is stale, the run id's shape, and that
 * only the worker whose move won reports a finished run.
 */
import { describe, expect, it } from "vitest";
import type { Ledger } from "../../ledger/index.js";
import { RunCoordinator } from "../../reconcile/coordinator.js";
import { MemoryRunStore } from "../../reconcile/memory-run-store.js";
import { zeroCounts, type RunRecord } from "../../reconcile/run-model.js";
import type { RunSummary } from "../../reconcile/run-summary.js";
import { summarizeRun } from "../../reconcile/run-summary.js";
import { MemoryTaskQueue } from "../../reconcile/task-queue.js";

const run = (extra: Partial<RunRecord> = {}): RunRecord => ({
  bucket: "bkt",
  runId: "r",
  status: "succeeded",
  source: { kind: "list" },
  snapshotTime: "2026-12-04T00:00:00.000Z",
  dryRun: false,
  force: false,
  maxDeleteFraction: 1,
  tasksTotal: 1,
  tasksDone: 1,
  tombstoneTasksTotal: 0,
  tombstoneTasksDone: 0,
  tombstonesQueued: false,
  counts: { ...zeroCounts(), scanned: 3_000 },
  startedAt: "2026-12-04T00:00:00.000Z",
  updatedAt: "2026-12-04T00:00:02.000Z",
  ...extra,
});

describe("summarizeRun", () => {
  it("takes the duration to the finish, or to the last update while unfinished, never below 0", () => {
    expect(summarizeRun(run({ finishedAt: "2026-12-04T00:00:03.000Z" }))).toMatchObject({ durationMs: 3_000, objectsPerSecond: 1_000 });
    expect(summarizeRun(run())).toMatchObject({ durationMs: 2_000, objectsPerSecond: 1_500 });
    expect(summarizeRun(run({ updatedAt: "2026-12-03T00:00:00.000Z" }))).toMatchObject({ durationMs: 0, objectsPerSecond: 3_000_000 });
  });

  it("is not a backfill unless planned as one, keeps an empty mismatch sample by default, and a reason only when there is one", () => {
    const summary = summarizeRun(run());
    expect(summary.backfill).toBe(false);
    expect(summary.encodingMismatchSample).toEqual([]);
    expect(summary).not.toHaveProperty("reason");
    expect(summarizeRun(run({ backfill: true, reason: "why" }))).toMatchObject({ backfill: true, reason: "why" });
  });
});

describe("RunCoordinator edges", () => {
  const NOW = new Date("2026-12-04T01:00:00.000Z");

  function coordinator() {
    const runs = new MemoryRunStore(() => NOW);
    const finished: RunSummary[] = [];
    const recorded: string[] = [];
    const ledger = {
      recordReconciled: async (bucket: string) => void recorded.push(bucket),
      reconciledThrough: async () => "x",
      register: async () => undefined,
      resizeChangeShards: async () => 1,
    } as unknown as Ledger;
    const coordinating = new RunCoordinator({
      ledger,
      runs,
      queue: new MemoryTaskQueue(),
      openSource: async () => ({}) as never,
      now: () => NOW,
      onRunFinished: (summary) => void finished.push(summary),
    });
    return { runs, finished, recorded, coordinating };
  }

  it("fails a run idle for longer than the stale time only, and returns the newest still going", async () => {
    const { runs, coordinating } = coordinator();
    await runs.createRun(run({ runId: "a", status: "scanning", updatedAt: new Date(NOW.getTime() - 60_000).toISOString() }), []);
    await runs.createRun(run({ runId: "b", status: "scanning", updatedAt: new Date(NOW.getTime() - 60_001).toISOString() }), []);
    expect((await coordinating.settlePreviousRuns("bkt", 60_000))?.runId).toBe("a");
    expect(await runs.getRun("bkt", "b")).toMatchObject({
      status: "failed",
      reason: "no progress for 1 min: tasks failed (see the task DLQ) or planning was interrupted",
    });
    expect((await runs.getRun("bkt", "a"))!.status).toBe("scanning");
  });

  it("names a run by its snapshot time and 8 characters of its own", async () => {
    const { coordinating } = coordinator();
    const planned = await coordinating.plan({
      bucket: "bkt",
      source: { snapshotTime: new Date("2026-12-04T00:00:00.000Z") } as never,
      spec: { kind: "list" },
      tasks: 1,
    });
    expect(planned.runId).toMatch(/^2026-12-04T00:00:00\.000Z~[0-9a-f]{8}$/);
  });

  it("reports a finished run once, by the worker whose move won, and records the watermark only for a real success", async () => {
    const { runs, coordinating, finished, recorded } = coordinator();
    const scanning = run({ status: "scanning" });
    await runs.createRun(scanning, []);
    await coordinating.finish(scanning, "succeeded");
    await coordinating.finish(scanning, "succeeded");
    expect(finished).toHaveLength(1);
    expect(recorded).toEqual(["bkt"]);
    const dry = run({ runId: "d", status: "scanning", dryRun: true });
    await runs.createRun(dry, []);
    await coordinating.finish(dry, "succeeded");
    const refused = run({ runId: "f", status: "scanning" });
    await runs.createRun(refused, []);
    await coordinating.finish(refused, "refused", "too many");
    expect(recorded).toEqual(["bkt"]);
    expect(finished.map(({ runId }) => runId)).toEqual(["r", "d", "f"]);
    expect(finished[2]).toMatchObject({ reason: "too many" });
  });

  it("finishes a dry run that found orphans without tombstoning", async () => {
    const { runs, coordinating } = coordinator();
    await runs.createRun(run({ status: "scanning", dryRun: true, counts: { ...zeroCounts(), indexed: 10, orphaned: 1 } }), [{}]);
    await coordinating.advance("bkt", "r");
    expect((await runs.getRun("bkt", "r"))!.status).toBe("succeeded");
  });
});
