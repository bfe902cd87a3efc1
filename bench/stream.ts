/**
 * The change stream's end-to-end latency on the local stack, under load: from an S3 PUT to the
 * consumer's stream message (S3 -> notification -> event queue -> tracker -> table -> DynamoDB
 * Streams -> publisher -> SNS FIFO topic -> SQS FIFO queue), against the same PUT's raw S3
 * notification delivered to a plain SQS queue (what a consumer without the ledger reads).
 *
 * Each round PUTs OBJECTS new keys at RATE a second; a key's latency is from the moment the local
 * S3 committed its PUT (a notification can only follow it) to the moment a consumer (RECEIVERS
 * long-polling receivers a queue, each message deleted once read) received its message; the
 * PUT's own round trip is reported beside, to show how loaded the machine was. The raw
 * notification is delivered by the local stack's own notifier code (local/s3-notifier.ts), hung
 * on the same S3 commits, so both paths start at the same write. A warm-up round is not counted;
 * the rounds are paired (both paths measure the same PUTs), and the figures are the medians over
 * rounds of each round's p50 and p99, and of each round's difference (bench/stats.ts).
 *
 * What it measures is the pipeline's added hops on this machine: the emulators' latencies, not
 * AWS's. The tracker's event source mapping and the stream's poller wait as Lambda's do between
 * polls of an empty queue or shard; in AWS each hop adds its own service latency on top.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { decodeS3Key } from "../aws/s3-key.js";
import { notificationEvents } from "../events/subscriptions.js";
import { createLocalClients, LocalStack } from "../local/stack.js";
import { S3Notifier } from "../local/s3-notifier.js";
import { parseChangeMessage } from "../stream/message.js";
import { median } from "./stats.js";

const OBJECTS = Number(process.env.STREAM_BENCH_OBJECTS ?? 1_000);
const RATE = Number(process.env.STREAM_BENCH_RATE ?? 50);
const ROUNDS = Number(process.env.STREAM_BENCH_ROUNDS ?? 3);
const WARM_UP_OBJECTS = 300;
const RECEIVERS = 4;
const BUCKET = "bench-stream";
/** A round that has not seen every message by then has lost some: the benchmark fails rather than report it. */
const ROUND_TIMEOUT_MS = 180_000;

