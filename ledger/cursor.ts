/**
 * Opaque resume cursors. A cursor names the query it belongs to, so a cursor from
 * `list(bucket A, prefix P)` cannot silently resume `list(bucket B)`.
 *
 * These cursors are not signed: a direct reader (the CLI, the typed client) already holds the
 * table's read permissions, so a cursor it forges can do nothing it could not do itself. The
 * public HTTP API wraps them in a signed envelope (api/cursor-envelope.ts). Every cursor is
 * still validated here, so a corrupt one is an `InvalidCursorError`, never a DynamoDB
 * ValidationException or a loop over thousands of days.
 */
import { randomBytes } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { InvalidCursorError } from "./errors.js";
import { MAX_OBJECT_KEY_BYTES, changeToken } from "./keys.js";
import { attributeNames, type LedgerRecord } from "./record.js";

const fitsAKey = (text: string) => Buffer.byteLength(text, "utf8") <= MAX_OBJECT_KEY_BYTES;

/**
 * Where a change-feed read resumes: a change token (`<recorded at>#<hash>`), a time (a feed's
 * `since`), or a day (`YYYY-MM-DD`, before every token of that day: a read stopped between days).
 */
const changePosition = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}\.\d{3}Z(#[0-9a-f]{16})?)?$/)
  .refine((position) => !Number.isNaN(Date.parse(`${position.slice(0, 10)}T00:00:00.000Z`)), "not a date");

const cursorSchema = z.discriminatedUnion("q", [
  z.strictObject({
    v: z.literal(1),
    q: z.literal("list"),
    b: z.string().min(1),
    p: z.string().refine(fitsAKey),
    // DynamoDB refuses an empty or oversized start key (ValidationException), so these are refused here.
    after: z.string().min(1).refine(fitsAKey),
  }),
  z.strictObject({ v: z.literal(1), q: z.literal("changes"), b: z.string().min(1), after: changePosition }),
  // A page of a key's history (history.ts): the journal entry it ends with, and a hash of the key.
  z.strictObject({ v: z.literal(1), q: z.literal("history"), b: z.string().min(1), k: z.string().regex(/^[0-9a-f]{24}$/), after: z.string().min(1).max(2048) }),
]);

export type CursorState = z.infer<typeof cursorSchema>;

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): CursorState {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch (error) {
    throw new InvalidCursorError("cursor is not a bucket-ledger cursor", { cause: error });
  }
  const parsed = cursorSchema.safeParse(json);
  if (!parsed.success) throw new InvalidCursorError("cursor is not a bucket-ledger cursor");
  return parsed.data;
}

export function listCursor(bucket: string, prefix: string | undefined, last: LedgerRecord): string {
  return listCursorAfter(bucket, prefix, last.key);
}

/** A listing's cursor resuming after `key` (the last key returned, or the last one examined). */
export function listCursorAfter(bucket: string, prefix: string | undefined, key: string): string {
  return encodeCursor({ v: 1, q: "list", b: bucket, p: prefix ?? "", after: key });
}

export function changesCursor(bucket: string, last: LedgerRecord): string {
  return changesCursorAfter(bucket, changeToken(last.recordedAt, last.key));
}

/** A change feed's cursor resuming after `position` (a token, a time or a day: see `changePosition`). */
export function changesCursorAfter(bucket: string, position: string): string {
  return encodeCursor({ v: 1, q: "changes", b: bucket, after: position });
}

export function historyCursor(bucket: string, keyHash: string, entry: string): string {
  return encodeCursor({ v: 1, q: "history", b: bucket, k: keyHash, after: entry });
}

/** Where a query resumes: after its cursor's position, if the cursor belongs to this query. */
export function resumeAfter(query: { bucket: string; cursor?: string }, kind: "list" | "changes", prefix?: string): string | undefined {
  if (query.cursor === undefined) return undefined;
  const state = decodeCursor(query.cursor);
  if (state.q !== kind || state.b !== query.bucket || (state.q === "list" && state.p !== (prefix ?? ""))) {
    throw new InvalidCursorError(`cursor belongs to a different ${state.q} query`);
  }
  // DynamoDB refuses a start key outside the key condition (ValidationException): a listing's
  // position is always under its prefix.
  if (state.q === "list" && !state.after.startsWith(state.p)) throw new InvalidCursorError("cursor is not a bucket-ledger cursor");
  return state.after;
}

