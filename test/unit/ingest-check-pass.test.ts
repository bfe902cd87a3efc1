/** The check pass (ingest/check-pass.ts) over a file held in memory: parsed, malformed, paused, or gone. */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TimeBudget } from "../../foundation/time-budget.js";
import { IngestionAttempt, type AttemptStore } from "../../ingest/attempt.js";
import { checkRows } from "../../ingest/check-pass.js";
import { resolveIngestRules, type IngestRule } from "../../ingest/rules.js";
import type { IngestCheckpoint, IngestionRecord } from "../../ledger/index.js";
import { ingestionRecord } from "./ingestion-record.js";

const [csv] = resolveIngestRules([{ name: "offers", bucket: "imports", pattern: "offers/*.csv", format: "csv", partitionKey: "id" }]) as [IngestRule];

function attemptAt(checkpoint: IngestCheckpoint, remainingMs = 60_000) {
  const puts: IngestionRecord[] = [];
  const store: AttemptStore = {
    put: async (record) => void puts.push(structuredClone(record)),
    addRejected: async () => undefined,
    rejected: async function* () {},
  };
  const record = ingestionRecord({ checkpoint });
  const budget: TimeBudget = { remainingMs: () => remainingMs - 1_000 };
  return { puts, attempt: new IngestionAttempt(store, record, budget, () => new Date("2026-12-04T21:00:01.000Z")) };
}

/** The file's bytes from an offset, as a ranged GetObject gives them; the offsets asked for are kept. */
function fileOf(text: string | undefined) {
  const bytes = Buffer.from(text ?? "");
  const opened: number[] = [];
  return {
    opened,
    size: bytes.length,
    open: async (from: number) => {
      opened.push(from);
      if (text === undefined) return undefined;
      return (async function* () {
        yield bytes.subarray(from);
      })();
    },
  };
}

const start: IngestCheckpoint = { phase: "checking", offset: 0, line: 1 };
const rows = (count: number) => `id,price\n${Array.from({ length: count }, (_, index) => `${index},${index * 2}\n`).join("")}`;

afterEach(() => void vi.useRealTimers());

describe("the check pass", () => {
  it("reads a good file to its end, stores nothing, and sends the attempt to write from the start", async () => {
    const { attempt, puts } = attemptAt(start);
    const file = fileOf(rows(300));
    expect(await checkRows(attempt, file, csv)).toBe("parsed");
    expect(file.opened).toEqual([0]);
    expect(puts).toEqual([]);
    expect(attempt.checkpoint).toEqual({ phase: "writing", offset: 0, line: 1 });
  });

  it("reads on from a checkpoint with the header it recorded", async () => {
    const text = rows(3);
    const second = text.indexOf("1,2");
    const { attempt } = attemptAt({ phase: "checking", offset: second, line: 3, columns: ["id", "price"] });
    const file = fileOf(text);
    expect(await checkRows(attempt, file, csv)).toBe("parsed");
    expect(file.opened).toEqual([second]);
  });

  it("fails a malformed file as a whole, at its line, not to be retried", async () => {
    const { attempt, puts } = attemptAt(start);
    const end = await checkRows(attempt, fileOf('id,price\n1,2\n2,"3\n'), csv);
    expect(end).toMatchObject({ outcome: "finished", record: { status: "failed", retryable: false, failedLine: 3 } });
    expect(end !== "parsed" && end.outcome === "finished" && end.record.reason).toMatch(/quote/);
    expect(puts).toHaveLength(1);
    expect(puts[0]).not.toHaveProperty("checkpoint");
    expect(attempt.checkpoint).toEqual(start);
  });

  it("skips a version gone from S3 as superseded, and stores nothing", async () => {
    const { attempt, puts } = attemptAt(start);
    expect(await checkRows(attempt, fileOf(undefined), csv)).toEqual({ outcome: "skipped", why: "superseded" });
    expect(puts).toEqual([]);
  });

  it("pauses out of time after every 256th row, where the next row starts, with the header", async () => {
    const text = rows(600);
    const { attempt, puts } = attemptAt(start, 999);
    const end = await checkRows(attempt, fileOf(text), csv);
    // The header is line 1: the 256th row read (the header counts) is line 256, and line 257 is next.
    const at = { phase: "checking", offset: text.indexOf("\n255,510\n") + 1, line: 257, columns: ["id", "price"] };
    expect(end).toMatchObject({ outcome: "continuing", record: { checkpoint: at, rowsRead: 0 } });
    expect(puts.map((put) => put.checkpoint)).toEqual([at]);
  });

  it("stores a heartbeat at the 256th row once 5 seconds have passed, and reads on with time to spare", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse("2026-12-04T21:00:00.000Z"));
    const { attempt, puts } = attemptAt(start);
    const text = rows(300);
    const split = text.indexOf("\n100,200\n");
    const file = {
      size: text.length,
      open: async () =>
        (async function* () {
          yield Buffer.from(text.slice(0, split));
          vi.setSystemTime(Date.parse("2026-12-04T21:00:05.000Z"));
          yield Buffer.from(text.slice(split));
        })(),
    };
    expect(await checkRows(attempt, file, csv)).toBe("parsed");
    const offset = text.indexOf("\n255,510\n") + 1;
    expect(puts.map((put) => [put.progress, put.checkpoint])).toEqual([[{ phase: "checking", offset, size: text.length, rowsRead: 0 }, start]]);
  });

  it("lets a failure to read the file through, storing nothing", async () => {
    const { attempt, puts } = attemptAt(start);
    const file = {
      size: 100,
      open: async () =>
        (async function* () {
          yield Buffer.from("id,price\n1,2\n");
          throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
        })(),
    };
    await expect(checkRows(attempt, file, csv)).rejects.toThrow("socket hang up");
    expect(puts).toEqual([]);
  });

  it("does not pause a file shorter than 256 rows, however late", async () => {
    const { attempt } = attemptAt(start, 0);
    expect(await checkRows(attempt, fileOf(rows(254)), csv)).toBe("parsed");
  });
});
