/**
 * The coordinator's state machine on the in-memory run store: planning, the delete guard on the
 * run's totals, the tombstone phase, one final status, and settling runs that stalled. The
 * ledger is a recording fake (the coordinator only registers, sizes and records watermarks);
 * the DynamoDB store keeps the same contract (test/integration/reconcile-fan-out.test.ts).
 */
import { describe, expect, it } from "vitest";
import type { Ledger } from "../../ledger/index.js";
import { RunCoordinator } from "../../reconcile/coordinator.js";
import { MaxDeleteExceededError, TaskLeaseError } from "../../reconcile/errors.js";
import { MemoryRunStore } from "../../reconcile/memory-run-store.js";
import { zeroCounts, type RunCounts, type RunRecord } from "../../reconcile/run-model.js";
import type { RunOptions } from "../../reconcile/run-options.js";
import type { RunSummary } from "../../reconcile/run-summary.js";
import type { KeyRange, ObjectSource } from "../../reconcile/source.js";
import { MemoryTaskQueue } from "../../reconcile/task-queue.js";

const BUCKET = "unit-bucket";
const SNAPSHOT = new Date("2026-12-01T00:00:00.000Z");

/** What the coordinator asked of the ledger. */
function recordingLedger(watermark?: string) {
  const calls: string[] = [];
  const ledger = {
    reconciledThrough: async () => watermark,
    register: async (bucket: string) => void calls.push(`register ${bucket}`),
    resizeChangeShards: async (bucket: string, atLeast = 0) => {
      calls.push(`resize ${bucket} ${atLeast}`);
      return 1;
    },
    recordReconciled: async (bucket: string, at: Date) => void calls.push(`reconciled ${bucket} ${at.toISOString()}`),
  } as unknown as Ledger;
  return { ledger, calls };
}

function sourceOf(ranges: KeyRange[]): ObjectSource {
  return {
    kind: "list",
    snapshotTime: SNAPSHOT,
    ordered: true,
    lagsBucket: false,
    objects: async function* () {},
    head: async () => undefined,
    planRanges: async () => ranges,
  };
}

function setup(options: { watermark?: string; clock?: { now: Date }; extra?: Partial<RunOptions> } = {}) {
  const clock = options.clock ?? { now: new Date("2026-12-02T00:00:00.000Z") };
  const now = () => clock.now;
  const runs = new MemoryRunStore(now);
  const queue = new MemoryTaskQueue();
  const { ledger, calls } = recordingLedger(options.watermark);
  const finished: RunSummary[] = [];
  const coordinator = new RunCoordinator({
    ledger,
    runs,
    queue,
    openSource: async () => sourceOf([]),
    now,
    backfill: { writeConcurrency: 4, repairsPerSecond: 10, runRepairsPerSecond: 40 },
    onRunFinished: (summary) => void finished.push(summary),
    ...options.extra,
  });
  return { coordinator, runs, queue, calls, finished, clock };
}

const THREE_RANGES: KeyRange[] = [{ through: "g" }, { after: "g", through: "p" }, { after: "p" }];

/** Works a task's phase to its end with these counts, as a worker would. */
async function complete(runs: MemoryRunStore, run: RunRecord, task: number, phase: "scan" | "tombstone", counts: Partial<RunCounts>) {
  const stored = (await runs.getTask(run.bucket, run.runId, task))!;
  const claimed = (await runs.claimTask(stored, phase, `lease-${task}-${phase}`, 60_000))!;
  await runs.completeTask(claimed, phase, `lease-${task}-${phase}`, { ...zeroCounts(), ...counts });
}

