/**
 * The fan-out task worker's decisions (reconcile/task-worker.ts) and a range's diff inputs
 * (reconcile/range-diff.ts), through the in-memory run store and a ledger of the methods a run
 * calls: which messages it skips, how long a lease it takes, when it checkpoints and continues,
 * what it samples, confirms with a lagging source, records as orphans, and what it asks the
 * ledger for; and the task messages (reconcile/task-queue.ts).
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { compareUtf8 } from "../../foundation/utf8-order.js";
import type { Ledger, LedgerRecord, RepairMutation } from "../../ledger/index.js";
import type { RunCoordinator } from "../../reconcile/coordinator.js";
import { RECONCILE_DEFAULTS } from "../../reconcile/defaults.js";
import { ReconcileError, TaskLeaseError } from "../../reconcile/errors.js";
import { MemoryRunStore } from "../../reconcile/memory-run-store.js";
import { describeRange, diffRange } from "../../reconcile/range-diff.js";
import { zeroCounts, type RunRecord, type RunStatus } from "../../reconcile/run-model.js";
import type { RunOptions } from "../../reconcile/run-options.js";
import type { KeyRange, ObjectSource, SourceObject } from "../../reconcile/source.js";
import { MalformedTaskMessageError, MemoryTaskQueue, parseTaskMessage, sqsTaskQueue, type TaskMessage } from "../../reconcile/task-queue.js";
import { TaskWorker } from "../../reconcile/task-worker.js";

const BUCKET = "bkt";
const NOW = new Date("2026-12-04T01:00:00.000Z");
const SNAPSHOT = "2026-12-04T00:00:00.000Z";
const EARLIER = "2026-12-01T00:00:00.000Z";

const inRange = (key: string, range: KeyRange = {}) =>
  (range.after === undefined || compareUtf8(key, range.after) > 0) && (range.through === undefined || compareUtf8(key, range.through) <= 0);

class MemoryLedger {
  readonly records = new Map<string, LedgerRecord>();
  readonly repairs: RepairMutation[] = [];
  readonly lists: Record<string, unknown>[] = [];
  readonly expired: string[] = [];
  expire = new Set<string>();

  constructor(entries: Record<string, string | null>) {
    for (const [key, etag] of Object.entries(entries)) {
      const base = { bucket: BUCKET, key, cause: "c", source: "event" as const, observedAt: EARLIER, recordedAt: EARLIER };
      this.records.set(
        key,
        etag === null ? { ...base, deleted: true, expiresAt: 0 } : { ...base, deleted: false, size: etag.length, etag, lastModified: EARLIER },
      );
    }
  }

  async *list(query: Record<string, unknown> & KeyRange): AsyncGenerator<LedgerRecord> {
    this.lists.push(query);
    for (const key of [...this.records.keys()].sort(compareUtf8)) if (inRange(key, query)) yield structuredClone(this.records.get(key)!);
  }
  originExpired(record: LedgerRecord): boolean {
    return this.expire.has(record.key);
  }
  async expireOrigin(record: LedgerRecord): Promise<boolean> {
    this.expired.push(record.key);
    return true;
  }
  async repair(repair: RepairMutation): Promise<"repaired"> {
    this.repairs.push(repair);
    return "repaired";
  }
}

function sourceOf(
  objects: Record<string, string>,
  options: { lagsBucket?: boolean; heads?: Record<string, string>; ordered?: boolean } = {},
): ObjectSource & { heads: string[] } {
  const listed: SourceObject[] = Object.entries(objects)
    .map(([key, etag]) => ({ key, size: etag.length, etag, lastModified: EARLIER }))
    .sort((a, b) => compareUtf8(a.key, b.key));
  const heads: string[] = [];
  const held = options.heads ?? objects;
  return {
    kind: "list",
    snapshotTime: new Date(SNAPSHOT),
    ordered: options.ordered ?? true,
    lagsBucket: options.lagsBucket ?? false,
    heads,
    async *objects(range) {
      for (const object of options.ordered === false ? [...listed].reverse() : listed) if (inRange(object.key, range)) yield object;
    },
    head: async (key) => {
      heads.push(key);
      const etag = held[key];
      return etag === undefined ? undefined : { key, size: etag.length, etag, lastModified: EARLIER };
    },
    planRanges: async () => [{}],
  };
}

async function setup(options: {
  ledger: Record<string, string | null>;
  bucket: Record<string, string>;
  source?: ObjectSource;
  status?: RunStatus;
  tasksTotal?: number;
  dryRun?: boolean;
  worker?: Partial<RunOptions>;
}) {
  const ledger = new MemoryLedger(options.ledger);
  const runs = new MemoryRunStore(() => NOW);
  const queue = new MemoryTaskQueue();
  const advanced: string[] = [];
  const coordinator = { advance: async (bucket: string, runId: string) => void advanced.push(`${bucket} ${runId}`) } as unknown as RunCoordinator;
  const run: RunRecord = {
    bucket: BUCKET,
    runId: "r1",
    status: options.status ?? "scanning",
    source: { kind: "list" },
    snapshotTime: SNAPSHOT,
    dryRun: options.dryRun ?? false,
    force: false,
    maxDeleteFraction: 1,
    tasksTotal: options.tasksTotal ?? 1,
    tasksDone: 0,
    tombstoneTasksTotal: 0,
    tombstoneTasksDone: 0,
    tombstonesQueued: false,
    counts: zeroCounts(),
    startedAt: SNAPSHOT,
    updatedAt: SNAPSHOT,
  };
  await runs.createRun(run, [{}]);
  const source = options.source ?? sourceOf(options.bucket);
  const worker = new TaskWorker(
    { ledger: ledger as unknown as Ledger, runs, queue, openSource: async () => source, checkpointIntervalMs: 60_000, ...options.worker },
    coordinator,
  );
  return { ledger, runs, queue, advanced, worker, run, source };
}

const scan: TaskMessage = { bucket: BUCKET, runId: "r1", task: 0, phase: "scan" };
const tombstone: TaskMessage = { ...scan, phase: "tombstone" };
const roomy = { remainingMs: () => 600_000 };
const spent = { remainingMs: () => 0 };

describe("TaskWorker: which messages it takes", () => {
  it("skips a message of a run that expired or finished, without moving it on", async () => {
    const { worker, advanced } = await setup({ ledger: {}, bucket: {}, status: "succeeded" });
    expect(await worker.handle(scan, roomy)).toBe("skipped");
    expect(await worker.handle({ ...scan, runId: "none" }, roomy)).toBe("skipped");
    expect(advanced).toEqual([]);
  });

  it("moves on a run in another phase than the message's, doing nothing else", async () => {
    const { worker, advanced, runs } = await setup({ ledger: {}, bucket: { a: "1" }, status: "tombstoning" });
    expect(await worker.handle(scan, roomy)).toBe("skipped");
    expect(advanced).toEqual(["bkt r1"]);
    expect((await runs.getTask(BUCKET, "r1", 0))!.attempts).toBe(0);
  });

  it("refuses a message naming a task the run does not have", async () => {
    const { worker } = await setup({ ledger: {}, bucket: {} });
    await expect(worker.handle({ ...scan, task: 3 }, roomy)).rejects.toThrow(new ReconcileError("run r1 of bkt has no task 3"));
  });

  it("skips a task whose phase is done, moving the run on", async () => {
    const { worker, advanced } = await setup({ ledger: {}, bucket: { a: "1" } });
    expect(await worker.handle(scan, roomy)).toBe("completed");
    expect(await worker.handle(scan, roomy)).toBe("skipped");
    expect(advanced).toEqual(["bkt r1", "bkt r1"]);
  });

  it("leases the task for the time left plus the margin, and none of a negative time", async () => {
    const leases: number[] = [];
    const { worker, runs } = await setup({ ledger: {}, bucket: {}, worker: { leaseMarginMs: 1_000 } });
    const claim = runs.claimTask.bind(runs);
    runs.claimTask = (task, phase, leaseId, leaseMs) => (leases.push(leaseMs), claim(task, phase, leaseId, leaseMs));
    await worker.handle(scan, { remainingMs: () => 5_000 });
    const late = await setup({ ledger: {}, bucket: {}, worker: { leaseMarginMs: 1_000 } });
    const claimLate = late.runs.claimTask.bind(late.runs);
    late.runs.claimTask = (task, phase, leaseId, leaseMs) => (leases.push(leaseMs), claimLate(task, phase, leaseId, leaseMs));
    await late.worker.handle(scan, { remainingMs: () => -5_000 });
    expect(leases).toEqual([6_000, 1_000]);
    const defaults = await setup({ ledger: {}, bucket: {} });
    const defaultLeases: number[] = [];
    const claimDefault = defaults.runs.claimTask.bind(defaults.runs);
    defaults.runs.claimTask = (task, phase, leaseId, leaseMs) => (defaultLeases.push(leaseMs), claimDefault(task, phase, leaseId, leaseMs));
    await defaults.worker.handle(scan, { remainingMs: () => 1 });
    expect(defaultLeases).toEqual([1 + RECONCILE_DEFAULTS.leaseMarginMs]);
  });

  it("throws while another worker holds the lease, naming until when, so the queue redelivers later", async () => {
    const { worker, runs } = await setup({ ledger: {}, bucket: {} });
    const [task] = await runs.listTasks(BUCKET, "r1");
    await runs.claimTask(task!, "scan", "other", 10_000);
    await expect(worker.handle(scan, roomy)).rejects.toThrow(
      new TaskLeaseError(`task 0 of run r1 is held by another worker until ${new Date(NOW.getTime() + 10_000).toISOString()}`),
    );
    const held = await setup({ ledger: {}, bucket: {} });
    held.runs.claimTask = async () => undefined;
    await expect(held.worker.handle(scan, roomy)).rejects.toThrow(new TaskLeaseError("task 0 of run r1 is held by another worker"));
    const [unleased] = await held.runs.listTasks(BUCKET, "r1");
    held.runs.getTask = async () => ({ ...unleased!, leaseUntil: Number.POSITIVE_INFINITY });
    await expect(held.worker.handle(scan, roomy)).rejects.toThrow(new TaskLeaseError("task 0 of run r1 is held by another worker"));
  });

  it("skips, moving the run on, when the lease was refused because another worker finished the phase meanwhile", async () => {
    const { worker, runs, advanced } = await setup({ ledger: {}, bucket: {} });
    const [task] = await runs.listTasks(BUCKET, "r1");
    let reads = 0;
    runs.getTask = async () => ({ ...task!, scanDone: reads++ > 0 });
    runs.claimTask = async () => undefined;
    expect(await worker.handle(scan, roomy)).toBe("skipped");
    expect(advanced).toEqual(["bkt r1"]);
  });
});

describe("TaskWorker: a scan", () => {
  it("repairs missing and stale objects and records orphans, then completes the task and moves the run on", async () => {
    const { worker, ledger, runs, advanced } = await setup({ ledger: { a: "a1", h: "h1", x: "x1" }, bucket: { a: "a1", c: "c1", h: "h2" } });
    expect(await worker.handle(scan, roomy)).toBe("completed");
    expect(ledger.repairs.map(({ kind, key, state }) => `${kind} ${key} ${state?.etag}`)).toEqual(["missing c c1", "stale h h2"]);
    const [task] = await runs.listTasks(BUCKET, "r1");
    expect(task).toMatchObject({ scanDone: true, counts: { scanned: 3, indexed: 3, missing: 1, stale: 1, orphaned: 1, repaired: 2, sampled: 3 } });
    const orphans: string[] = [];
    for await (const key of runs.orphans(task!)) orphans.push(key);
    expect(orphans).toEqual(["x"]);
    expect(advanced).toEqual(["bkt r1"]);
  });

  it("in a dry run counts the drift and writes neither repairs nor orphans", async () => {
    const { worker, ledger, runs } = await setup({ ledger: { x: "x1" }, bucket: { c: "c1" }, dryRun: true });
    expect(await worker.handle(scan, roomy)).toBe("completed");
    expect(ledger.repairs).toEqual([]);
    const [task] = await runs.listTasks(BUCKET, "r1");
    const orphans: string[] = [];
    for await (const key of runs.orphans(task!)) orphans.push(key);
    expect(orphans).toEqual([]);
    expect(task!.counts).toMatchObject({ missing: 1, orphaned: 1, repaired: 0, sampled: 2 });
  });

  it("confirms with a HEAD, on a lagging source, only what the ledger knows: a stale item or a tombstone", async () => {
    const source = sourceOf({ c: "c1", h: "h2", t: "t1" }, { lagsBucket: true, heads: { h: "h3" } });
    const { worker, ledger } = await setup({ ledger: { h: "h1", t: null }, bucket: {}, source });
    await worker.handle(scan, roomy);
    expect(source.heads.sort()).toEqual(["h", "t"]);
    expect(ledger.repairs.map(({ kind, key, state }) => `${kind} ${key} ${state?.etag}`)).toEqual(["missing c c1", "stale h h3"]);
  });

  it("keeps at most its share of the run's drift sample, counting what it kept", async () => {
    const bucket = Object.fromEntries(["a", "b", "c"].map((key) => [key, `${key}1`]));
    const { worker, runs } = await setup({ ledger: {}, bucket, tasksTotal: RECONCILE_DEFAULTS.driftSampleSize / 2 });
    await worker.handle(scan, roomy);
    const sample: string[] = [];
    for await (const drift of runs.driftSample(BUCKET, "r1")) sample.push(drift.key);
    expect(sample).toEqual(["a", "b"]);
    expect((await runs.listTasks(BUCKET, "r1"))[0]!.counts.sampled).toBe(2);
    const many = await setup({ ledger: {}, bucket, tasksTotal: RECONCILE_DEFAULTS.driftSampleSize * 4 });
    await many.worker.handle(scan, roomy);
    expect((await many.runs.listTasks(BUCKET, "r1"))[0]!.counts.sampled).toBe(1);
  });

  it("counts and reports an orphan that is another encoding of a key the bucket holds", async () => {
    const mismatches: unknown[] = [];
    const { worker, runs } = await setup({
      ledger: { "a b": "e" },
      bucket: { "a+b": "e" },
      worker: { onEncodingMismatch: (bucket, mismatch) => void mismatches.push({ bucket, ...mismatch }) },
    });
    await worker.handle(scan, roomy);
    expect(mismatches).toEqual([{ bucket: BUCKET, ledgerKey: "a b", bucketKey: "a+b" }]);
    expect((await runs.listTasks(BUCKET, "r1"))[0]!.counts.encodingMismatches).toBe(1);
  });

  it("tells the caller of each drift and the counts so far", async () => {
    const drifts: string[] = [];
    const progress: number[] = [];
    const { worker } = await setup({
      ledger: {},
      bucket: { a: "1", b: "2" },
      worker: { onDrift: (drift) => void drifts.push(drift.key), onProgress: (task, counts) => void progress.push(task * 100 + counts.missing) },
    });
    await worker.handle(scan, roomy);
    expect(drifts).toEqual(["a", "b"]);
    expect(progress).toEqual([1, 2]);
  });

  it("out of time, saves its checkpoint releasing the lease and queues its own continuation, which resumes after it", async () => {
    const { worker, runs, queue, ledger, advanced } = await setup({ ledger: {}, bucket: { a: "1", b: "2", c: "3" } });
    expect(await worker.handle(scan, spent)).toBe("continued");
    expect(queue.takeAll()).toEqual([scan]);
    expect(advanced).toEqual([]);
    const [task] = await runs.listTasks(BUCKET, "r1");
    expect(task).toMatchObject({ checkpoint: "a", scanDone: false });
    expect(task).not.toHaveProperty("leaseId");
    expect(ledger.repairs.map(({ key }) => key)).toEqual(["a"]);
    expect(await worker.handle(scan, roomy)).toBe("completed");
    expect(ledger.repairs.map(({ key }) => key)).toEqual(["a", "b", "c"]);
  });

  it("checkpoints once its interval has passed, keeping its lease", async () => {
    const saved: [string, boolean][] = [];
    const { worker, runs } = await setup({ ledger: {}, bucket: { a: "1", b: "2" }, worker: { checkpointIntervalMs: 0 } });
    const save = runs.saveCheckpoint.bind(runs);
    runs.saveCheckpoint = (task, phase, leaseId, key, counts, release) => (saved.push([key, release]), save(task, phase, leaseId, key, counts, release));
    expect(await worker.handle(scan, roomy)).toBe("completed");
    expect(saved).toEqual([
      ["a", false],
      ["b", false],
    ]);
    const calm = await setup({ ledger: {}, bucket: { a: "1", b: "2" } });
    const calmSaved: string[] = [];
    const calmSave = calm.runs.saveCheckpoint.bind(calm.runs);
    calm.runs.saveCheckpoint = (task, phase, leaseId, key, counts, release) => (calmSaved.push(key), calmSave(task, phase, leaseId, key, counts, release));
    await calm.worker.handle(scan, roomy);
    expect(calmSaved).toEqual([]);
    const byDefault = new TaskWorker({ ledger: calm.ledger as unknown as Ledger, runs: calm.runs, queue: calm.queue, openSource: async () => calm.source }, {
      advance: async () => undefined,
    } as unknown as RunCoordinator);
    expect((byDefault as unknown as { checkpointIntervalMs: number }).checkpointIntervalMs).toBe(RECONCILE_DEFAULTS.checkpointIntervalMs);
  });

  it("discards the orphans a dead earlier attempt recorded past its checkpoint, except in a dry run", async () => {
    for (const dryRun of [false, true]) {
      const { worker, runs } = await setup({ ledger: {}, bucket: {}, dryRun });
      const discarded: (string | undefined)[] = [];
      runs.discardOrphansAfter = async (_task, after) => void discarded.push(after);
      const [task] = await runs.listTasks(BUCKET, "r1");
      await runs.claimTask(task!, "scan", "dead", -1);
      await worker.handle(scan, roomy);
      expect(discarded).toEqual(dryRun ? [] : [undefined]);
    }
    const first = await setup({ ledger: {}, bucket: {} });
    const discarded: unknown[] = [];
    first.runs.discardOrphansAfter = async (_task, after) => void discarded.push(after);
    await first.worker.handle(scan, roomy);
    expect(discarded).toEqual([]);
  });

  it("reads the index side from the option given, or the ledger with the page size given", async () => {
    const indexed: KeyRange[] = [];
    const { worker, ledger, runs } = await setup({
      ledger: { a: "1" },
      bucket: { a: "1" },
      worker: {
        // The index side holds nothing but "z", which the ledger does not: "a" is missing, "z" orphaned.
        index: async function* (range) {
          indexed.push(range);
          yield (await new MemoryLedger({ z: "9" }).list({}).next()).value as LedgerRecord;
        },
      },
    });
    await worker.handle(scan, roomy);
    expect(indexed).toEqual([{}]);
    expect(ledger.lists).toEqual([]);
    expect(ledger.repairs.map(({ key }) => key)).toEqual(["a"]);
    expect((await runs.listTasks(BUCKET, "r1"))[0]!.counts).toMatchObject({ missing: 1, orphaned: 1 });
    const paged = await setup({ ledger: {}, bucket: {}, worker: { indexPageSize: 7 } });
    await paged.worker.handle(scan, roomy);
    expect(paged.ledger.lists[0]).toMatchObject({ pageSize: 7 });
  });

  it("describes what it repairs with the describer given", async () => {
    const { worker, ledger } = await setup({
      ledger: {},
      bucket: { a: "1" },
      worker: { describer: { fields: ["contentType"], describe: async () => ({ details: { contentType: "text/plain" } }) } as never },
    });
    await worker.handle(scan, roomy);
    expect(ledger.repairs[0]!.state).toMatchObject({ contentType: "text/plain" });
  });
});

describe("TaskWorker: the tombstone phase", () => {
  async function scanned(bucket: Record<string, string>, ledgerEntries: Record<string, string | null>, worker: Partial<RunOptions> = {}) {
    const setupDone = await setup({ ledger: ledgerEntries, bucket, worker });
    await setupDone.worker.handle(scan, roomy);
    await setupDone.runs.transition((await setupDone.runs.getRun(BUCKET, "r1"))!, "tombstoning");
    setupDone.ledger.repairs.length = 0;
    return setupDone;
  }

  it("tombstones each orphan recorded and completes", async () => {
    const { worker, ledger, runs } = await scanned({}, { x: "1", y: "2" });
    expect(await worker.handle(tombstone, roomy)).toBe("completed");
    expect(ledger.repairs.map(({ kind, key }) => `${kind} ${key}`)).toEqual(["orphaned x", "orphaned y"]);
    expect((await runs.listTasks(BUCKET, "r1"))[0]).toMatchObject({ tombstoneDone: true, tombstoneCounts: { repaired: 2 } });
  });

  it("out of time, stops after the orphan it checkpointed and continues from it", async () => {
    const { worker, ledger, queue } = await scanned({}, { x: "1", y: "2" });
    expect(await worker.handle(tombstone, spent)).toBe("continued");
    expect(ledger.repairs.map(({ key }) => key)).toEqual(["x"]);
    expect(queue.takeAll()).toEqual([tombstone]);
    expect(await worker.handle(tombstone, roomy)).toBe("completed");
    expect(ledger.repairs.map(({ key }) => key)).toEqual(["x", "y"]);
  });
});

describe("a range's diff", () => {
  it("names the range it reads in its errors", () => {
    expect(describeRange("b", {})).toBe("b");
    expect(describeRange("b", { after: "a" })).toBe("b (a, ]");
    expect(describeRange("b", { through: "z" })).toBe("b (, z]");
    expect(describeRange("b", { after: "a", through: "z" })).toBe("b (a, z]");
  });

  async function drain(options: Parameters<typeof diffRange>[0]) {
    const drifts: string[] = [];
    for await (const drift of diffRange(options)) drifts.push(`${drift.kind} ${drift.kind === "orphaned" ? drift.record.key : drift.object.key}`);
    return drifts;
  }

  it("reads the ledger's range with tombstones, prefetching 1,000 a page unless told, and takes expired origin off on the way", async () => {
    const ledger = new MemoryLedger({ a: "1", m: "2", z: "3" });
    ledger.expire = new Set(["m"]);
    const counts = zeroCounts();
    const drifts = await drain({ ledger: ledger as unknown as Ledger, bucket: "b", source: sourceOf({ m: "2" }), range: { after: "a", through: "m" }, counts });
    expect(drifts).toEqual([]);
    expect(ledger.lists).toStrictEqual([{ bucket: "b", includeDeleted: true, pageSize: 1000, prefetch: true, after: "a", through: "m" }]);
    expect(ledger.expired).toEqual(["m"]);
    await drain({ ledger: ledger as unknown as Ledger, bucket: "b", source: sourceOf({}), range: {}, counts, dryRun: true });
    expect(ledger.lists[1]).toStrictEqual({ bucket: "b", includeDeleted: true, pageSize: 1000, prefetch: true });
    expect(ledger.expired).toEqual(["m"]);
  });

  it("sorts an unordered source, and refuses an ordered one out of order, naming it and the range", async () => {
    const ledger = new MemoryLedger({ a: "1" });
    const unordered = sourceOf({ a: "1", b: "2", c: "3" }, { ordered: false });
    expect(await drain({ ledger: ledger as unknown as Ledger, bucket: "b", source: unordered, range: {}, counts: zeroCounts() })).toEqual([
      "missing b",
      "missing c",
    ]);
    const lying = { ...unordered, ordered: true };
    await expect(drain({ ledger: ledger as unknown as Ledger, bucket: "b", source: lying, range: { through: "z" }, counts: zeroCounts() })).rejects.toThrow(
      'the list source for b (, z] is not in UTF-8 key order ("c" before "b"); nothing was deleted',
    );
  });
});

describe("task messages", () => {
  it("parses a message, refusing one that is not JSON or not a task with a clear reason", () => {
    expect(parseTaskMessage(JSON.stringify(scan))).toStrictEqual(scan);
    expect(() => parseTaskMessage(`{${"x".repeat(300)}`)).toThrow(new MalformedTaskMessageError(`reconcile task message is not JSON: {${"x".repeat(199)}`));
    expect(() => parseTaskMessage(JSON.stringify({ ...scan, phase: "other" }))).toThrow(MalformedTaskMessageError);
    expect(() => parseTaskMessage(JSON.stringify({ ...scan, phase: "other" }))).toThrow(/^reconcile task message is invalid: .*phase/);
  });

  it("sends them to SQS in batches of 10, each entry numbered, and fails naming what SQS refused", async () => {
    const batches: { QueueUrl: string; Entries: { Id: string; MessageBody: string }[] }[] = [];
    let failed: unknown[] = [];
    const sqs = {
      send: async (command: { input: (typeof batches)[number] }) => {
        batches.push(command.input);
        return { Failed: failed };
      },
    } as unknown as SQSClient;
    const messages = Array.from({ length: 21 }, (_, task) => ({ ...scan, task }));
    await sqsTaskQueue(sqs, "q").send(messages);
    expect(batches.map(({ Entries }) => Entries.length)).toEqual([10, 10, 1]);
    expect(batches[1]).toStrictEqual({
      QueueUrl: "q",
      Entries: messages.slice(10, 20).map((message, index) => ({ Id: String(index), MessageBody: JSON.stringify(message) })),
    });
    await sqsTaskQueue(sqs, "q").send([]);
    expect(batches).toHaveLength(3);
    failed = [
      { Code: "A", Message: "one" },
      { Code: "B", Message: "two" },
    ];
    await expect(sqsTaskQueue(sqs, "q").send([scan])).rejects.toThrow(new ReconcileError("could not queue 2 reconcile tasks: A: one; B: two"));
    const fine = { send: async () => ({}) } as unknown as SQSClient;
    await expect(sqsTaskQueue(fine, "q").send([scan])).resolves.toBeUndefined();
  });
});
