/**
 * The journal: every distinct change the ledger saw for a key, kept for a number of days
 * (DynamoDB TTL), beside the current-state item that holds only the newest.
 *
 *   journal#<bucket>#<key hash>    e#<sequencer>      one entry per S3 event, whatever its outcome
 *                                  r#<recorded at>    one entry per reconciliation repair
 *                                  d#<time>#<request> one entry per metadata event (tags, storage class, restore)
 *                                  start              the entry that found the ledger empty
 *
 * An event's entry is keyed by its sequencer, so a redelivered event writes nothing new and a
 * late or out-of-order one lands in its place. It is written even when the current-state item
 * kept a newer change, so the history is complete where the item is not. Entries carry the
 * current-state codec's attributes (record.ts), so both read the same way; they are written
 * in batches (journal-writer.ts).
 */
import { paginateQuery } from "@aws-sdk/lib-dynamodb";
import { historyCursor, resumeHistoryAfter } from "./cursor.js";
import { InvalidCursorError } from "./errors.js";
import { journalPartitionKey, journalKeys } from "./keys.js";
import { attributeNames, fromItem, priorAttribute, priorFrom, toItem, type LedgerItem, type LedgerRecord, type PriorState } from "./record.js";
import type { QueryContext } from "./context.js";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** One change in a key's history. */
export type HistoryEntry = LedgerRecord & {
  /** The ledger held nothing for the key before this change: its history starts here. */
  first: boolean;
  /** The state this change wrote over, when it was written over one (entries journaled before this was kept have none). */
  prior?: PriorState;
};

export interface History {
  bucket: string;
  key: string;
  /** Oldest first: events in sequencer order, repairs where their snapshot time puts them. */
  entries: HistoryEntry[];
  /**
   * True when the entries reach back to the key's first change. Otherwise older changes have
   * expired (or predate the journal) and the history starts at `entries[0]`.
   */
  complete: boolean;
}

export interface JournalContext {
  tableName: string;
  documentClient: DynamoDBDocumentClient;
  retentionSeconds: number;
}

/** The object key lives in its own attribute: the sort key orders the entries. */
const OBJECT_KEY = attributeNames.objectKey;

/**
 * A change's entry; `expiresAt` is its TTL, `sortKey` its place when it is not the record's own,
 * `replaced` the current-state item the change wrote over, when it did.
 */
export function toEntryItem(record: LedgerRecord, expiresAt: number, sortKey: string = entrySortKey(record), replaced?: LedgerItem): LedgerItem {
  const item = { ...toItem(record), ...(replaced && priorAttribute(replaced)) };
  // Not in the change index: only current-state items are changes.
  delete item[attributeNames.changeDay];
  delete item[attributeNames.changeToken];
  return {
    ...item,
    [attributeNames.pk]: journalPartitionKey(record.bucket, record.key),
    [attributeNames.sk]: sortKey,
    [OBJECT_KEY]: record.key,
    [attributeNames.expiresAt]: expiresAt,
  };
}

/**
 * The key's start: which entry found the ledger empty. An item of its own, written only then,
 * so a redelivered event (whose entry is written again) never touches it. It expires with
 * that entry.
 */
export function toStartItem(record: LedgerRecord, expiresAt: number): LedgerItem {
  return {
    [attributeNames.pk]: journalPartitionKey(record.bucket, record.key),
    [attributeNames.sk]: journalKeys.start,
    [attributeNames.bucket]: record.bucket,
    [OBJECT_KEY]: record.key,
    [attributeNames.entry]: entrySortKey(record),
    [attributeNames.expiresAt]: expiresAt,
  };
}

function entrySortKey(record: LedgerRecord): string {
  return record.sequencer !== undefined ? journalKeys.event(record.sequencer) : journalKeys.repair(record.recordedAt);
}

/** Each entry's journal sort key, its name in a page cursor; kept beside the entry so the JSON stays as it was. */
const entrySortKeys = new WeakMap<HistoryEntry, string>();

function fromEntryItem(item: LedgerItem, start: string | undefined): HistoryEntry {
  const prior = priorFrom(item);
  const entry: HistoryEntry = {
    ...fromItem({ ...item, [attributeNames.sk]: item[OBJECT_KEY] }),
    first: item[attributeNames.sk] === start,
    ...(prior && { prior }),
  };
  entrySortKeys.set(entry, item[attributeNames.sk] as string);
  return entry;
}

/**
 * Events by sequencer; each entry without one (a repair, a metadata event) before the first
 * event that happened after it.
 */
function inOrder(entries: HistoryEntry[]): HistoryEntry[] {
  const events = entries.filter((entry) => entry.sequencer !== undefined).sort((a, b) => (a.sequencer! < b.sequencer! ? -1 : 1));
  const repairs = entries.filter((entry) => entry.sequencer === undefined).sort((a, b) => (a.observedAt < b.observedAt ? -1 : 1));
  const ordered: HistoryEntry[] = [];
  let next = 0;
  for (const event of events) {
    while (next < repairs.length && repairs[next]!.observedAt < event.observedAt) ordered.push(repairs[next++]!);
    ordered.push(event);
  }
  return [...ordered, ...repairs.slice(next)];
}

