/** One invocation's share of an ingestion (ingest/attempt.ts): its counts, heartbeat, pause and finish, over an in-memory store. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TimeBudget } from "../../foundation/time-budget.js";
import { IngestionAttempt, type AttemptStore } from "../../ingest/attempt.js";
import type { RejectedRow } from "../../ingest/ingestion-store.js";
import type { IngestionRecord } from "../../ledger/index.js";
import { ingestionRecord } from "./ingestion-record.js";

const T0 = Date.parse("2026-12-04T21:00:00.000Z");

/** Keeps what the attempt stores, as it was when stored. */
function memoryStore() {
  const puts: IngestionRecord[] = [];
  const saved: { file: string; rows: RejectedRow[] }[] = [];
  const store: AttemptStore = {
    put: async (record) => void puts.push(structuredClone(record)),
    addRejected: async (bucket, key, version, rows) => void saved.push({ file: `${bucket}/${key}@${version}`, rows: [...rows] }),
    rejected: async function* (bucket, key, version) {
      for (const batch of saved) if (batch.file === `${bucket}/${key}@${version}`) yield* batch.rows;
    },
  };
  return { store, puts, saved };
}

const running = (fields: Partial<IngestionRecord> = {}): IngestionRecord =>
  ingestionRecord({
    startedAt: "2026-12-04T20:00:00.000Z",
    updatedAt: "2026-12-04T20:30:00.000Z",
    durationMs: 5_000,
    rowsRead: 10,
    rowsWritten: 8,
    rowsRejected: 2,
    rowsUnprocessed: 1,
    checkpoint: { phase: "writing", offset: 300, line: 11, columns: ["id", "price"] },
    progress: { phase: "writing", offset: 280, size: 900, rowsRead: 9 },
    mayHaveOlderRows: true,
    ...fields,
  });

/** The time left before an invocation's end, less the 1 s an ingestion keeps back. */
const budget = (remainingMs: number): TimeBudget => ({ remainingMs: () => remainingMs - 1_000 });
const clock = () => new Date(Date.now());

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => void vi.useRealTimers());

function attemptOf(record = running(), time = budget(60_000)) {
  const memory = memoryStore();
  return { ...memory, attempt: new IngestionAttempt(memory.store, record, time, clock) };
}

describe("an attempt", () => {
  it("starts from the record's checkpoint and counts, with nothing swept yet", () => {
    const { attempt } = attemptOf(running({ rowsDeleted: 4 }));
    expect(attempt.checkpoint).toEqual({ phase: "writing", offset: 300, line: 11, columns: ["id", "price"] });
    expect(attempt.counts).toEqual({ rowsRead: 10, rowsWritten: 8, rowsRejected: 2, rowsUnprocessed: 1, rowsDeleted: 0 });
    expect(attempt.record).toEqual(running({ rowsDeleted: 4 }));
  });

  it("needs a checkpoint to start from", () => {
    const { store } = memoryStore();
    const { checkpoint: _, ...finished } = running();
    expect(() => new IngestionAttempt(store, finished, budget(1), clock)).toThrow("an ingestion attempt starts from a checkpoint");
  });

  it("goes on to the write pass from the file's start once the check pass is through", () => {
    const { attempt } = attemptOf(running({ checkpoint: { phase: "checking", offset: 50, line: 4, columns: ["id"] } }));
    attempt.checked();
    expect(attempt.checkpoint).toEqual({ phase: "writing", offset: 0, line: 1 });
    // Only the attempt moves on: the stored record keeps the check pass's checkpoint until a pause.
    expect(attempt.record.checkpoint).toEqual({ phase: "checking", offset: 50, line: 4, columns: ["id"] });
  });

  it("is out of time once no more than the margin remains (a budget is spent at zero, as a reconcile task's)", () => {
    expect(attemptOf(running(), budget(1_001)).attempt.outOfTime()).toBe(false);
    expect(attemptOf(running(), budget(1_000)).attempt.outOfTime()).toBe(true);
    expect(attemptOf(running(), budget(999)).attempt.outOfTime()).toBe(true);
  });
});

describe("counts", () => {
  it("rows read, refused and left unprocessed add to the record's; rows written are the record's plus this invocation's", () => {
    const { attempt } = attemptOf();
    attempt.read();
    attempt.read();
    attempt.reject({ line: 12, reason: "bad price" });
    attempt.reject({ line: 13, reason: "throttled" }, true);
    attempt.wrote(5);
    attempt.wrote(7);
    attempt.swept(3);
    expect(attempt.counts).toEqual({ rowsRead: 12, rowsWritten: 15, rowsRejected: 4, rowsUnprocessed: 2, rowsDeleted: 3 });
  });

  it("rows written stay counted from the record the attempt started with", () => {
    const { attempt } = attemptOf(running({ rowsWritten: 100 }));
    attempt.wrote(0);
    expect(attempt.counts.rowsWritten).toBe(100);
  });
});

