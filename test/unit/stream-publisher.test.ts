import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SNSClient } from "@aws-sdk/client-sns";
import { describe, expect, it } from "vitest";
import { journalPartitionKey } from "../../ledger/keys.js";
import { toItem, type LedgerItem, type LedgerRecord } from "../../ledger/record.js";
import { messageGroupOf, type ChangeMessage } from "../../stream/message.js";
import { callGroups, publishRecords } from "../../stream/publisher.js";
import { DETAIL_TYPES, EVENT_SOURCE, eventBridgeTarget, snsFifoTarget, type ChangeTarget, type TargetFailure } from "../../stream/targets.js";

const seq = (n: number) => n.toString(16).toUpperCase().padStart(20, "0").padEnd(32, "0");

function record(key: string, n: number, overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    bucket: "photos",
    key,
    deleted: false,
    size: n,
    etag: `e${n}`,
    lastModified: "2026-12-01T10:00:00.000Z",
    sequencer: seq(n),
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: "2026-12-01T10:00:00.000Z",
    recordedAt: `2026-12-01T10:00:${String(n % 60).padStart(2, "0")}.000Z`,
    ...overrides,
  } as LedgerRecord;
}

let nextSequence = 100;
function streamRecord(oldItem: LedgerItem | undefined, newItem: LedgerItem | undefined): DynamoDBRecord {
  const image = (item: LedgerItem | undefined) => (item ? (marshall(item, { removeUndefinedValues: true }) as never) : undefined);
  return {
    eventName: newItem ? (oldItem ? "MODIFY" : "INSERT") : "REMOVE",
    dynamodb: {
      SequenceNumber: String(nextSequence++),
      StreamViewType: "NEW_AND_OLD_IMAGES",
      Keys: image({ pk: (newItem ?? oldItem)!.pk, sk: (newItem ?? oldItem)!.sk }),
      ...(oldItem && { OldImage: image(oldItem) }),
      ...(newItem && { NewImage: image(newItem) }),
    },
  };
}

const write = (key: string, n: number) => streamRecord(undefined, toItem(record(key, n)));

/** A target that keeps what it accepted and refuses as `refuse` says, per call. */
function memoryTarget(name: string, refuse: (message: ChangeMessage, call: number) => Omit<TargetFailure, "id"> | undefined = () => undefined) {
  const accepted: ChangeMessage[] = [];
  const calls: ChangeMessage[][] = [];
  const target: ChangeTarget = {
    name,
    async publish(messages) {
      calls.push([...messages]);
      const failures: TargetFailure[] = [];
      for (const message of messages) {
        const refusal = refuse(message, calls.length);
        if (refusal) failures.push({ id: message.id, ...refusal });
        else accepted.push(message);
      }
      return failures;
    },
  };
  return { target, accepted, calls };
}

const sleeps: number[] = [];
const options = (targets: ChangeTarget[], maxAttempts = 3) => ({ targets, maxAttempts, sleep: async (ms: number) => void sleeps.push(ms) });
const throttled = { code: "Throttled", message: "slow down", retryable: true };

describe("call groups", () => {
  const pending = (keys: string[]) => keys.map((key, index) => ({ index, message: { bucket: "b", key } as ChangeMessage }));
  it("puts at most 10 messages in a call", () => {
    const groups = callGroups(pending(Array.from({ length: 21 }, (_, i) => `k${i}`)));
    expect(groups.map((group) => group.length)).toEqual([10, 10, 1]);
  });
  it("starts a new call at a key already in the call, keeping stream order", () => {
    const groups = callGroups(pending(["a", "b", "a", "c", "c"]));
    expect(groups.map((group) => group.map((entry) => entry.message.key))).toEqual([["a", "b"], ["a", "c"], ["c"]]);
    expect(callGroups([])).toEqual([]);
  });
});

