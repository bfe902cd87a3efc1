/**
 * Read paths of the ledger: point lookups, prefix listings in key order and the change feed
 * in time order. Objects of a bucket are spread over `shardCount` partitions, so listings
 * query every shard and merge; changes are read one day partition at a time. Nothing here
 * scans the table.
 */
import { GetCommand, paginateQuery, type QueryCommandInput, type QueryCommandOutput } from "@aws-sdk/lib-dynamodb";
import { changesCursorAfter, listCursorAfter, resumeAfter } from "./cursor.js";
import { compareUtf8 } from "../foundation/utf8-order.js";
import { allPartitionKeys, assertValidObjectKey, dayOf, partitionKeyOf } from "./keys.js";
import { changePartitions, CLOCK_SKEW_MS } from "./change-index/index.js";
import type { QueryContext } from "./context.js";
import { mergeSorted } from "../foundation/merge.js";
import { readAhead } from "../foundation/read-ahead.js";
import { attributeNames, fromItem, type LedgerItem, type LedgerRecord, type LiveObjectRecord } from "./record.js";
import { ledgerTable } from "./table.js";

export type { QueryContext } from "./context.js";

export interface Page<T> {
  items: T[];
  /** Resume point; absent when the listing is complete. */
  cursor?: string;
}

/**
 * Bounds on the work of one read, for a caller that must answer in time and in size (the HTTP
 * API). When one is reached the read stops and its generator returns `Stopped`: where to resume,
 * exactly, with nothing lost or repeated. Each shard's first page is read whatever the budget,
 * so a stopped read has always moved on and a client that follows cursors always finishes.
 */
export interface WorkBudget {
  /** Epoch milliseconds after which no further Query is sent. */
  deadline?: number;
  /** Query requests (pages, over every shard) the read may send. */
  maxQueries?: number;
  /** Bytes of records the read may return, as `sizeOf` measures them; the first record always goes. */
  maxBytes?: number;
  sizeOf?: (record: LedgerRecord) => number;
}

/** What a read that stopped on its budget returns: the cursor to resume it with. */
export interface Stopped {
  cursor: string;
}

/** What one read has spent of its budget. */
class Spend {
  queries = 0;
  private bytes = 0;
  constructor(private readonly budget: WorkBudget) {}

  /** Whether the read may send no further Query. */
  get spent(): boolean {
    const { maxQueries, deadline } = this.budget;
    return (maxQueries !== undefined && this.queries >= maxQueries) || (deadline !== undefined && Date.now() >= deadline);
  }

  /** Takes `record`'s bytes if they fit what is left; the first record always fits. */
  take(record: LedgerRecord, first: boolean): boolean {
    const { maxBytes, sizeOf } = this.budget;
    if (maxBytes === undefined || sizeOf === undefined) return true;
    const size = sizeOf(record);
    if (!first && this.bytes + size > maxBytes) return false;
    this.bytes += size;
    return true;
  }
}

/** A shard read under a budget: `onCut` learns the last sort key it examined when the budget stopped it. */
interface ShardBounds {
  spend: Spend;
  sortKey: string;
  onCut: (examinedThrough: string) => void;
}

/** Tracks the lowest sort key at which a shard was cut: past it the merge is no longer complete. */
function cutTracker(spend: Spend, sortKey: string, compare: (a: string, b: string) => number): ShardBounds & { readonly at: string | undefined } {
  let at: string | undefined;
  return {
    spend,
    sortKey,
    onCut: (through) => {
      if (at === undefined || compare(through, at) < 0) at = through;
    },
    get at() {
      return at;
    },
  };
}

export interface ListQuery {
  bucket: string;
  /** Stops the listing early, returning where to resume (see `WorkBudget`). */
  budget?: WorkBudget;
  prefix?: string;
  /** Include tombstones (reconciliation needs them; listings for users do not). */
  includeDeleted?: boolean;
  /** Only keys after this one (exclusive); reconciliation's key ranges. */
  after?: string;
  /** Only keys up to this one (inclusive). */
  through?: string;
  cursor?: string;
  /** Items fetched per shard request; a tuning knob, not a result limit. */
  pageSize?: number;
  /** Fetch each shard's next page while this one is consumed: for full scans, not short listings. */
  prefetch?: boolean;
}

export interface ChangesQuery {
  bucket: string;
  /** Stops the feed early, returning where to resume (see `WorkBudget`). */
  budget?: WorkBudget;
  since: Date;
  cursor?: string;
  pageSize?: number;
  prefetch?: boolean;
}

/** A per-shard page size that reads little more than `limit` items in all. */
export function pageSizeForLimit(limit: number, shardCount: number = ledgerTable.shardCount): number {
  return Math.min(DEFAULT_PAGE_SIZE, Math.max(5, Math.ceil((limit + 1) / shardCount) + 2));
}