describe("rejected rows", () => {
  it("are saved for this version only when some are held, and then no longer held", async () => {
    const { attempt, saved } = attemptOf();
    await attempt.saveRejected();
    expect(saved).toEqual([]);
    attempt.reject({ line: 12, reason: "bad price" });
    attempt.reject({ line: 14, reason: "bad id" }, true);
    await attempt.saveRejected();
    await attempt.saveRejected();
    expect(saved).toEqual([
      {
        file: "imports/offers/a.csv@v2",
        rows: [
          { line: 12, reason: "bad price" },
          { line: 14, reason: "bad id" },
        ],
      },
    ]);
  });

  it("are saved on the way once 500 are held, not before", async () => {
    const { attempt, saved } = attemptOf();
    for (let line = 1; line < 500; line++) attempt.reject({ line, reason: "bad" });
    await attempt.saveRejectedIfMany();
    expect(saved).toEqual([]);
    attempt.reject({ line: 500, reason: "bad" });
    await attempt.saveRejectedIfMany();
    expect(saved.map((batch) => batch.rows.length)).toEqual([500]);
    await attempt.saveRejectedIfMany();
    expect(saved).toHaveLength(1);
  });

  it("are read back over every invocation's saves, for this version", async () => {
    const { attempt, store } = attemptOf();
    await store.addRejected("imports", "offers/a.csv", "v1", [{ line: 1, reason: "older version" }]);
    await store.addRejected("imports", "offers/a.csv", "v2", [{ line: 3, reason: "earlier invocation" }]);
    attempt.reject({ line: 12, reason: "this invocation" });
    await attempt.saveRejected();
    const rows: RejectedRow[] = [];
    for await (const row of attempt.savedRejected()) rows.push(row);
    expect(rows).toEqual([
      { line: 3, reason: "earlier invocation" },
      { line: 12, reason: "this invocation" },
    ]);
  });
});

describe("the heartbeat", () => {
  const at = { phase: "writing", offset: 400, size: 900, rowsRead: 12 } as const;

  it("stores the progress at most every 5 seconds, with the record as it stands", async () => {
    const { attempt, puts } = attemptOf();
    vi.setSystemTime(T0 + 4_999);
    await attempt.heartbeat(at);
    expect(puts).toEqual([]);
    vi.setSystemTime(T0 + 5_000);
    await attempt.heartbeat(at);
    expect(puts).toEqual([running({ progress: at, updatedAt: new Date(T0 + 5_000).toISOString() })]);
    vi.setSystemTime(T0 + 9_999);
    await attempt.heartbeat({ ...at, offset: 500 });
    expect(puts).toHaveLength(1);
    vi.setSystemTime(T0 + 10_000);
    await attempt.heartbeat({ ...at, offset: 600 });
    expect(puts.map((put) => put.progress?.offset)).toEqual([400, 600]);
  });
});

describe("a pause", () => {
  it("stores the checkpoint, the counts, and the time spent on top of earlier invocations'", async () => {
    const { attempt, puts } = attemptOf();
    attempt.read();
    vi.setSystemTime(T0 + 2_500);
    const at = { phase: "writing", offset: 700, line: 20 } as const;
    const end = await attempt.pause(at);
    const paused = running({ rowsRead: 11, checkpoint: at, updatedAt: new Date(T0 + 2_500).toISOString(), durationMs: 7_500 });
    expect(end).toEqual({ outcome: "continuing", record: paused });
    expect(puts).toEqual([paused]);
    expect(attempt.record).toEqual(paused);
  });

  it("stores the counts it is given (those of the last safe point), not the attempt's", async () => {
    const { attempt, puts } = attemptOf();
    attempt.read();
    const at = { phase: "writing", offset: 700, line: 20 } as const;
    await attempt.pause(at, { rowsRead: 1, rowsWritten: 2, rowsRejected: 3, rowsUnprocessed: 4, rowsDeleted: 5 });
    expect(puts[0]).toMatchObject({ rowsRead: 1, rowsWritten: 2, rowsRejected: 3, rowsUnprocessed: 4, rowsDeleted: 5, checkpoint: at });
  });

  it("takes the counts as they are when it is called", async () => {
    const { attempt } = attemptOf();
    const end = await attempt.pause({ phase: "checking", offset: 1, line: 2 });
    attempt.read();
    expect(end).toMatchObject({ record: { rowsRead: 10 } });
  });
});

describe("the finish", () => {
  it("stores the record with the given fields, without checkpoint or progress, finished now, with all the time spent", async () => {
    const { attempt, puts } = attemptOf();
    vi.setSystemTime(T0 + 1_250);
    const end = await attempt.finish({ status: "failed", retryable: false, reason: "unterminated quote", failedLine: 7 });
    const { checkpoint: _, progress: __, ...rest } = running();
    const finishedAt = new Date(T0 + 1_250).toISOString();
    const finished: IngestionRecord = {
      ...rest,
      status: "failed",
      retryable: false,
      reason: "unterminated quote",
      failedLine: 7,
      updatedAt: finishedAt,
      finishedAt,
      durationMs: 6_250,
    };
    expect(end).toEqual({ outcome: "finished", record: finished });
    expect(puts).toEqual([finished]);
  });
});
