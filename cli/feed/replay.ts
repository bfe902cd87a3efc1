/**
 * Replay: the change feed since a position, republished as the change stream's messages
 * (stream/message.ts) to one target, for a consumer that must rebuild.
 *
 * Why it joins the live stream without a gap: the consumer subscribes first, then replays. The
 * feed holds every key's latest state recorded since the start, so each key changed since then is
 * published at a state at least as new as any the consumer saw before it subscribed; anything
 * recorded after the replay's end (`through`, `settle` before it began: the feed's index is
 * eventually consistent, see ./follower.ts) reaches the consumer on the live stream, which it
 * joined earlier. Why no duplicate it cannot remove: a replayed change has the revision, id and
 * message group the live stream gave it (the message is made of the item alone), so the
 * deduplication rule (the greater revision per key wins) drops whatever it already holds,
 * whichever arrives first; a topic or queue drops a repeated id within its 5 minutes on its own.
 * A message rebuilt from the feed says `upserted`, not `created` or `overwritten`: the feed keeps
 * no previous state.
 *
 * Per key in order: a call carries at most one message of a key, and calls go one after another
 * in feed order, so a key read twice (overwritten during the replay) is published in order.
 * What is published is resumable: the summary's cursor resumes after the last message every
 * earlier one of which was accepted, so a resumed replay repeats at most messages the rule drops.
 */
import { changeMessage, type ChangeKind, type ChangeMessage } from "../../stream/message.js";
import { callGroups, MAX_MESSAGES_PER_CALL } from "../../stream/publisher.js";
import type { ChangeTarget, TargetFailure } from "../../stream/targets.js";
import { UserError } from "../../foundation/user-error.js";
import type { ChangeFollower } from "./follower.js";

export interface ReplayOptions {
  /** Reads the feed from the start position; its prefix filters what is published. */
  follower: ChangeFollower;
  /** Every change recorded before this moment (ISO-8601) is replayed; later ones are the live stream's. */
  through: string;
  /** Absent: a dry run, counting what would be published. */
  target?: ChangeTarget;
  /** At most this many messages, then the replay stops with a cursor to go on from. */
  limit: number;
  /** Calls for one group of messages, the first included; only what may succeed later is retried. */
  maxAttempts: number;
  signal: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
  onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayProgress {
  published: number;
  /** The recording time of the last change published. */
  at?: string;
}

export type ReplayEnd = "complete" | "limit" | "interrupted" | "failed";

export interface ReplayOutcome {
  end: ReplayEnd;
  /** Messages the target accepted (a dry run: would have published). */
  published: number;
  /** By change kind: `upserted` and `deleted` (a rebuilt message knows no previous state). */
  changes: Partial<Record<ChangeKind, number>>;
  /** Where a next replay resumes: after every change published, and with `complete`, up to `through`. */
  position: string;
  failure?: TargetFailure & { target: string };
}

/** A message waiting for its call; `index` into the chunk's feed positions (stream/publisher.ts groups these). */
interface Pending {
  message: ChangeMessage;
  index: number;
}

/** A failure's `target` when reading the change feed failed, not publishing. */
export const FEED = "change feed";

/** Messages gathered before they are split into calls: enough for a few full calls, few enough to stay small. */
const CHUNK = 5 * MAX_MESSAGES_PER_CALL;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function replayChanges(options: ReplayOptions): Promise<ReplayOutcome> {
  const { follower, target, limit, signal } = options;
  const changes: Partial<Record<ChangeKind, number>> = {};
  let published = 0;
  let position = follower.position;
  let at: string | undefined;
  let pending: Pending[] = [];
  /** The feed position after each pending message, by its index. */
  let positions: string[] = [];

  /** Publishes `pending` in calls; resolves with the failure that stopped it, if one did. */
  const flush = async (): Promise<ReplayOutcome["failure"]> => {
    for (const group of callGroups(pending)) {
      if (target) {
        const failure = await publishWithRetry(target, group, options);
        if (failure) {
          // Resume from the earliest message refused: those after it in this call may be sent again.
          const earliest = group.findIndex((entry) => entry.message.id === failure.id);
          const accepted = group.slice(0, Math.max(0, earliest));
          count(accepted);
          return { ...failure, target: target.name };
        }
      }
      count(group);
    }
    pending = [];
    positions = [];
    return undefined;
  };
  const count = (entries: readonly Pending[]) => {
    for (const entry of entries) {
      published++;
      changes[entry.message.change] = (changes[entry.message.change] ?? 0) + 1;
      position = positions[entry.index]!;
      at = entry.message.recordedAt;
    }
    if (entries.length > 0) options.onProgress?.({ published, ...(at !== undefined && { at }) });
  };
  const outcome = (end: ReplayEnd, failure?: ReplayOutcome["failure"]): ReplayOutcome => ({ end, published, changes, position, ...(failure && { failure }) });

  try {
    for await (const event of follower.poll(signal, options.through)) {
      // A change past the limit is left for the next replay: the feed may end exactly at it.
      if (published + pending.length >= limit) {
        const failure = await flush();
        return failure ? outcome("failed", failure) : outcome("limit");
      }
      pending.push({ message: changeMessage(event.record, "unknown"), index: pending.length });
      positions.push(event.position);
      if (pending.length >= CHUNK) {
        const failure = await flush();
        if (failure) return outcome("failed", failure);
      }
    }
  } catch (error) {
    // Bad input (a cursor, the horizon) is refused before anything is read.
    if (error instanceof UserError) throw error;
    // The feed failed part way (the SDK has retried): what was read goes out, and the cursor resumes after it.
    const failure = await flush();
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    return outcome("failed", failure ?? { id: "", code: name, message, retryable: true, target: FEED });
  }
  const failure = await flush();
  if (failure) return outcome("failed", failure);
  if (signal.aborted) return outcome("interrupted");
  // The feed was read through `through`: the follower's position says so even past keys outside the prefix.
  return { ...outcome("complete"), position: follower.position };
}

/** The first message of the group the target still refuses after the attempts allowed, if any. */
async function publishWithRetry(target: ChangeTarget, group: readonly Pending[], options: ReplayOptions): Promise<TargetFailure | undefined> {
  const sleep = options.sleep ?? defaultSleep;
  let outstanding = group.map((entry) => entry.message);
  for (let attempt = 1; ; attempt++) {
    const failures = await publishOnce(target, outstanding);
    if (failures.size === 0) return undefined;
    outstanding = outstanding.filter((message) => failures.has(message.id));
    const refused = outstanding.map((message) => failures.get(message.id)!);
    if (attempt >= options.maxAttempts || refused.some((failure) => !failure.retryable)) return refused[0];
    await sleep(Math.min(2_000, 100 * 2 ** (attempt - 1)));
  }
}

/** One call; a call that throws refuses every message in it, retryably unless the SDK says the request was at fault. */
async function publishOnce(target: ChangeTarget, messages: readonly ChangeMessage[]): Promise<Map<string, TargetFailure>> {
  try {
    return new Map((await target.publish(messages)).map((failure) => [failure.id, failure]));
  } catch (error) {
    const named = error as { name?: string; message?: string; $fault?: string };
    return new Map(
      messages.map((message) => [
        message.id,
        { id: message.id, code: named.name ?? "Error", message: named.message ?? String(error), retryable: named.$fault !== "client" },
      ]),
    );
  }
}
