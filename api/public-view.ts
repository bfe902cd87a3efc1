/**
 * What a public query API (`apiAuthorization: none`) serves: each record without the personal
 * data it may carry. Who made a change (requester, source IP, request id), an object's user
 * metadata and tags (free text an uploader chose) and the KMS key ARN (which names an account
 * and a key) are left out; keys, sizes, ETags, times and the rest of the description stay.
 */
import type { LedgerRecord } from "../ledger/index.js";

type Body = Record<string, unknown>;

/** One record as a public API shows it. */
export function publicRecord<T extends Partial<LedgerRecord>>(record: T): T {
  const { origin: _origin, ...rest } = record as Body;
  delete rest.userMetadata;
  delete rest.tags;
  const encryption = rest.encryption as { kmsKeyId?: string } | undefined;
  if (encryption?.kmsKeyId !== undefined) {
    const { kmsKeyId: _kmsKeyId, ...kept } = encryption;
    rest.encryption = kept;
  }
  return rest as T;
}

/**
 * A response body as a public API sends it: a page (`items`), a history (`entries`) or one
 * record. Every 200 answer of the API passes here (api/handler.ts), so no route is left out.
 */
export function publicBody<T>(body: T): T {
  const value = body as Body;
  if (Array.isArray(value.items)) return { ...value, items: value.items.map((item: Body) => publicRecord(item)) } as T;
  if (Array.isArray(value.entries)) return { ...value, entries: value.entries.map((entry: Body) => publicRecord(entry)) } as T;
  return publicRecord(value) as T;
}
