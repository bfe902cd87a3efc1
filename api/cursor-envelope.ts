/**
 * The HTTP API's cursors: the ledger's own cursor (ledger/cursor.ts) in an envelope signed with
 * HMAC-SHA256 under a key only the deployment holds (`Ledger.cursorKey`), so a client can hand
 * back only cursors this API issued. A forged cursor could otherwise start a read anywhere (a
 * change feed from the year 1 walked ~9,800 days), and the ledger's cursors are plain base64
 * JSON, unsigned, because direct readers already hold the table's read permissions.
 *
 *   v1.<ledger cursor>.<base64url HMAC-SHA256(key, "bucket-ledger api cursor v1\n" + ledger cursor)>
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { InvalidCursorError } from "../ledger/index.js";

const VERSION = "v1";
/** Binds the MAC to this use of the key: no other message signed with it can pass for a cursor. */
const CONTEXT = "bucket-ledger api cursor v1\n";

function mac(key: Uint8Array, cursor: string): Buffer {
  return createHmac("sha256", key).update(CONTEXT).update(cursor, "utf8").digest();
}

export function sealCursor(key: Uint8Array, cursor: string): string {
  return `${VERSION}.${cursor}.${mac(key, cursor).toString("base64url")}`;
}

/** The ledger cursor inside `sealed`, if this API signed it; otherwise an `InvalidCursorError`. */
export function openCursor(key: Uint8Array, sealed: string): string {
  const parts = sealed.split(".");
  const [version, cursor, tag] = parts;
  if (parts.length !== 3 || version !== VERSION || !cursor || !tag) {
    throw new InvalidCursorError("cursor is not one this API issued: pass back the cursor of an earlier page unchanged");
  }
  const expected = mac(key, cursor);
  const given = Buffer.from(tag, "base64url");
  // Constant time, so the comparison tells nothing about how much of a forged tag was right.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new InvalidCursorError("cursor is not one this API issued, or it was altered: pass back the cursor of an earlier page unchanged");
  }
  return cursor;
}