/** One page of `limit` + 1 tells whether more remain (with change shards, each partition's page is that size at most). */
export function changesPageSizeForLimit(limit: number): number {
  return Math.min(MAX_CHANGES_PAGE_SIZE, limit + 1);
}

const DEFAULT_PAGE_SIZE = 250;
/** Largest page a limited change-feed read asks for; unlimited reads take DynamoDB's 1 MB pages. */
const MAX_CHANGES_PAGE_SIZE = 1000;

async function* queryShard(
  ctx: QueryContext,
  input: Omit<QueryCommandInput, "TableName">,
  pageSize: number | undefined,
  prefetch = false,
  bounds?: ShardBounds,
): AsyncGenerator<LedgerItem> {
  const paginator = paginateQuery({ client: ctx.documentClient, ...(pageSize !== undefined && { pageSize }) }, { ...input, TableName: ctx.tableName });
  const pages = bounds ? whileBudgetLasts(paginator, bounds) : paginator;
  // With prefetch, each shard fetches its next page while the merge consumes this one.
  for await (const page of prefetch ? readAhead(pages, 1) : pages) {
    for (const item of page.Items ?? []) yield item;
  }
}

/** A shard's pages until the budget is spent; the first page is always read (see `WorkBudget`). */
async function* whileBudgetLasts(pages: AsyncGenerator<QueryCommandOutput>, bounds: ShardBounds): AsyncGenerator<QueryCommandOutput> {
  try {
    for (let last: QueryCommandOutput | undefined; ;) {
      // Without a LastEvaluatedKey the shard is complete and the paginator sends nothing more.
      if (last?.LastEvaluatedKey !== undefined && bounds.spend.spent) {
        bounds.onCut(String(last.LastEvaluatedKey[bounds.sortKey]));
        return;
      }
      const next = await pages.next();
      if (next.done) return;
      bounds.spend.queries++;
      last = next.value;
      yield last;
    }
  } finally {
    await pages.return(undefined);
  }
}

export async function getRecord(ctx: QueryContext, bucket: string, key: string, options: { consistentRead?: boolean } = {}): Promise<LedgerRecord | undefined> {
  assertValidObjectKey(key);
  const { Item } = await ctx.documentClient.send(
    new GetCommand({
      TableName: ctx.tableName,
      Key: { [attributeNames.pk]: partitionKeyOf(bucket, key, ctx.shardCount), [attributeNames.sk]: key },
      ConsistentRead: options.consistentRead ?? false,
    }),
  );
  return Item ? fromItem(Item) : undefined;
}

/** Stops a shard's stream at the first key past `through`, so a range reads little beyond itself. */
async function* takeThrough(items: AsyncGenerator<LedgerItem>, keyOf: (item: LedgerItem) => string, through: string): AsyncGenerator<LedgerItem> {
  for await (const item of items) {
    if (compareUtf8(keyOf(item), through) > 0) return;
    yield item;
  }
}

/** Live objects under `prefix`, in UTF-8 byte order (the order of an S3 listing). */
export function listObjects(ctx: QueryContext, query: ListQuery & { includeDeleted?: false }): AsyncGenerator<LiveObjectRecord, Stopped | undefined>;
export function listObjects(ctx: QueryContext, query: ListQuery): AsyncGenerator<LedgerRecord, Stopped | undefined>;
export async function* listObjects(ctx: QueryContext, query: ListQuery): AsyncGenerator<LedgerRecord, Stopped | undefined> {
  const prefix = query.prefix ?? "";
  const cursorAfter = resumeAfter(query, "list", prefix);
  const after =
    cursorAfter !== undefined && query.after !== undefined
      ? compareUtf8(cursorAfter, query.after) > 0
        ? cursorAfter
        : query.after
      : (cursorAfter ?? query.after);
  const pageSize = query.pageSize ?? DEFAULT_PAGE_SIZE;
  const spend = query.budget && new Spend(query.budget);
  const cut = spend && cutTracker(spend, attributeNames.sk, compareUtf8);
  const shards = allPartitionKeys(query.bucket, ctx.shardCount).map((pk) =>
    queryShard(
      ctx,
      {
        KeyConditionExpression: prefix ? "#pk = :pk AND begins_with(#sk, :prefix)" : "#pk = :pk",
        ...(!query.includeDeleted && { FilterExpression: "#deleted = :false" }),
        ExpressionAttributeNames: {
          "#pk": attributeNames.pk,
          ...(!query.includeDeleted && { "#deleted": attributeNames.deleted }),
          ...(prefix && { "#sk": attributeNames.sk }),
        },
        ExpressionAttributeValues: { ":pk": pk, ...(!query.includeDeleted && { ":false": false }), ...(prefix && { ":prefix": prefix }) },
        ...(after !== undefined && { ExclusiveStartKey: { [attributeNames.pk]: pk, [attributeNames.sk]: after } }),
      },
      pageSize,
      query.prefetch,
      cut,
    ),
  );
  const keyOf = (item: LedgerItem) => item[attributeNames.sk] as string;
  const bounded = query.through === undefined ? shards : shards.map((shard) => takeThrough(shard, keyOf, query.through!));
  const merged = mergeSorted(bounded, (a, b) => compareUtf8(keyOf(a), keyOf(b)));
  const stopAfter = (key: string): Stopped => ({ cursor: listCursorAfter(query.bucket, query.prefix, key) });
  let last: string | undefined;
  for await (const item of merged) {
    const key = keyOf(item);
    // A shard cut short may hold unread keys past its cut: the merge is complete only up to it.
    if (cut?.at !== undefined && compareUtf8(key, cut.at) > 0) break;
    const record = fromItem(item);
    if (spend && !spend.take(record, last === undefined)) return stopAfter(last!);
    yield record;
    last = key;
  }
  // Every key up to the cut has been examined in every shard: the next read starts past it.
  return cut?.at !== undefined ? stopAfter(cut.at) : undefined;
}