describe("planning a run", () => {
  it("records one task per planned range, queues a scan message each, and sizes a backfill's change shards for its budget", async () => {
    const { coordinator, runs, queue, calls } = setup();
    const run = await coordinator.plan({ bucket: BUCKET, source: sourceOf(THREE_RANGES), spec: { kind: "list" }, tasks: 3 });

    expect(run).toMatchObject({ status: "scanning", tasksTotal: 3, tasksDone: 0, backfill: true, dryRun: false, force: false, maxDeleteFraction: 0.1 });
    expect(run.runId.startsWith(`${SNAPSHOT.toISOString()}~`)).toBe(true);
    expect((await runs.listTasks(BUCKET, run.runId)).map((task) => task.range)).toEqual(THREE_RANGES);
    expect(queue.takeAll()).toEqual([0, 1, 2].map((task) => ({ bucket: BUCKET, runId: run.runId, task, phase: "scan" })));
    expect(calls).toEqual([`register ${BUCKET}`, `resize ${BUCKET} 40`]);
  });

  it("plans one task, and no backfill, when the bucket has a watermark and one task is asked for", async () => {
    const { coordinator, calls } = setup({ watermark: "2026-11-30T00:00:00.000Z" });
    const run = await coordinator.plan({ bucket: BUCKET, source: sourceOf(THREE_RANGES), spec: { kind: "list" }, tasks: 1 });
    expect(run).toMatchObject({ tasksTotal: 1, backfill: false });
    expect(calls).toEqual([`register ${BUCKET}`, `resize ${BUCKET} 0`]);
  });

  it("writes nothing to the ledger for a dry run, which is never a backfill", async () => {
    const { coordinator, calls } = setup();
    const run = await coordinator.plan({ bucket: BUCKET, source: sourceOf(THREE_RANGES), spec: { kind: "list" }, tasks: 3, dryRun: true });
    expect(run).toMatchObject({ dryRun: true, backfill: false });
    expect(calls).toEqual([]);
  });
});

