/**
 * The ledger's conditional writes (ledger/writes.ts) through a recording document client: the
 * exact condition each write sends (the condition is the decision: invariants 1 and 2), how a
 * refusal reads as an outcome, and what the journal is told.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import type { ChangeShardSizer } from "../../ledger/change-index/index.js";
import type { JournalWriter } from "../../ledger/journal-writer.js";
import { toItem, type LedgerItem, type LedgerRecord } from "../../ledger/record.js";
import {
  applyDescription,
  applyMutation,
  applyRepair,
  mutationToRecord,
  readReconciledThrough,
  recordReconciledThrough,
  watermarkKey,
  type DescriptionUpdate,
  type ObjectMutation,
  type WriteContext,
} from "../../ledger/writes.js";
import type { OriginSetting } from "../../ledger/origin.js";

const RECORDED = new Date("2026-11-21T10:00:00.500Z");
const EVENT_TIME = "2026-11-21T09:59:59.000Z";
const SEQ = "0055B9D1B7DC4FA42C";
const NORMALIZED = "0055B9D1B7DC4FA42C00000000000000";

const refused = (item?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({ message: "refused", $metadata: {}, ...(item && { Item: item as never }) });

interface Call {
  kind: "write" | "writeIfAbsent";
  record: LedgerRecord;
  first?: boolean | undefined;
  sortKey?: string | undefined;
  replaced?: LedgerItem | undefined;
}

function context(
  answer: (input: Record<string, unknown>) => unknown = () => ({}),
  options: { journal?: boolean; shards?: number; origin?: OriginSetting; thrown?: unknown[] } = {},
) {
  const inputs: Record<string, unknown>[] = [];
  const attempts: { bucket: string; item: Record<string, unknown> }[] = [];
  const journalCalls: Call[] = [];
  const documentClient = {
    send: async (command: { input: Record<string, unknown> }) => {
      inputs.push(command.input);
      return answer(command.input);
    },
  } as unknown as DynamoDBDocumentClient;
  const shards = {
    placement: async () => ({ recordedAt: RECORDED, shards: options.shards ?? 1 }),
    attempt: async <T>(bucket: string, item: Record<string, unknown>, write: () => Promise<T>) => {
      attempts.push({ bucket, item });
      return write();
    },
  } as unknown as ChangeShardSizer;
  const journal = {
    write: (record: LedgerRecord, first: boolean, sortKey?: string, replaced?: LedgerItem) => {
      journalCalls.push({ kind: "write", record, first, sortKey, replaced });
      return Promise.resolve();
    },
    writeIfAbsent: (record: LedgerRecord) => {
      journalCalls.push({ kind: "writeIfAbsent", record });
      return Promise.resolve();
    },
  } as unknown as JournalWriter;
  const ctx: WriteContext = {
    tableName: "ledger",
    documentClient,
    retentionSeconds: 3600,
    now: () => RECORDED,
    shards,
    ...(options.journal && { journal }),
    ...(options.origin && { origin: options.origin }),
  };
  return { ctx, inputs, attempts, journalCalls };
}

const upsert = (extra: Partial<ObjectMutation> = {}): ObjectMutation =>
  ({
    kind: "upsert",
    bucket: "b",
    key: "photos/a.jpg",
    sequencer: SEQ,
    eventTime: EVENT_TIME,
    eventName: "ObjectCreated:Put",
    state: { size: 7, etag: "e1", lastModified: EVENT_TIME },
    ...extra,
  }) as ObjectMutation;

const deletion = (extra: Partial<ObjectMutation> = {}): ObjectMutation =>
  ({ kind: "delete", bucket: "b", key: "photos/a.jpg", sequencer: SEQ, eventTime: EVENT_TIME, eventName: "ObjectRemoved:Delete", ...extra }) as ObjectMutation;

const liveRecord: LedgerRecord = {
  bucket: "b",
  key: "photos/a.jpg",
  sequencer: NORMALIZED,
  cause: "ObjectCreated:Put",
  source: "event",
  observedAt: EVENT_TIME,
  recordedAt: RECORDED.toISOString(),
  size: 7,
  etag: "e1",
  lastModified: EVENT_TIME,
  deleted: false,
};

describe("mutationToRecord", () => {
  it("records a create with its normalized sequencer, event time and state", () => {
    expect(mutationToRecord(upsert({ eventTime: "2026-11-21T09:59:59Z" }), RECORDED, 3600)).toStrictEqual(liveRecord);
  });

  it("records a delete as a tombstone expiring the retention after its recording, to the second", () => {
    expect(mutationToRecord(deletion({ versionId: "v1" } as never), RECORDED, 3600)).toStrictEqual({
      bucket: "b",
      key: "photos/a.jpg",
      sequencer: NORMALIZED,
      cause: "ObjectRemoved:Delete",
      source: "event",
      observedAt: EVENT_TIME,
      recordedAt: RECORDED.toISOString(),
      deleted: true,
      versionId: "v1",
      expiresAt: Math.floor(RECORDED.getTime() / 1000) + 3600,
    });
    expect(mutationToRecord(deletion(), new Date("2026-11-21T10:00:00.999Z"), 10)).toMatchObject({ expiresAt: 1_795_255_210 });
    expect(mutationToRecord(deletion(), RECORDED, 10)).not.toHaveProperty("versionId");
  });

  it("keeps an origin only when it names something", () => {
    expect(mutationToRecord(upsert({ origin: {} }), RECORDED, 1)).not.toHaveProperty("origin");
    expect(mutationToRecord(upsert({ origin: { requester: "P" } }), RECORDED, 1)).toMatchObject({ origin: { requester: "P" } });
  });
});

describe("applyMutation", () => {
  const CONDITION = "attribute_not_exists(#pk) OR #seq < :seq OR (attribute_not_exists(#seq) AND #observedAt < :observedAt)";
  const NAMES = { "#pk": "pk", "#seq": "seq", "#observedAt": "observedAt" };

  it("puts the item only over an older sequencer, or over a repair observed before the event", async () => {
    const { ctx, inputs, attempts } = context();
    const applied = await applyMutation(ctx, upsert());
    expect(applied.outcome).toBe("applied");
    await expect(applied.journaled).resolves.toBeUndefined();
    expect(inputs).toStrictEqual([
      {
        TableName: "ledger",
        Item: toItem(liveRecord, 1),
        ConditionExpression: CONDITION,
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: { ":seq": NORMALIZED, ":observedAt": EVENT_TIME },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      },
    ]);
    expect(attempts).toStrictEqual([{ bucket: "b", item: toItem(liveRecord, 1) }]);
  });

  it("writes the item with the shard count in force at its recording", async () => {
    const { ctx, inputs } = context(() => ({}), { shards: 4 });
    await applyMutation(ctx, upsert());
    expect(inputs[0]!.Item).toStrictEqual(toItem(liveRecord, 4));
  });

  it("lets a create start a key only if it is not older than the bucket's reconciled-through watermark", async () => {
    const { ctx, inputs } = context();
    await applyMutation(ctx, upsert({ reconciledThrough: "2026-11-21T09:00:00.000Z" } as never));
    expect(inputs[0]).toMatchObject({
      ConditionExpression:
        "(attribute_not_exists(#pk) AND :observedAt >= :reconciledThrough) OR #seq < :seq OR (attribute_not_exists(#seq) AND #observedAt < :observedAt)",
      ExpressionAttributeValues: { ":seq": NORMALIZED, ":observedAt": EVENT_TIME, ":reconciledThrough": "2026-11-21T09:00:00.000Z" },
    });
  });

  it("reads a refusal without the item as predating reconciliation, with an equal sequencer as a duplicate, else superseded", async () => {
    const outcomes: string[] = [];
    for (const failure of [refused(), refused({ seq: { S: NORMALIZED } }), refused({ seq: { S: "F".repeat(32) } }), refused({})]) {
      const { ctx } = context(() => Promise.reject(failure));
      outcomes.push((await applyMutation(ctx, upsert())).outcome);
    }
    expect(outcomes).toEqual(["predatesReconciliation", "duplicate", "superseded", "superseded"]);
  });

  it("fails on any other error", async () => {
    const { ctx } = context(() => Promise.reject(new Error("throttled")));
    await expect(applyMutation(ctx, upsert())).rejects.toThrow("throttled");
  });

  it("refuses an invalid key before writing anything", async () => {
    const { ctx, inputs } = context();
    await expect(applyMutation(ctx, upsert({ key: "" }))).rejects.toThrow();
    expect(inputs).toEqual([]);
  });

  it("with the journal: asks for the item replaced and journals the change as the key's first when nothing was", async () => {
    const held = { pk: "b#01", seq: "0".repeat(32) };
    const answers: unknown[] = [{}, { Attributes: held }];
    const { ctx, inputs, journalCalls } = context(() => answers.shift(), { journal: true });
    await applyMutation(ctx, upsert());
    await applyMutation(ctx, upsert());
    expect(inputs[0]).toMatchObject({ ReturnValues: "ALL_OLD", ReturnValuesOnConditionCheckFailure: "ALL_OLD" });
    expect(journalCalls).toStrictEqual([
      { kind: "write", record: liveRecord, first: true, sortKey: undefined, replaced: undefined },
      { kind: "write", record: liveRecord, first: false, sortKey: undefined, replaced: held },
    ]);
  });

  it("with the journal: journals a skipped change too, and a duplicate only where its entry is missing", async () => {
    const failures = [refused({ seq: { S: "F".repeat(32) } }), refused(), refused({ seq: { S: NORMALIZED } })];
    const { ctx, journalCalls } = context(() => Promise.reject(failures.shift()), { journal: true });
    expect((await applyMutation(ctx, upsert())).outcome).toBe("superseded");
    expect((await applyMutation(ctx, upsert())).outcome).toBe("predatesReconciliation");
    expect((await applyMutation(ctx, upsert())).outcome).toBe("duplicate");
    expect(journalCalls).toStrictEqual([
      { kind: "write", record: liveRecord, first: false, sortKey: undefined, replaced: undefined },
      { kind: "write", record: liveRecord, first: false, sortKey: undefined, replaced: undefined },
      { kind: "writeIfAbsent", record: liveRecord },
    ]);
  });

  it("keeps only the origin the setting keeps, on the item and the entry", async () => {
    const origin = { requester: "P", sourceIp: "192.0.2.1", requestId: "R" };
    const written = async (setting?: OriginSetting) => {
      const { ctx, inputs, journalCalls } = context(() => ({}), { journal: true, ...(setting && { origin: setting }) });
      await applyMutation(ctx, upsert({ origin }));
      return { item: inputs[0]!.Item as Record<string, unknown>, entry: journalCalls[0]!.record };
    };
    const full = await written("full");
    expect(full.entry.origin).toStrictEqual(origin);
    expect((await written()).entry.origin).toStrictEqual(origin);
    const principal = await written("principal");
    expect(principal.entry.origin).toStrictEqual({ requester: "P", requestId: "R" });
    expect(principal.item).not.toHaveProperty("sourceIp");
    const none = await written("none");
    expect(none.entry).not.toHaveProperty("origin");
    expect(none.item).not.toHaveProperty("requester");
  });
});

describe("applyDescription", () => {
  const DESCRIBED = "2026-11-21T10:00:00.100Z";
  const update = (extra: Partial<DescriptionUpdate> = {}): DescriptionUpdate => ({
    bucket: "b",
    key: "photos/a.jpg",
    state: { size: 7, etag: "e1", lastModified: EVENT_TIME, describedAt: DESCRIBED, tags: { team: "x" }, storageClass: "GLACIER" },
    replaces: ["tags", "storageClass", "contentType"],
    eventName: "ObjectTagging:Put",
    eventTime: EVENT_TIME,
    ...extra,
  });

  it("replaces only the details it covers, removing those it found absent, on the live version with that ETag described earlier", async () => {
    const { ctx, inputs } = context();
    const applied = await applyDescription(ctx, update());
    expect(applied).toStrictEqual({ outcome: "applied", journaled: expect.any(Promise) });
    expect(inputs).toStrictEqual([
      {
        TableName: "ledger",
        Key: { pk: expect.stringMatching(/^b#/), sk: "photos/a.jpg" },
        UpdateExpression: "SET #d2 = :d2, #d5 = :d5, #d8 = :d8 REMOVE #d0",
        ConditionExpression:
          "attribute_exists(#pk) AND #deleted = :false AND #etag = :etag AND (attribute_not_exists(#describedAt) OR #describedAt < :describedAt)",
        ExpressionAttributeNames: {
          "#pk": "pk",
          "#deleted": "deleted",
          "#etag": "etag",
          "#describedAt": "describedAt",
          "#d0": "contentType",
          "#d2": "tags",
          "#d5": "storageClass",
          "#d8": "describedAt",
        },
        ExpressionAttributeValues: { ":false": false, ":etag": "e1", ":describedAt": DESCRIBED, ":d2": { team: "x" }, ":d5": "GLACIER", ":d8": DESCRIBED },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      },
    ]);
  });

  it("sends no REMOVE when every detail covered is present", async () => {
    const { ctx, inputs } = context();
    await applyDescription(ctx, update({ replaces: ["tags"] }));
    expect(inputs[0]!.UpdateExpression).toBe("SET #d2 = :d2, #d8 = :d8");
  });

  it("reads a refusal: the live version with that ETag held means superseded, anything else the version is not held", async () => {
    const outcome = async (item?: Record<string, unknown>) => {
      const { ctx } = context(() => Promise.reject(refused(item)));
      const { journaled, ...rest } = await applyDescription(ctx, update());
      await journaled;
      return rest;
    };
    expect(await outcome({ deleted: { BOOL: false }, etag: { S: "e1" } })).toStrictEqual({ outcome: "superseded" });
    expect(await outcome({ deleted: { BOOL: false }, etag: { S: "e2" } })).toStrictEqual({ outcome: "versionNotHeld", heldLive: true });
    expect(await outcome({ deleted: { BOOL: true }, etag: { S: "e1" } })).toStrictEqual({ outcome: "versionNotHeld", heldLive: false });
    expect(await outcome({ etag: { S: "e1" } })).toStrictEqual({ outcome: "versionNotHeld", heldLive: false });
    expect(await outcome()).toStrictEqual({ outcome: "versionNotHeld", heldLive: false });
    const { ctx } = context(() => Promise.reject(new Error("down")));
    await expect(applyDescription(ctx, update())).rejects.toThrow("down");
  });

  it("journals an applied or superseded description under its event time and request id, and no version not held", async () => {
    const answers: (() => unknown)[] = [
      () => ({}),
      () => Promise.reject(refused({ deleted: { BOOL: false }, etag: { S: "e1" } })),
      () => Promise.reject(refused()),
      () => ({}),
    ];
    const { ctx, journalCalls } = context(() => answers.shift()!(), { journal: true });
    await applyDescription(ctx, update({ origin: { requestId: "R1", requester: "P" } }));
    await applyDescription(ctx, update({ origin: {} }));
    await applyDescription(ctx, update());
    await applyDescription(ctx, update());
    const record = {
      bucket: "b",
      key: "photos/a.jpg",
      ...update().state,
      deleted: false,
      cause: "ObjectTagging:Put",
      source: "event",
      observedAt: EVENT_TIME,
      recordedAt: RECORDED.toISOString(),
    };
    expect(journalCalls).toStrictEqual([
      { kind: "write", record: { ...record, origin: { requestId: "R1", requester: "P" } }, first: false, sortKey: `d#${EVENT_TIME}#R1`, replaced: undefined },
      { kind: "write", record, first: false, sortKey: `d#${EVENT_TIME}#${RECORDED.toISOString()}`, replaced: undefined },
      { kind: "write", record, first: false, sortKey: `d#${EVENT_TIME}#${RECORDED.toISOString()}`, replaced: undefined },
    ]);
  });

  it("names its entry by the recording time when the setting keeps no request id", async () => {
    const { ctx, journalCalls } = context(() => ({}), { journal: true, origin: "none" });
    await applyDescription(ctx, update({ origin: { requestId: "R1" } }));
    expect(journalCalls[0]!.sortKey).toBe(`d#${EVENT_TIME}#${RECORDED.toISOString()}`);
    expect(journalCalls[0]!.record).not.toHaveProperty("origin");
  });

  it("refuses an invalid key before writing", async () => {
    const { ctx, inputs } = context();
    await expect(applyDescription(ctx, update({ key: "" }))).rejects.toThrow();
    expect(inputs).toEqual([]);
  });
});

describe("applyRepair", () => {
  const SNAPSHOT = new Date("2026-11-21T03:00:00.000Z");
  const base = { bucket: "b", key: "k", source: "reconcile", observedAt: SNAPSHOT.toISOString(), recordedAt: RECORDED.toISOString() };

  it("writes the source's state only over an item recorded before the snapshot, with no sequencer", async () => {
    const { ctx, inputs, attempts } = context();
    const state = { size: 3, etag: "e", lastModified: "2026-11-20T00:00:00.000Z" };
    const applied = await applyRepair(ctx, { kind: "missing", bucket: "b", key: "k", state, snapshotTime: SNAPSHOT });
    expect(applied.outcome).toBe("repaired");
    const record = { ...base, cause: "Reconcile:Missing", ...state, deleted: false } as LedgerRecord;
    expect(inputs).toStrictEqual([
      {
        TableName: "ledger",
        Item: toItem(record, 1),
        ConditionExpression: "attribute_not_exists(#pk) OR #recordedAt < :snapshot",
        ExpressionAttributeNames: { "#pk": "pk", "#recordedAt": "recordedAt" },
        ExpressionAttributeValues: { ":snapshot": SNAPSHOT.toISOString() },
      },
    ]);
    expect(attempts).toHaveLength(1);
  });

  it("names each kind of drift as its cause; an orphan becomes a tombstone expiring after the retention", async () => {
    const { ctx, inputs } = context();
    await applyRepair(ctx, { kind: "stale", bucket: "b", key: "k", state: { size: 1, etag: "x", lastModified: "t" }, snapshotTime: SNAPSHOT });
    await applyRepair(ctx, { kind: "orphaned", bucket: "b", key: "k", snapshotTime: SNAPSHOT });
    expect((inputs[0]!.Item as LedgerItem).cause).toBe("Reconcile:Stale");
    expect(inputs[1]!.Item).toStrictEqual(
      toItem({ ...base, cause: "Reconcile:Orphaned", deleted: true, expiresAt: Math.floor(RECORDED.getTime() / 1000) + 3600 } as LedgerRecord, 1),
    );
  });

  it("keeps a newer state when refused, and fails on other errors", async () => {
    const { ctx, journalCalls } = context(() => Promise.reject(refused()), { journal: true });
    expect((await applyRepair(ctx, { kind: "orphaned", bucket: "b", key: "k", snapshotTime: SNAPSHOT })).outcome).toBe("newerStateKept");
    expect(journalCalls).toEqual([]);
    const failing = context(() => Promise.reject(new Error("down")));
    await expect(applyRepair(failing.ctx, { kind: "orphaned", bucket: "b", key: "k", snapshotTime: SNAPSHOT })).rejects.toThrow("down");
  });

  it("with the journal: asks for the item replaced and journals the repair, first when nothing was held", async () => {
    const held = { pk: "x" };
    const answers: unknown[] = [{}, { Attributes: held }];
    const { ctx, inputs, journalCalls } = context(() => answers.shift(), { journal: true });
    await applyRepair(ctx, { kind: "orphaned", bucket: "b", key: "k", snapshotTime: SNAPSHOT });
    await applyRepair(ctx, { kind: "orphaned", bucket: "b", key: "k", snapshotTime: SNAPSHOT });
    expect(inputs[0]).toMatchObject({ ReturnValues: "ALL_OLD" });
    expect(journalCalls.map(({ first, replaced }) => ({ first, replaced }))).toStrictEqual([
      { first: true, replaced: undefined },
      { first: false, replaced: held },
    ]);
  });
});

describe("the reconciled-through watermark", () => {
  it("is one item beside the bucket's runs, read consistently", async () => {
    expect(watermarkKey("b")).toStrictEqual({ pk: "reconcile#b", sk: "watermark" });
    const answers: unknown[] = [{ Item: { reconciledThrough: "2026-11-21T03:00:00.000Z" } }, {}];
    const { ctx, inputs } = context(() => answers.shift());
    expect(await readReconciledThrough(ctx, "b")).toBe("2026-11-21T03:00:00.000Z");
    expect(await readReconciledThrough(ctx, "b")).toBeUndefined();
    expect(inputs[0]).toStrictEqual({ TableName: "ledger", Key: { pk: "reconcile#b", sk: "watermark" }, ConsistentRead: true });
  });

  it("moves forward only, keeping the first snapshot recorded; a refusal is not an error", async () => {
    const failures: unknown[] = [undefined, refused(), new Error("down")];
    const { ctx, inputs } = context(() => {
      const failure = failures.shift();
      return failure ? Promise.reject(failure) : {};
    });
    await recordReconciledThrough(ctx, "b", new Date("2026-11-21T03:00:00.000Z"));
    expect(inputs[0]).toStrictEqual({
      TableName: "ledger",
      Key: { pk: "reconcile#b", sk: "watermark" },
      UpdateExpression:
        "SET #bucket = :bucket, #reconciledThrough = :snapshot, #recordedAt = :now, #firstReconciledThrough = if_not_exists(#firstReconciledThrough, :snapshot)",
      ConditionExpression: "attribute_not_exists(#pk) OR #reconciledThrough < :snapshot",
      ExpressionAttributeNames: {
        "#pk": "pk",
        "#bucket": "bucket",
        "#reconciledThrough": "reconciledThrough",
        "#recordedAt": "recordedAt",
        "#firstReconciledThrough": "firstReconciledThrough",
      },
      ExpressionAttributeValues: { ":bucket": "b", ":snapshot": "2026-11-21T03:00:00.000Z", ":now": RECORDED.toISOString() },
    });
    await expect(recordReconciledThrough(ctx, "b", new Date())).resolves.toBeUndefined();
    await expect(recordReconciledThrough(ctx, "b", new Date())).rejects.toThrow("down");
  });
});
