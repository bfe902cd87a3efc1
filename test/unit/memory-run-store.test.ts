/**
 * The in-memory run store (reconcile/memory-run-store.ts) keeps the DynamoDB store's contract:
 * the same conditions on leases, phases and statuses, copies never shared with the caller, runs
 * newest first, drift samples and orphans in UTF-8 order, and what a missing run answers.
 */
import { describe, expect, it } from "vitest";
import type { DriftRecord } from "../../reconcile/drift-record.js";
import { TaskLeaseError } from "../../reconcile/errors.js";
import { MemoryRunStore } from "../../reconcile/memory-run-store.js";
import type { OrphanShelf } from "../../reconcile/orphan-shelf.js";
import { zeroCounts, type RunRecord, type TaskRecord } from "../../reconcile/run-model.js";

const NOW = new Date("2026-12-04T01:00:00.000Z");

const runOf = (bucket: string, runId: string, extra: Partial<RunRecord> = {}): RunRecord => ({
  bucket,
  runId,
  status: "scanning",
  source: { kind: "list" },
  snapshotTime: "s",
  dryRun: false,
  force: false,
  maxDeleteFraction: 1,
  tasksTotal: 2,
  tasksDone: 0,
  tombstoneTasksTotal: 0,
  tombstoneTasksDone: 0,
  tombstonesQueued: false,
  counts: zeroCounts(),
  startedAt: "s",
  updatedAt: "u",
  ...extra,
});

async function stored() {
  const runs = new MemoryRunStore(() => NOW);
  const run = runOf("bkt", "r2");
  const tasks = await runs.createRun(run, [{ through: "m" }, { after: "m" }]);
  return { runs, run, tasks };
}

const ghost: TaskRecord = {
  bucket: "bkt",
  runId: "none",
  task: 0,
  range: {},
  scanDone: false,
  tombstoneDone: false,
  counts: zeroCounts(),
  tombstoneCounts: { repaired: 0, newerStateKept: 0, unconfirmed: 0 },
  attempts: 0,
};

