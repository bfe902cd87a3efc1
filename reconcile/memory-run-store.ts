/**
 * Runs kept in memory, for a run driven to its end in one process (in-process.ts) and for the
 * coordinator's unit tests. It keeps the contract of the DynamoDB store (run-store.ts) to the
 * letter: the same conditions refuse the same writes, reads return copies as DynamoDB does,
 * and orphans and drift samples come back in the UTF-8 byte order of DynamoDB's sort keys.
 */
import { compareUtf8 } from "../ledger/index.js";
import type { DriftRecord } from "./drift-record.js";
import { TaskLeaseError } from "./errors.js";
import { newTasks, PHASES, type RunCounts, type RunRecord, type RunStatus, type TaskPhase, type TaskRecord } from "./run-model.js";
import { MemoryOrphanShelf, type OrphanShelf } from "./orphan-shelf.js";
import type { RunStore, TransitionFields } from "./run-store.js";
import type { KeyRange } from "./source.js";

interface StoredRun {
  run?: RunRecord;
  tasks: TaskRecord[];
  /** Each task's orphans. */
  orphans: OrphanShelf[];
  drift: Map<string, DriftRecord>;
}

const copy = <T>(value: T): T => structuredClone(value);
const sorted = (keys: Iterable<string>) => [...keys].sort(compareUtf8);

export class MemoryRunStore implements RunStore {
  private readonly stored = new Map<string, StoredRun>();

  constructor(
    private readonly now: () => Date = () => new Date(),
    /** Where each task's orphans wait (in memory unless told: a run in one process shelves them on disk). */
    private readonly shelf: () => OrphanShelf = () => new MemoryOrphanShelf(),
  ) {}

  private entry(bucket: string, runId: string): StoredRun | undefined {
    return this.stored.get(JSON.stringify([bucket, runId]));
  }

  private task(task: Pick<TaskRecord, "bucket" | "runId" | "task">): TaskRecord | undefined {
    return this.entry(task.bucket, task.runId)?.tasks[task.task];
  }

  async createRun(run: RunRecord, ranges: KeyRange[]): Promise<TaskRecord[]> {
    const id = JSON.stringify([run.bucket, run.runId]);
    if (this.stored.get(id)?.run) throw new Error(`run ${run.runId} of ${run.bucket} exists already`);
    const tasks = newTasks(run, ranges);
    this.stored.set(id, { run: copy(run), tasks: copy(tasks), orphans: tasks.map(() => this.shelf()), drift: new Map() });
    return tasks;
  }

  async getRun(bucket: string, runId: string): Promise<RunRecord | undefined> {
    const run = this.entry(bucket, runId)?.run;
    return run && copy(run);
  }

  async *listRuns(bucket: string): AsyncGenerator<RunRecord> {
    const runs = [...this.stored.values()].flatMap(({ run }) => (run && run.bucket === bucket ? [run] : []));
    for (const run of runs.sort((a, b) => compareUtf8(b.runId, a.runId))) yield copy(run);
  }

  async getTask(bucket: string, runId: string, task: number): Promise<TaskRecord | undefined> {
    const found = this.entry(bucket, runId)?.tasks[task];
    return found && copy(found);
  }

  async listTasks(bucket: string, runId: string): Promise<TaskRecord[]> {
    return copy(this.entry(bucket, runId)?.tasks ?? []);
  }

  async claimTask(task: TaskRecord, phase: TaskPhase, leaseId: string, leaseMs: number): Promise<TaskRecord | undefined> {
    const stored = this.task(task);
    const now = this.now().getTime();
    if (!stored || (stored.leaseUntil !== undefined && stored.leaseUntil >= now) || stored[PHASES[phase].done]) return undefined;
    Object.assign(stored, { leaseId, leaseUntil: now + leaseMs, attempts: stored.attempts + 1 });
    return copy(stored);
  }

  async saveCheckpoint(task: TaskRecord, phase: TaskPhase, leaseId: string, checkpoint: string, counts: RunCounts, release: boolean): Promise<void> {
    const stored = this.task(task);
    if (stored?.leaseId !== leaseId) throw new TaskLeaseError(`task ${task.task} of run ${task.runId} was taken over by another worker`);
    const fields = PHASES[phase];
    Object.assign(stored, { [fields.checkpoint]: checkpoint, [fields.counts]: copy(fields.ownCounts(counts)) });
    if (release) {
      delete stored.leaseId;
      delete stored.leaseUntil;
    }
    const run = this.entry(task.bucket, task.runId)?.run;
    if (!run) throw new Error(`run ${task.runId} of ${task.bucket} does not exist`);
    run.updatedAt = this.now().toISOString();
  }

  async completeTask(task: TaskRecord, phase: TaskPhase, leaseId: string, counts: RunCounts): Promise<void> {
    const fields = PHASES[phase];
    const stored = this.task(task);
    const run = this.entry(task.bucket, task.runId)?.run;
    // Both conditions of the DynamoDB transaction, checked before either write.
    if (stored?.leaseId !== leaseId || stored[fields.done] || run?.status !== fields.runStatus)
      throw new TaskLeaseError(`task ${task.task} of run ${task.runId} lost its lease or its run moved on before it completed`);
    const phaseCounts = fields.ownCounts(counts);
    Object.assign(stored, { [fields.done]: true, [fields.counts]: copy(phaseCounts) });
    delete stored.leaseId;
    delete stored.leaseUntil;
    run[fields.tally]++;
    run.updatedAt = this.now().toISOString();
    for (const [name, value] of Object.entries(phaseCounts) as [keyof RunCounts, number][]) run.counts[name] += value;
  }

  async transition(run: RunRecord, to: RunStatus, fields: TransitionFields = {}): Promise<boolean> {
    const stored = this.entry(run.bucket, run.runId)?.run;
    if (stored?.status !== run.status) return false;
    Object.assign(stored, copy(fields), { status: to, updatedAt: this.now().toISOString() });
    return true;
  }

  async markTombstonesQueued(run: RunRecord): Promise<void> {
    const stored = this.entry(run.bucket, run.runId)?.run;
    if (stored) stored.tombstonesQueued = true;
  }

  async putDriftSample(task: TaskRecord, drift: DriftRecord): Promise<void> {
    this.entry(task.bucket, task.runId)?.drift.set(drift.key, copy(drift));
  }

  async *driftSample(bucket: string, runId: string): AsyncGenerator<DriftRecord> {
    const drift = this.entry(bucket, runId)?.drift ?? new Map<string, DriftRecord>();
    for (const key of sorted(drift.keys())) yield copy(drift.get(key)!);
  }

  async putOrphan(task: TaskRecord, key: string): Promise<void> {
    await this.entry(task.bucket, task.runId)?.orphans[task.task]?.add(key);
  }

  async discardOrphansAfter(task: TaskRecord, after: string | undefined): Promise<void> {
    await this.entry(task.bucket, task.runId)?.orphans[task.task]?.discardAfter(after);
  }

  async *orphans(task: TaskRecord, after?: string): AsyncGenerator<string> {
    const shelf = this.entry(task.bucket, task.runId)?.orphans[task.task];
    if (shelf) yield* shelf.keys(after);
  }

  /** Removes what the runs' orphan shelves hold (scratch files for a run in one process). */
  async dispose(): Promise<void> {
    await Promise.all([...this.stored.values()].flatMap(({ orphans }) => orphans.map((shelf) => shelf.dispose())));
  }
}
