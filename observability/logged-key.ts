/**
 * An object key in the functions' logs. Keys can carry personal data (a name or an address in
 * a path), and logs are kept longer and read more widely than the ledger, so a line above DEBUG
 * names a key by a digest and its length only; the key itself goes to one DEBUG line carrying the
 * same digest, which joins the two when DEBUG is on. From a key, its digest is
 * `printf '%s' "$key" | sha256sum | cut -c1-16`.
 */
import { createHash } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";

export interface LoggedKey {
  keySha256: string;
  keyBytes: number;
}

export function loggedKey(key: string): LoggedKey {
  return { keySha256: createHash("sha256").update(key, "utf8").digest("hex").slice(0, 16), keyBytes: Buffer.byteLength(key, "utf8") };
}

/**
 * Logs the key (and any other key-bearing `detail`) at DEBUG, and returns the fields that name it
 * on the line logged at another level.
 */
export function logKey(logger: Pick<Logger, "debug">, message: string, key: string, detail: Record<string, string | undefined> = {}): LoggedKey {
  const named = loggedKey(key);
  logger.debug(message, { ...named, key, ...detail });
  return named;
}