describe("moving a run on", () => {
  async function planned(setupOptions: Parameters<typeof setup>[0] = {}, request: { dryRun?: boolean; force?: boolean; maxDeleteFraction?: number } = {}) {
    const context = setup(setupOptions);
    const run = await context.coordinator.plan({ bucket: BUCKET, source: sourceOf(THREE_RANGES), spec: { kind: "list" }, tasks: 3, ...request });
    context.queue.takeAll();
    context.calls.length = 0;
    return { ...context, run };
  }

  it("waits while any scan is unfinished", async () => {
    const { coordinator, runs, run, queue, finished } = await planned();
    await complete(runs, run, 0, "scan", { scanned: 5, indexed: 5 });
    await complete(runs, run, 1, "scan", { scanned: 5, indexed: 5 });
    await coordinator.advance(BUCKET, run.runId);
    expect(await runs.getRun(BUCKET, run.runId)).toMatchObject({ status: "scanning", tasksDone: 2 });
    expect(queue.takeAll()).toEqual([]);
    expect(finished).toEqual([]);
  });

  it("succeeds without a tombstone phase when no scan found an orphan, records the watermark and reports once", async () => {
    const { coordinator, runs, run, calls, finished, clock } = await planned();
    for (const task of [0, 1, 2]) await complete(runs, run, task, "scan", { scanned: 10, indexed: 9, missing: 1, repaired: 1, bytes: 100 });
    clock.now = new Date("2026-12-02T00:00:04.000Z");
    await coordinator.advance(BUCKET, run.runId);
    await coordinator.advance(BUCKET, run.runId);

    expect(await runs.getRun(BUCKET, run.runId)).toMatchObject({ status: "succeeded", finishedAt: "2026-12-02T00:00:04.000Z" });
    expect(calls).toEqual([`reconciled ${BUCKET} ${SNAPSHOT.toISOString()}`]);
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({
      status: "succeeded",
      scanned: 30,
      indexed: 27,
      missing: 3,
      repaired: 3,
      bytes: 300,
      durationMs: 4_000,
      objectsPerSecond: 8,
    });
  });

  it("queues tombstone tasks only for the tasks that found orphans, once, and succeeds when they are done", async () => {
    const { coordinator, runs, run, queue, finished } = await planned();
    await complete(runs, run, 0, "scan", { scanned: 50, indexed: 50, orphaned: 2 });
    await complete(runs, run, 1, "scan", { scanned: 50, indexed: 50 });
    await complete(runs, run, 2, "scan", { scanned: 50, indexed: 50, orphaned: 1 });
    await coordinator.advance(BUCKET, run.runId);

    expect(await runs.getRun(BUCKET, run.runId)).toMatchObject({ status: "tombstoning", tombstoneTasksTotal: 2, tombstonesQueued: true });
    expect(queue.takeAll()).toEqual([0, 2].map((task) => ({ bucket: BUCKET, runId: run.runId, task, phase: "tombstone" })));
    await coordinator.advance(BUCKET, run.runId);
    expect(queue.takeAll()).toEqual([]);

    await complete(runs, run, 0, "tombstone", { repaired: 2 });
    await coordinator.advance(BUCKET, run.runId);
    expect((await runs.getRun(BUCKET, run.runId))!.status).toBe("tombstoning");
    await complete(runs, run, 2, "tombstone", { repaired: 1 });
    await coordinator.advance(BUCKET, run.runId);

    expect(await runs.getRun(BUCKET, run.runId)).toMatchObject({ status: "succeeded" });
    expect(finished.map((summary) => [summary.status, summary.orphaned, summary.repaired])).toEqual([["succeeded", 3, 3]]);
  });

  it("requeues the tombstone tasks not yet done when a worker died before marking them queued", async () => {
    const { coordinator, runs, run, queue } = await planned();
    for (const task of [0, 1, 2]) await complete(runs, run, task, "scan", { scanned: 50, indexed: 50, orphaned: 1 });
    const scanned = (await runs.getRun(BUCKET, run.runId))!;
    await runs.transition(scanned, "tombstoning", { tombstoneTasksTotal: 3 });
    await complete(runs, run, 1, "tombstone", { repaired: 1 });
    await coordinator.advance(BUCKET, run.runId);
    expect(queue.takeAll().map((message) => message.task)).toEqual([0, 2]);
  });

  it("refuses a run whose orphans exceed the delete fraction of the index, with the guard's reason and no watermark", async () => {
    const { coordinator, runs, run, calls, finished, queue } = await planned();
    await complete(runs, run, 0, "scan", { scanned: 10, indexed: 10, orphaned: 2 });
    await complete(runs, run, 1, "scan", { scanned: 0, indexed: 0 });
    await complete(runs, run, 2, "scan", { scanned: 0, indexed: 0 });
    await coordinator.advance(BUCKET, run.runId);

    const refused = (await runs.getRun(BUCKET, run.runId))!;
    expect(refused.status).toBe("refused");
    expect(refused.reason).toBe(new MaxDeleteExceededError(2, 10, 0.1).message);
    expect(queue.takeAll()).toEqual([]);
    expect(calls).toEqual([]);
    expect(finished.map((summary) => summary.reason)).toEqual([refused.reason]);
  });

  it("allows exactly the delete fraction", async () => {
    const { coordinator, runs, run } = await planned();
    await complete(runs, run, 0, "scan", { scanned: 10, indexed: 10, orphaned: 1 });
    await complete(runs, run, 1, "scan", {});
    await complete(runs, run, 2, "scan", {});
    await coordinator.advance(BUCKET, run.runId);
    expect((await runs.getRun(BUCKET, run.runId))!.status).toBe("tombstoning");
  });

  it("tombstones past the fraction when forced", async () => {
    const { coordinator, runs, run } = await planned({}, { force: true });
    await complete(runs, run, 0, "scan", { scanned: 10, indexed: 10, orphaned: 9 });
    await complete(runs, run, 1, "scan", {});
    await complete(runs, run, 2, "scan", {});
    await coordinator.advance(BUCKET, run.runId);
    expect((await runs.getRun(BUCKET, run.runId))!.status).toBe("tombstoning");
  });

  it("ends a dry run after its scans, orphans or not, recording nothing", async () => {
    const { coordinator, runs, run, calls, queue } = await planned({}, { dryRun: true });
    for (const task of [0, 1, 2]) await complete(runs, run, task, "scan", { scanned: 10, indexed: 10, orphaned: 1 });
    await coordinator.advance(BUCKET, run.runId);
    expect((await runs.getRun(BUCKET, run.runId))!.status).toBe("succeeded");
    expect(queue.takeAll()).toEqual([]);
    expect(calls).toEqual([]);
  });

  it("records no watermark for a run that compared another index than the ledger", async () => {
    const { coordinator, runs, run, calls } = await planned({ extra: { index: async function* () {} } });
    for (const task of [0, 1, 2]) await complete(runs, run, task, "scan", { scanned: 1, indexed: 1 });
    await coordinator.advance(BUCKET, run.runId);
    expect((await runs.getRun(BUCKET, run.runId))!.status).toBe("succeeded");
    expect(calls).toEqual([]);
  });

  it("reports a run finished by two workers at once exactly once", async () => {
    const { coordinator, runs, run, finished } = await planned();
    const read = (await runs.getRun(BUCKET, run.runId))!;
    await Promise.all([coordinator.finish(read, "failed", "first"), coordinator.finish(read, "failed", "second")]);
    expect(finished.map((summary) => summary.reason)).toEqual(["first"]);
    expect((await runs.getRun(BUCKET, run.runId))!.reason).toBe("first");
  });

  it("does nothing for a run it cannot find", async () => {
    const { coordinator, finished } = await planned();
    await coordinator.advance(BUCKET, "no-such-run");
    expect(finished).toEqual([]);
  });
});

