/**
 * The change stream in the capacity model (bench/scale.ts prints it, `npm run bench -- scale`):
 * pure arithmetic over the publisher's own message and AWS's documented limits and prices, each
 * assumption with its source. Lambda code never imports it.
 */
import type { LedgerRecord } from "../ledger/record.js";
import { changeMessage } from "./message.js";

export const STREAM_ASSUMPTIONS = {
  /** An assumption: an SNS PublishBatch call's round trip, as a DynamoDB request's ("tens of milliseconds" at most). */
  snsPublishMs: 20,
  /** SNS FIFO topics with FifoThroughputScope Topic: 3,000 messages/s per topic (SNS API reference, SetTopicAttributes, FifoThroughputScope). */
  snsFifoTopicMessagesPerSecond: 3_000,
  /**
   * A subscribed SQS FIFO queue without high-throughput mode: "By default, FIFO queues support 300
   * transactions per second, per API action for SendMessage ... Requests over 300 TPS get the
   * ThrottlingException error"; batched, 3,000 messages/s
   * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/troubleshooting-fifo-throttling-issues.html).
   * An assumption: SNS delivers each message with a send of its own (no AWS page says it batches),
   * so 300 a second; batched it would still be 3,000. High-throughput mode lifts it to the
   * Region's quota (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html,
   * "High throughput for FIFO queues"; https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html).
   */
  sqsFifoQueueSendsPerSecond: 300,
  sqsFifoQueueBatchedMessagesPerSecond: 3_000,
  /** PublishBatch and PutEvents: at most 10 entries a call (https://docs.aws.amazon.com/sns/latest/dg/sns-batch-api-actions.html; EventBridge API reference, PutEvents, Entries). */
  entriesPerCall: 10,
  /** PutEvents in us-east-1, counted per entry to be safe (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html). */
  eventBridgePutEventsPerSecond: 10_000,
  /** Lambda's ParallelizationFactor for a DynamoDB stream: at most 10 batches per shard at once (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html). */
  maxParallelizationFactor: 10,
  /** Records per invocation of the publisher (infra/args.ts changeStream.batchSize default). */
  streamBatchSize: 100,
  /** The publisher's memory (infra/args.ts changeStream.memoryMb default). */
  publisherMemoryGb: 0.25,
  /** Lambda requests, us-east-1: https://aws.amazon.com/lambda/pricing/ */
  dollarsPerMillionLambdaRequests: 0.2,
  /** SNS FIFO, us-east-1: publish requests (each 64 KB of a request one) and payload published: https://aws.amazon.com/sns/pricing/ (verify before quoting). */
  dollarsPerMillionFifoPublishes: 0.3,
  dollarsPerFifoPayloadGb: 0.017,
  /** EventBridge custom events (64 KB chunks): https://aws.amazon.com/eventbridge/pricing/ */
  dollarsPerMillionEvents: 1,
} as const;

/**
 * The change stream at the tracker's 10,000 changes/s per bucket: stream records per change (the
 * item, its journal entry, and the journal's start item for a key it has not seen: with history
 * on, the writers' own writes), the message the publisher builds (its size from the code), how
 * many changes one shard's batch carries at the assumed PublishBatch latency, and each target's
 * documented limit (each subscribed queue's among them: every message reaches every queue whose
 * filter matches, so a queue without high-throughput mode bounds what it receives); and the added
 * cost per million changes. DynamoDB Streams reads by Lambda are
 * free ("read requests made by AWS Lambda-based consumers of DynamoDB Streams are free":
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CostOptimization_StreamsUsage.html).
 */
export function changeStreamModel(prices: { dollarsPerLambdaGbSecond: number }, changesPerSecond = 10_000) {
  const now = new Date().toISOString();
  const record: LedgerRecord = {
    bucket: "landing-zone",
    key: `landing/2026/12/01/${"0".repeat(36)}.json.gz`,
    deleted: false,
    size: 48_213,
    etag: "9b2cf535f27731c974343645a3985328",
    lastModified: now,
    cause: "ObjectCreated:Put",
    source: "event",
    observedAt: now,
    recordedAt: now,
    sequencer: "0055AED6DCD90281E5000000000000000",
    origin: { requester: "AWS:AIDAJDPLRKLG7UEXAMPLE" },
  };
  const messageBytes = Buffer.byteLength(JSON.stringify(changeMessage(record, "absent")));
  const recordsPerChange = { creates: 3, overwrites: 2 };
  const perShard = (records: number) => {
    const messages = Math.floor(STREAM_ASSUMPTIONS.streamBatchSize / records);
    const calls = Math.ceil(messages / STREAM_ASSUMPTIONS.entriesPerCall);
    const seconds = (calls * STREAM_ASSUMPTIONS.snsPublishMs) / 1_000;
    return { messages, calls, seconds, changesPerSecond: Math.floor(messages / seconds) };
  };
  const creates = perShard(recordsPerChange.creates);
  const limits = {
    snsTopicScope: STREAM_ASSUMPTIONS.snsFifoTopicMessagesPerSecond,
    subscriberQueue: STREAM_ASSUMPTIONS.sqsFifoQueueSendsPerSecond,
    subscriberQueueBatched: STREAM_ASSUMPTIONS.sqsFifoQueueBatchedMessagesPerSecond,
    eventBridge: STREAM_ASSUMPTIONS.eventBridgePutEventsPerSecond,
  };
  const shardsAtFactorOne = Math.ceil(changesPerSecond / creates.changesPerSecond);
  const perMillion = {
    snsPublishes: ((1_000_000 / STREAM_ASSUMPTIONS.entriesPerCall) * STREAM_ASSUMPTIONS.dollarsPerMillionFifoPublishes) / 1_000_000,
    snsPayload: ((1_000_000 * messageBytes) / 1024 ** 3) * STREAM_ASSUMPTIONS.dollarsPerFifoPayloadGb,
    lambdaRequests: ((1_000_000 / creates.messages) * STREAM_ASSUMPTIONS.dollarsPerMillionLambdaRequests) / 1_000_000,
    lambdaDuration: (1_000_000 / creates.messages) * creates.seconds * STREAM_ASSUMPTIONS.publisherMemoryGb * prices.dollarsPerLambdaGbSecond,
    streamReads: 0,
  };
  const dollarsPerMillion = Object.values(perMillion).reduce((sum, value) => sum + value, 0);
  return {
    messageBytes,
    recordsPerChange,
    perShard: { creates, overwrites: perShard(recordsPerChange.overwrites) },
    shardsAtFactorOne,
    shardsAtMaxFactor: Math.ceil(shardsAtFactorOne / STREAM_ASSUMPTIONS.maxParallelizationFactor),
    limits,
    perMillion,
    dollarsPerMillion,
    withEventBridge: dollarsPerMillion + STREAM_ASSUMPTIONS.dollarsPerMillionEvents,
  };
}
