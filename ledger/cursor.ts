/**
 * Opaque resume cursors. A cursor names the query it belongs to, so a cursor from
 * `list(bucket A, prefix P)` cannot silently resume `list(bucket B)`.
 */
import { z } from "zod";
import { InvalidCursorError } from "./errors.js";
import { changeToken } from "./keys.js";
import type { LedgerRecord } from "./record.js";

const cursorSchema = z.discriminatedUnion("q", [
  z.object({ v: z.literal(1), q: z.literal("list"), b: z.string(), p: z.string(), after: z.string() }),
  z.object({ v: z.literal(1), q: z.literal("changes"), b: z.string(), after: z.string() }),
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
  return encodeCursor({ v: 1, q: "list", b: bucket, p: prefix ?? "", after: last.key });
}

export function changesCursor(bucket: string, last: LedgerRecord): string {
  return encodeCursor({ v: 1, q: "changes", b: bucket, after: changeToken(last.recordedAt, last.key) });
}

/** Where a query resumes: after its cursor's position, if the cursor belongs to this query. */
export function resumeAfter(query: { bucket: string; cursor?: string }, kind: "list" | "changes", prefix?: string): string | undefined {
  if (query.cursor === undefined) return undefined;
  const state = decodeCursor(query.cursor);
  if (state.q !== kind || state.b !== query.bucket || (state.q === "list" && state.p !== (prefix ?? ""))) {
    throw new InvalidCursorError(`cursor belongs to a different ${state.q} query`);
  }
  return state.after;
}
