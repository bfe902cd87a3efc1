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
import { journalPartitionKey, journalKeys } from "./keys.js";
import { attributeNames, fromItem, toItem, type LedgerItem, type LedgerRecord } from "./record.js";
import type { QueryContext } from "./queries.js";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** One change in a key's history. */
export type HistoryEntry = LedgerRecord & {
  /** The ledger held nothing for the key before this change: its history starts here. */
  first: boolean;
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
const OBJECT_KEY = "objectKey";

/** A change's entry; `expiresAt` is its TTL, `sortKey` its place when it is not the record's own. */
export function toEntryItem(record: LedgerRecord, expiresAt: number, sortKey: string = entrySortKey(record)): LedgerItem {
  const item = toItem(record);
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
    bucket: record.bucket,
    [OBJECT_KEY]: record.key,
    entry: entrySortKey(record),
    [attributeNames.expiresAt]: expiresAt,
  };
}

function entrySortKey(record: LedgerRecord): string {
  return record.sequencer !== undefined ? journalKeys.event(record.sequencer) : journalKeys.repair(record.recordedAt);
}

function fromEntryItem(item: LedgerItem, start: string | undefined): HistoryEntry {
  return { ...fromItem({ ...item, [attributeNames.sk]: item[OBJECT_KEY] }), first: item[attributeNames.sk] === start };
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
export async function readHistory(ctx: QueryContext, bucket: string, key: string, now: Date): Promise<History> {
  const items: LedgerItem[] = [];
  let start: string | undefined;
  let expired = false;
  const pages = paginateQuery(
    { client: ctx.documentClient },
    {
      TableName: ctx.tableName,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": attributeNames.pk },
      ExpressionAttributeValues: { ":pk": journalPartitionKey(bucket, key) },
    },
  );
  const nowSeconds = Math.floor(now.getTime() / 1000);
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      // The partition is a hash of the key: compare the key itself.
      if (item[OBJECT_KEY] !== key || item.bucket !== bucket) continue;
      if (Number(item[attributeNames.expiresAt]) <= nowSeconds) {
        expired = true;
        continue;
      }
      if (item[attributeNames.sk] === journalKeys.start) start = item.entry as string;
      else items.push(item);
    }
  }
  const entries = items.map((item) => fromEntryItem(item, start));
  const ordered = inOrder(entries);
  return { bucket, key, entries: ordered, complete: !expired && startsAtFirst(ordered) };
}

/**
 * Whether nothing before the entries kept is missing: some entry found the ledger empty, and
 * every entry ordered before it arrived after it (a late, out-of-order event), so none of them
 * is a remnant of an earlier history whose start has expired.
 */
function startsAtFirst(ordered: HistoryEntry[]): boolean {
  const index = ordered.findIndex((entry) => entry.first);
  if (index === -1) return false;
  const first = ordered[index]!;
  return ordered.slice(0, index).every((entry) => entry.recordedAt >= first.recordedAt);
}
