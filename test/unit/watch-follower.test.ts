/**
 * The follower's poll and hand-over (cli/feed/follower.ts) against an in-memory change feed whose
 * entries become visible some time after their recording time, as the change index's do.
 */
import { describe, expect, it } from "vitest";
import { ChangeFollower, nextInterval, settledBefore, type FollowEvent, type FollowSettings } from "../../cli/feed/follower.js";
import { UserError } from "../../foundation/user-error.js";
import { changeToken, type LedgerRecord } from "../../ledger/index.js";

const T0 = Date.parse("2026-12-01T10:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

interface Entry {
  record: LedgerRecord;
  token: string;
  /** When a Query first returns it (the write and its index entry landed). */
  visibleAt: number;
}

/** A feed of latest states: writing a key again replaces its entry, as the change index does. */
class MemoryFeed {
  readonly entries = new Map<string, Entry>();
  reads = 0;
  failNext = 0;
  failWith: () => Error = () => new Error("throttled");

  constructor(private readonly clock: { now: number }) {}

  write(key: string, recordedAtMs: number, visibleAfterMs = 0): void {
    const recordedAt = at(recordedAtMs);
    const record: LedgerRecord = {
      bucket: "photos",
      key,
      cause: "ObjectCreated:Put",
      source: "event",
      observedAt: recordedAt,
      recordedAt,
      deleted: false,
      size: 1,
      etag: "e",
      lastModified: recordedAt,
    };
    this.entries.set(key, { record, token: changeToken(recordedAt, key), visibleAt: T0 + recordedAtMs + visibleAfterMs });
  }

  read = (position: string): AsyncGenerator<LedgerRecord> => {
    this.reads++;
    if (this.failNext > 0) {
      this.failNext--;
      throw this.failWith();
    }
    const now = this.clock.now;
    const visible = [...this.entries.values()].filter((entry) => entry.visibleAt <= now && entry.token > position).sort((a, b) => (a.token < b.token ? -1 : 1));
    return (async function* () {
      for (const entry of visible) yield entry.record;
    })();
  };
}

const SETTINGS: FollowSettings = { settleMs: 3_000, intervalMs: 1_000, idleIntervalMs: 8_000, maxFailures: 2 };

/** A follower on a fake clock that its sleeps advance; it stops once the clock passes `untilMs`. */
function setUp(options: { start?: string; nowMs?: number; settings?: Partial<FollowSettings> } = {}) {
  const clock = { now: T0 + (options.nowMs ?? 0) };
  const feed = new MemoryFeed(clock);
  const waits: number[] = [];
  const controller = new AbortController();
  let untilMs = Infinity;
  const beforeEachSleep: (() => void)[] = [];
  const follower = new ChangeFollower(
    feed.read,
    options.start ?? at(0),
    { ...SETTINGS, ...options.settings },
    {
      now: () => clock.now,
      sleep: async (ms) => {
        waits.push(ms);
        beforeEachSleep.shift()?.();
        clock.now += ms;
        if (clock.now - T0 > untilMs) controller.abort();
      },
    },
  );
  const run = async (until: number, onEvent?: (event: FollowEvent) => boolean | void): Promise<string[]> => {
    untilMs = until;
    const seen: string[] = [];
    for await (const event of follower.follow(controller.signal)) {
      seen.push(event.kind === "change" ? `${event.record.key}@${event.position.slice(11, 24)}` : event.kind);
      if (onEvent?.(event) === true) break;
    }
    return seen;
  };
  return { clock, feed, waits, follower, run, controller, beforeEachSleep };
}

describe("nextInterval", () => {
  const settings = { intervalMs: 1_000, idleIntervalMs: 8_000 };

  it("goes back to the poll interval after a poll that read a change", () => {
    expect(nextInterval(8_000, true, settings)).toBe(1_000);
  });

  it("doubles after each poll that read nothing, up to the idle interval", () => {
    expect(nextInterval(1_000, false, settings)).toBe(2_000);
    expect(nextInterval(4_000, false, settings)).toBe(8_000);
    expect(nextInterval(5_000, false, settings)).toBe(8_000);
    expect(nextInterval(8_000, false, settings)).toBe(8_000);
  });

  it("never waits less than the poll interval, whatever the idle interval", () => {
    expect(nextInterval(1_000, false, { intervalMs: 1_000, idleIntervalMs: 500 })).toBe(1_000);
  });
});

describe("settledBefore", () => {
  it("is the moment settle before now, as an ISO time", () => {
    expect(settledBefore(T0 + 10_000, 3_000)).toBe("2026-12-01T10:00:07.000Z");
    expect(settledBefore(T0, 0)).toBe("2026-12-01T10:00:00.000Z");
  });
});

describe("ChangeFollower", () => {
  it("catches up, says so once, then follows new changes: each once, in recording order", async () => {
    const { feed, run, beforeEachSleep } = setUp({ nowMs: 60_000 });
    feed.write("a", 10_000);
    feed.write("b", 20_000);
    // Written while the follower waits after catching up: live changes.
    beforeEachSleep.push(() => (feed.write("c", 61_000), feed.write("d", 61_500)));
    const seen = await run(70_000);
    expect(seen).toEqual(["a@10:00:10.000Z", "b@10:00:20.000Z", "caughtUp", "c@10:01:01.000Z", "d@10:01:01.500Z"]);
  });

  it("moves its position to the settled moment after a poll that read nothing, so an idle bucket reads nothing twice", async () => {
    const { follower, run } = setUp({ nowMs: 60_000 });
    expect(await run(0)).toEqual(["caughtUp"]);
    // The first poll at 60 s (settled: 57 s), then one sleep: aborted before the second poll.
    expect(follower.position).toBe("2026-12-01T10:00:57.000Z");
  });

  it("waits for a change the index shows late, as long as it shows within the settle window", async () => {
    const { feed, run, beforeEachSleep } = setUp({ nowMs: 60_000 });
    // `late` is recorded before `early` but its write lands 2.5 s after its recording time.
    beforeEachSleep.push(() => {
      feed.write("late", 60_400, 2_500);
      feed.write("early", 60_500);
    });
    expect(await run(70_000)).toEqual(["caughtUp", "late@10:01:00.400Z", "early@10:01:00.500Z"]);
  });

  it("without a settle window the same late change would be stepped over for good", async () => {
    const { feed, run, beforeEachSleep } = setUp({ nowMs: 60_000, settings: { settleMs: 0 } });
    beforeEachSleep.push(() => {
      feed.write("late", 60_400, 2_500);
      feed.write("early", 60_500);
    });
    expect(await run(70_000)).toEqual(["caughtUp", "early@10:01:00.500Z"]);
  });

  it("misses a change that shows later than the settle window after its recording time (the documented bound)", async () => {
    const { feed, run, beforeEachSleep } = setUp({ nowMs: 60_000 });
    beforeEachSleep.push(() => {
      feed.write("stalled", 60_400, 10_000);
      feed.write("next", 60_500);
    });
    expect(await run(70_000)).toEqual(["caughtUp", "next@10:01:00.500Z"]);
  });

  it("takes a change recorded just before the settled moment, and leaves one recorded at it for the next poll", async () => {
    const { feed, follower, run } = setUp({ nowMs: 10_000 });
    feed.write("before", 6_999);
    feed.write("at", 7_000);
    expect(await run(0)).toEqual(["before@10:00:06.999Z", "caughtUp"]);
    // Up to the settled moment (7 s), which sorts before every token recorded at it.
    expect(follower.position).toBe("2026-12-01T10:00:07.000Z");
    expect(follower.position < changeToken(at(7_000), "at")).toBe(true);
  });

  it("reads nothing while its start is at or past the settled moment, and keeps the start", async () => {
    const { feed, follower, run } = setUp({ start: at(9_000), nowMs: 10_000 });
    expect(await run(0)).toEqual(["caughtUp"]);
    expect(feed.reads).toBe(0);
    expect(follower.position).toBe(at(9_000));
  });

  it("never moves its position back when the clock steps back", async () => {
    const { follower, clock, run, beforeEachSleep } = setUp({ nowMs: 60_000 });
    beforeEachSleep.push(() => (clock.now -= 30_000));
    await run(40_000);
    expect(follower.position).toBe("2026-12-01T10:00:57.000Z");
  });

  it("shows only keys under the prefix, but steps past the others", async () => {
    const { feed, follower, run, waits } = setUp({ nowMs: 60_000, settings: { prefix: "logs/" } });
    feed.write("logs/1", 10_000);
    feed.write("other", 20_000);
    feed.write("logs/2", 30_000);
    feed.write("other-late", 40_000);
    expect(await run(0)).toEqual(["logs/1@10:00:10.000Z", "logs/2@10:00:30.000Z", "caughtUp"]);
    expect(follower.position).toBe("2026-12-01T10:00:57.000Z");
    // A poll that read only other keys still read changes: the wait stays short.
    expect(waits).toEqual([1_000]);
  });

  it("backs off while idle and comes back to the interval when changes come", async () => {
    const { feed, run, waits, beforeEachSleep } = setUp({ nowMs: 60_000 });
    // Written at 66 s, while the follower waits its third wait (8 s, the cap).
    beforeEachSleep.push(
      () => undefined,
      () => undefined,
      () => feed.write("x", 66_000),
    );
    await run(60_000 + 40_000);
    // Idle polls double the wait from 1 s to the 8 s cap; the poll that reads x brings it back to 1 s.
    expect(waits.slice(0, 8)).toEqual([2_000, 4_000, 8_000, 1_000, 2_000, 4_000, 8_000, 8_000]);
  });

  it("leaves its position after the last change the consumer took, so a new follower from it misses and repeats nothing", async () => {
    const first = setUp({ nowMs: 60_000 });
    for (const [key, ms] of [
      ["a", 1_000],
      ["b", 2_000],
      ["c", 3_000],
    ] as const)
      first.feed.write(key, ms);
    // The consumer stops while handling b: b was taken (its event returned), c was not.
    const seen = await first.run(60_000, (event) => event.kind === "change" && event.record.key === "b");
    expect(seen).toEqual(["a@10:00:01.000Z", "b@10:00:02.000Z"]);
    expect(first.follower.position).toBe(changeToken(at(1_000), "a"));
    const second = setUp({ start: first.follower.position, nowMs: 60_000 });
    second.feed.entries.clear();
    for (const [key, entry] of first.feed.entries) second.feed.entries.set(key, entry);
    expect(await second.run(0)).toEqual(["b@10:00:02.000Z", "c@10:00:03.000Z", "caughtUp"]);
  });

  it("resumes exactly after the position a change's event carries", async () => {
    const { feed, run } = setUp({ nowMs: 60_000 });
    feed.write("a", 1_000);
    const positions: string[] = [];
    await run(0, (event) => void (event.kind === "change" && positions.push(event.position)));
    expect(positions).toEqual([changeToken(at(1_000), "a")]);
  });

  it("stops at once when aborted during a read, without moving to the settled moment", async () => {
    const { feed, follower, controller } = setUp({ nowMs: 60_000 });
    feed.write("a", 1_000);
    feed.write("b", 2_000);
    const seen: string[] = [];
    for await (const event of follower.follow(controller.signal)) {
      if (event.kind === "change") seen.push(event.record.key);
      controller.abort();
    }
    expect(seen).toEqual(["a"]);
    expect(follower.position).toBe(changeToken(at(1_000), "a"));
  });

  it("tries a failed poll again after backing off, from the same position", async () => {
    const { feed, run, waits } = setUp({ nowMs: 60_000 });
    feed.write("a", 1_000);
    feed.failNext = 2;
    const seen = await run(60_000 + 7_000);
    expect(seen).toEqual(["retrying", "retrying", "a@10:00:01.000Z", "caughtUp"]);
    expect(waits.slice(0, 2)).toEqual([2_000, 4_000]);
  });

  it("gives up after more failures in a row than it may have", async () => {
    const { feed, run } = setUp({ nowMs: 60_000 });
    feed.failNext = 3;
    await expect(run(60_000 + 100_000)).rejects.toThrow("throttled");
    expect(feed.reads).toBe(3);
  });

  it("does not retry bad input: a user error ends the follow at once", async () => {
    const { feed, run } = setUp({ nowMs: 60_000 });
    feed.failNext = 1;
    feed.failWith = () => new UserError("cursor expired");
    await expect(run(60_000 + 100_000)).rejects.toThrow("cursor expired");
    expect(feed.reads).toBe(1);
  });
});
