/**
 * Replay's publishing (cli/feed/replay.ts) from an in-memory change feed to a recording target:
 * calls, order per key, the limit, refusals and retries, and where each outcome resumes.
 */
import { describe, expect, it } from "vitest";
import { ChangeFollower, type FollowSettings } from "../../cli/feed/follower.js";
import { replayChanges, type ReplayOptions } from "../../cli/feed/replay.js";
import { changeToken, InvalidCursorError, type LedgerRecord } from "../../ledger/index.js";
import type { ChangeMessage } from "../../stream/message.js";
import type { ChangeTarget, TargetFailure } from "../../stream/targets.js";

const T0 = Date.parse("2026-12-01T10:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();
const THROUGH = at(60_000);

function record(key: string, ms: number, deleted = false): LedgerRecord {
  const recordedAt = at(ms);
  const base = {
    bucket: "photos",
    key,
    source: "event" as const,
    observedAt: recordedAt,
    recordedAt,
    sequencer: ms.toString(16).toUpperCase().padStart(32, "0"),
  };
  return deleted
    ? { ...base, cause: "ObjectRemoved:Delete", deleted: true, expiresAt: Math.floor(T0 / 1000) + 86_400 }
    : { ...base, cause: "ObjectCreated:Put", deleted: false, size: ms, etag: "e", lastModified: recordedAt };
}

const tokenOf = (entry: LedgerRecord) => changeToken(entry.recordedAt, entry.key);

/** The feed as a reader returns it: `records` in token order after the position (a key may repeat, as when overwritten during a read). */
function followerOver(records: LedgerRecord[], options: { start?: string; prefix?: string } = {}): ChangeFollower {
  const settings: FollowSettings = {
    settleMs: 0,
    intervalMs: 0,
    idleIntervalMs: 0,
    maxFailures: 0,
    ...(options.prefix !== undefined && { prefix: options.prefix }),
  };
  return new ChangeFollower(
    (position) =>
      (async function* () {
        for (const entry of records) if (tokenOf(entry) > position) yield entry;
      })(),
    options.start ?? at(0),
    settings,
    { now: () => T0 + 60_000, sleep: async () => undefined },
  );
}

/** A target that records each call's keys, and refuses what `refuse` says for a call. */
function recordingTarget(refuse: (call: number, message: ChangeMessage) => Omit<TargetFailure, "id"> | undefined = () => undefined) {
  const calls: string[][] = [];
  const target: ChangeTarget = {
    name: "sns",
    publish: async (messages) => {
      calls.push(messages.map((message) => message.key));
      const call = calls.length;
      return messages.flatMap((message) => {
        const failure = refuse(call, message);
        return failure ? [{ ...failure, id: message.id }] : [];
      });
    },
  };
  return { target, calls };
}

function options(follower: ChangeFollower, overrides: Partial<ReplayOptions> = {}): ReplayOptions {
  return { follower, through: THROUGH, limit: 1_000, maxAttempts: 3, signal: new AbortController().signal, sleep: async () => undefined, ...overrides };
}

const keys = (count: number, from = 1) =>
  Array.from({ length: count }, (_, index) => record(`k${String(index + from).padStart(2, "0")}`, (index + from) * 100));

describe("replayChanges", () => {
  it("publishes every change before `through` once, in feed order, at most ten a call, and resumes from `through`", async () => {
    const { target, calls } = recordingTarget();
    const outcome = await replayChanges(options(followerOver([...keys(23), record("late", 60_000)]), { target }));
    expect(calls.map((call) => call.length)).toEqual([10, 10, 3]);
    expect(calls.flat()).toEqual(keys(23).map((entry) => entry.key));
    expect(outcome).toEqual({ end: "complete", published: 23, changes: { upserted: 23 }, position: THROUGH });
  });

  it("never puts two messages of one key in a call: a key overwritten during the read goes out in order", async () => {
    const { target, calls } = recordingTarget();
    await replayChanges(options(followerOver([record("a", 100), record("b", 200), record("a", 300)]), { target }));
    expect(calls).toEqual([["a", "b"], ["a"]]);
  });

  it("counts deletes apart: a message rebuilt from the feed is upserted or deleted", async () => {
    const outcome = await replayChanges(options(followerOver([record("a", 100), record("b", 200, true), record("c", 300)])));
    expect(outcome.changes).toEqual({ upserted: 2, deleted: 1 });
    expect(outcome.published).toBe(2 + 1);
  });

  it("publishes nothing in a dry run, and counts the same", async () => {
    const outcome = await replayChanges(options(followerOver(keys(12))));
    expect(outcome).toEqual({ end: "complete", published: 12, changes: { upserted: 12 }, position: THROUGH });
  });

  it("stops at the limit with the position after the last published, and a second replay from it publishes the rest", async () => {
    const feed = keys(5);
    const first = recordingTarget();
    const outcome = await replayChanges(options(followerOver(feed), { target: first.target, limit: 3 }));
    expect(outcome).toMatchObject({ end: "limit", published: 3, position: tokenOf(feed[2]!) });
    expect(first.calls.flat()).toEqual(["k01", "k02", "k03"]);
    const second = recordingTarget();
    const rest = await replayChanges(options(followerOver(feed, { start: outcome.position }), { target: second.target, limit: 3 }));
    expect(second.calls.flat()).toEqual(["k04", "k05"]);
    expect(rest).toMatchObject({ end: "complete", published: 2, position: THROUGH });
  });

  it("is complete, not stopped, when the feed holds exactly the limit", async () => {
    const outcome = await replayChanges(options(followerOver(keys(3)), { limit: 3 }));
    expect(outcome).toMatchObject({ end: "complete", published: 3, position: THROUGH });
  });

  it("stops at a message the target refuses for good, resuming at it: later messages of the call are sent again", async () => {
    const { target, calls } = recordingTarget((_, message) =>
      message.key === "k03" ? { code: "InvalidParameter", message: "too big", retryable: false } : undefined,
    );
    const feed = keys(15);
    const outcome = await replayChanges(options(followerOver(feed), { target }));
    expect(calls).toHaveLength(1);
    expect(outcome).toEqual({
      end: "failed",
      published: 2,
      changes: { upserted: 2 },
      position: tokenOf(feed[1]!),
      failure: { id: expect.any(String), code: "InvalidParameter", message: "too big", retryable: false, target: "sns" },
    });
  });

  it("retries only what a call refused, backing off, and goes on once it is accepted", async () => {
    const waits: number[] = [];
    const { target, calls } = recordingTarget((call, message) =>
      call <= 2 && message.key === "k02" ? { code: "Throttled", message: "slow down", retryable: true } : undefined,
    );
    const outcome = await replayChanges(options(followerOver(keys(3)), { target, sleep: async (ms) => void waits.push(ms) }));
    expect(calls).toEqual([["k01", "k02", "k03"], ["k02"], ["k02"]]);
    expect(waits).toEqual([100, 200]);
    expect(outcome).toMatchObject({ end: "complete", published: 3 });
  });

  it("gives up after the attempts allowed, at the earliest message still refused", async () => {
    const { target, calls } = recordingTarget((_, message) =>
      message.key === "k02" || message.key === "k03" ? { code: "Throttled", message: "slow down", retryable: true } : undefined,
    );
    const feed = keys(4);
    const outcome = await replayChanges(options(followerOver(feed), { target, maxAttempts: 3 }));
    expect(calls).toEqual([
      ["k01", "k02", "k03", "k04"],
      ["k02", "k03"],
      ["k02", "k03"],
    ]);
    expect(outcome).toMatchObject({ end: "failed", published: 1, position: tokenOf(feed[0]!), failure: { code: "Throttled", target: "sns" } });
  });

  it("takes a call that throws as a refusal of all of it: retried unless the request was at fault", async () => {
    let thrown = 0;
    const flaky: ChangeTarget = {
      name: "sqs",
      publish: async () => {
        thrown++;
        throw Object.assign(new Error("bad request"), { name: "InvalidParameterValue", $fault: "client" });
      },
    };
    const outcome = await replayChanges(options(followerOver(keys(2)), { target: flaky }));
    expect(thrown).toBe(1);
    expect(outcome).toMatchObject({
      end: "failed",
      published: 0,
      position: at(0),
      failure: { code: "InvalidParameterValue", message: "bad request", target: "sqs" },
    });
  });

  it("publishes what it has read when interrupted, and resumes after it", async () => {
    const controller = new AbortController();
    const feed = keys(8);
    // Ctrl-C while the third change is being read.
    const follower = new ChangeFollower(
      (position) =>
        (async function* () {
          for (const entry of feed) {
            if (tokenOf(entry) <= position) continue;
            if (entry.key === "k03") controller.abort();
            yield entry;
          }
        })(),
      at(0),
      { settleMs: 0, intervalMs: 0, idleIntervalMs: 0, maxFailures: 0 },
      { now: () => T0 + 60_000, sleep: async () => undefined },
    );
    const { target, calls } = recordingTarget();
    const outcome = await replayChanges(options(follower, { target, signal: controller.signal }));
    // The change read as the signal came is left for the resume.
    expect(calls).toEqual([["k01", "k02"]]);
    expect(outcome).toMatchObject({ end: "interrupted", published: 2, position: tokenOf(feed[1]!) });
    const rest = recordingTarget();
    await replayChanges(options(followerOver(feed, { start: outcome.position }), { target: rest.target }));
    expect(rest.calls.flat()).toEqual(["k03", "k04", "k05", "k06", "k07", "k08"]);
  });

  it("stops when reading the feed fails part way: what was read goes out, and the cursor resumes after it", async () => {
    const feed = keys(5);
    const follower = new ChangeFollower(
      (position) =>
        (async function* () {
          for (const entry of feed) {
            if (tokenOf(entry) <= position) continue;
            if (entry.key === "k04") throw Object.assign(new Error("connection reset"), { name: "TimeoutError" });
            yield entry;
          }
        })(),
      at(0),
      { settleMs: 0, intervalMs: 0, idleIntervalMs: 0, maxFailures: 0 },
      { now: () => T0 + 60_000, sleep: async () => undefined },
    );
    const { target, calls } = recordingTarget();
    const outcome = await replayChanges(options(follower, { target }));
    expect(calls).toEqual([["k01", "k02", "k03"]]);
    expect(outcome).toEqual({
      end: "failed",
      published: 3,
      changes: { upserted: 3 },
      position: tokenOf(feed[2]!),
      failure: { id: "", code: "TimeoutError", message: "connection reset", retryable: true, target: "change feed" },
    });
  });

  it("refuses bad input as it is: a cursor the feed refuses is no failure to resume from", async () => {
    const follower = new ChangeFollower(
      () => {
        throw new InvalidCursorError("cursor expired");
      },
      at(0),
      { settleMs: 0, intervalMs: 0, idleIntervalMs: 0, maxFailures: 0 },
      { now: () => T0 + 60_000, sleep: async () => undefined },
    );
    await expect(replayChanges(options(follower))).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it("skips keys outside the prefix but resumes past them", async () => {
    const { target, calls } = recordingTarget();
    const outcome = await replayChanges(
      options(followerOver([record("logs/1", 100), record("other", 200), record("logs/2", 300)], { prefix: "logs/" }), { target }),
    );
    expect(calls).toEqual([["logs/1", "logs/2"]]);
    expect(outcome).toMatchObject({ end: "complete", published: 2, position: THROUGH });
  });

  it("reports progress after each call with the recording time of the last change published", async () => {
    const progress: string[] = [];
    const { target } = recordingTarget();
    await replayChanges(options(followerOver(keys(12)), { target, onProgress: (step) => progress.push(`${step.published}@${step.at}`) }));
    expect(progress).toEqual([`10@${at(1_000)}`, `12@${at(1_200)}`]);
  });
});
