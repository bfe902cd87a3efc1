/**
 * The one BatchWriteItem retry (aws/batch-write.ts), with a fake send: the backoff's cap and
 * jitter bounds, giving up with what was left, and the rejected-rows cleanup of
 * ingest/ingestion-store.ts, which used to resend unprocessed deletes at once and for ever.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backoffDelay, sendUntilProcessed, UnprocessedItemsError, type RetryOptions } from "../../aws/batch-write.js";
import { IngestionStore } from "../../ingest/ingestion-store.js";

const policy = { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 100 };

/** A send that processes the first half of each call (rounded up), or nothing at all. */
function partlyProcessing(processes: "half" | "none") {
  const calls: number[][] = [];
  const send = async (requests: number[]) => {
    calls.push(requests);
    return processes === "half" ? requests.slice(Math.ceil(requests.length / 2)) : requests;
  };
  return { send, calls };
}

function recordingSleep() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

describe("backoffDelay", () => {
  it("is full jitter: from 0 up to (not including) base x 2^attempt", () => {
    expect(backoffDelay(1, policy, () => 0)).toBe(0);
    expect(backoffDelay(1, policy, () => 0.5)).toBe(10);
    expect(backoffDelay(2, policy, () => 0.999)).toBeCloseTo(39.96);
    for (let attempt = 1; attempt < 4; attempt++)
      for (let i = 0; i < 200; i++) {
        const delay = backoffDelay(attempt, policy);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(policy.baseDelayMs * 2 ** attempt);
      }
  });

  it("is capped at maxDelayMs however many attempts came before", () => {
    expect(backoffDelay(4, policy, () => 0.999)).toBeCloseTo(99.9);
    expect(backoffDelay(50, policy, () => 0.999)).toBeCloseTo(99.9);
    expect(backoffDelay(5_000, policy, () => 0.999)).toBeCloseTo(99.9);
  });
});

describe("sendUntilProcessed", () => {
  it("resends only what was left unprocessed, after a jittered wait, until nothing is left", async () => {
    const { send, calls } = partlyProcessing("half");
    const { delays, sleep } = recordingSleep();
    const attempts = await sendUntilProcessed([1, 2, 3, 4, 5], send, { ...policy, sleep, random: () => 0.5 });
    expect(attempts).toBe(3);
    expect(calls).toEqual([[1, 2, 3, 4, 5], [4, 5], [5]]);
    // No wait before the first call; then half of 10 x 2^1 and of 10 x 2^2 with random() = 0.5.
    expect(delays).toEqual([10, 20]);
  });

  it("gives up after maxAttempts calls, naming how many requests were left", async () => {
    const { send, calls } = partlyProcessing("none");
    const { delays, sleep } = recordingSleep();
    const error = await sendUntilProcessed([2, 3, 4], send, { ...policy, sleep, random: () => 0.999 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnprocessedItemsError);
    expect((error as UnprocessedItemsError<number>).remaining).toEqual([2, 3, 4]);
    expect((error as UnprocessedItemsError).attempts).toBe(6);
    expect((error as Error).message).toBe("3 write requests still unprocessed after 6 BatchWriteItem calls");
    expect(calls).toHaveLength(6);
    // Five waits, doubling up to the cap and no further.
    expect(delays.map(Math.round)).toEqual([20, 40, 80, 100, 100]);
  });

  it("counts a retryable error of the whole call as one attempt, and names it if it was the last", async () => {
    const throttled = Object.assign(new Error("throttled"), { name: "ProvisionedThroughputExceededException" });
    let calls = 0;
    const send = async (requests: number[]) => {
      calls++;
      throw throttled;
      return requests;
    };
    const options: RetryOptions = { ...policy, maxAttempts: 3, sleep: async () => undefined, retryable: (e) => e === throttled };
    const error = (await sendUntilProcessed([1], send, options).catch((e: unknown) => e)) as UnprocessedItemsError;
    expect(calls).toBe(3);
    expect(error.lastError).toBe(throttled);
    expect(error.message).toContain("the last failed with ProvisionedThroughputExceededException");
  });

  it("fails at once on an error that is not retryable", async () => {
    const refused = Object.assign(new Error("bad item"), { name: "ValidationException" });
    let calls = 0;
    const send = async (): Promise<number[]> => {
      calls++;
      throw refused;
    };
    await expect(sendUntilProcessed([1], send, { ...policy, sleep: async () => undefined })).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it("makes no call for nothing, and refuses a policy with no attempt", async () => {
    const { send, calls } = partlyProcessing("half");
    expect(await sendUntilProcessed([], send, policy)).toBe(0);
    expect(calls).toHaveLength(0);
    await expect(sendUntilProcessed([1], send, { ...policy, maxAttempts: 0 })).rejects.toThrow(RangeError);
  });
});

describe("IngestionStore.clearRejected under throttling", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /**
   * A table that holds three rejected rows and leaves every BatchWriteItem request unprocessed.
   * A caller that resends at once and for ever would never return: the stand-in stops it after
   * 100 calls with nothing waited between them.
   */
  function throttledTable() {
    const batchCalls: number[] = [];
    // A real document client (the paginator checks its class) whose every call is answered here.
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } }));
    Object.assign(client, {
      async send(command: { constructor: { name: string }; input: { RequestItems?: Record<string, unknown[]> } }) {
        if (command.constructor.name === "QueryCommand") return { Items: [1, 2, 3].map((line) => ({ line, reason: "bad" })), $metadata: {} };
        if (command.constructor.name !== "BatchWriteCommand") throw new Error(`unexpected ${command.constructor.name}`);
        batchCalls.push(Date.now());
        if (batchCalls.length >= 100) throw new Error(`a tight loop: ${batchCalls.length} BatchWriteItem calls in ${Date.now() - batchCalls[0]!} ms`);
        return { UnprocessedItems: command.input.RequestItems, $metadata: {} };
      },
    });
    return { client, batchCalls };
  }

  it("waits between resends and gives up after a bounded number of calls", async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const { client, batchCalls } = throttledTable();
    const store = new IngestionStore(client, "ledger", 3600);
    const cleared = store.clearRejected("bucket", "file.csv", "v1").catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    const error = await cleared;
    expect(error).toBeInstanceOf(UnprocessedItemsError);
    expect((error as UnprocessedItemsError).remaining).toHaveLength(3);
    expect(batchCalls.length).toBeLessThan(100);
    // Every resend came after a wait, and the waits grew.
    const gaps = batchCalls.slice(1).map((time, i) => time - batchCalls[i]!);
    expect(gaps.every((gap) => gap > 0)).toBe(true);
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!);
  });
});
