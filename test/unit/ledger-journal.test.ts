/**
 * The journal (ledger/history.ts, ledger/journal-writer.ts) and erasure (ledger/erase.ts) over an
 * in-memory table: entry and start items, the order of a key's history, when it is complete,
 * pages and their cursors, batching, and which deletes and removals an erasure sends.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eraseKey, eraseRequester, MAX_ERASE_SEGMENTS } from "../../ledger/erase.js";
import { InvalidCursorError } from "../../ledger/errors.js";
import { ARRIVAL_SLACK_MS, journalItems, pageHistory, readHistory, toEntryItem, toStartItem, type History } from "../../ledger/history.js";
import { JournalWriter } from "../../ledger/journal-writer.js";
import { journalPartitionKey, partitionKeyOf } from "../../ledger/keys.js";
import { toItem, type LedgerRecord } from "../../ledger/record.js";
import { fakeLedgerTable, type Item, type Sent } from "./fake-ledger-table.js";

const NOW = new Date("2026-11-21T12:00:00.000Z");
const NOW_S = NOW.getTime() / 1000;
const PK = journalPartitionKey("b", "k");

const event = (sequencer: string, observedAt: string, recordedAt = observedAt, extra: Partial<LedgerRecord> = {}): LedgerRecord =>
  ({
    bucket: "b",
    key: "k",
    sequencer,
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt,
    recordedAt,
    deleted: false,
    size: 1,
    etag: `e${sequencer}`,
    lastModified: observedAt,
    ...extra,
  }) as LedgerRecord;

const repair = (observedAt: string, recordedAt: string): LedgerRecord => ({
  bucket: "b",
  key: "k",
  cause: "Reconcile:Orphaned",
  source: "reconcile",
  observedAt,
  recordedAt,
  deleted: true,
  expiresAt: 1,
});

describe("journal items", () => {
  it("keeps an entry under the key's journal partition, out of the change index, with its own TTL and the state it replaced", () => {
    const record = event("0A", "2026-11-21T10:00:00.000Z");
    const replaced = toItem(event("09", "2026-11-21T09:00:00.000Z"));
    const item = toEntryItem(record, 99, undefined, replaced);
    const { changeDay, changeToken, ...current } = toItem(record);
    expect(changeDay).toBeDefined();
    expect(changeToken).toBeDefined();
    expect(item).toStrictEqual({
      ...current,
      pk: PK,
      sk: "e#0A",
      objectKey: "k",
      expiresAt: 99,
      prior: { deleted: false, observedAt: "2026-11-21T09:00:00.000Z", source: "event", size: 1, etag: "e09", lastModified: "2026-11-21T09:00:00.000Z" },
    });
    expect(toEntryItem(record, 99)).not.toHaveProperty("prior");
    expect(toEntryItem(record, 99, "d#x").sk).toBe("d#x");
    expect(toEntryItem(repair("2026-11-21T03:00:00.000Z", "2026-11-21T04:00:00.000Z"), 1).sk).toBe("r#2026-11-21T04:00:00.000Z");
  });

  it("marks the key's start with the entry that found the ledger empty", () => {
    expect(toStartItem(event("0A", "2026-11-21T10:00:00.000Z"), 7)).toStrictEqual({
      pk: PK,
      sk: "start",
      bucket: "b",
      objectKey: "k",
      entry: "e#0A",
      expiresAt: 7,
    });
    expect(toStartItem(repair("2026-11-21T03:00:00.000Z", "2026-11-21T04:00:00.000Z"), 7).entry).toBe("r#2026-11-21T04:00:00.000Z");
  });
});

function journal(items: Item[]) {
  const fake = fakeLedgerTable(items);
  return { ...fake, ctx: { tableName: "ledger", documentClient: fake.client, shardCount: 16 } };
}

describe("readHistory", () => {
  const e1 = event("01", "2026-11-21T09:00:00.000Z");
  const e2 = event("02", "2026-11-21T10:00:00.000Z");
  const r = repair("2026-11-21T09:30:00.000Z", "2026-11-21T09:40:00.000Z");
  const late = repair("2026-11-21T11:00:00.000Z", "2026-11-21T11:00:01.000Z");
  const live = NOW_S + 60;

  it("orders events by sequencer and each repair before the first event after its snapshot; complete from its start", async () => {
    const { ctx, queries } = journal([
      toEntryItem(late, live),
      toEntryItem(e2, live),
      toEntryItem(r, live),
      toEntryItem(e1, live),
      toStartItem(e1, live),
      // Another key hashing to the same partition, and another bucket: not this key's.
      { ...toEntryItem({ ...e1, key: "other" }, live), pk: PK },
    ]);
    const history = await readHistory(ctx, "b", "k", NOW);
    expect(history.entries.map(({ sequencer, observedAt }) => sequencer ?? observedAt)).toEqual([
      "01",
      "2026-11-21T09:30:00.000Z",
      "02",
      "2026-11-21T11:00:00.000Z",
    ]);
    expect(history.entries.map(({ first }) => first)).toEqual([true, false, false, false]);
    expect(history.entries[0]).toStrictEqual({ ...e1, first: true });
    expect(history.complete).toBe(true);
    expect(queries()).toStrictEqual([
      { TableName: "ledger", KeyConditionExpression: "#pk = :pk", ExpressionAttributeNames: { "#pk": "pk" }, ExpressionAttributeValues: { ":pk": PK } },
    ]);
  });

  it("puts a repair observed at an event's time after it", async () => {
    const same = repair(e1.observedAt, "2026-11-21T12:00:00.000Z");
    const { ctx } = journal([toEntryItem(same, live), toEntryItem(e1, live)]);
    expect((await readHistory(ctx, "b", "k", NOW)).entries.map(({ source }) => source)).toEqual(["event", "reconcile"]);
  });

  it("leaves out entries past their TTL and is then incomplete", async () => {
    const { ctx } = journal([toEntryItem(e1, NOW_S), toStartItem(e1, NOW_S), toEntryItem(e2, NOW_S + 1)]);
    const history = await readHistory(ctx, "b", "k", NOW);
    expect(history.entries.map(({ sequencer }) => sequencer)).toEqual(["02"]);
    expect(history.complete).toBe(false);
  });

  it("is incomplete without a start, and when an entry before the start was recorded before it (a remnant of an older history)", async () => {
    expect((await readHistory(journal([toEntryItem(e1, live)]).ctx, "b", "k", NOW)).complete).toBe(false);
    const recordedLater = event("01", e1.observedAt, "2026-11-21T10:30:00.000Z");
    const lateArrival = journal([toEntryItem(recordedLater, live), toEntryItem(e2, live), toStartItem(e2, live)]);
    expect((await readHistory(lateArrival.ctx, "b", "k", NOW)).complete).toBe(true);
    const sameTime = event("01", e1.observedAt, e2.recordedAt);
    expect((await readHistory(journal([toEntryItem(sameTime, live), toEntryItem(e2, live), toStartItem(e2, live)]).ctx, "b", "k", NOW)).complete).toBe(true);
    const remnant = journal([toEntryItem(e1, live), toEntryItem(e2, live), toStartItem(e2, live)]);
    expect((await readHistory(remnant.ctx, "b", "k", NOW)).complete).toBe(false);
  });

  it("is complete when an entry before the start was stamped up to 15 minutes before it (two deliveries racing), not more", async () => {
    const stampedBefore = (ms: number) => event("01", e1.observedAt, new Date(Date.parse(e2.recordedAt) - ms).toISOString());
    const complete = async (ms: number) =>
      (await readHistory(journal([toEntryItem(stampedBefore(ms), live), toEntryItem(e2, live), toStartItem(e2, live)]).ctx, "b", "k", NOW)).complete;
    expect(ARRIVAL_SLACK_MS).toBe(15 * 60_000);
    expect(await complete(1)).toBe(true);
    expect(await complete(ARRIVAL_SLACK_MS)).toBe(true);
    expect(await complete(ARRIVAL_SLACK_MS + 1)).toBe(false);
  });

  it("reads the start's expiry like any entry's", async () => {
    const { ctx } = journal([toEntryItem(e1, live), toStartItem(e1, NOW_S - 1)]);
    const history = await readHistory(ctx, "b", "k", NOW);
    expect(history.entries[0]!.first).toBe(false);
    expect(history.complete).toBe(false);
  });

  it("lets a journal read be consistent, and yields only the key's own items", async () => {
    const { ctx, queries } = journal([toEntryItem(e1, live), { ...toEntryItem({ ...e1, bucket: "c" }, live), pk: PK }]);
    const items: Item[] = [];
    for await (const item of journalItems(ctx, "b", "k", { consistentRead: true })) items.push(item);
    expect(items).toHaveLength(1);
    expect(queries()[0]).toMatchObject({ ConsistentRead: true });
  });
});

describe("pageHistory", () => {
  const records = ["01", "02", "03", "04"].map((seq, index) => event(seq, `2026-11-21T0${index}:00:00.000Z`));
  const read = async (): Promise<History> => readHistory(journal(records.map((record) => toEntryItem(record, NOW_S + 60))).ctx, "b", "k", NOW);

  it("takes up to the limit, with a cursor naming the last entry only while more remain", async () => {
    const history = await read();
    const first = pageHistory(history, { limit: 2 });
    expect(first.entries.map(({ sequencer }) => sequencer)).toEqual(["01", "02"]);
    expect(first.complete).toBe(false);
    const second = pageHistory(history, { limit: 2, cursor: first.cursor! });
    expect(second.entries.map(({ sequencer }) => sequencer)).toEqual(["03", "04"]);
    expect(second).not.toHaveProperty("cursor");
    expect(pageHistory(history, { limit: 4 })).not.toHaveProperty("cursor");
    expect(pageHistory(history, { limit: 3 }).cursor).toBeDefined();
  });

  it("stops before the entry that would exceed its bytes, always taking the first", async () => {
    const history = await read();
    const sizeOf = () => 10;
    expect(pageHistory(history, { limit: 10, maxBytes: 20, sizeOf }).entries).toHaveLength(2);
    expect(pageHistory(history, { limit: 10, maxBytes: 19, sizeOf }).entries).toHaveLength(1);
    expect(pageHistory(history, { limit: 10, maxBytes: 1, sizeOf }).entries).toHaveLength(1);
    expect(pageHistory(history, { limit: 10, maxBytes: 1 }).entries).toHaveLength(4);
  });

  it("refuses a cursor whose entry has expired, or one of another key", async () => {
    const history = await read();
    const { cursor } = pageHistory(history, { limit: 1 });
    const without = { ...history, entries: history.entries.slice(1) };
    expect(() => pageHistory(without, { limit: 1, cursor: cursor! })).toThrow(
      new InvalidCursorError("cursor expired: the history entry it resumes after is no longer kept; read the history again"),
    );
    expect(() => pageHistory({ ...history, key: "other" }, { limit: 1, cursor: cursor! })).toThrow(InvalidCursorError);
  });
});

describe("JournalWriter", () => {
  afterEach(() => vi.useRealTimers());

  function writer(answer: (sent: Sent) => unknown = () => undefined) {
    const fake = fakeLedgerTable([], { onSend: answer });
    return { ...fake, journal: new JournalWriter({ tableName: "ledger", documentClient: fake.client, retentionSeconds: 100 }) };
  }
  const record = event("0A", "2026-11-21T10:00:00.000Z", "2026-11-21T10:00:00.900Z");
  const expiresAt = Math.floor(new Date(record.recordedAt).getTime() / 1000) + 100;

  it("writes an entry expiring the retention after its recording, and the start only for the key's first change", async () => {
    const { journal, sent } = writer();
    await Promise.all([journal.write(record, true), journal.write(event("0B", "2026-11-21T10:00:01.000Z"), false)]);
    expect(sent).toHaveLength(1);
    const puts = (sent[0]!.input.RequestItems as Record<string, { PutRequest: { Item: Item } }[]>).ledger!.map(({ PutRequest }) => PutRequest.Item);
    expect(puts).toStrictEqual([
      toEntryItem(record, expiresAt),
      toStartItem(record, expiresAt),
      toEntryItem(event("0B", "2026-11-21T10:00:01.000Z"), Date.parse("2026-11-21T10:00:01.000Z") / 1000 + 100),
    ]);
  });

  it("sends a full batch of 25 at once, and writes one item once when a batch holds it twice", async () => {
    vi.useFakeTimers();
    const { journal, sent } = writer();
    const written = Array.from({ length: 25 }, (_, index) => journal.write(event(index.toString(16).padStart(2, "0"), record.observedAt), false));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    await Promise.all(written);
    const twice = [journal.write(record, false), journal.write(record, false)];
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(twice);
    expect(sent).toHaveLength(2);
    expect((sent[1]!.input.RequestItems as Record<string, unknown[]>).ledger).toHaveLength(1);
  });

  it("fails every write of a batch that failed, without an unhandled rejection", async () => {
    const { journal } = writer(() => Promise.reject(new Error("down")));
    const abandoned = journal.write(event("0C", record.observedAt), true);
    await expect(journal.write(record, false)).rejects.toThrow("down");
    await expect(abandoned).rejects.toThrow("down");
  });

  it("writes a redelivered change's entry only where none is", async () => {
    const failures: unknown[] = [undefined, new ConditionalCheckFailedException({ message: "held", $metadata: {} }), new Error("down")];
    const { journal, sent } = writer(() => {
      const failure = failures.shift();
      return failure ? Promise.reject(failure) : {};
    });
    await journal.writeIfAbsent(record);
    expect(sent[0]).toStrictEqual({
      command: "PutCommand",
      input: {
        TableName: "ledger",
        Item: toEntryItem(record, expiresAt),
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": "pk" },
      },
    });
    await expect(journal.writeIfAbsent(record)).resolves.toBeUndefined();
    await expect(journal.writeIfAbsent(record)).rejects.toThrow("down");
  });
});

describe("eraseKey", () => {
  const origin = { requester: "P", requestId: "R" };
  const e1 = event("01", "2026-11-21T09:00:00.000Z", undefined, { origin });
  const entries = [toEntryItem(e1, 1), toStartItem(e1, 1), toEntryItem(event("02", "2026-11-21T10:00:00.000Z"), 1)];
  const current = { ...toItem(e1), pk: partitionKeyOf("b", "k") };

  it("deletes each entry only if it still holds what was read, and removes the item's origin the same way", async () => {
    const { client, sent } = fakeLedgerTable([...entries, current], {
      onSend: ({ command, input }) => {
        if (command === "DeleteCommand" && (input.Key as Item).sk === "e#02")
          return Promise.reject(new ConditionalCheckFailedException({ message: "changed", $metadata: {} }));
        return undefined;
      },
    });
    const result = await eraseKey({ tableName: "ledger", documentClient: client }, { bucket: "b", key: "k", dryRun: false });
    expect(result).toStrictEqual({ bucket: "b", key: "k", dryRun: false, historyEntries: 2, itemOrigin: true, skipped: 1 });
    const deletes = sent.filter(({ command }) => command === "DeleteCommand").map(({ input }) => input);
    expect(deletes).toContainEqual({
      TableName: "ledger",
      Key: { pk: PK, sk: "e#01" },
      ConditionExpression: "#held = :held",
      ExpressionAttributeNames: { "#held": "recordedAt" },
      ExpressionAttributeValues: { ":held": e1.recordedAt },
    });
    expect(deletes).toContainEqual({
      TableName: "ledger",
      Key: { pk: PK, sk: "start" },
      ConditionExpression: "#held = :held",
      ExpressionAttributeNames: { "#held": "entry" },
      ExpressionAttributeValues: { ":held": "e#01" },
    });
    expect(sent.find(({ command }) => command === "QueryCommand")!.input).toMatchObject({ ConsistentRead: true });
    expect(sent.find(({ command }) => command === "GetCommand")!.input).toStrictEqual({
      TableName: "ledger",
      Key: { pk: current.pk, sk: "k" },
      ConsistentRead: true,
    });
    expect(sent.find(({ command }) => command === "UpdateCommand")!.input).toMatchObject({
      Key: { pk: current.pk, sk: "k" },
      ExpressionAttributeValues: { ":recordedAt": e1.recordedAt },
    });
  });

  it("counts an item changed since read as skipped, fails on other errors, and leaves an item without origin alone", async () => {
    const changed = fakeLedgerTable([current], {
      onSend: ({ command }) =>
        command === "UpdateCommand" ? Promise.reject(new ConditionalCheckFailedException({ message: "changed", $metadata: {} })) : undefined,
    });
    expect(await eraseKey({ tableName: "ledger", documentClient: changed.client }, { bucket: "b", key: "k", dryRun: false })).toMatchObject({
      itemOrigin: false,
      skipped: 1,
    });
    const failing = fakeLedgerTable(entries, { onSend: ({ command }) => (command === "DeleteCommand" ? Promise.reject(new Error("down")) : undefined) });
    await expect(eraseKey({ tableName: "ledger", documentClient: failing.client }, { bucket: "b", key: "k", dryRun: false })).rejects.toThrow("down");
    const plain = fakeLedgerTable([{ ...current, requester: undefined, requestId: undefined }]);
    expect(await eraseKey({ tableName: "ledger", documentClient: plain.client }, { bucket: "b", key: "k", dryRun: false })).toMatchObject({
      itemOrigin: false,
      skipped: 0,
    });
    expect(plain.sent.map(({ command }) => command)).toEqual(["QueryCommand", "GetCommand"]);
  });

  it("in a dry run counts the same and writes nothing", async () => {
    const { client, sent } = fakeLedgerTable([...entries, current]);
    expect(await eraseKey({ tableName: "ledger", documentClient: client }, { bucket: "b", key: "k", dryRun: true })).toStrictEqual({
      bucket: "b",
      key: "k",
      dryRun: true,
      historyEntries: 3,
      itemOrigin: true,
      skipped: 0,
    });
    expect(sent.map(({ command }) => command)).toEqual(["QueryCommand", "GetCommand"]);
  });
});

describe("eraseRequester", () => {
  const scan = (pages: Item[][], failAt?: string) => {
    const progress: unknown[] = [];
    const { client, sent } = fakeLedgerTable([], {
      onSend: ({ command, input }) => {
        if (command === "ScanCommand") return { Items: pages[input.Segment as number] ?? [], ScannedCount: 10 };
        if ((input.Key as Item).sk === failAt) return Promise.reject(new ConditionalCheckFailedException({ message: "changed", $metadata: {} }));
        return {};
      },
    });
    return { client, sent, progress };
  };

  it("scans the table in segments for the requester, removing the origin of each match unless it changed", async () => {
    const items = [
      { pk: "p", sk: "a", recordedAt: "t1", requester: "P" },
      { pk: "p", sk: "b", recordedAt: "t2", requester: "P" },
    ];
    const { client, sent } = scan([[items[0]!], [items[1]!]], "b");
    const progress: number[] = [];
    const result = await eraseRequester(
      { tableName: "ledger", documentClient: client },
      { requester: "P", dryRun: false, segments: 2, onProgress: ({ scanned }) => progress.push(scanned) },
    );
    expect(result).toStrictEqual({ requester: "P", dryRun: false, scanned: 20, erased: 1, skipped: 1 });
    expect(progress).toHaveLength(2);
    expect(progress.at(-1)).toBe(20);
    const scans = sent.filter(({ command }) => command === "ScanCommand").map(({ input }) => input);
    expect(scans).toContainEqual({
      TableName: "ledger",
      Segment: 1,
      TotalSegments: 2,
      FilterExpression: "#requester = :requester",
      ProjectionExpression: "#pk, #sk, #recordedAt, #requester",
      ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk", "#recordedAt": "recordedAt", "#requester": "requester" },
      ExpressionAttributeValues: { ":requester": "P" },
    });
    const update = sent.find(({ command, input }) => command === "UpdateCommand" && (input.Key as Item).sk === "a")!.input;
    expect(update).toMatchObject({
      ConditionExpression: "#recordedAt = :recordedAt AND #o0 = :requester",
      ExpressionAttributeValues: { ":recordedAt": "t1", ":requester": "P" },
    });
  });

  it("in a dry run counts every match as erased and writes nothing", async () => {
    const { client, sent } = scan([[{ pk: "p", sk: "a", recordedAt: "t", requester: "P" }]]);
    expect(await eraseRequester({ tableName: "ledger", documentClient: client }, { requester: "P", dryRun: true, segments: 1 })).toStrictEqual({
      requester: "P",
      dryRun: true,
      scanned: 10,
      erased: 1,
      skipped: 0,
    });
    expect(sent.map(({ command }) => command)).toEqual(["ScanCommand"]);
  });

  it("refuses a segment count that is not an integer from 1 to 16, before scanning", async () => {
    const { client, sent } = scan([]);
    for (const segments of [0, MAX_ERASE_SEGMENTS + 1, 1.5, Number.NaN]) {
      await expect(eraseRequester({ tableName: "ledger", documentClient: client }, { requester: "P", dryRun: true, segments })).rejects.toThrow(
        new RangeError(`segments must be an integer from 1 to 16, got ${segments}`),
      );
    }
    expect(sent).toEqual([]);
    await expect(
      eraseRequester({ tableName: "ledger", documentClient: client }, { requester: "P", dryRun: true, segments: MAX_ERASE_SEGMENTS }),
    ).resolves.toMatchObject({
      scanned: 160,
    });
    expect(MAX_ERASE_SEGMENTS).toBe(16);
  });
});
