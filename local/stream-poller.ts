/**
 * What Lambda's DynamoDB Streams event source mapping does, for the local stack: read each shard
 * of the table's stream in order (a parent shard before its children), hand the function a batch
 * shaped like Lambda's event, and on a partial batch response start again from the failed
 * record's sequence number ("Configuring partial batch response with DynamoDB and Lambda":
 * https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html). A
 * batch that throws is retried whole. One batch per shard at a time (ParallelizationFactor 1).
 *
 * Against DynamoDB Local's stream, through @aws-sdk/client-dynamodb-streams (the API Lambda
 * itself polls: DescribeStream, GetShardIterator, GetRecords). Unlike AWS, it retries without
 * limit and has no on-failure destination: a local failure is reported to `onError` and kept
 * in front of its shard until it succeeds.
 */
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record as StreamRecord,
  type Shard,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";

export interface StreamPollerOptions {
  streams: DynamoDBStreamsClient;
  streamArn: string;
  region: string;
  handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
  /** Records per invocation: GetRecords returns at most 1,000 (GetRecords, Limit). */
  batchSize?: number;
  /** Where reading starts in shards open when the poller starts: LATEST as a new mapping, or TRIM_HORIZON. */
  startingPosition?: "LATEST" | "TRIM_HORIZON";
  /** Between polls of a shard with nothing new: Lambda polls "4 times per second" (with-ddb). */
  idlePollMs?: number;
  onError?: (error: unknown) => void;
}

/** A stream record as Lambda hands it: the same fields, the creation time in epoch seconds. */
function toLambdaRecord(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const { dynamodb } = record;
  return {
    ...(record.eventID !== undefined && { eventID: record.eventID }),
    ...(record.eventName !== undefined && { eventName: record.eventName }),
    eventVersion: record.eventVersion ?? "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(dynamodb?.ApproximateCreationDateTime && { ApproximateCreationDateTime: Math.floor(dynamodb.ApproximateCreationDateTime.getTime() / 1000) }),
      ...(dynamodb?.Keys && { Keys: dynamodb.Keys as never }),
      ...(dynamodb?.NewImage && { NewImage: dynamodb.NewImage as never }),
      ...(dynamodb?.OldImage && { OldImage: dynamodb.OldImage as never }),
      ...(dynamodb?.SequenceNumber !== undefined && { SequenceNumber: dynamodb.SequenceNumber }),
      ...(dynamodb?.SizeBytes !== undefined && { SizeBytes: dynamodb.SizeBytes }),
      ...(dynamodb?.StreamViewType !== undefined && { StreamViewType: dynamodb.StreamViewType }),
    },
  };
}

type Position = { type: "LATEST" | "TRIM_HORIZON" } | { type: "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER"; sequenceNumber: string };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DynamoDbStreamPoller {
  private running = false;
  private readonly readers = new Map<string, Promise<void>>();
  /** Shards read to their end. */
  private readonly finished = new Set<string>();
  private discovery?: Promise<void>;
  private busy = 0;
  /** Shards that returned records (or are being retried) since they last came back empty. */
  private readonly behind = new Set<string>();
  private readonly openAtStart = new Set<string>();
  private started = false;

  constructor(private readonly options: StreamPollerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.discovery = this.discover();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.discovery;
    await Promise.all(this.readers.values());
  }

  /** True once every shard known has been read to its current end and no batch is running. */
  get idle(): boolean {
    return this.started && this.busy === 0 && this.behind.size === 0;
  }

  /** Finds the stream's shards now and then, and starts a reader for each new one once its parent is read. */
  private async discover(): Promise<void> {
    while (this.running) {
      try {
        const shards = await this.describeShards();
        if (!this.started) for (const shard of shards) if (shard.SequenceNumberRange?.EndingSequenceNumber === undefined) this.openAtStart.add(shard.ShardId!);
        for (const shard of shards) {
          const id = shard.ShardId!;
          if (this.readers.has(id)) continue;
          const parent = shard.ParentShardId;
          // A child waits for its parent, as the stream's order per item needs.
          if (parent !== undefined && shards.some((other) => other.ShardId === parent) && !this.finished.has(parent)) continue;
          this.behind.add(id);
          this.readers.set(id, this.read(shard));
        }
        this.started = true;
      } catch (error) {
        this.options.onError?.(error);
      }
      await sleep(1000);
    }
  }

  private async describeShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await this.options.streams.send(
        new DescribeStreamCommand({ StreamArn: this.options.streamArn, ...(start !== undefined && { ExclusiveStartShardId: start }) }),
      );
      shards.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start !== undefined);
    return shards;
  }

  private async iterator(shardId: string, position: Position) {
    const { ShardIterator } = await this.options.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.options.streamArn,
        ShardId: shardId,
        ShardIteratorType: position.type,
        ...("sequenceNumber" in position && { SequenceNumber: position.sequenceNumber }),
      }),
    );
    return ShardIterator;
  }

  private async read(shard: Shard): Promise<void> {
    const id = shard.ShardId!;
    // Where to read from when an iterator is (re)made: the start, then after what was handled.
    let position: Position = { type: this.openAtStart.has(id) ? (this.options.startingPosition ?? "LATEST") : "TRIM_HORIZON" };
    let iterator: string | undefined;
    let failures = 0;
    while (this.running) {
      try {
        iterator ??= await this.iterator(id, position);
        if (iterator === undefined) break;
        const { Records = [], NextShardIterator } = await this.options.streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: this.options.batchSize ?? 100 }),
        );
        if (Records.length === 0) {
          this.behind.delete(id);
          if (NextShardIterator === undefined) break;
          iterator = NextShardIterator;
          await sleep(this.options.idlePollMs ?? 250);
          continue;
        }
        this.behind.add(id);
        const first = Records[0]!.dynamodb?.SequenceNumber;
        // A batch that throws is handed over again whole.
        if (first !== undefined) position = { type: "AT_SEQUENCE_NUMBER", sequenceNumber: first };
        const event: DynamoDBStreamEvent = { Records: Records.map((record) => toLambdaRecord(record, this.options.streamArn, this.options.region)) };
        this.busy++;
        let response: DynamoDBBatchResponse | void;
        try {
          response = await this.options.handler(event);
        } finally {
          this.busy--;
        }
        const failed = response?.batchItemFailures?.[0]?.itemIdentifier;
        if (failed === undefined) {
          failures = 0;
          const last = Records[Records.length - 1]!.dynamodb?.SequenceNumber;
          if (last !== undefined) position = { type: "AFTER_SEQUENCE_NUMBER", sequenceNumber: last };
          iterator = NextShardIterator;
          if (iterator === undefined) break;
          continue;
        }
        // Lambda retries from the failed record: the ones before it are done.
        position = { type: "AT_SEQUENCE_NUMBER", sequenceNumber: failed };
        iterator = undefined;
        await sleep(Math.min(1000, 50 * 2 ** failures++));
      } catch (error) {
        this.options.onError?.(error);
        iterator = undefined;
        await sleep(Math.min(1000, 50 * 2 ** failures++));
      }
    }
    this.finished.add(id);
    this.behind.delete(id);
  }
}
