/**
 * Read paths of the ledger: point lookups, prefix listings in key order and the change feed
 * in time order. Objects of a bucket are spread over `shardCount` partitions, so listings
 * query every shard and merge; changes are read one day partition at a time. Nothing here
 * scans the table.
 */
import { GetCommand, paginateQuery, type DynamoDBDocumentClient, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { resumeAfter } from "./cursor.js";
import { allPartitionKeys, assertValidObjectKey, compareUtf8, dayOf, partitionKeyOf } from "./keys.js";
import { changePartitions } from "./buckets.js";
import { READ_AHEAD_MS } from "./change-shards.js";
import { mergeSorted } from "./merge.js";
import { readAhead } from "./read-ahead.js";
import { attributeNames, fromItem, type LedgerItem, type LedgerRecord, type LiveObjectRecord } from "./record.js";
import { ledgerTable } from "./table.js";

export interface QueryContext {
  tableName: string;
  documentClient: DynamoDBDocumentClient;
  shardCount: number;
}

export interface Page<T> {
  items: T[];
  /** Resume point; absent when the listing is complete. */
  cursor?: string;
}

export interface ListQuery {
  bucket: string;
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
): AsyncGenerator<LedgerItem> {
  const pages = paginateQuery({ client: ctx.documentClient, ...(pageSize !== undefined && { pageSize }) }, { ...input, TableName: ctx.tableName });
  // With prefetch, each shard fetches its next page while the merge consumes this one.
  for await (const page of prefetch ? readAhead(pages, 1) : pages) {
    for (const item of page.Items ?? []) yield item;
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
export function listObjects(ctx: QueryContext, query: ListQuery & { includeDeleted?: false }): AsyncGenerator<LiveObjectRecord>;
export function listObjects(ctx: QueryContext, query: ListQuery): AsyncGenerator<LedgerRecord>;
export async function* listObjects(ctx: QueryContext, query: ListQuery): AsyncGenerator<LedgerRecord> {
  const prefix = query.prefix ?? "";
  const cursorAfter = resumeAfter(query, "list", prefix);
  const after =
    cursorAfter !== undefined && query.after !== undefined
      ? compareUtf8(cursorAfter, query.after) > 0
        ? cursorAfter
        : query.after
      : (cursorAfter ?? query.after);
  const pageSize = query.pageSize ?? DEFAULT_PAGE_SIZE;
  const shards = allPartitionKeys(query.bucket, ctx.shardCount).map((pk) =>
    queryShard(
      ctx,
      {
        KeyConditionExpression: prefix ? "#pk = :pk AND begins_with(#sk, :prefix)" : "#pk = :pk",
        ...(!query.includeDeleted && { FilterExpression: "#deleted = :false" }),
        ExpressionAttributeNames: {
          "#pk": attributeNames.pk,
          ...(!query.includeDeleted && { "#deleted": "deleted" }),
          ...(prefix && { "#sk": attributeNames.sk }),
        },
        ExpressionAttributeValues: { ":pk": pk, ...(!query.includeDeleted && { ":false": false }), ...(prefix && { ":prefix": prefix }) },
        ...(after !== undefined && { ExclusiveStartKey: { [attributeNames.pk]: pk, [attributeNames.sk]: after } }),
      },
      pageSize,
      query.prefetch,
    ),
  );
  const keyOf = (item: LedgerItem) => item[attributeNames.sk] as string;
  const bounded = query.through === undefined ? shards : shards.map((shard) => takeThrough(shard, keyOf, query.through!));
  const merged = mergeSorted(bounded, (a, b) => compareUtf8(keyOf(a), keyOf(b)));
  for await (const item of merged) yield fromItem(item);
}

/** Days from `first` through `last` (YYYY-MM-DD, UTC), in order. */
function daysBetween(first: string, last: string): string[] {
  const days: string[] = [];
  for (let day = new Date(`${first}T00:00:00.000Z`); day.toISOString().slice(0, 10) <= last; day.setUTCDate(day.getUTCDate() + 1)) {
    days.push(day.toISOString().slice(0, 10));
  }
  return days;
}

/** A writer's clock a little ahead of ours must not hide its changes at midnight. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Every key whose current state (object or tombstone) was recorded at or after `since`, in
 * the order the ledger recorded it. A key changed several times appears once, at its latest
 * change: the feed is of states, not a journal of every event. Reads the change index one
 * day partition at a time, from the day of `since` (or of the cursor) through today.
 */
export async function* listChanges(ctx: QueryContext, query: ChangesQuery): AsyncGenerator<LedgerRecord> {
  const after = resumeAfter(query, "changes") ?? query.since.toISOString();
  // Without a limit, DynamoDB's 1 MB pages mean the fewest requests.
  const pageSize = query.pageSize;
  const { changeIndex } = ledgerTable;
  const tokenOf = (item: LedgerItem) => item[changeIndex.sortKey] as string;
  const { partitionsOf, readAt } = await changePartitions(ctx, query.bucket);
  // Changes recorded after this may be in partitions of a count recorded since we read them.
  const readable = new Date(readAt.getTime() + READ_AHEAD_MS).toISOString();
  const today = () => new Date(Date.now() + CLOCK_SKEW_MS).toISOString().slice(0, 10);
  let lastDay = today();
  for (let days = daysBetween(dayOf(after), lastDay); days.length > 0;) {
    for (const day of days) {
      // A day's shards, each in token order, merged: tokens order changes the same way in
      // every shard, so one cursor (the last token) resumes all of them exactly.
      const shards = partitionsOf(day).map((partition) =>
        queryShard(
          ctx,
          {
            IndexName: changeIndex.name,
            KeyConditionExpression: "#day = :day AND #token > :after",
            ExpressionAttributeNames: { "#day": changeIndex.partitionKey, "#token": changeIndex.sortKey },
            ExpressionAttributeValues: { ":day": partition, ":after": after },
          },
          pageSize,
          query.prefetch,
        ),
      );
      for await (const item of mergeSorted(shards, (a, b) => (tokenOf(a) < tokenOf(b) ? -1 : tokenOf(a) > tokenOf(b) ? 1 : 0))) {
        if (tokenOf(item) >= readable) return;
        yield fromItem(item);
      }
    }
    // A feed read across midnight goes on into the day that has begun meanwhile.
    const now = today();
    days = now > lastDay ? daysBetween(lastDay, now).slice(1) : [];
    lastDay = now;
  }
}
