/**
 * The change stream's publisher: a batch of the ledger table's DynamoDB Streams records
 * (NEW_AND_OLD_IMAGES), in shard order, to messages (stream/message.ts), to the targets.
 *
 * In order per key: a call to a target carries at most one message per key, calls go one after
 * another in stream order, and the first message a target refuses (after retries) stops the
 * batch: nothing after it is published, and its record is reported as the batch's failure. For
 * DynamoDB Streams, Lambda "retries the batch starting from" the failed record's sequence number
 * ("Configuring partial batch response with DynamoDB and Lambda",
 * https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html), so the
 * records before it are not sent again and its key's later records wait behind it. Powertools'
 * processPartialResponse is not used: it hands records one at a time to a handler and goes on
 * past a failure, where this must batch ten to a call and stop at the first failure.
 *
 * What a failure costs a consumer: the messages of other keys published in the failed call, and
 * those of the retried records, can arrive again; each is then a duplicate the deduplication
 * rule removes (SNS FIFO drops a repeated deduplication id within 5 minutes on its own:
 * https://docs.aws.amazon.com/sns/latest/api/API_PublishBatchRequestEntry.html).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBBatchResponse, DynamoDBRecord } from "aws-lambda";
import { attributeNames } from "../ledger/record.js";
import { isCurrentStateKey, messageOfWrite, type ChangeMessage } from "./message.js";
import type { ChangeTarget, TargetFailure } from "./targets.js";

/** PublishBatch and PutEvents both take at most 10 entries a call (see stream/targets.ts). */
export const MAX_MESSAGES_PER_CALL = 10;

export interface PublisherOptions {
  targets: readonly ChangeTarget[];
  /** Calls per target for one group of messages, the first included; retries only what may succeed later. */
  maxAttempts: number;
  /** Waits between attempts; replaced by tests. */
  sleep?: (ms: number) => Promise<void>;
  /** First retry's wait; doubled each time, at most 2 s. */
  retryBaseMs?: number;
}

export interface PublishReport {
  response: DynamoDBBatchResponse;
  /** Messages every target accepted. */
  published: number;
  /** Records that are no change of a key's state (other items, metadata-only updates, removals). */
  skipped: number;
  /** Why the batch stopped, when it did: the record, and the target's error. */
  failure?: { sequenceNumber: string; target: string; code: string; message: string };
}

interface Pending {
  message: ChangeMessage;
  /** The record's index in the batch. */
  index: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type StreamImage = NonNullable<DynamoDBRecord["dynamodb"]>["NewImage"];

function imageOf(image: StreamImage) {
  // Lambda's event spells images in DynamoDB's JSON, as the SDK's AttributeValue does.
  return image ? unmarshall(image as Record<string, AttributeValue>) : undefined;
}

/** Groups of at most 10 messages, consecutive in stream order, no two of one key. */
export function callGroups(pending: readonly Pending[]): Pending[][] {
  const groups: Pending[][] = [];
  let current: Pending[] = [];
  let keys = new Set<string>();
  for (const entry of pending) {
    const slot = `${entry.message.bucket}\0${entry.message.key}`;
    if (current.length === MAX_MESSAGES_PER_CALL || keys.has(slot)) {
      groups.push(current);
      current = [];
      keys = new Set();
    }
    current.push(entry);
    keys.add(slot);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export async function publishRecords(records: readonly DynamoDBRecord[], options: PublisherOptions): Promise<PublishReport> {
  const pending: Pending[] = [];
  let skipped = 0;
  let unreadable: { index: number; error: unknown } | undefined;
  for (const [index, record] of records.entries()) {
    // Most records are the table's other items (the journal's above all): told apart by their key, never read.
    const keys = record.dynamodb?.Keys;
    if (!isCurrentStateKey(keys?.[attributeNames.pk]?.S, keys?.[attributeNames.sk]?.S)) {
      skipped++;
      continue;
    }
    try {
      const message = messageOfWrite(imageOf(record.dynamodb?.OldImage), imageOf(record.dynamodb?.NewImage));
      if (message) pending.push({ message, index });
      else skipped++;
    } catch (error) {
      // An item the codec cannot read stops the batch here: it is retried, then (bisected) sent
      // to the on-failure destination, never dropped on the way.
      unreadable = { index, error };
      break;
    }
  }
  let published = 0;
  for (const group of callGroups(pending)) {
    for (const target of options.targets) {
      const failed = await publishWithRetry(target, group, options);
      if (failed) return failedAt(records, failed.index, target.name, failed.failure, published, skipped);
    }
    published += group.length;
  }
  if (unreadable) {
    const error = unreadable.error instanceof Error ? unreadable.error : new Error(String(unreadable.error));
    return failedAt(records, unreadable.index, "message", { id: "", code: error.name, message: error.message, retryable: false }, published, skipped);
  }
  return { response: { batchItemFailures: [] }, published, skipped };
}

function failedAt(
  records: readonly DynamoDBRecord[],
  index: number,
  target: string,
  failure: TargetFailure,
  published: number,
  skipped: number,
): PublishReport {
  const sequenceNumber = records[index]?.dynamodb?.SequenceNumber;
  // Without its sequence number Lambda cannot retry from the record: fail the whole batch instead.
  if (sequenceNumber === undefined) throw new Error(`stream record ${index} has no SequenceNumber; ${target}: ${failure.code}: ${failure.message}`);
  return {
    response: { batchItemFailures: [{ itemIdentifier: sequenceNumber }] },
    published,
    skipped,
    failure: { sequenceNumber, target, code: failure.code, message: failure.message },
  };
}

/** The earliest message of the group the target still refuses after the attempts allowed, if any. */
async function publishWithRetry(
  target: ChangeTarget,
  group: readonly Pending[],
  options: PublisherOptions,
): Promise<{ index: number; failure: TargetFailure } | undefined> {
  const sleep = options.sleep ?? defaultSleep;
  const base = options.retryBaseMs ?? 100;
  let outstanding = [...group];
  for (let attempt = 1; ; attempt++) {
    const failures = await publishOnce(
      target,
      outstanding.map((entry) => entry.message),
    );
    if (failures.size === 0) return undefined;
    const still = outstanding.filter((entry) => failures.has(entry.message.id));
    const final = still.find((entry) => !failures.get(entry.message.id)!.retryable) ?? (attempt >= options.maxAttempts ? still[0] : undefined);
    if (final) {
      // The earliest refused message, not the one that gave up: everything from it on is retried.
      const first = still[0]!;
      return { index: first.index, failure: failures.get(final.message.id)! };
    }
    outstanding = still;
    await sleep(Math.min(2000, base * 2 ** (attempt - 1)));
  }
}

/** One call; a call that throws fails every message in it, retryably unless the SDK says otherwise. */
async function publishOnce(target: ChangeTarget, messages: readonly ChangeMessage[]): Promise<Map<string, TargetFailure>> {
  try {
    return new Map((await target.publish(messages)).map((failure) => [failure.id, failure]));
  } catch (error) {
    const named = error as { name?: string; message?: string; $fault?: string };
    const failure: TargetFailure = {
      id: "",
      code: named.name ?? "Error",
      message: named.message ?? String(error),
      retryable: named.$fault !== "client",
    };
    return new Map(messages.map((message) => [message.id, { ...failure, id: message.id }]));
  }
}
