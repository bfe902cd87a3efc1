/**
 * The one BatchWriteItem retry: what DynamoDB hands back in UnprocessedItems is sent again, after
 * a capped, fully jittered exponential backoff, a bounded number of times.
 *
 * - Why back off: "If DynamoDB returns any unprocessed items, you should retry the batch
 *   operation on those items. However, we strongly recommend that you use an exponential backoff
 *   algorithm. If you retry the batch operation immediately, the underlying read or write
 *   requests can still fail due to throttling on the individual tables"
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
 * - Why full jitter (a delay drawn uniformly from 0 to min(cap, base x 2^attempt)): the AWS SDKs
 *   retry "using exponential backoff with jitter" (AWS SDKs and Tools reference guide, Retry
 *   behavior: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html), full
 *   jitter being the variant that spreads writers throttled together the most
 *   (https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/).
 * - Why bounded: the same guidance asks for "a maximum delay interval, as well as a maximum
 *   number of retries" (https://docs.aws.amazon.com/general/latest/gr/api-retries.html). After
 *   `maxAttempts` calls what is left is thrown as an UnprocessedItemsError, never looped on.
 *
 * An error of the whole call (ProvisionedThroughputExceededException when none of the items
 * could be processed, same BatchWriteItem page) is first retried by the SDK itself; a caller that
 * wants one still failing after that to cost one round here, rather than fail, says so with
 * `retryable`.
 *
 * Imports nothing from the project: a bottom-layer AWS adapter.
 */
import { BatchWriteCommand, type BatchWriteCommandInput, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** Requests per BatchWriteItem call at most (same page: "up to 25 item put or delete operations"). */
export const MAX_BATCH_WRITE_ITEMS = 25;

export interface BackoffPolicy {
  /** Calls in all, the first included; at least 1. */
  maxAttempts: number;
  /** The delay bound before the first retry is twice this; it doubles per retry up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface RetryOptions extends BackoffPolicy {
  /** An error of a whole call that costs one attempt instead of ending the write; none by default. */
  retryable?: (error: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1), as Math.random. */
  random?: () => number;
}

/** Sends requests in one call and answers those left unprocessed. */
export type SendBatch<R> = (requests: R[]) => Promise<R[]>;

/** Requests still unprocessed after the last attempt allowed. */
export class UnprocessedItemsError<R = unknown> extends Error {
  constructor(
    readonly remaining: R[],
    readonly attempts: number,
    /** The retryable error the last call failed with, if it failed rather than left items unprocessed. */
    readonly lastError?: unknown,
  ) {
    super(
      `${remaining.length} write requests still unprocessed after ${attempts} BatchWriteItem calls` +
        (lastError !== undefined ? ` (the last failed with ${(lastError as Error).name})` : ""),
    );
    this.name = "UnprocessedItemsError";
  }
}

/** The delay before call `attempt` (0 is the first call, 1 the first retry): full jitter under a cap. */
export function backoffDelay(attempt: number, policy: Omit<BackoffPolicy, "maxAttempts">, random: () => number = Math.random): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends `requests` (one call's worth) until none is left unprocessed; answers how many calls it
 * took. Throws UnprocessedItemsError after `maxAttempts` calls, and any error `retryable` refuses
 * at once.
 */
export async function sendUntilProcessed<R>(requests: R[], send: SendBatch<R>, options: RetryOptions): Promise<number> {
  if (!(options.maxAttempts >= 1)) throw new RangeError(`maxAttempts must be at least 1, not ${options.maxAttempts}`);
  const sleep = options.sleep ?? defaultSleep;
  let pending = requests;
  let lastError: unknown;
  let attempt = 0;
  for (; attempt < options.maxAttempts && pending.length > 0; attempt++) {
    if (attempt > 0) await sleep(backoffDelay(attempt, options, options.random));
    try {
      pending = await send(pending);
      lastError = undefined;
    } catch (error) {
      if (!options.retryable?.(error)) throw error;
      lastError = error;
    }
  }
  if (pending.length > 0) throw new UnprocessedItemsError(pending, attempt, lastError);
  return attempt;
}

/** One put or delete, as the document client takes it. */
export type DocumentWriteRequest = NonNullable<BatchWriteCommandInput["RequestItems"]>[string][number];

/** A SendBatch of one table through the document client. */
export function documentBatchSender(documentClient: DynamoDBDocumentClient, tableName: string): SendBatch<DocumentWriteRequest> {
  return async (requests) => {
    const { UnprocessedItems } = await documentClient.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
    return UnprocessedItems?.[tableName] ?? [];
  };
}

/** Writes `requests` to one table, at most MAX_BATCH_WRITE_ITEMS per call, one call after another. */
export async function batchWrite(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  requests: DocumentWriteRequest[],
  options: RetryOptions,
): Promise<void> {
  const send = documentBatchSender(documentClient, tableName);
  for (let start = 0; start < requests.length; start += MAX_BATCH_WRITE_ITEMS)
    await sendUntilProcessed(requests.slice(start, start + MAX_BATCH_WRITE_ITEMS), send, options);
}