describe("settling earlier runs", () => {
  it("fails runs idle past the limit, keeps finished ones, and returns the newest one still going", async () => {
    const clock = { now: new Date("2026-12-02T00:00:00.000Z") };
    const { coordinator, runs, finished } = setup({ clock });
    const plan = (at: string) =>
      coordinator.plan({ bucket: BUCKET, source: { ...sourceOf([]), snapshotTime: new Date(at) }, spec: { kind: "list" }, tasks: 1 });
    const stalled = await plan("2026-12-01T00:00:00.000Z");
    const done = await plan("2026-12-01T01:00:00.000Z");
    await coordinator.finish(done, "succeeded");
    clock.now = new Date("2026-12-02T00:50:00.000Z");
    const going = await plan("2026-12-01T02:00:00.000Z");
    finished.length = 0;

    clock.now = new Date("2026-12-02T01:00:00.000Z");
    // Idle for 60 and 10 minutes; the limit is 30.
    const inProgress = await coordinator.settlePreviousRuns(BUCKET, 30 * 60_000);

    expect(inProgress?.runId).toBe(going.runId);
    expect((await runs.getRun(BUCKET, stalled.runId))!).toMatchObject({ status: "failed" });
    expect((await runs.getRun(BUCKET, stalled.runId))!.reason).toMatch(/^no progress for 60 min/);
    expect((await runs.getRun(BUCKET, done.runId))!.status).toBe("succeeded");
    expect(finished.map((summary) => summary.runId)).toEqual([stalled.runId]);
  });

  it("looks at the newest 20 runs only", async () => {
    const clock = { now: new Date("2026-12-02T00:00:00.000Z") };
    const { coordinator, runs } = setup({ clock });
    const planned: RunRecord[] = [];
    for (let minute = 0; minute < 21; minute++)
      planned.push(
        await coordinator.plan({
          bucket: BUCKET,
          source: { ...sourceOf([]), snapshotTime: new Date(Date.UTC(2026, 11, 1, 0, minute)) },
          spec: { kind: "list" },
          tasks: 1,
        }),
      );
    clock.now = new Date("2026-12-03T00:00:00.000Z");
    expect(await coordinator.settlePreviousRuns(BUCKET, 60_000)).toBeUndefined();
    expect((await runs.getRun(BUCKET, planned[0]!.runId))!.status).toBe("scanning");
    expect((await runs.getRun(BUCKET, planned[1]!.runId))!.status).toBe("failed");
  });
});