/** Days from `first` through `last` (YYYY-MM-DD, UTC), in order. */
function daysBetween(first: string, last: string): string[] {
  const days: string[] = [];
  for (let day = new Date(`${first}T00:00:00.000Z`); day.toISOString().slice(0, 10) <= last; day.setUTCDate(day.getUTCDate() + 1)) {
    days.push(day.toISOString().slice(0, 10));
  }
  return days;
}

/**
 * Every key whose current state (object or tombstone) was recorded at or after `since`, in
 * the order the ledger recorded it. A key changed several times appears once, at its latest
 * change: the feed is of states, not a journal of every event. Reads the change index one
 * day partition at a time, from the day of `since` (or of the cursor) through today.
 */
export async function* listChanges(ctx: QueryContext, query: ChangesQuery): AsyncGenerator<LedgerRecord, Stopped | undefined> {
  const after = resumeAfter(query, "changes") ?? query.since.toISOString();
  const spend = query.budget && new Spend(query.budget);
  // Without a limit, DynamoDB's 1 MB pages mean the fewest requests.
  const pageSize = query.pageSize;
  const { changeIndex } = ledgerTable;
  const tokenOf = (item: LedgerItem) => item[attributeNames.changeToken] as string;
  // `readable`: the read-ahead cut (ledger/change-index): changes recorded at or after it may be
  // in partitions of a count recorded since the epochs were read, so none is returned, and a
  // stopped read never resumes past it.
  const { partitionsOf, readable } = await changePartitions(ctx, query.bucket);
  // Everything up to `position` has been returned.
  let position = after;
  const stopAt = (resume: string): Stopped => ({ cursor: changesCursorAfter(query.bucket, resume < readable ? resume : readable) });
  const today = () => new Date(Date.now() + CLOCK_SKEW_MS).toISOString().slice(0, 10);
  let lastDay = today();
  let started = false;
  for (let days = daysBetween(dayOf(after), lastDay); days.length > 0;) {
    for (const day of days) {
      // A day's position (`YYYY-MM-DD`) sorts before every token of the day and after every earlier one.
      if (started && spend?.spent) return stopAt(day > position ? day : position);
      started = true;
      const cut = spend && cutTracker(spend, attributeNames.changeToken, (a, b) => (a < b ? -1 : a > b ? 1 : 0));
      // A day's shards, each in token order, merged: tokens order changes the same way in
      // every shard, so one cursor (the last token) resumes all of them exactly.
      const shards = partitionsOf(day).map((partition) =>
        queryShard(
          ctx,
          {
            IndexName: changeIndex.name,
            KeyConditionExpression: "#day = :day AND #token > :after",
            ExpressionAttributeNames: { "#day": attributeNames.changeDay, "#token": attributeNames.changeToken },
            ExpressionAttributeValues: { ":day": partition, ":after": after },
          },
          pageSize,
          query.prefetch,
          cut,
        ),
      );
      for await (const item of mergeSorted(shards, (a, b) => (tokenOf(a) < tokenOf(b) ? -1 : tokenOf(a) > tokenOf(b) ? 1 : 0))) {
        const token = tokenOf(item);
        // A shard cut short may hold unread tokens past its cut: the merge is complete only up to it.
        if (cut?.at !== undefined && token > cut.at) break;
        if (token >= readable) return undefined;
        const record = fromItem(item);
        if (spend && !spend.take(record, position === after)) return stopAt(position);
        yield record;
        position = token;
      }
      if (cut?.at !== undefined) return stopAt(cut.at);
    }
    // A feed read across midnight goes on into the day that has begun meanwhile.
    const now = today();
    days = now > lastDay ? daysBetween(lastDay, now).slice(1) : [];
    lastDay = now;
  }
}
