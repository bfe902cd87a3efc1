/** Which events the tracker applies: only those about a tracked bucket (tracker/tracked-buckets.ts). */
import { describe, expect, it } from "vitest";
import { partitionByBucket, trackedBucketFilter, untrackedBucketsForLog } from "../../tracker/tracked-buckets.js";

describe("the tracked-bucket filter", () => {
  it("keeps events about tracked buckets and sets the others apart, in order", () => {
    const isTracked = trackedBucketFilter(["photos", "logs"]);
    const events = [
      { bucket: "photos", key: "a" },
      { bucket: "elsewhere", key: "b" },
      { bucket: "logs", key: "c" },
      { bucket: "photos2", key: "d" },
    ];
    expect(partitionByBucket(events, isTracked)).toEqual({
      tracked: [events[0], events[2]],
      untracked: [events[1], events[3]],
    });
  });

  it("matches names exactly: no prefix, case or wildcard match", () => {
    const isTracked = trackedBucketFilter(["photos"]);
    for (const name of ["Photos", "photos ", "photo", "photos-old", "*"]) expect(isTracked(name), name).toBe(false);
  });

  it("applies every bucket's events only when no list is given", () => {
    expect(trackedBucketFilter(undefined)("anything")).toBe(true);
    expect(trackedBucketFilter([])("anything")).toBe(false);
  });

  it("logs at most ten distinct names, each cut to a bucket name's 63 characters", () => {
    const events = Array.from({ length: 30 }, (_, index) => ({ bucket: `b${index % 12}-${"x".repeat(100)}` }));
    const logged = untrackedBucketsForLog(events);
    expect(logged).toHaveLength(10);
    expect(new Set(logged).size).toBe(10);
    expect(Math.max(...logged.map((name) => name.length))).toBe(63);
  });
});