/** Nearest-rank percentile of `values` (0 < p <= 100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error("percentile of no values");
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface PathLatency {
  p50: number;
  p99: number;
}

/** Receives from a queue until stopped, handing each message's key and its arrival time to `seen`. */
async function receive(
  sqs: SQSClient,
  queueUrl: string,
  keyOf: (body: string) => string,
  seen: (key: string, at: number) => void,
  stop: AbortSignal,
): Promise<void> {
  while (!stop.aborted) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const at = performance.now();
    for (const message of Messages) seen(keyOf(message.Body!), at);
    if (Messages.length > 0)
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((message, index) => ({ Id: `m${index}`, ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
  }
}

const rawKeyOf = (body: string) => decodeS3Key((JSON.parse(body) as { Records: { s3: { object: { key: string } } }[] }).Records[0]!.s3.object.key);
const streamKeyOf = (body: string) => parseChangeMessage(body).key;

interface RoundLatency {
  stream: PathLatency;
  raw: PathLatency;
  /** Each PUT's own round trip: how loaded the emulator, and the machine, was. */
  put: PathLatency;
}

async function round(stack: LocalStack, rawQueueUrl: string, committedAt: ReadonlyMap<string, number>, name: string, objects: number): Promise<RoundLatency> {
  // Clients of the benchmark's own: a writer's PUTs and the receivers' long polls do not wait
  // for each other's sockets, nor for the stack's.
  const { s3 } = createLocalClients(stack.info.endpoints, stack.info.region);
  const { sqs } = createLocalClients(stack.info.endpoints, stack.info.region);
  const sentAt = new Map<string, number>();
  const putTimes: number[] = [];
  const arrived = { stream: new Map<string, number>(), raw: new Map<string, number>() };
  const stop = new AbortController();
  const keep = (path: keyof typeof arrived) => (key: string, at: number) => {
    if (sentAt.has(key) && !arrived[path].has(key)) arrived[path].set(key, at);
  };
  const receivers = Array.from({ length: RECEIVERS }, () => [
    receive(sqs, stack.changeStream!.queueUrl, streamKeyOf, keep("stream"), stop.signal),
    receive(sqs, rawQueueUrl, rawKeyOf, keep("raw"), stop.signal),
  ]).flat();
  try {
    // PUTs at RATE a second.
    const started = performance.now();
    const puts: Promise<unknown>[] = [];
    for (let i = 0; i < objects; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const key = `${name}/${i}`;
      const sent = performance.now();
      sentAt.set(key, sent);
      puts.push(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key })).then(() => putTimes.push(performance.now() - sent)));
    }
    await Promise.all(puts);
    const deadline = Date.now() + ROUND_TIMEOUT_MS;
    while (arrived.stream.size < objects || arrived.raw.size < objects) {
      if (Date.now() > deadline)
        throw new Error(`${name}: ${arrived.stream.size} stream and ${arrived.raw.size} raw messages of ${objects} after ${ROUND_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    stop.abort();
    await Promise.allSettled(receivers);
    s3.destroy();
    sqs.destroy();
  }
  const latency = (values: number[]): PathLatency => ({ p50: Math.round(percentile(values, 50)), p99: Math.round(percentile(values, 99)) });
  const since = (path: keyof typeof arrived) => [...arrived[path]].map(([key, at]) => at - committedAt.get(key)!);
  return { stream: latency(since("stream")), raw: latency(since("raw")), put: latency(putTimes) };
}

const describe = (name: string, result: RoundLatency) =>
  `  ${name}: stream p50 ${result.stream.p50} ms p99 ${result.stream.p99} ms; raw notification p50 ${result.raw.p50} ms p99 ${result.raw.p99} ms; the PUT itself p50 ${result.put.p50} ms p99 ${result.put.p99} ms`;

export async function benchStream(log: (line: string) => void) {
  const stack = await LocalStack.start({ buckets: [BUCKET], changeStream: { enabled: true }, reconcile: { intervalMs: 0 }, logLevel: "ERROR" });
  try {
    const { QueueUrl: rawQueueUrl } = await stack.clients.sqs.send(new CreateQueueCommand({ QueueName: "bench-raw-notifications" }));
    // The same notification the stack's notifier sends its event queue, to a plain queue of the benchmark's.
    const notifierClients = createLocalClients(stack.info.endpoints, stack.info.region);
    const raw = new S3Notifier({
      sqs: notifierClients.sqs,
      region: stack.info.region,
      destinations: new Map([[BUCKET, rawQueueUrl!]]),
      events: notificationEvents([]),
    });
    // When S3 committed each write: where both paths start (S3 notifies only after it).
    const committedAt = new Map<string, number>();
    const unhook = stack.onS3Commit((commit) => {
      committedAt.set(commit.key, performance.now());
      raw.notify(commit);
    });
    log(`stream latency: ${OBJECTS} PUTs at ${RATE}/s, ${ROUNDS} paired rounds after a warm-up of ${WARM_UP_OBJECTS}`);
    const rounds: RoundLatency[] = [];
    try {
      // A first round warms the emulators and the JIT up (its first seconds queue PUTs): not counted.
      log(describe("warm-up", await round(stack, rawQueueUrl!, committedAt, "warm-up", WARM_UP_OBJECTS)));
      for (let index = 0; index < ROUNDS; index++) {
        rounds.push(await round(stack, rawQueueUrl!, committedAt, `round-${index + 1}`, OBJECTS));
        log(describe(`round ${index + 1}`, rounds.at(-1)!));
      }
    } finally {
      unhook();
      await raw.flush();
      notifierClients.sqs.destroy();
    }
    const of = (pick: (result: RoundLatency) => number) => median(rounds.map(pick));
    return {
      objects_per_round: OBJECTS,
      puts_per_second: RATE,
      rounds,
      stream_p50_ms: of((result) => result.stream.p50),
      stream_p99_ms: of((result) => result.stream.p99),
      raw_notification_p50_ms: of((result) => result.raw.p50),
      raw_notification_p99_ms: of((result) => result.raw.p99),
      // Paired: each round's difference, then the median.
      added_p50_ms: of((result) => result.stream.p50 - result.raw.p50),
      added_p99_ms: of((result) => result.stream.p99 - result.raw.p99),
      put_p50_ms: of((result) => result.put.p50),
      put_p99_ms: of((result) => result.put.p99),
    };
  } finally {
    await stack.stop();
  }
}
