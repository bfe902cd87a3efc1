/**
 * Time travel, side by side in one run: a prefix of 100,000 objects of which 1% changed after a
 * moment T (overwritten, deleted, or deleted and created again), the same history in a versioned
 * bucket of the local S3 and in the ledger (written through `Ledger.apply`, journal on):
 *  - asof: `Ledger.asOf` of the prefix at T (one listing, tombstones included, plus the journal
 *    of each key recorded since T);
 *  - list: a plain prefix listing of the ledger (`Ledger.list`), the floor asof builds on;
 *  - versions: what point-in-time restore tools do today, a full ListObjectVersions of the prefix
 *    with the state at T computed from it (per key, the newest version or delete marker last
 *    modified at or before T);
 *  - asof_now (diagnostic): `asOf` of a moment after every change, which reads no journal: what
 *    the listing with tombstones and the per-key resolution cost without the journal reads.
 * asof and versions must agree on every key, ETag and version id. Requests are counted by
 * operation through a middleware on each SDK client; variants run in paired rounds (the order
 * rotated each round), and the median of each and of the per-round ratios is reported.
 *
 * Two profiles: `local` (the emulators answer in about a millisecond) and `aws`, through proxies
 * that hold every DynamoDB request AWS_DYNAMODB_MS (with AWS's per-partition read capacity) and
 * every S3 request AWS_S3_LIST_MS, as bench/query.ts does.
 *
 * The ledger's writers run on a clock SHIFT behind the wall clock, so the seeded history lies
 * hours in the past with T between the seed and the changes by more than the change feed's clock
 * skew margin (a key recorded within it of T has its journal read), while S3's own clock puts its
 * T between the two generations by more than Last-Modified's one-second resolution.
 *
 * BENCH_TIMETRAVEL_OBJECTS sets a smaller prefix for a quick check of the code (2,000: about 30 s).
 */
import { createHash, randomUUID } from "node:crypto";
import { CreateTableCommand, waitUntilTableExists, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import { createDocumentClient, createTableInput, Ledger } from "../ledger/index.js";
import { CapacityModel } from "../local/capacity-model.js";
import { startDynamoDbLocal } from "../local/dynamodb-local.js";
import { FaultInjectingProxy } from "../local/fault-proxy.js";
import { createLocalClients } from "../local/stack.js";
import { startEmulatorProcess } from "./emulator.js";
import { median, pairedRounds, spread } from "./stats.js";

const OBJECTS = Number(process.env.BENCH_TIMETRAVEL_OBJECTS ?? 100_000);
const ROUNDS = 5;
const BUCKET = "timetravel-bench";
const PREFIX = "tree/";
/** One '/' at a fixed position and fixed widths: the local S3's and the ledger's orders agree. */
const key = (i: number) => `${PREFIX}d${String(i % 100).padStart(3, "0")}/object-${String(i).padStart(7, "0")}`;
/** Every 100th object changes after T, by turns overwritten, deleted, and deleted then created again. */
const CHANGE_KINDS = ["overwrite", "delete", "recreate"] as const;
type ChangeKind = (typeof CHANGE_KINDS)[number];
const changeOf = (i: number): ChangeKind | undefined => (i % 100 === 7 ? CHANGE_KINDS[Math.floor(i / 100) % 3] : undefined);
const body = (i: number, generation: 1 | 2) => `v${generation} of object ${i}`;
const md5 = (text: string) => createHash("md5").update(text).digest("hex");
/** DynamoDB's "single-digit millisecond" latency, as the other benchmarks' aws profile. */
const AWS_DYNAMODB_MS = 8;
/** An assumption: "tens of milliseconds" for a list page of 1,000 entries (the scale issue), as bench/query.ts. */
const AWS_S3_LIST_MS = 50;
/** How far the ledger writers' clock runs behind the wall clock (see the header). */
const SHIFT_MS = 3 * 3_600_000;
/** Between the seed and T, and between T and the changes: twice the change feed's clock-skew margin (5 minutes). */
const GAP_MS = 10 * 60_000;
const SEED_CONCURRENCY = 64;
/** A sequencer per generation: only one key's sequencers are ever compared. */
const SEQUENCERS = { create: "00000000000000000000000000000001", change: "00000000000000000000000000000002", recreate: "00000000000000000000000000000003" };

/** API calls made through a client, by operation (the command's name). */
function countOperations(client: S3Client | DynamoDBClient): Map<string, number> {
  const counts = new Map<string, number>();
  (client.middlewareStack as { add: (middleware: unknown, options: object) => void }).add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => {
      const name = (context.commandName ?? "unknown").replace(/Command$/, "");
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: "initialize", name: "countOperations" },
  );
  return counts;
}