/**
 * Reads a key's whole history (one partition; a key's history is as long as its changes over
 * the retention). Entries past their TTL that DynamoDB has not removed yet are left out, as
 * DynamoDB's TTL documentation advises: deletion may lag expiry by days
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html).
 */
/** Every journal item of one key (its entries and start marker), expired ones included. */
export async function* journalItems(
  ctx: Pick<QueryContext, "tableName" | "documentClient">,
  bucket: string,
  key: string,
  options: { consistentRead?: boolean } = {},
): AsyncGenerator<LedgerItem> {
  const pages = paginateQuery(
    { client: ctx.documentClient },
    {
      TableName: ctx.tableName,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": attributeNames.pk },
      ExpressionAttributeValues: { ":pk": journalPartitionKey(bucket, key) },
      ...(options.consistentRead && { ConsistentRead: true }),
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      // The partition is a hash of the key: other keys may share it, so compare the key itself.
      if (item[OBJECT_KEY] === key && item[attributeNames.bucket] === bucket) yield item;
    }
  }
}

export async function readHistory(ctx: QueryContext, bucket: string, key: string, now: Date): Promise<History> {
  const items: LedgerItem[] = [];
  let start: string | undefined;
  let expired = false;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  for await (const item of journalItems(ctx, bucket, key)) {
    if (Number(item[attributeNames.expiresAt]) <= nowSeconds) {
      expired = true;
      continue;
    }
    if (item[attributeNames.sk] === journalKeys.start) start = item[attributeNames.entry] as string;
    else items.push(item);
  }
  const entries = items.map((item) => fromEntryItem(item, start));
  const ordered = inOrder(entries);
  return { bucket, key, entries: ordered, complete: !expired && startsAtFirst(ordered) };
}

/**
 * How much earlier than the change that found the ledger empty an entry ordered before it may be
 * stamped and still have arrived with or after it: a writer stamps a change's recording time
 * before its conditional write, so two deliveries racing in one invocation (at most 15 minutes,
 * Lambda's longest timeout) can be stamped in one order and written in the other. A remnant of an
 * earlier history is far older: the key's item had to expire first, a tombstone kept at least a day.
 */
export const ARRIVAL_SLACK_MS = 15 * 60_000;

/**
 * Whether nothing before the entries kept is missing: some entry found the ledger empty, and
 * every entry ordered before it arrived with or after it (a late, out-of-order event), so none of
 * them is a remnant of an earlier history whose start has expired.
 */
function startsAtFirst(ordered: HistoryEntry[]): boolean {
  const index = ordered.findIndex((entry) => entry.first);
  if (index === -1) return false;
  const first = ordered[index]!;
  const arrivedBy = new Date(new Date(first.recordedAt).getTime() - ARRIVAL_SLACK_MS).toISOString();
  return ordered.slice(0, index).every((entry) => entry.recordedAt >= arrivedBy);
}

/** A page of a key's history: `History` with some of its entries, and a cursor when more remain. */
export type HistoryPage = History & { cursor?: string };

/**
 * One page of a history `readHistory` returned: up to `limit` entries after the cursor's, and no
 * more than `maxBytes` of them as `sizeOf` measures (the first entry always goes, so a page
 * always moves on). A cursor names the entry it ends with, so entries that expire meanwhile do
 * not shift the next page; if that very entry has expired the cursor is refused, as the
 * history it pointed into is gone.
 */
export function pageHistory(
  history: History,
  page: { limit: number; cursor?: string; maxBytes?: number; sizeOf?: (entry: HistoryEntry) => number },
): HistoryPage {
  const keyHash = journalPartitionKey(history.bucket, history.key).slice(`journal#${history.bucket}#`.length);
  const after = resumeHistoryAfter(history.bucket, keyHash, page.cursor);
  let start = 0;
  if (after !== undefined) {
    start = history.entries.findIndex((entry) => entrySortKeys.get(entry) === after) + 1;
    if (start === 0) throw new InvalidCursorError("cursor expired: the history entry it resumes after is no longer kept; read the history again");
  }
  const entries: HistoryEntry[] = [];
  let bytes = 0;
  for (const entry of history.entries.slice(start)) {
    if (entries.length === page.limit) break;
    const size = page.sizeOf?.(entry) ?? 0;
    if (page.maxBytes !== undefined && entries.length > 0 && bytes + size > page.maxBytes) break;
    bytes += size;
    entries.push(entry);
  }
  const last = entries.at(-1);
  const more = start + entries.length < history.entries.length;
  return { ...history, entries, ...(more && last && { cursor: historyCursor(history.bucket, keyHash, entrySortKeys.get(last)!) }) };
}