describe("publishing a batch of stream records", () => {
  it("publishes each change once, in stream order, and skips what is no change", () => {
    const first = toItem(record("a", 1));
    const described = { ...first, tags: { t: "1" } };
    const journal = { ...first, pk: journalPartitionKey("photos", "a"), sk: `e#${seq(1)}` };
    const { target, accepted } = memoryTarget("sns");
    const records = [
      streamRecord(undefined, first),
      streamRecord(first, described),
      streamRecord(undefined, journal),
      write("b", 2),
      streamRecord(toItem(record("c", 3)), undefined),
    ];
    return publishRecords(records, options([target])).then((report) => {
      expect(report.response).toEqual({ batchItemFailures: [] });
      expect(report.published).toBe(2);
      expect(report.skipped).toBe(3);
      expect(report.failure).toBeUndefined();
      expect(accepted.map((message) => [message.key, message.change])).toEqual([
        ["a", "created"],
        ["b", "created"],
      ]);
    });
  });

  it("never reads the images of the table's other items: a journal entry no codec could read is skipped", async () => {
    const { target, accepted } = memoryTarget("sns");
    const journal = streamRecord(undefined, { pk: journalPartitionKey("photos", "a"), sk: `e#${seq(1)}` });
    journal.dynamodb!.NewImage = { odd: {} } as never;
    const report = await publishRecords([journal, write("a", 1)], options([target]));
    expect(report).toMatchObject({ published: 1, skipped: 1, response: { batchItemFailures: [] } });
    expect(accepted.map((message) => message.key)).toEqual(["a"]);
  });

  it("retries what a target refused for now, and only that", async () => {
    sleeps.length = 0;
    const { target, accepted, calls } = memoryTarget("sns", (message, call) => (message.key === "b" && call === 1 ? throttled : undefined));
    const report = await publishRecords([write("a", 1), write("b", 2), write("c", 3)], options([target]));
    expect(report.response.batchItemFailures).toEqual([]);
    expect(calls.map((call) => call.map((message) => message.key))).toEqual([["a", "b", "c"], ["b"]]);
    expect(accepted.map((message) => message.key)).toEqual(["a", "c", "b"]);
    expect(sleeps).toEqual([100]);
  });

  it("stops at the first record still refused after the attempts, and never publishes a later change of its key", async () => {
    sleeps.length = 0;
    const { target, accepted, calls } = memoryTarget("sns", (message) => (message.key === "b" ? throttled : undefined));
    const records = [write("a", 1), write("b", 2), write("c", 3), write("b", 4), write("d", 5)];
    const report = await publishRecords(records, options([target], 3));
    expect(report.response).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.dynamodb!.SequenceNumber }] });
    expect(report.failure).toEqual({ sequenceNumber: records[1]!.dynamodb!.SequenceNumber, target: "sns", code: "Throttled", message: "slow down" });
    expect(report.published).toBe(0);
    expect(calls).toHaveLength(3);
    expect(accepted.map((message) => message.key)).toEqual(["a", "c"]);
    expect(sleeps).toEqual([100, 200]);
  });

  it("gives up at once on a refusal a retry cannot change", async () => {
    const { target, calls } = memoryTarget("sns", (message) =>
      message.key === "a" ? { code: "InvalidParameter", message: "no", retryable: false } : undefined,
    );
    const records = [write("a", 1), write("b", 2)];
    const report = await publishRecords(records, options([target], 5));
    expect(calls).toHaveLength(1);
    expect(report.response.batchItemFailures).toEqual([{ itemIdentifier: records[0]!.dynamodb!.SequenceNumber }]);
  });

  it("counts a group published only when every target accepted it, and stops at the second target's refusal", async () => {
    const sns = memoryTarget("sns");
    const bus = memoryTarget("eventbridge", (message) => (message.key === "c" ? throttled : undefined));
    const records = [write("a", 1), write("a", 2), write("c", 3), write("d", 4)];
    const report = await publishRecords(records, options([sns.target, bus.target], 1));
    expect(report.published).toBe(1);
    expect(report.failure?.target).toBe("eventbridge");
    expect(report.response.batchItemFailures).toEqual([{ itemIdentifier: records[2]!.dynamodb!.SequenceNumber }]);
    expect(sns.accepted.map((message) => message.size)).toEqual([1, 2, 3, 4]);
  });

  it("fails a whole call that throws, from its first record", async () => {
    sleeps.length = 0;
    let calls = 0;
    const target: ChangeTarget = {
      name: "sns",
      publish: () => {
        calls++;
        return Promise.reject(Object.assign(new Error("socket hang up"), { name: "TimeoutError" }));
      },
    };
    const records = [write("a", 1), write("b", 2)];
    const report = await publishRecords(records, options([target], 2));
    expect(calls).toBe(2);
    expect(report.failure).toMatchObject({ sequenceNumber: records[0]!.dynamodb!.SequenceNumber, code: "TimeoutError", message: "socket hang up" });
    const refused: ChangeTarget = {
      name: "sns",
      publish: () => Promise.reject(Object.assign(new Error("denied"), { name: "AuthorizationError", $fault: "client" })),
    };
    calls = 0;
    const denied = await publishRecords(records, options([refused], 4));
    expect(denied.failure?.code).toBe("AuthorizationError");
  });

  it("stops at an item the codec cannot read, after publishing what came before it", async () => {
    const broken = toItem(record("b", 2));
    delete broken.cause;
    const { target, accepted } = memoryTarget("sns");
    const records = [write("a", 1), streamRecord(undefined, broken), write("c", 3)];
    const report = await publishRecords(records, options([target]));
    expect(accepted.map((message) => message.key)).toEqual(["a"]);
    expect(report.failure).toMatchObject({ sequenceNumber: records[1]!.dynamodb!.SequenceNumber, target: "message", code: "TypeError" });
  });

  it("fails the whole batch when the failed record has no sequence number", async () => {
    const { target } = memoryTarget("sns", () => ({ code: "X", message: "", retryable: false }));
    const bare = write("a", 1);
    delete bare.dynamodb!.SequenceNumber;
    await expect(publishRecords([bare], options([target]))).rejects.toThrow(/no SequenceNumber; sns: X/);
  });
});