/** The entry a history page resumes after, if the cursor belongs to this key's history. */
export function resumeHistoryAfter(bucket: string, keyHash: string, cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const state = decodeCursor(cursor);
  if (state.q !== "history" || state.b !== bucket || state.k !== keyHash) throw new InvalidCursorError(`cursor belongs to a different ${state.q} query`);
  return state.after;
}

/**
 * Refuses a change-feed cursor older than the feed's horizon. Refused, not clamped: tombstones
 * older than the horizon may be gone, so resuming from the horizon would silently skip
 * deletions the client never saw; like a `since` before the horizon, the client must list
 * again. It also bounds the days a read can walk to the retention window.
 */
export function assertChangesCursorWithin(query: { bucket: string; cursor?: string }, horizon: Date): void {
  const after = resumeAfter(query, "changes");
  if (after === undefined) return;
  const from = after.length === 10 ? `${after}T00:00:00.000Z` : after.slice(0, 24);
  if (from < horizon.toISOString()) {
    throw new InvalidCursorError(
      `cursor expired: it resumes changes from ${from}, before the change-feed horizon ${horizon.toISOString()} ` +
        "(tombstones are kept for the retention window only); list the objects again, then follow changes since then",
    );
  }
}

/**
 * The key the HTTP API signs its cursors with (api/cursor-envelope.ts): 32 random bytes kept in
 * one item of the ledger table, which the stack writes when it creates the API
 * (infra/query-api.ts) and the local stack when it creates its table (`createCursorKey`). The
 * API function reads it with the GetItem it already has and stays read-only. Whoever can read
 * this item can read the whole table anyway, so it tells them nothing the cursors hide; it stays
 * out of the Lambda environment. Deleting the item and deploying again rotates the key (cursors
 * signed with the old one are refused with a 400, and clients start again).
 */
export const CURSOR_KEY_PARTITION = "registry#api";
const CURSOR_KEY_SORT_KEY = "cursor-key";
const CURSOR_KEY_BYTES = 32;

type KeyContext = { tableName: string; documentClient: DynamoDBDocumentClient };

const cursorKeyKey = () => ({ [attributeNames.pk]: CURSOR_KEY_PARTITION, [attributeNames.sk]: CURSOR_KEY_SORT_KEY });

export async function readCursorKey(ctx: KeyContext): Promise<Uint8Array> {
  const { Item } = await ctx.documentClient.send(new GetCommand({ TableName: ctx.tableName, Key: cursorKeyKey() }));
  if (!Item) throw new Error(`the ledger table ${ctx.tableName} holds no cursor key (${CURSOR_KEY_PARTITION}): the stack creates it with the query API`);
  const stored = Item[attributeNames.secret];
  const secret = typeof stored === "string" && /^[0-9a-f]+$/.test(stored) ? Buffer.from(stored, "hex") : undefined;
  if (secret?.length !== CURSOR_KEY_BYTES) throw new Error("the ledger's cursor key item is malformed");
  return secret;
}

/** The key item in DynamoDB JSON, as the stack writes it (infra/query-api.ts); hex, so it reads the same everywhere. */
export function cursorKeyItem(secret: Uint8Array = randomBytes(CURSOR_KEY_BYTES)): Record<string, { S: string }> {
  return {
    [attributeNames.pk]: { S: CURSOR_KEY_PARTITION },
    [attributeNames.sk]: { S: CURSOR_KEY_SORT_KEY },
    [attributeNames.secret]: { S: Buffer.from(secret).toString("hex") },
  };
}

/** Writes a random key unless the table holds one: what the stack does, for a table made without it (the local stack). */
export async function createCursorKey(ctx: KeyContext): Promise<void> {
  try {
    await ctx.documentClient.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: { ...cursorKeyKey(), [attributeNames.secret]: randomBytes(CURSOR_KEY_BYTES).toString("hex") },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": attributeNames.pk },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
