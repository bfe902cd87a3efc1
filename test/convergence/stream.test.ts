/**
 * The change stream's property test: random histories of S3 writes over a few keys, their
 * events lost, duplicated, delayed past a reconciliation and reordered on the way to the
 * ledger, a table outage in the middle (the writer's requests cut off: each delivery that fails
 * comes back later, as SQS redelivers), and reconciliation from a listing of the bucket's final
 * state. The ledger is the real one on DynamoDB Local with the journal on; the table's stream is
 * DynamoDB Local's, read by the local event source mapping (local/stream-poller.ts) and
 * published by the real publisher (stream/publisher.ts) to a subscription that refuses calls at
 * random (retried by the publisher, then by the mapping from the failed record) and sometimes
 * delivers a message twice (a redelivery past SNS FIFO's 5 minutes). At the end every current
 * state is published again, as `replay` does.
 *
 * Properties, for a consumer applying the deduplication rule (stream/message.ts):
 *  1. it ends with exactly the ledger's live objects (key, size, ETag);
 *  2. per key, what it applies carries strictly increasing revisions, and the events among it
 *     strictly increasing sequencers;
 *  3. per key, the stream never hands over an older state after a newer one: revisions as
 *     delivered never go down (repeats only);
 *  4. the replay of every current state is dropped whole: the consumer already has each;
 *  5. each change names the revision it replaced, which is the one the consumer holds: no gap.
 *
 * Replay a failure: STREAM_SEED=<seed> STREAM_PATH=<path> npx vitest run test/convergence/stream.test.ts
 * (both are printed with the shrunk counterexample). STREAM_RUNS sets the number of cases.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { compareUtf8 } from "../../foundation/utf8-order.js";
import { createDocumentClient, Ledger, type ObjectMutation } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { enableStream } from "../../local/stream-local.js";
import { DynamoDbStreamPoller } from "../../local/stream-poller.js";
import { TableFaults } from "../../local/table-faults.js";
import { reconcileBucket } from "../../reconcile/in-process.js";
import type { ObjectSource, SourceObject } from "../../reconcile/source.js";
import { ChangeDeduplicator, messageOfItem, type ChangeMessage } from "../../stream/message.js";
import { publishRecords } from "../../stream/publisher.js";
import type { ChangeTarget, TargetFailure } from "../../stream/targets.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { attributeNames, toItem } from "../../ledger/record.js";

const KEYS = ["plain.txt", "a b+c%20.txt", "日本/ファイル.txt", "emoji/😀.bin"];

let db: TestDynamoDb;
let faults: TableFaults;
let ledger: Ledger;
let reader: Ledger;
let poller: DynamoDbStreamPoller;
let streams: DynamoDBStreamsClient;

/** What the subscription does with each call, set per case. */
const subscription = {
  random: () => 0.5,
  refuseFraction: 0,
  duplicateFraction: 0,
  delivered: [] as ChangeMessage[],
};

const flakyTarget: ChangeTarget = {
  name: "sns",
  async publish(messages) {
    const failures: TargetFailure[] = [];
    for (const message of messages) {
      if (subscription.random() < subscription.refuseFraction) {
        failures.push({ id: message.id, code: "Throttled", message: "", retryable: true });
        continue;
      }
      subscription.delivered.push(message);
      if (subscription.random() < subscription.duplicateFraction) subscription.delivered.push(message);
    }
    return failures;
  },
};

beforeAll(async () => {
  db = await startTestDynamoDb();
  faults = await TableFaults.start(db.emulator.endpoint);
  // The writer goes through the fault proxy with no retries of its own: an outage fails the delivery.
  ledger = await db.createLedger({ endpoint: faults.endpoint, maxAttempts: 1 });
  reader = new Ledger({ tableName: ledger.tableName, documentClient: createDocumentClient(db.client) });
  const { streamArn } = await enableStream(db.client, ledger.tableName);
  streams = new DynamoDBStreamsClient({ endpoint: db.emulator.endpoint, region: LOCAL_REGION, credentials: localCredentials });
  poller = new DynamoDbStreamPoller({
    streams,
    streamArn,
    region: LOCAL_REGION,
    startingPosition: "TRIM_HORIZON",
    idlePollMs: 50,
    handler: async (event) => (await publishRecords(event.Records, { targets: [flakyTarget], maxAttempts: 2, sleep: async () => {} })).response,
  });
  poller.start();
}, 120_000);