describe("targets", () => {
  const message = (key: string, change: ChangeMessage["change"] = "created") => ({ bucket: "photos", key, change, id: `id-${key}` }) as ChangeMessage;

  it("SNS FIFO: one entry per message with its key's group and its id, refusals mapped by entry", async () => {
    const sent: unknown[] = [];
    const client = {
      send: async (command: { input: unknown }) => {
        sent.push(command.input);
        return {
          Failed: [
            { Id: "m1", Code: "InternalError", SenderFault: false },
            { Id: "m0", Code: "InvalidParameter", Message: "bad", SenderFault: true },
          ],
        };
      },
    } as unknown as SNSClient;
    const failures = await snsFifoTarget(client, "arn:aws:sns:eu-west-1:123456789012:t.fifo").publish([message("a"), message("b")]);
    expect(sent).toEqual([
      {
        TopicArn: "arn:aws:sns:eu-west-1:123456789012:t.fifo",
        PublishBatchRequestEntries: [
          { Id: "m0", Message: JSON.stringify(message("a")), MessageGroupId: messageGroupOf("photos", "a"), MessageDeduplicationId: "id-a" },
          { Id: "m1", Message: JSON.stringify(message("b")), MessageGroupId: messageGroupOf("photos", "b"), MessageDeduplicationId: "id-b" },
        ],
      },
    ]);
    expect(failures).toEqual([
      { id: "id-b", code: "InternalError", message: "", retryable: true },
      { id: "id-a", code: "InvalidParameter", message: "bad", retryable: false },
    ]);
  });

  it("EventBridge: a detail-type per change kind, failures by position, retryable only as documented", async () => {
    const sent: unknown[] = [];
    const client = {
      send: async (command: { input: unknown }) => {
        sent.push(command.input);
        return {
          FailedEntryCount: 3,
          Entries: [
            { EventId: "e0" },
            { ErrorCode: "ThrottlingException", ErrorMessage: "slow" },
            { ErrorCode: "AccessDeniedException" },
            { ErrorCode: "InternalFailure" },
          ],
        };
      },
    } as unknown as EventBridgeClient;
    const messages = [message("a"), message("b", "deleted"), message("c", "overwritten"), message("d", "upserted"), message("e")];
    const failures = await eventBridgeTarget(client, "ledger-bus").publish(messages);
    expect((sent[0] as { Entries: unknown[] }).Entries[1]).toEqual({
      EventBusName: "ledger-bus",
      Source: EVENT_SOURCE,
      DetailType: DETAIL_TYPES.deleted,
      Detail: JSON.stringify(messages[1]),
    });
    expect(failures).toEqual([
      { id: "id-b", code: "ThrottlingException", message: "slow", retryable: true },
      { id: "id-c", code: "AccessDeniedException", message: "", retryable: false },
      { id: "id-d", code: "InternalFailure", message: "", retryable: true },
      { id: "id-e", code: "NoResult", message: "", retryable: true },
    ]);
    expect(new Set(Object.values(DETAIL_TYPES)).size).toBe(4);
  });
});
