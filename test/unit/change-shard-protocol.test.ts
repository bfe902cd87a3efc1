/**
 * The rule that keeps the change feed exact while change shards are resized
 * (ledger/change-index), checked on random timelines with the module's own constants and
 * functions: epochs recorded EPOCH_LEAD_MS ahead (each commit up to a few seconds after its
 * writer read the clock), writers that read the epochs again once EPOCHS_FRESH_MS old before
 * each write, and readers that return only changes recorded before READ_AHEAD_MS past their
 * read. Whatever the order, every change a reader may return lies in a partition it queries.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  countAt,
  countsOnDay,
  EPOCH_LEAD_MS,
  EPOCHS_FRESH_MS,
  READ_AHEAD_MS,
  UNSHARDED,
  withEpoch,
  type ChangeShardEpoch,
} from "../../ledger/change-index/index.js";

// Across midnight: a day read under the counts of both days.
const START = Date.parse("2026-12-01T23:57:00.000Z");
/** Longest a recording may take from its clock reading to its commit, for the rule to hold. */
const MAX_RECORDING_MS = 5_000;
const iso = (ms: number) => new Date(ms).toISOString();

const at = fc.integer({ min: 0, max: 5 * 60_000 }).map((offset) => START + offset);
const steps = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant("record" as const),
      at,
      count: fc.constantFrom(1, 2, 4, 8, 16, 32),
      latency: fc.integer({ min: 0, max: MAX_RECORDING_MS }),
    }),
    fc.record({ kind: fc.constant("write" as const), at, writer: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant("read" as const), at }),
  ),
  { minLength: 1, maxLength: 150 },
);

describe("resizing change shards under the lead, freshness and read-ahead rule", () => {
  it("never lets a reader return a change from a partition it does not query", () => {
    fc.assert(
      fc.property(steps, (timeline) => {
        // A recording commits `latency` after the clock reading that set its `from`.
        const events = timeline.map((step) => ({ ...step, commitAt: step.kind === "record" ? step.at + step.latency : step.at }));
        events.sort((a, b) => a.commitAt - b.commitAt);
        let stored: ChangeShardEpoch[] = [UNSHARDED];
        const views = new Map<number, { epochs: ChangeShardEpoch[]; readAt: number }>();
        const changes: { recordedAt: number; count: number }[] = [];
        const reads: { readAt: number; epochs: ChangeShardEpoch[] }[] = [];
        for (const event of events) {
          if (event.kind === "record") stored = withEpoch(stored, { from: iso(event.at + EPOCH_LEAD_MS), count: event.count }, "0000");
          else if (event.kind === "write") {
            let view = views.get(event.writer);
            if (!view || event.at - view.readAt > EPOCHS_FRESH_MS) {
              view = { epochs: stored, readAt: event.at };
              views.set(event.writer, view);
            }
            // The writer's own count is the one in force: its copy holds every epoch begun by now.
            expect(countAt(view.epochs, iso(event.at))).toBe(countAt(stored, iso(event.at)));
            changes.push({ recordedAt: event.at, count: countAt(view.epochs, iso(event.at)) });
          } else reads.push({ readAt: event.at, epochs: stored });
        }
        for (const read of reads) {
          for (const change of changes.filter((candidate) => candidate.recordedAt < read.readAt + READ_AHEAD_MS)) {
            expect(countsOnDay(read.epochs, iso(change.recordedAt).slice(0, 10))).toContain(change.count);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("leaves the margins the rule needs between its constants", () => {
    // A writer's copy is at most EPOCHS_FRESH_MS old, so an epoch it lacks was committed less than
    // that ago and begins more than EPOCH_LEAD_MS - EPOCHS_FRESH_MS - MAX_RECORDING_MS from now.
    expect(EPOCH_LEAD_MS - EPOCHS_FRESH_MS - MAX_RECORDING_MS).toBeGreaterThan(0);
    // A reader lacks only epochs committed after its read: they begin at least EPOCH_LEAD_MS -
    // MAX_RECORDING_MS after it, past what it returns.
    expect(EPOCH_LEAD_MS - MAX_RECORDING_MS).toBeGreaterThanOrEqual(READ_AHEAD_MS);
  });
});