afterAll(async () => {
  await poller?.stop();
  streams?.destroy();
  await faults?.stop();
  await db?.stop();
});

async function caughtUp(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (let quiet = 0; quiet < 3;) {
    if (Date.now() > deadline) throw new Error("the stream did not catch up");
    quiet = poller.idle ? quiet + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

interface Write {
  key: string;
  /** Absent: a delete. */
  size?: number;
}

interface Case {
  writes: Write[];
  /** Per event: how many times it is delivered (0: lost), and its place in the delivery order. */
  copies: number[];
  order: number[];
  /** Deliveries from this one on (in delivery order) arrive after the reconciliation. */
  lateFrom: number;
  /** The outage: these deliveries in a row meet an unreachable table. */
  outageAt: number;
  outageLength: number;
  refuseFraction: number;
  duplicateFraction: number;
  seed: number;
}

const caseArbitrary = fc
  .array(fc.record({ key: fc.constantFrom(...KEYS), size: fc.option(fc.nat({ max: 50 }), { nil: undefined, freq: 3 }) }), { minLength: 1, maxLength: 12 })
  .chain((writes) =>
    fc.record({
      writes: fc.constant(writes.map((write) => (write.size === undefined ? { key: write.key } : { key: write.key, size: write.size }))),
      copies: fc.array(fc.constantFrom(0, 1, 1, 1, 2), { minLength: writes.length, maxLength: writes.length }),
      order: fc.array(fc.nat(), { minLength: writes.length * 2, maxLength: writes.length * 2 }),
      lateFrom: fc.nat({ max: writes.length * 2 }),
      outageAt: fc.nat({ max: writes.length * 2 }),
      outageLength: fc.nat({ max: 3 }),
      refuseFraction: fc.constantFrom(0, 0.1, 0.3),
      duplicateFraction: fc.constantFrom(0, 0.2),
      seed: fc.integer(),
    }),
  );

function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const sequencer = (n: number) => n.toString(16).toUpperCase().padStart(18, "0");

async function runCase(input: Case): Promise<void> {
  const bucket = `stream-${randomUUID().slice(0, 8)}`;
  const start = Date.now() - 60_000;
  // S3's side: each write an event with a greater sequencer; the bucket ends with each key's last write.
  const events: ObjectMutation[] = input.writes.map((write, index) => {
    const base = { bucket, key: write.key, sequencer: sequencer(index + 1), eventTime: new Date(start + index * 10).toISOString() };
    return write.size === undefined
      ? { ...base, kind: "delete", eventName: "ObjectRemoved:Delete" }
      : {
          ...base,
          kind: "upsert",
          eventName: "ObjectCreated:Put",
          state: { size: write.size, etag: `etag-${index}`, lastModified: base.eventTime },
        };
  });
  const final = new Map<string, SourceObject>();
  for (const event of events) {
    if (event.kind === "upsert") final.set(event.key, { key: event.key, ...event.state });
    else final.delete(event.key);
  }
  // The deliveries: lost, duplicated, reordered.
  const deliveries = events.flatMap((event, index) =>
    Array.from({ length: input.copies[index]! }, (_, copy) => ({ event, rank: input.order[index * 2 + copy]! })),
  );
  deliveries.sort((a, b) => a.rank - b.rank);
  subscription.random = prng(input.seed);
  subscription.refuseFraction = input.refuseFraction;
  subscription.duplicateFraction = input.duplicateFraction;
  subscription.delivered = [];

  const deliver = async (queue: ObjectMutation[], outage: { at: number; length: number }) => {
    for (let attempt = 0; queue.length > 0; attempt++) {
      const event = queue.shift()!;
      const down = attempt >= outage.at && attempt < outage.at + outage.length;
      faults.proxy.failWhen(() => down);
      try {
        await ledger.apply(event);
      } catch {
        // As SQS redelivers a message whose batch failed.
        queue.push(event);
      } finally {
        faults.proxy.failWhen(() => false);
      }
    }
  };
  const onTime = deliveries.slice(0, input.lateFrom).map((delivery) => delivery.event);
  const late = deliveries.slice(input.lateFrom).map((delivery) => delivery.event);
  await deliver(onTime, { at: input.outageAt, length: input.outageLength });

  const listed = [...final.values()].sort((a, b) => compareUtf8(a.key, b.key));
  const source: ObjectSource = {
    kind: "list",
    snapshotTime: new Date(),
    ordered: true,
    lagsBucket: false,
    async *objects() {
      yield* listed;
    },
    head: async (key) => final.get(key),
  };
  await reconcileBucket({ ledger: reader, bucket, source, maxDeleteFraction: 1, force: true });
  await deliver(late, { at: -1, length: 0 });
  await caughtUp();

  const delivered = subscription.delivered.filter((message) => message.bucket === bucket);
  // 3. As delivered, a key's revisions never go down.
  const lastSeen = new Map<string, string>();
  for (const message of delivered) {
    const previous = lastSeen.get(message.key);
    expect(previous === undefined || message.revision >= previous, `${message.key}: ${message.revision} after ${previous}`).toBe(true);
    lastSeen.set(message.key, message.revision);
  }
  // 5. Each change names the one it replaced: applied in order, a key's chain has no gap.
  const chain = new Map<string, string>();
  for (const message of delivered) {
    const kept = chain.get(message.key);
    if (kept === message.revision) continue;
    expect(message.previousRevision, `${message.key}: ${message.revision} replaced ${String(message.previousRevision)}, the consumer holds ${kept}`).toBe(kept);
    chain.set(message.key, message.revision);
  }
  // 2. The consumer's rule.
  const dedup = new ChangeDeduplicator();
  const state = new Map<string, ChangeMessage>();
  const applied = new Map<string, ChangeMessage[]>();
  for (const message of delivered) {
    if (!dedup.accept(message)) continue;
    state.set(message.key, message);
    applied.set(message.key, [...(applied.get(message.key) ?? []), message]);
  }
  for (const [key, messages] of applied) {
    const sequencers = messages.flatMap((message) => (message.sequencer === undefined ? [] : [message.sequencer]));
    expect(
      sequencers.every((value, index) => index === 0 || value > sequencers[index - 1]!),
      `${key}: sequencers ${sequencers.join(", ")}`,
    ).toBe(true);
  }
  // 1. The consumer's state is the ledger's.
  const consumer = [...state.values()]
    .filter((message) => message.change !== "deleted")
    .map((message) => [message.key, message.size, message.etag])
    .sort();
  const held: unknown[] = [];
  const current: Record<string, unknown>[] = [];
  for await (const record of reader.list({ bucket, includeDeleted: true })) {
    current.push(toItem(record));
    if (!record.deleted) held.push([record.key, record.size, record.etag]);
  }
  expect(consumer).toEqual(held.sort());
  // 4. Replayed, every current state is one the consumer has.
  for (const item of current) {
    expect(dedup.accept(messageOfItem(item)), `replayed ${String(item[attributeNames.sk])}`).toBe(false);
  }
}

it("a consumer keeping the deduplication rule ends with the ledger's state, each key's changes in order, whatever S3, the table and the publisher's targets do", async () => {
  const seed = process.env.STREAM_SEED !== undefined ? Number(process.env.STREAM_SEED) : undefined;
  await fc.assert(fc.asyncProperty(caseArbitrary, runCase), {
    numRuns: Number(process.env.STREAM_RUNS ?? 20),
    ...(seed !== undefined && { seed }),
    ...(process.env.STREAM_PATH !== undefined && { path: process.env.STREAM_PATH }),
    endOnFailure: true,
  });
}, 600_000);