describe("the in-memory run store keeps DynamoDB's conditions", () => {
  async function oneTask() {
    const clock = { now: new Date("2026-12-02T00:00:00.000Z") };
    const { coordinator, runs } = setup({ clock });
    const run = await coordinator.plan({ bucket: BUCKET, source: sourceOf([]), spec: { kind: "list" }, tasks: 1 });
    const task = (await runs.getTask(BUCKET, run.runId, 0))!;
    return { runs, run, task, clock };
  }

  it("leases a task to one worker until the lease runs out, counting attempts", async () => {
    const { runs, task, clock } = await oneTask();
    expect(await runs.claimTask(task, "scan", "a", 1_000)).toMatchObject({ leaseId: "a", attempts: 1, leaseUntil: clock.now.getTime() + 1_000 });
    expect(await runs.claimTask(task, "scan", "b", 1_000)).toBeUndefined();
    clock.now = new Date(clock.now.getTime() + 1_000);
    expect(await runs.claimTask(task, "scan", "b", 1_000)).toBeUndefined();
    clock.now = new Date(clock.now.getTime() + 1);
    expect(await runs.claimTask(task, "scan", "b", 1_000)).toMatchObject({ leaseId: "b", attempts: 2 });
  });

  it("refuses checkpoints and completions under a lost lease, and a second completion", async () => {
    const { runs, run, task } = await oneTask();
    await runs.claimTask(task, "scan", "a", 60_000);
    await expect(runs.saveCheckpoint(task, "scan", "b", "k", zeroCounts(), false)).rejects.toBeInstanceOf(TaskLeaseError);
    await expect(runs.completeTask(task, "scan", "b", zeroCounts())).rejects.toBeInstanceOf(TaskLeaseError);
    await runs.saveCheckpoint(task, "scan", "a", "k", { ...zeroCounts(), scanned: 3 }, true);
    expect(await runs.getTask(BUCKET, run.runId, 0)).toMatchObject({ checkpoint: "k", counts: { scanned: 3 } });
    expect((await runs.getTask(BUCKET, run.runId, 0))!.leaseId).toBeUndefined();

    await runs.claimTask(task, "scan", "c", 60_000);
    await runs.completeTask(task, "scan", "c", { ...zeroCounts(), scanned: 7 });
    await expect(runs.completeTask(task, "scan", "c", { ...zeroCounts(), scanned: 7 })).rejects.toBeInstanceOf(TaskLeaseError);
    expect(await runs.getRun(BUCKET, run.runId)).toMatchObject({ tasksDone: 1, counts: { scanned: 7 } });
    expect(await runs.claimTask(task, "scan", "d", 60_000)).toBeUndefined();
  });

  it("keeps a tombstone phase's own counts only", async () => {
    const { runs, run, task } = await oneTask();
    await runs.transition(run, "tombstoning");
    await runs.claimTask(task, "tombstone", "a", 60_000);
    await runs.completeTask(task, "tombstone", "a", { ...zeroCounts(), repaired: 2, scanned: 99 });
    expect(await runs.getRun(BUCKET, run.runId)).toMatchObject({ tombstoneTasksDone: 1, counts: { repaired: 2, scanned: 0 } });
  });

  it("returns orphans in UTF-8 byte order after a key, and forgets those past a checkpoint", async () => {
    const { runs, task } = await oneTask();
    // U+FF61 sorts after U+1F600's surrogates in UTF-16 but before it in UTF-8.
    for (const key of ["b", "😀", "\uFF61", "a"]) await runs.putOrphan(task, key);
    const all = async (after?: string) => {
      const keys: string[] = [];
      for await (const key of runs.orphans(task, after)) keys.push(key);
      return keys;
    };
    expect(await all()).toEqual(["a", "b", "\uFF61", "😀"]);
    expect(await all("b")).toEqual(["\uFF61", "😀"]);
    await runs.discardOrphansAfter(task, "a");
    expect(await all()).toEqual(["a"]);
    await runs.discardOrphansAfter(task, undefined);
    expect(await all()).toEqual([]);
  });

  it("moves a run only from the status its caller read, and returns copies", async () => {
    const { runs, run } = await oneTask();
    expect(await runs.transition(run, "failed", { reason: "x" })).toBe(true);
    expect(await runs.transition(run, "succeeded")).toBe(false);
    const read = (await runs.getRun(BUCKET, run.runId))!;
    read.status = "scanning";
    expect((await runs.getRun(BUCKET, run.runId))!.status).toBe("failed");
    await expect(runs.createRun(run, [{}])).rejects.toThrow(/exists already/);
  });
});

describe("two workers moving a run on at once", () => {
  it("queue the tombstone tasks once: the worker whose move lost leaves the rest to the winner", async () => {
    const { coordinator, runs, queue } = setup();
    const run = await coordinator.plan({ bucket: BUCKET, source: sourceOf(THREE_RANGES), spec: { kind: "list" }, tasks: 3 });
    queue.takeAll();
    for (const task of [0, 1, 2]) await complete(runs, run, task, "scan", { scanned: 50, indexed: 50, orphaned: 1 });
    const sent: number[] = [];
    const counting = { send: async (messages: { task: number }[]) => void sent.push(...messages.map((message) => message.task)) };
    const racing = new RunCoordinator({ ledger: recordingLedger().ledger, runs, queue: counting, openSource: async () => sourceOf([]) });
    await Promise.all([racing.advance(BUCKET, run.runId), racing.advance(BUCKET, run.runId)]);
    expect(sent.sort()).toEqual([0, 1, 2]);
    expect(await runs.getRun(BUCKET, run.runId)).toMatchObject({ status: "tombstoning", tombstonesQueued: true });
  });

  it("a message the same as one still waiting is dropped by the in-memory queue, and sent again once taken", async () => {
    const queue = new MemoryTaskQueue();
    const message = { bucket: BUCKET, runId: "r", task: 0, phase: "tombstone" as const };
    await queue.send([message, { ...message, task: 1 }]);
    await queue.send([message]);
    expect(queue.takeAll()).toEqual([message, { ...message, task: 1 }]);
    await queue.send([message]);
    expect(queue.takeAll()).toEqual([message]);
  });
});
