import { describe, expect, it } from "vitest";
import { compareSequencers, InvalidSequencerError, normalizeSequencer, SEQUENCER_WIDTH } from "../../ledger/index.js";

describe("sequencers", () => {
  it("orders sequencers of different lengths by right-padding the shorter with zeros", () => {
    expect(compareSequencers("0055AED6DCD90281E5", "0055AED6DCD90281E6")).toBeLessThan(0);
    // AWS: "0055AED6DCD90281E5" vs "0055AED6DCD90281E500" are the same point in time.
    expect(compareSequencers("0055AED6DCD90281E5", "0055AED6DCD90281E500")).toBe(0);
    // A longer sequencer with a larger digit past the shorter one's end is newer.
    expect(compareSequencers("0055AED6DCD90281E5", "0055AED6DCD90281E501")).toBeLessThan(0);
    // Naive string comparison would call "9" newer than "10"; padding compares 90.. vs 10..
    expect(compareSequencers("9", "10")).toBeGreaterThan(0);
  });

  it("ignores case, since EventBridge sends lower case and notifications upper case", () => {
    expect(compareSequencers("617f08299329d189", "617F08299329D189")).toBe(0);
    expect(normalizeSequencer("abc")).toBe("ABC".padEnd(SEQUENCER_WIDTH, "0"));
  });

  it("normalizes to a fixed width so DynamoDB can compare stored values as strings", () => {
    const older = normalizeSequencer("0055AED6DCD90281E5");
    const newer = normalizeSequencer("0055AED6DCD90281E501");
    expect(older).toHaveLength(SEQUENCER_WIDTH);
    expect(older < newer).toBe(true);
  });

  it("rejects values that are not hex or too long to order safely", () => {
    expect(() => normalizeSequencer("")).toThrow(InvalidSequencerError);
    expect(() => normalizeSequencer("12G4")).toThrow(/not a hex string/);
    expect(() => normalizeSequencer("F".repeat(SEQUENCER_WIDTH + 1))).toThrow(/longer than/);
  });
});
