/**
 * Following the change feed: catch up from a position, then poll for what comes after it, with
 * one position carried through, so the hand-over from catching up to following live is just the
 * next poll (nothing read twice, nothing skipped).
 *
 * The feed orders changes by the time the ledger recorded them (`recordedAt`), which a writer
 * takes just before its write; the write, and then its entry in the change index (a global
 * secondary index), become visible to a Query some time later. "All reads from GSIs and streams
 * are eventually consistent"
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html),
 * and a write normally reaches a GSI within a second
 * (https://repost.aws/knowledge-center/dynamodb-missing-table-items-gsi). So a change recorded
 * before one already read can still appear: a follower that moved its position to the newest
 * token it saw would step past it for good. A poll therefore takes only changes recorded before
 * `settle` ago and leaves the rest for a later poll; once a poll has read every change recorded
 * before that moment, the position moves up to it even if there were none, so an idle poll
 * reads nothing twice. A change that becomes visible more than `settle` after its recording
 * time (a writer's clock behind the follower's by more, a write retried for longer) is missed:
 * the settle window is the bound, and the operate guide says to stay a few seconds behind.
 *
 * The feed holds each key's latest state: a key changed twice between two polls is read once, at
 * its newer change. A consumer that needs every change reads the change stream.
 */
import { changeToken, type LedgerRecord } from "../../ledger/index.js";
import { UserError } from "../../foundation/user-error.js";

/** The feed after `position` (exclusive), in token order: the ledger's `changes` from a cursor. */
export type FeedRead = (position: string) => AsyncGenerator<LedgerRecord>;

export interface FollowSettings {
  /** How far behind the present a poll stays: changes recorded since are left for a later poll. */
  settleMs: number;
  /** The wait between polls while changes come. */
  intervalMs: number;
  /** The longest wait: each poll that reads nothing doubles the wait, up to this. */
  idleIntervalMs: number;
  /** Only keys under this prefix are yielded; the others are read (the feed has no prefix) and passed. */
  prefix?: string;
  /** Polls that may fail one after another (each retried after the next wait) before the error ends the follow. */
  maxFailures: number;
}

export interface FollowClock {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** A change, and the position just after it (where a follower resumes once it is handled). */
export interface ChangeEvent {
  kind: "change";
  record: LedgerRecord;
  position: string;
}

export type FollowEvent =
  | ChangeEvent
  /** The first poll has read everything settled: what follows is live. */
  | { kind: "caughtUp"; position: string }
  /** A poll failed and will be tried again after `waitMs`. */
  | { kind: "retrying"; error: Error; failures: number; waitMs: number };

/** The next wait: back to `intervalMs` after a poll that read something, else doubled up to `idleIntervalMs`. */
export function nextInterval(current: number, readAny: boolean, settings: Pick<FollowSettings, "intervalMs" | "idleIntervalMs">): number {
  if (readAny) return settings.intervalMs;
  return Math.max(settings.intervalMs, Math.min(current * 2, settings.idleIntervalMs));
}

/** The time (ISO-8601) before which a poll at `now` takes changes as complete. */
export function settledBefore(now: number, settleMs: number): string {
  return new Date(now - settleMs).toISOString();
}

export const realClock: FollowClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    }),
};

export class ChangeFollower {
  #position: string;

  constructor(
    private readonly read: FeedRead,
    start: string,
    private readonly settings: FollowSettings,
    private readonly clock: FollowClock = realClock,
  ) {
    this.#position = start;
  }

  /** Everything up to here has been handled: a change once its event was taken and the consumer asked for the next. */
  get position(): string {
    return this.#position;
  }

  /** Polls until `signal` aborts; a consumer that stops asking (or throws) leaves `position` after the last change it took. */
  async *follow(signal: AbortSignal): AsyncGenerator<FollowEvent> {
    let wait = this.settings.intervalMs;
    let caughtUp = false;
    let failures = 0;
    while (!signal.aborted) {
      let readAny: boolean;
      try {
        readAny = yield* this.poll(signal);
        failures = 0;
      } catch (error) {
        // Bad input (a cursor, a horizon) does not get better by asking again.
        if (error instanceof UserError || ++failures > this.settings.maxFailures) throw error;
        wait = nextInterval(wait, false, this.settings);
        yield { kind: "retrying", error: error as Error, failures, waitMs: wait };
        await this.clock.sleep(wait, signal);
        continue;
      }
      if (signal.aborted) return;
      if (!caughtUp) {
        caughtUp = true;
        yield { kind: "caughtUp", position: this.#position };
      }
      wait = nextInterval(wait, readAny, this.settings);
      await this.clock.sleep(wait, signal);
    }
  }

  /**
   * One poll: every change after the position recorded before `settled` (by default `settleMs`
   * before now), then the position up to `settled`. Resolves whether it read any change.
   * `replay` reads the feed with one poll.
   */
  async *poll(signal: AbortSignal, settled = settledBefore(this.clock.now(), this.settings.settleMs)): AsyncGenerator<ChangeEvent, boolean> {
    // A position at or past the settled moment (a --since of a moment ago): nothing is settled after it yet.
    if (settled <= this.#position) return false;
    const { prefix } = this.settings;
    let readAny = false;
    for await (const record of this.read(this.#position)) {
      if (signal.aborted) return readAny;
      // Tokens are in recording order: this change and every later one wait for a later poll.
      if (record.recordedAt >= settled) break;
      readAny = true;
      const position = changeToken(record.recordedAt, record.key);
      if (prefix === undefined || record.key.startsWith(prefix)) yield { kind: "change", record, position };
      this.#position = position;
    }
    // Every change recorded before `settled` has been read: a time sorts before every token recorded at it.
    if (settled > this.#position) this.#position = settled;
    return readAny;
  }
}