/** What one answer holds: the keys present, and a digest of (key, ETag, version id) in key order to compare answers by. */
interface Answer {
  present: number;
  unknown: number;
  digest: string;
}

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function digestOf(entries: Iterable<{ key: string; etag: string; versionId: string | undefined }>): { present: number; digest: string } {
  const hash = createHash("sha256");
  let present = 0;
  for (const entry of entries) {
    hash.update(`${entry.key}\n${entry.etag}\n${entry.versionId ?? ""}\n`);
    present++;
  }
  return { present, digest: hash.digest("hex") };
}

/** The seeded history's facts each variant is checked against. */
interface Seeded {
  /** The ledger's T and S3's T: each side's clock. */
  ledgerT: Date;
  s3T: Date;
  /** The digest of the prefix at T: every object's first version. */
  atT: { present: number; digest: string };
  liveNow: number;
}

async function seed(log: (line: string) => void, s3: S3Client, ledger: (now: () => Date) => Ledger): Promise<Seeded> {
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }));
  const shifted = (extraMs: number) => () => new Date(Date.now() - SHIFT_MS + extraMs);
  const seedClock = shifted(0);
  const seeding = ledger(seedClock);
  // The bucket's first complete reconciliation, before its first object: the ledger has held every key since.
  await seeding.recordReconciled(BUCKET, new Date(Date.now() - SHIFT_MS - 60_000));
  const limit = pLimit(SEED_CONCURRENCY);
  const firstVersions: string[] = new Array<string>(OBJECTS);
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: OBJECTS }, (_, i) =>
      limit(async () => {
        const text = body(i, 1);
        const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(i), Body: text }));
        firstVersions[i] = put.VersionId!;
        const eventTime = seedClock().toISOString();
        await seeding.apply({
          kind: "upsert",
          bucket: BUCKET,
          key: key(i),
          sequencer: SEQUENCERS.create,
          eventTime,
          eventName: "ObjectCreated:Put",
          state: { size: text.length, etag: put.ETag!.replaceAll('"', ""), lastModified: eventTime, versionId: put.VersionId! },
        });
        if (++done % 10_000 === 0) log(`  seeded ${done} objects (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      }),
    ),
  );
  const atT = digestOf(Array.from({ length: OBJECTS }, (_, i) => ({ key: key(i), etag: md5(body(i, 1)), versionId: firstVersions[i] })).sort(byKey));
  const ledgerT = new Date(seedClock().getTime() + GAP_MS);
  // S3's Last-Modified is whole seconds: its T is more than a second from either generation.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const s3T = new Date();
  await new Promise((resolve) => setTimeout(resolve, 1_100));

  const changeClock = shifted(2 * GAP_MS);
  const changing = ledger(changeClock);
  const changed = Array.from({ length: OBJECTS }, (_, i) => i).filter((i) => changeOf(i) !== undefined);
  log(`  changing ${changed.length} objects after T (${CHANGE_KINDS.join(", ")})...`);
  const put = async (i: number, sequencer: string) => {
    const text = body(i, 2);
    const { ETag, VersionId } = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(i), Body: text }));
    const eventTime = changeClock().toISOString();
    await changing.apply({
      kind: "upsert",
      bucket: BUCKET,
      key: key(i),
      sequencer,
      eventTime,
      eventName: "ObjectCreated:Put",
      state: { size: text.length, etag: ETag!.replaceAll('"', ""), lastModified: eventTime, versionId: VersionId! },
    });
  };
  const remove = async (i: number) => {
    const { VersionId } = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key(i) }));
    await changing.apply({
      kind: "delete",
      bucket: BUCKET,
      key: key(i),
      sequencer: SEQUENCERS.change,
      eventTime: changeClock().toISOString(),
      eventName: "ObjectRemoved:DeleteMarkerCreated",
      versionId: VersionId!,
    });
  };
  await Promise.all(
    changed.map((i) =>
      limit(async () => {
        const kind = changeOf(i)!;
        if (kind === "overwrite") return put(i, SEQUENCERS.change);
        await remove(i);
        if (kind === "recreate") await put(i, SEQUENCERS.recreate);
      }),
    ),
  );
  const deleted = changed.filter((i) => changeOf(i) === "delete").length;
  return { ledgerT, s3T, atT, liveNow: OBJECTS - deleted };
}

interface Via {
  s3: S3Client;
  ledger: Ledger;
  s3Calls: Map<string, number>;
  dynamodbCalls: Map<string, number>;
}

interface Measured {
  seconds: number;
  requests: Record<string, number>;
}

/** Runs each variant in paired rounds; checks every answer against the seeded history. */
async function measureProfile(log: (line: string) => void, profile: string, via: Via, seeded: Seeded) {
  const measure = async (calls: Map<string, number>, run: () => Promise<void>): Promise<Measured> => {
    const before = new Map(calls);
    const started = process.hrtime.bigint();
    await run();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const requests: Record<string, number> = {};
    for (const [operation, count] of calls) if (count > (before.get(operation) ?? 0)) requests[operation] = count - (before.get(operation) ?? 0);
    return { seconds, requests };
  };
  const expect = (variant: string, answer: Answer, present: number, digest?: string) => {
    if (answer.present !== present || answer.unknown !== 0 || (digest !== undefined && answer.digest !== digest))
      throw new Error(`${profile} ${variant}: ${JSON.stringify(answer)}, expected ${present} present (${digest ?? "any digest"}), none unknown`);
  };
  const asOf = async (at: Date): Promise<Answer> => {
    let unknown = 0;
    const present: { key: string; etag: string; versionId: string | undefined }[] = [];
    for await (const entry of via.ledger.asOf({ bucket: BUCKET, prefix: PREFIX, at })) {
      if (entry.state === "unknown") unknown++;
      else present.push({ key: entry.key, etag: entry.etag, versionId: entry.versionId });
    }
    return { ...digestOf(present), unknown };
  };
  const variants = {
    asof: () =>
      measure(via.dynamodbCalls, async () => {
        expect("asof", await asOf(seeded.ledgerT), seeded.atT.present, seeded.atT.digest);
      }),
    list: () =>
      measure(via.dynamodbCalls, async () => {
        let present = 0;
        for await (const _record of via.ledger.list({ bucket: BUCKET, prefix: PREFIX })) present++;
        expect("list", { present, unknown: 0, digest: "" }, seeded.liveNow);
      }),
    versions: () =>
      measure(via.s3Calls, async () => {
        expect("versions", await stateFromVersions(via.s3, seeded.s3T), seeded.atT.present, seeded.atT.digest);
      }),
    asof_now: () =>
      measure(via.dynamodbCalls, async () => {
        expect("asof_now", await asOf(new Date()), seeded.liveNow);
      }),
  };
  type Name = keyof typeof variants;
  const runs: Record<Name, Measured[]> = { asof: [], list: [], versions: [], asof_now: [] };
  const timed = Object.fromEntries(
    (Object.keys(variants) as Name[]).map((name) => [
      name,
      async () => {
        const result = await variants[name]();
        runs[name].push(result);
        log(`  ${profile} ${name}: ${result.seconds.toFixed(3)} s, ${JSON.stringify(result.requests)}`);
        return result.seconds;
      },
    ]),
  ) as Record<Name, () => Promise<number>>;
  const rounds = await pairedRounds(timed, ROUNDS);
  const seconds = (name: Name) => Number(median(runs[name].map((run) => run.seconds)).toFixed(4));
  return {
    asof_s: seconds("asof"),
    asof_requests: runs.asof[0]!.requests,
    list_s: seconds("list"),
    list_requests: runs.list[0]!.requests,
    versions_s: seconds("versions"),
    versions_requests: runs.versions[0]!.requests,
    asof_now_s: seconds("asof_now"),
    asof_now_requests: runs.asof_now[0]!.requests,
    /** Goal: at most 1.5. */
    asof_vs_list: spread(rounds.map((round) => round.asof / round.list)),
    /** Goal: at least 10. */
    versions_vs_asof: spread(rounds.map((round) => round.versions / round.asof)),
    asof_now_vs_list: spread(rounds.map((round) => round.asof_now / round.list)),
  };
}

/**
 * The prefix at `at` from ListObjectVersions (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html):
 * up to 1,000 versions and delete markers a page, in key order, continued with key-marker and
 * version-id-marker. A key existed at `at` when its newest entry last modified at or before then
 * is a version, not a delete marker.
 */
async function stateFromVersions(s3: S3Client, at: Date): Promise<Answer> {
  const newest = new Map<string, { lastModified: number; etag?: string; versionId: string }>();
  const consider = (entryKey: string, lastModified: Date, versionId: string, etag?: string) => {
    const time = lastModified.getTime();
    if (time > at.getTime()) return;
    const held = newest.get(entryKey);
    if (held === undefined || time > held.lastModified) newest.set(entryKey, { lastModified: time, versionId, ...(etag !== undefined && { etag }) });
  };
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: BUCKET,
        Prefix: PREFIX,
        MaxKeys: 1_000,
        ...(keyMarker !== undefined && { KeyMarker: keyMarker }),
        ...(versionIdMarker !== undefined && { VersionIdMarker: versionIdMarker }),
      }),
    );
    for (const version of page.Versions ?? []) consider(version.Key!, version.LastModified!, version.VersionId!, version.ETag!.replaceAll('"', ""));
    for (const marker of page.DeleteMarkers ?? []) consider(marker.Key!, marker.LastModified!, marker.VersionId!);
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
  const present = [...newest.entries()]
    .filter(([, entry]) => entry.etag !== undefined)
    .map(([entryKey, entry]) => ({ key: entryKey, etag: entry.etag!, versionId: entry.versionId }))
    .sort(byKey);
  return { ...digestOf(present), unknown: 0 };
}

export async function benchTimeTravel(log: (line: string) => void) {
  const [dynamodb, aws] = await Promise.all([startDynamoDbLocal(), startEmulatorProcess()]);
  const clients = createLocalClients({ s3: aws.endpoint, sqs: aws.endpoint, dynamodb: dynamodb.endpoint });
  const doc = createDocumentClient(clients.dynamodb);
  try {
    const tableName = `bench-${randomUUID()}`;
    await clients.dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
    await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30 }, { TableName: tableName });
    const ledgerOn = (documentClient = doc, now?: () => Date) => new Ledger({ tableName, documentClient, historyDays: 90, ...(now && { now }) });
    log(`  preparing ${OBJECTS} objects under ${PREFIX} in a versioned bucket and the ledger (journal on), then 1% changed after T...`);
    const seedStarted = Date.now();
    const seeded = await seed(log, clients.s3, (now) => ledgerOn(doc, now));
    log(`  seeded in ${((Date.now() - seedStarted) / 1000).toFixed(0)} s`);

    const [dynamoProxy, s3Proxy] = await Promise.all([FaultInjectingProxy.start(dynamodb.endpoint), FaultInjectingProxy.start(aws.endpoint)]);
    const proxied = createLocalClients({ s3: s3Proxy.endpoint, sqs: aws.endpoint, dynamodb: dynamoProxy.endpoint });
    try {
      dynamoProxy.addLatency(AWS_DYNAMODB_MS);
      // AWS's read units per partition too, so a figure here is one a table on AWS could reach.
      const capacity = new CapacityModel();
      dynamoProxy.useCapacity(capacity);
      s3Proxy.addLatency(AWS_S3_LIST_MS);
      const viaOf = (through: ReturnType<typeof createLocalClients>): Via => {
        const documentClient = through === clients ? doc : createDocumentClient(through.dynamodb);
        return { s3: through.s3, ledger: ledgerOn(documentClient), s3Calls: countOperations(through.s3), dynamodbCalls: countOperations(through.dynamodb) };
      };
      const profiles = {
        local: await measureProfile(log, "local", viaOf(clients), seeded),
        aws: await measureProfile(log, "aws", viaOf(proxied), seeded),
      };
      const throttledReads = capacity.partitions().reduce((sum, partition) => sum + partition.throttledReadUnits, 0);
      return {
        objects: OBJECTS,
        changed_after_t: Math.floor(OBJECTS / 100),
        change_kinds: CHANGE_KINDS,
        rounds: ROUNDS,
        aws_latency_ms: { dynamodb: AWS_DYNAMODB_MS, s3_list: AWS_S3_LIST_MS },
        aws_capacity_model: { throttled_reads: throttledReads },
        profiles,
      };
    } finally {
      for (const client of Object.values(proxied)) client.destroy();
      await Promise.allSettled([dynamoProxy.stop(), s3Proxy.stop()]);
    }
  } finally {
    for (const client of Object.values(clients)) client.destroy();
    await Promise.allSettled([dynamodb.stop(), aws.stop()]);
  }
}
