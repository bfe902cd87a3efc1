/**
 * An empty answer for a bucket the ledger never recorded is most often a typo or the wrong
 * table: say so on stderr, with the buckets it does know, and still exit 0 (the answer, no
 * objects, is true).
 */
import type { Ledger } from "../ledger/index.js";
import { escapeTerminal } from "./escape.js";

export async function noticeIfUnknown(ledger: Ledger, bucket: string): Promise<void> {
  if (await ledger.hasSeen(bucket)) return;
  const known = (await ledger.buckets()).map((entry) => entry.bucket);
  const list = known.length > 0 ? `it knows ${known.map(escapeTerminal).join(", ")}` : "it knows no buckets yet";
  process.stderr.write(`the ledger (table ${escapeTerminal(ledger.tableName)}) has never seen bucket ${escapeTerminal(bucket)}; ${list}\n`);
}