describe("MemoryRunStore", () => {
  it("refuses a second run under one id, and lists a bucket's runs newest first", async () => {
    const { runs, run } = await stored();
    await expect(runs.createRun(run, [])).rejects.toThrow("run r2 of bkt exists already");
    await runs.createRun(runOf("bkt", "r1"), []);
    await runs.createRun(runOf("other", "r9"), []);
    const listed: string[] = [];
    for await (const found of runs.listRuns("bkt")) listed.push(found.runId);
    expect(listed).toEqual(["r2", "r1"]);
  });

  it("hands out copies: changing what it returned changes nothing stored", async () => {
    const { runs, tasks } = await stored();
    tasks[0]!.scanDone = true;
    const task = (await runs.getTask("bkt", "r2", 0))!;
    expect(task.scanDone).toBe(false);
    task.attempts = 9;
    (await runs.listTasks("bkt", "r2"))[0]!.attempts = 9;
    (await runs.getRun("bkt", "r2"))!.status = "failed";
    expect((await runs.getTask("bkt", "r2", 0))!.attempts).toBe(0);
    expect((await runs.getRun("bkt", "r2"))!.status).toBe("scanning");
    expect(await runs.getRun("bkt", "none")).toBeUndefined();
    expect(await runs.getTask("bkt", "none", 0)).toBeUndefined();
    expect(await runs.getTask("bkt", "r2", 5)).toBeUndefined();
    expect(await runs.listTasks("bkt", "none")).toEqual([]);
  });

  it("leases a task whose lease has lapsed and whose phase is not done; a lease ending now still holds", async () => {
    const { runs, tasks } = await stored();
    expect(await runs.claimTask(tasks[0]!, "scan", "A", 0)).toMatchObject({ leaseId: "A", leaseUntil: NOW.getTime(), attempts: 1 });
    expect(await runs.claimTask(tasks[0]!, "scan", "B", 10)).toBeUndefined();
    expect(await runs.claimTask(tasks[1]!, "scan", "B", -1)).toMatchObject({ leaseId: "B", attempts: 1 });
    expect(await runs.claimTask(tasks[1]!, "scan", "C", 10)).toMatchObject({ leaseId: "C", attempts: 2 });
    expect(await runs.claimTask(ghost, "scan", "A", 10)).toBeUndefined();
  });

  it("saves a checkpoint only under its lease, releasing it when asked, and marks the run's progress", async () => {
    const { runs, tasks } = await stored();
    await runs.claimTask(tasks[0]!, "tombstone", "A", 1_000);
    await expect(runs.saveCheckpoint(tasks[0]!, "tombstone", "B", "k", zeroCounts(), false)).rejects.toThrow(
      new TaskLeaseError("task 0 of run r2 was taken over by another worker"),
    );
    await expect(runs.saveCheckpoint(ghost, "scan", "A", "k", zeroCounts(), false)).rejects.toThrow(TaskLeaseError);
    await runs.saveCheckpoint(tasks[0]!, "tombstone", "A", "k1", { ...zeroCounts(), repaired: 2, scanned: 5 }, false);
    expect(await runs.getTask("bkt", "r2", 0)).toMatchObject({
      tombstoneCheckpoint: "k1",
      tombstoneCounts: { repaired: 2, newerStateKept: 0, unconfirmed: 0 },
      leaseId: "A",
    });
    expect((await runs.getRun("bkt", "r2"))!.updatedAt).toBe(NOW.toISOString());
    await runs.saveCheckpoint(tasks[0]!, "tombstone", "A", "k2", zeroCounts(), true);
    const released = (await runs.getTask("bkt", "r2", 0))!;
    expect(released).not.toHaveProperty("leaseId");
    expect(released).not.toHaveProperty("leaseUntil");
  });

  it("completes a task only under its lease, once, while its run is in the phase; adding its counts to the run", async () => {
    const { runs, tasks, run } = await stored();
    await runs.claimTask(tasks[0]!, "scan", "A", 1_000);
    await expect(runs.completeTask(tasks[0]!, "scan", "B", zeroCounts())).rejects.toThrow(
      new TaskLeaseError("task 0 of run r2 lost its lease or its run moved on before it completed"),
    );
    await expect(runs.completeTask(tasks[0]!, "tombstone", "A", zeroCounts())).rejects.toThrow(TaskLeaseError);
    await runs.completeTask(tasks[0]!, "scan", "A", { ...zeroCounts(), scanned: 3, missing: 1 });
    expect(await runs.getTask("bkt", "r2", 0)).toMatchObject({ scanDone: true, counts: { scanned: 3, missing: 1 } });
    expect(await runs.getTask("bkt", "r2", 0)).not.toHaveProperty("leaseId");
    expect(await runs.getRun("bkt", "r2")).toMatchObject({ tasksDone: 1, updatedAt: NOW.toISOString(), counts: { scanned: 3, missing: 1 } });
    await expect(runs.completeTask({ ...tasks[0]!, leaseId: "A" }, "scan", "A", zeroCounts())).rejects.toThrow(TaskLeaseError);
    await runs.claimTask(tasks[1]!, "scan", "B", 1_000);
    await runs.transition(run, "tombstoning");
    await expect(runs.completeTask(tasks[1]!, "scan", "B", zeroCounts())).rejects.toThrow(TaskLeaseError);
    await expect(runs.completeTask(ghost, "scan", "B", zeroCounts())).rejects.toThrow(TaskLeaseError);
  });

  it("moves a run only from the status read, with the fields given", async () => {
    const { runs, run } = await stored();
    expect(await runs.transition(run, "tombstoning", { tombstoneTasksTotal: 2 })).toBe(true);
    expect(await runs.getRun("bkt", "r2")).toMatchObject({ status: "tombstoning", tombstoneTasksTotal: 2, updatedAt: NOW.toISOString() });
    expect(await runs.transition(run, "failed")).toBe(false);
    expect(await runs.transition(runOf("bkt", "none"), "failed")).toBe(false);
    await runs.markTombstonesQueued(run);
    await runs.markTombstonesQueued(runOf("bkt", "none"));
    expect((await runs.getRun("bkt", "r2"))!.tombstonesQueued).toBe(true);
  });

  it("keeps one drift sample per key and each task's orphans, in UTF-8 order, and nothing for a missing run", async () => {
    const { runs, tasks } = await stored();
    const drift = (key: string) => ({ key, kind: "missing" }) as DriftRecord;
    for (const key of ["😀", "\uffff", "a", "a"]) await runs.putDriftSample(tasks[0]!, drift(key));
    const sample: string[] = [];
    for await (const found of runs.driftSample("bkt", "r2")) sample.push(found.key);
    expect(sample).toEqual(["a", "\uffff", "😀"]);
    for await (const found of runs.driftSample("bkt", "none")) sample.push(found.key);
    expect(sample).toHaveLength(3);
    await runs.putDriftSample(ghost, drift("x"));
    for (const key of ["c", "a", "b"]) await runs.putOrphan(tasks[1]!, key);
    await runs.putOrphan(ghost, "x");
    const orphans = async (task: TaskRecord, after?: string) => {
      const keys: string[] = [];
      for await (const key of runs.orphans(task, after)) keys.push(key);
      return keys;
    };
    expect(await orphans(tasks[1]!)).toEqual(["a", "b", "c"]);
    expect(await orphans(tasks[1]!, "a")).toEqual(["b", "c"]);
    expect(await orphans(tasks[0]!)).toEqual([]);
    expect(await orphans(ghost)).toEqual([]);
    await runs.discardOrphansAfter(tasks[1]!, "a");
    await runs.discardOrphansAfter(ghost, undefined);
    expect(await orphans(tasks[1]!)).toEqual(["a"]);
  });

  it("disposes of every task's orphan shelf", async () => {
    const disposed: number[] = [];
    let made = 0;
    const runs = new MemoryRunStore(
      () => NOW,
      () => {
        const id = made++;
        return {
          add: async () => undefined,
          keys: async function* () {},
          discardAfter: async () => undefined,
          dispose: async () => void disposed.push(id),
        } as unknown as OrphanShelf;
      },
    );
    await runs.createRun(runOf("bkt", "r1"), [{}, {}]);
    await runs.createRun(runOf("bkt", "r2"), [{}]);
    await runs.dispose();
    expect(disposed.sort()).toEqual([0, 1, 2]);
  });
});
