import { describe, expect, it } from "vitest";
import { changeStreamModel, STREAM_ASSUMPTIONS } from "../../stream/capacity.js";

describe("the change stream in the capacity model", () => {
  const model = changeStreamModel({ dollarsPerLambdaGbSecond: 0.0000133334 });

  it("carries a shard's batch in calls of 10 changes at most, from the records a change writes", () => {
    expect(model.recordsPerChange).toEqual({ creates: 3, overwrites: 2 });
    expect(model.perShard.creates).toEqual({ messages: 33, calls: 4, seconds: 0.08, changesPerSecond: 412 });
    expect(model.perShard.overwrites).toEqual({ messages: 50, calls: 5, seconds: 0.1, changesPerSecond: 500 });
    expect(model.shardsAtFactorOne).toBe(25);
    expect(model.shardsAtMaxFactor).toBe(3);
    expect(changeStreamModel({ dollarsPerLambdaGbSecond: 0 }, 412).shardsAtFactorOne).toBe(1);
    expect(changeStreamModel({ dollarsPerLambdaGbSecond: 0 }, 413).shardsAtFactorOne).toBe(2);
  });

  it("names SNS FIFO's topic scope as the bound below 10,000 changes/s", () => {
    expect(model.limits.snsTopicScope).toBe(3_000);
    expect(model.limits.snsTopicScope).toBeLessThan(10_000);
    expect(model.limits.eventBridge).toBe(STREAM_ASSUMPTIONS.eventBridgePutEventsPerSecond);
  });

  it("names a subscribed SQS FIFO queue without high-throughput mode as a bound below 10,000 changes/s, batched or not", () => {
    expect(model.limits.subscriberQueue).toBe(300);
    expect(model.limits.subscriberQueueBatched).toBe(3_000);
    expect(model.limits.subscriberQueueBatched).toBeLessThan(10_000);
    expect(Math.min(...Object.values(model.limits))).toBe(model.limits.subscriberQueue);
  });

  it("prices a million changes from the message the publisher builds", () => {
    expect(model.messageBytes).toBeGreaterThan(500);
    expect(model.messageBytes).toBeLessThan(1_024);
    expect(model.perMillion.snsPublishes).toBeCloseTo(0.03, 6);
    expect(model.perMillion.snsPayload).toBeCloseTo((model.messageBytes * 1e6 * 0.017) / 1024 ** 3, 9);
    expect(model.perMillion.streamReads).toBe(0);
    expect(model.dollarsPerMillion).toBeCloseTo(
      Object.values(model.perMillion).reduce((sum, value) => sum + value, 0),
      9,
    );
    expect(model.withEventBridge - model.dollarsPerMillion).toBeCloseTo(1, 9);
  });
});
