/**
 * Row ingestion against DynamoDB Local and the local S3, through the real SDK clients: every
 * edge case the rules promise (issue 13), each asserted on the table's contents, the ingestion
 * record and the error report.
 */
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { CreateTableCommand, DeleteTableCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { createRowTableInput, SOURCE_SHARDS, sourcePartitions, sourceUriOf } from "../../ingest/row-table.js";
import { Ingester } from "../../ingest/ingester.js";
import { sweepRows } from "../../ingest/row-sweep.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "../../ledger/index.js";
import { localCredentials, LOCAL_REGION } from "../../local/credentials.js";
import { CapacityModel } from "../../local/capacity-model.js";
import { FaultInjectingProxy } from "../../local/fault-proxy.js";
import { startS3SqsEmulator, type S3SqsEmulator } from "../../local/s3-sqs-emulator.js";
import { sourceUri, type IngestRuleInput } from "../../ingest/rules.js";
import { dynamoDbClient, startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { ingestFixture, NO_DEADLINE } from "../support/ingest.js";

let dynamodb: TestDynamoDb;
let emulator: S3SqsEmulator;
let s3: S3Client;
let documentClient: DynamoDBDocumentClient;

beforeAll(async () => {
  [dynamodb, emulator] = await Promise.all([startTestDynamoDb(), startS3SqsEmulator({ region: LOCAL_REGION })]);
  s3 = new S3Client({ region: LOCAL_REGION, credentials: localCredentials, endpoint: emulator.endpoint, forcePathStyle: true });
  documentClient = createDocumentClient(dynamodb.client);
});
afterAll(async () => {
  s3?.destroy();
  await Promise.all([dynamodb?.stop(), emulator?.stop()]);
});

const SEED_CSV = "account,offer_id,product_name,price\nacc123,offer001,Widget A,19.99\nacc456,offer002,Gadget B,29.50\nacc123,offer003,Accessory C,9.75\n";

const offers =
  (overrides: Partial<IngestRuleInput> = {}) =>
  () => [
    {
      name: "offers",
      pattern: "imports/*.csv",
      format: "csv" as const,
      partitionKey: "account",
      sortKey: "offer_id",
      types: { price: "number" as const },
      ...overrides,
    },
  ];

async function fixture(overrides: Partial<IngestRuleInput> = {}) {
  return ingestFixture({ s3, documentClient, ledger: await dynamodb.createLedger(), rules: offers(overrides) });
}

const strip = (rows: Record<string, unknown>[]) => rows.map(({ _source, _version, _line, ...row }) => row);

async function readText(bucket: string, key: string): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return response.Body!.transformToString();
}

describe("a CSV file", () => {
  it("is mirrored row by row, typed, with its source and version on every row", async () => {
    const f = await fixture();
    const version = await f.upload("imports/offers.csv", SEED_CSV);
    const outcome = await f.ingest("imports/offers.csv");
    expect(outcome).toMatchObject({ outcome: "finished", record: { status: "succeeded", rowsRead: 3, rowsWritten: 3, rowsRejected: 0, version } });
    const rows = await f.rows();
    expect(strip(rows)).toEqual([
      { account: "acc123", offer_id: "offer001", product_name: "Widget A", price: 19.99 },
      { account: "acc123", offer_id: "offer003", product_name: "Accessory C", price: 9.75 },
      { account: "acc456", offer_id: "offer002", product_name: "Gadget B", price: 29.5 },
    ]);
    expect(rows[0]).toMatchObject({ _version: version, _line: 2 });
    expect(sourceUriOf(rows[0]!._source as string)).toBe(`s3://${f.bucket}/imports/offers.csv`);
    expect(await f.store.get(f.bucket, "imports/offers.csv")).toMatchObject({ status: "succeeded", attempts: 1 });
  });

  it("handles a BOM, CRLF, quoted commas and newlines, and drops empty strings", async () => {
    const f = await fixture();
    await f.upload("imports/quoted.csv", '\ufeffaccount,offer_id,product_name,price\r\nacc1,o1,"Widget, large\r\nsecond line",\r\nacc1,o2,,3\r\n');
    expect(await f.ingest("imports/quoted.csv")).toMatchObject({ record: { status: "succeeded", rowsWritten: 2 } });
    const rows = await f.rows();
    expect(strip(rows)).toEqual([
      { account: "acc1", offer_id: "o1", product_name: "Widget, large\r\nsecond line" },
      { account: "acc1", offer_id: "o2", price: 3 },
    ]);
    expect(rows.map((row) => row._line)).toEqual([2, 4]);
  });

  it("keeps the last of rows sharing a key, in one batch group and across groups", async () => {
    const f = await fixture();
    const lines = ["account,offer_id,product_name"];
    for (let i = 0; i < 120; i++) lines.push(`a,${i % 7 === 0 ? "dup" : `o${i}`},row ${i}`);
    lines.push("a,o5,first o5 again", "a,o5,last o5");
    await f.upload("imports/dups.csv", lines.join("\n"));
    const outcome = await f.ingest("imports/dups.csv");
    expect(outcome).toMatchObject({ record: { status: "succeeded", rowsRead: 122 } });
    const rows = await f.rows();
    const byOffer = new Map(rows.map((row) => [row.offer_id, row.product_name]));
    expect(byOffer.get("dup")).toBe("row 119");
    expect(byOffer.get("o5")).toBe("last o5");
    expect(rows).toHaveLength(120 - 18 + 1);
  });

  it("rejects bad rows into an NDJSON report with line and reason, and writes the rest", async () => {
    const f = await fixture({ types: { price: "number", active: "boolean" } });
    const big = "x".repeat(410 * 1024);
    const csv = [
      "account,offer_id,price,active,note",
      "a,o1,1,true,",
      ",o2,2,false,",
      "a,o3,cheap,true,",
      "a,o4,4,maybe,",
      `a,o5,5,true,${big}`,
      "a,o6,6",
      "a,o7,7,FALSE,ok",
    ].join("\n");
    await f.upload("imports/bad.csv", csv);
    const outcome = await f.ingest("imports/bad.csv");
    expect(outcome).toMatchObject({
      record: {
        status: "partial",
        rowsRead: 7,
        rowsWritten: 2,
        rowsRejected: 5,
        retryable: false,
        errorReport: "bucket-ledger/ingest-errors/imports/bad.csv.errors.ndjson",
      },
    });
    expect(strip(await f.rows())).toEqual([
      { account: "a", offer_id: "o1", price: 1, active: true },
      { account: "a", offer_id: "o7", price: 7, active: false, note: "ok" },
    ]);
    const report = (await readText(f.bucket, "bucket-ledger/ingest-errors/imports/bad.csv.errors.ndjson"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { line: number; reason: string });
    expect(report.map((entry) => entry.line)).toEqual([3, 4, 5, 6, 7]);
    expect(report.map((entry) => entry.reason)).toEqual([
      "key column account is missing or empty",
      "column price is declared number; its value is not a number",
      "column active is declared boolean; its value is neither true nor false",
      expect.stringMatching(/^row is \d+ bytes as an item; DynamoDB allows 409600/),
      "row has 3 fields; the header has 5",
    ]);
  });

  it.each([
    ["an unterminated quote", 'account,offer_id\na,o1\na,"o2\n', 3, /Quote Not Closed/],
    ["invalid UTF-8", Buffer.concat([Buffer.from("account,offer_id\na,o1\na,"), Buffer.from([0xc3, 0x28]), Buffer.from("\n")]), 3, /invalid UTF-8/],
    ["no header", "", 1, /no header/],
    ["an empty column name in the header", "account,,offer_id\na,x,o1\n", 1, /the header's column 2 has no name/],
    // csv-parse's INVALID_OPENING_QUOTE has no CSV_ prefix: it once escaped as a crash.
    ["a stray quote in an unquoted field", 'account,offer_id,product_name\na,o1,27" monitor\n', 2, /^a quote inside an unquoted field/],
    ["text after a closing quote", 'account,offer_id,product_name\na,o1,"secret"x\n', 2, /^a quoted field goes on after its closing quote$/],
  ])("with %s fails as a whole and leaves the earlier version's rows", async (_, body, line, reason) => {
    const f = await fixture();
    await f.upload("imports/f.csv", "account,offer_id,product_name\na,o1,good\na,o9,good\n");
    await f.ingest("imports/f.csv");
    await f.upload("imports/f.csv", body);
    const outcome = await f.ingest("imports/f.csv");
    expect(outcome).toMatchObject({ record: { status: "failed", retryable: false, failedLine: line, rowsWritten: 0 } });
    expect(outcome.outcome === "finished" && outcome.record.reason).toMatch(reason);
    expect(strip(await f.rows())).toEqual([
      { account: "a", offer_id: "o1", product_name: "good" },
      { account: "a", offer_id: "o9", product_name: "good" },
    ]);
  });
});

describe("what DynamoDB holds", () => {
  it("keeps numbers exact past 2^53, refuses those outside DynamoDB's range, and isolates rows the table refuses", async () => {
    const f = await fixture({ types: { price: "number" } });
    await f.upload("imports/n.csv", "account,offer_id,price\na,big,123456789012345678901234567890\na,huge,1e200\na,tiny,1e-131\na,ok,1.5\n");
    expect(await f.ingest("imports/n.csv")).toMatchObject({ record: { status: "partial", rowsWritten: 2, rowsRejected: 2 } });
    const prices = Object.fromEntries((await f.rows()).map((row) => [row.offer_id, String(row.price)]));
    expect(prices).toEqual({ big: "123456789012345678901234567890", ok: "1.5" });

    // A table whose sort key is a number, under a rule that reads it as a string: DynamoDB
    // refuses each batch, then each row alone; the file ends partial, every row named.
    const ledger = await dynamodb.createLedger();
    const g = await ingestFixture({ s3, documentClient, ledger, rules: offers() });
    await documentClient.send(new DeleteTableCommand({ TableName: g.rule.table! }));
    await documentClient.send(
      new CreateTableCommand({
        ...createRowTableInput(g.rule, g.rule.table!),
        AttributeDefinitions: [
          { AttributeName: "account", AttributeType: "S" },
          { AttributeName: "offer_id", AttributeType: "N" },
          { AttributeName: "_source", AttributeType: "S" },
          { AttributeName: "_version", AttributeType: "S" },
        ],
      }),
    );
    await g.upload("imports/mismatch.csv", "account,offer_id\na,1\na,2\n");
    const outcome = await g.ingest("imports/mismatch.csv");
    expect(outcome).toMatchObject({ record: { status: "partial", rowsWritten: 0, rowsRejected: 2, retryable: false } });
    const report = await readText(g.bucket, "bucket-ledger/ingest-errors/imports/mismatch.csv.errors.ndjson");
    expect(
      report
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { reason: string }).reason),
    ).toEqual([expect.stringMatching(/^DynamoDB refused the row: .*(type|Type)/), expect.stringMatching(/^DynamoDB refused the row: .*(type|Type)/)]);
  });
});

describe("JSON Lines numbers", () => {
  it("round-trip exactly through DynamoDB: 2^53 + 1 and 38-digit decimals, nested too; numbers DynamoDB cannot hold reject their row", async () => {
    const ledger = await dynamodb.createLedger();
    const f = await ingestFixture({
      s3,
      documentClient,
      ledger,
      rules: () => [{ name: "events", pattern: "events/*.jsonl", format: "jsonl", partitionKey: "id", types: { amount: "number" } }],
    });
    const decimal = "0.12345678901234567890123456789012345678";
    const body = [
      `{"id":"int","amount":9007199254740993,"other":9007199254740993}`,
      `{"id":"dec","amount":${decimal},"nested":{"list":[${decimal},-9007199254740993]}}`,
      `{"id":"wide","amount":1234.5678901234567890123456789012345678}`,
      `{"id":"too-precise","amount":123456789012345678901234567890123456789}`,
      `{"id":"too-big","other":1e126}`,
    ].join("\n");
    await f.upload("events/n.jsonl", body);
    expect(await f.ingest("events/n.jsonl")).toMatchObject({ record: { status: "partial", rowsWritten: 3, rowsRejected: 2 } });
    // Read as DynamoDB holds them: N values are strings on the wire.
    const { Items = [] } = await dynamodb.client.send(new ScanCommand({ TableName: f.rule.table!, ConsistentRead: true }));
    const byId = Object.fromEntries(Items.map((item) => [item.id!.S!, item]));
    expect(byId.int!.amount).toEqual({ N: "9007199254740993" });
    expect(byId.int!.other).toEqual({ N: "9007199254740993" });
    expect(byId.dec!.amount).toEqual({ N: decimal });
    expect(byId.dec!.nested).toEqual({ M: { list: { L: [{ N: decimal }, { N: "-9007199254740993" }] } } });
    expect(byId.wide!.amount).toEqual({ N: "1234.5678901234567890123456789012345678" });
    const report = (await readText(f.bucket, "bucket-ledger/ingest-errors/events/n.jsonl.errors.ndjson"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { line: number; reason: string });
    expect(report).toEqual([
      {
        source: `s3://${f.bucket}/events/n.jsonl`,
        version: expect.any(String),
        line: 4,
        reason: expect.stringMatching(/^column amount .*38 significant digits/),
      },
      {
        source: `s3://${f.bucket}/events/n.jsonl`,
        version: expect.any(String),
        line: 5,
        reason: expect.stringMatching(/^column other: .*outside DynamoDB's number range/),
      },
    ]);
  });
});

describe("overwrites and deletes", () => {
  const v1 = "account,offer_id,product_name\na,o1,one\na,o2,two\na,o3,three\n";
  const v2 = "account,offer_id,product_name\na,o1,ONE\na,o3,THREE\n";

  it("replace: the table holds exactly the new version's rows", async () => {
    const f = await fixture({ onOverwrite: "replace" });
    await f.upload("imports/x.csv", v1);
    await f.ingest("imports/x.csv");
    await f.upload("imports/x.csv", v2);
    expect(await f.ingest("imports/x.csv")).toMatchObject({ record: { status: "succeeded", rowsWritten: 2, rowsDeleted: 1 } });
    expect(strip(await f.rows())).toEqual([
      { account: "a", offer_id: "o1", product_name: "ONE" },
      { account: "a", offer_id: "o3", product_name: "THREE" },
    ]);
  });

  it("upsert: rows the new version dropped stay", async () => {
    const f = await fixture({ onOverwrite: "upsert" });
    await f.upload("imports/x.csv", v1);
    await f.ingest("imports/x.csv");
    await f.upload("imports/x.csv", v2);
    expect(await f.ingest("imports/x.csv")).toMatchObject({ record: { rowsDeleted: 0 } });
    expect(strip(await f.rows()).map((row) => row.product_name)).toEqual(["ONE", "two", "THREE"]);
  });

  it("delete: a deleted file's rows go; keep: they stay", async () => {
    for (const onDelete of ["delete", "keep"] as const) {
      const f = await fixture({ onDelete });
      await f.upload("imports/x.csv", v1);
      await f.ingest("imports/x.csv");
      await f.remove("imports/x.csv");
      const outcome = await f.ingester.run({ kind: "remove", bucket: f.bucket, key: "imports/x.csv", cause: "event" }, { remainingMs: () => 1e9 });
      if (onDelete === "delete") {
        expect(outcome).toMatchObject({ outcome: "finished", record: { status: "removed", rowsDeleted: 3 } });
        expect(await f.rows()).toEqual([]);
      } else {
        expect(outcome).toEqual({ outcome: "skipped", why: "gone" });
        expect(await f.rows()).toHaveLength(3);
      }
    }
  });

  it("delete: the same content uploaded again after its rows went is ingested again, not skipped as a duplicate", async () => {
    const f = await fixture({ onDelete: "delete" });
    const version = await f.upload("imports/x.csv", v1);
    await f.ingest("imports/x.csv");
    await f.remove("imports/x.csv");
    await f.ingester.run({ kind: "remove", bucket: f.bucket, key: "imports/x.csv", cause: "event" }, { remainingMs: () => 1e9 });
    expect(await f.rows()).toEqual([]);
    // An unversioned bucket: identical bytes, the same ETag, so the same ingest version.
    expect(await f.upload("imports/x.csv", v1)).toBe(version);
    expect(await f.ingest("imports/x.csv")).toMatchObject({ outcome: "finished", record: { status: "succeeded", rowsWritten: 3 } });
    expect(await f.rows()).toHaveLength(3);
  });

  it("a row key another file wrote last belongs to that file: replacing or deleting the first leaves it", async () => {
    const f = await fixture();
    await f.upload("imports/first.csv", "account,offer_id,product_name\na,shared,from first\na,mine,first only\n");
    await f.ingest("imports/first.csv");
    await f.upload("imports/second.csv", "account,offer_id,product_name\na,shared,from second\n");
    await f.ingest("imports/second.csv");
    await f.upload("imports/first.csv", "account,offer_id,product_name\na,mine,first v2\n");
    await f.ingest("imports/first.csv");
    expect(strip(await f.rows())).toEqual([
      { account: "a", offer_id: "mine", product_name: "first v2" },
      { account: "a", offer_id: "shared", product_name: "from second" },
    ]);
    await f.remove("imports/first.csv");
    await f.ingester.run({ kind: "remove", bucket: f.bucket, key: "imports/first.csv", cause: "event" }, { remainingMs: () => 1e9 });
    expect(strip(await f.rows())).toEqual([{ account: "a", offer_id: "shared", product_name: "from second" }]);
  });

  it("rows spread over the source index's shards, and rows written before it was sharded are still swept", async () => {
    const ledger = await dynamodb.createLedger();
    const f = await ingestFixture({ s3, documentClient, ledger, rules: offers() });
    // The ingester as it was before sharding: every row under the file's URI alone.
    const before = new Ingester({ s3, documentClient, ledger, store: f.store, rules: f.rules, sourceLayout: "unsharded" });
    const file = (version: string, rows: number) =>
      ["account,offer_id,product_name", ...Array.from({ length: rows }, (_, i) => `a${i % 7},o${i},${version}`)].join("\n");
    const v1 = await f.upload("imports/x.csv", file("v1", 300));
    await before.run({ kind: "ingest", bucket: f.bucket, key: "imports/x.csv", version: v1, cause: "event", again: false }, NO_DEADLINE);
    const uri = `s3://${f.bucket}/imports/x.csv`;
    expect(new Set((await f.rows()).map((row) => row._source))).toEqual(new Set([uri]));

    await f.upload("imports/x.csv", file("v2", 200));
    expect(await f.ingest("imports/x.csv")).toMatchObject({ record: { status: "succeeded", rowsWritten: 200, rowsDeleted: 100 } });
    const rows = await f.rows();
    expect(rows).toHaveLength(200);
    expect(rows.every((row) => row.product_name === "v2")).toBe(true);
    // 200 rows over 32 shards: every one used but by chance a few.
    const shards = new Set(rows.map((row) => row._source as string));
    expect(shards.size).toBeGreaterThan(SOURCE_SHARDS - 4);
    expect([...shards].every((value) => sourcePartitions(uri).slice(1).includes(value))).toBe(true);

    await f.remove("imports/x.csv");
    expect(await f.ingester.run({ kind: "remove", bucket: f.bucket, key: "imports/x.csv", cause: "event" }, NO_DEADLINE)).toMatchObject({
      record: { status: "removed", rowsDeleted: 200 },
    });
    expect(await f.rows()).toEqual([]);
  });

  it("an old version's request after a new one ingests nothing, and a repeated request nothing twice", async () => {
    const f = await fixture();
    const old = await f.upload("imports/x.csv", v1);
    await f.upload("imports/x.csv", v2);
    expect(await f.ingest("imports/x.csv")).toMatchObject({ outcome: "finished" });
    expect(await f.ingest("imports/x.csv", { version: old })).toEqual({ outcome: "skipped", why: "superseded" });
    expect(await f.ingest("imports/x.csv")).toEqual({ outcome: "skipped", why: "duplicate" });
    expect(strip(await f.rows()).map((row) => row.product_name)).toEqual(["ONE", "THREE"]);
    expect(await f.store.get(f.bucket, "imports/x.csv")).toMatchObject({ attempts: 1, status: "succeeded" });
  });
});

describe("one file under DynamoDB's partition limits (the capacity model)", () => {
  it("is no longer capped at one index partition's 1,000 write units a second, first ingested or again", { timeout: 120_000 }, async () => {
    const proxy = await FaultInjectingProxy.start(dynamodb.emulator.endpoint);
    // The model's clock stands still: every partition has one second's units, and no more.
    const clock = { now: 0 };
    proxy.useCapacity(new CapacityModel({ now: () => clock.now }));
    try {
      const rowClient = createDocumentClient(dynamoDbClient(proxy.endpoint, 1));
      const ledger = await dynamodb.createLedger();
      const writer = { retryBaseDelayMs: 1, maxWriteAttempts: 3 };
      const f = await ingestFixture({ s3, documentClient, ledger, rowClient, rules: offers(), ingester: writer });
      // Rows of distinct accounts: the table's own partitions never bind, only the index's.
      const rows = 1_200;
      const csv = (file: string, tag: string) =>
        ["account,offer_id,product_name", ...Array.from({ length: rows }, (_, i) => `${file}${i},o${i},${tag}`)].join("\n");

      // As before sharding: the file's one index partition takes 1,000 entries; the rest are throttled.
      const unsharded = new Ingester({ s3, documentClient: rowClient, ledger, store: f.store, rules: f.rules, sourceLayout: "unsharded", ...writer });
      const before = await f.upload("imports/before.csv", csv("b", "v1"));
      const old = await unsharded.run(
        { kind: "ingest", bucket: f.bucket, key: "imports/before.csv", version: before, cause: "event", again: false },
        NO_DEADLINE,
      );
      expect(old).toMatchObject({ record: { status: "partial", retryable: true } });
      expect(old.outcome === "finished" && old.record.rowsWritten).toBeLessThanOrEqual(1_000);

      clock.now += 1_000;
      await f.upload("imports/after.csv", csv("a", "v1"));
      expect(await f.ingest("imports/after.csv")).toMatchObject({ record: { status: "succeeded", rowsWritten: rows, rowsRejected: 0 } });
      // Again: each row moves its entry within its shard (a delete and a put, two units).
      clock.now += 1_000;
      await f.upload("imports/after.csv", csv("a", "v2"));
      expect(await f.ingest("imports/after.csv")).toMatchObject({ record: { status: "succeeded", rowsWritten: rows, rowsRejected: 0, rowsDeleted: 0 } });
    } finally {
      proxy.useCapacity(undefined);
      await proxy.stop();
    }
  });
});

describe("a sweep under DynamoDB's partition limits (the capacity model)", () => {
  it("rides out throttling: rows written before sharding, all in one index partition, are deleted at its rate", async () => {
    const proxy = await FaultInjectingProxy.start(dynamodb.emulator.endpoint);
    try {
      const rowClient = createDocumentClient(dynamoDbClient(proxy.endpoint, 1));
      const ledger = await dynamodb.createLedger();
      const f = await ingestFixture({ s3, documentClient, ledger, rowClient, rules: offers() });
      const unsharded = new Ingester({ s3, documentClient: rowClient, ledger, store: f.store, rules: f.rules, sourceLayout: "unsharded" });
      const rows = 150;
      const v1 = await f.upload("imports/x.csv", ["account,offer_id", ...Array.from({ length: rows }, (_, i) => `old${i},o${i}`)].join("\n"));
      await unsharded.run({ kind: "ingest", bucket: f.bucket, key: "imports/x.csv", version: v1, cause: "event", again: false }, NO_DEADLINE);
      // A tenth of AWS's partition limit on a clock that moves only while the sweep backs off:
      // the legacy partition takes 100 deletes, then a second must pass.
      const clock = { now: 0 };
      proxy.useCapacity(new CapacityModel({ now: () => clock.now, limits: { partitionWriteUnits: 100 } }));
      let backoffs = 0;
      const swept = await sweepRows(
        {
          documentClient: rowClient,
          tableName: f.rule.table!,
          rule: f.rule,
          concurrency: 4,
          sleep: async () => {
            backoffs++;
            clock.now += 1_000;
          },
        },
        sourceUri(f.bucket, "imports/x.csv"),
        "a newer version",
      );
      expect(swept).toEqual({ deleted: rows, kept: 0 });
      expect(backoffs).toBeGreaterThan(0);
      expect(await f.rows()).toEqual([]);
    } finally {
      proxy.useCapacity(undefined);
      await proxy.stop();
    }
  });
});

describe("a file longer than one invocation", () => {
  it("checkpoints and continues until done, with exact counts", async () => {
    const f = await fixture();
    const lines = ["account,offer_id,price"];
    for (let i = 0; i < 3000; i++) lines.push(i === 1500 ? `a,o${i},not-a-number` : `a${i % 10},o${i},${i}`);
    await f.upload("imports/long.csv", lines.join("\n"));
    // Out of time at every check: each invocation reads a few hundred rows and stops.
    let invocations = 0;
    let outcome = await f.ingest("imports/long.csv", { budget: { remainingMs: () => -1 } });
    while (outcome.outcome === "continuing") {
      invocations++;
      expect(outcome.record.checkpoint!.offset).toBeGreaterThanOrEqual(0);
      outcome = await f.ingest("imports/long.csv", { budget: { remainingMs: () => -1 } });
    }
    expect(invocations).toBeGreaterThan(10);
    expect(outcome).toMatchObject({ outcome: "finished", record: { status: "partial", rowsRead: 3000, rowsWritten: 2999, rowsRejected: 1 } });
    const rows = await f.rows();
    expect(rows).toHaveLength(2999);
    expect(new Set(rows.map((row) => row.offer_id)).size).toBe(2999);
    const report = await readText(f.bucket, "bucket-ledger/ingest-errors/imports/long.csv.errors.ndjson");
    expect(report.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(report)).toMatchObject({ line: 1502 });
  });
});

describe("BatchWriteItem's UnprocessedItems", () => {
  it("are retried with backoff until written, and rejected (retryable) when they never are", async () => {
    const proxy = await FaultInjectingProxy.start(dynamodb.emulator.endpoint);
    try {
      const rowClient = createDocumentClient(dynamoDbClient(proxy.endpoint));
      const ledger = await dynamodb.createLedger();
      const f = await ingestFixture({ s3, documentClient, ledger, rowClient, rules: offers(), ingester: { retryBaseDelayMs: 1, maxWriteAttempts: 4 } });
      const csv = ["account,offer_id", ...Array.from({ length: 100 }, (_, i) => `a,o${i}`)].join("\n");
      await f.upload("imports/hot.csv", csv);
      let faults = 3;
      // Three calls come back half unprocessed: no group meets more than three, and the fourth attempt goes through.
      proxy.failWhen((body) => body.includes('"RequestItems"') && faults-- > 0, "unprocessed");
      expect(await f.ingest("imports/hot.csv")).toMatchObject({ record: { status: "succeeded", rowsWritten: 100 } });
      expect(await f.rows()).toHaveLength(100);
      expect(proxy.failedRequests).toBe(3);

      proxy.failWhen((body) => body.includes('"RequestItems"'), "unprocessed");
      await f.upload("imports/hot2.csv", ["account,offer_id", ...Array.from({ length: 25 }, (_, i) => `b,o${i}`)].join("\n"));
      const outcome = await f.ingest("imports/hot2.csv");
      // Each attempt writes half of what is left: 13, 6, 3, 2 of 25; one row never goes in.
      expect(outcome).toMatchObject({ record: { status: "partial", rowsWritten: 24, rowsRejected: 1, rowsUnprocessed: 1, retryable: true } });
      expect(await readText(f.bucket, "bucket-ledger/ingest-errors/imports/hot2.csv.errors.ndjson")).toContain(
        "not written after 4 BatchWriteItem attempts (left in UnprocessedItems)",
      );
    } finally {
      await proxy.stop();
    }
  });

  it("rides out throttling: the SDK retries it, then the writer's own backoff, and every row goes in", async () => {
    const proxy = await FaultInjectingProxy.start(dynamodb.emulator.endpoint);
    try {
      // Two SDK attempts per call, so a throttled group also reaches the writer's backoff.
      const rowClient = createDocumentClient(dynamoDbClient(proxy.endpoint, 2));
      const ledger = await dynamodb.createLedger();
      const f = await ingestFixture({ s3, documentClient, ledger, rowClient, rules: offers(), ingester: { retryBaseDelayMs: 1, maxWriteAttempts: 6 } });
      await f.upload("imports/throttled.csv", ["account,offer_id", ...Array.from({ length: 100 }, (_, i) => `t,o${i}`)].join("\n"));
      let throttled = 8;
      proxy.failWhen((body) => body.includes('"RequestItems"') && throttled-- > 0, "throttle");
      expect(await f.ingest("imports/throttled.csv")).toMatchObject({ record: { status: "succeeded", rowsWritten: 100, rowsRejected: 0 } });
      expect(proxy.failedRequests).toBe(8);
      expect(await f.rows()).toHaveLength(100);
    } finally {
      await proxy.stop();
    }
  });
});

describe("a file whose key is near S3's 1,024 bytes", () => {
  it("finishes: its error report is named by the key's digest where its name would not fit", async () => {
    const f = await fixture();
    const key = `imports/${"k".repeat(1_024 - "imports/.csv".length)}.csv`;
    await f.upload(key, "account,offer_id\na,o1\n,o2\n");
    const outcome = await f.ingest(key);
    expect(outcome).toMatchObject({
      record: {
        status: "partial",
        rowsWritten: 1,
        rowsRejected: 1,
        errorReport: expect.stringMatching(/^bucket-ledger\/ingest-errors\/sha256\/[0-9a-f]{64}\.errors\.ndjson$/),
      },
    });
    const report = outcome.outcome === "finished" ? outcome.record.errorReport! : "";
    expect(JSON.parse(await readText(f.bucket, report))).toMatchObject({ line: 3, reason: "key column account is missing or empty" });
  });
});

describe("JSON Lines rows no parser may crash on", () => {
  it("a row nested deeper than DynamoDB's 32 levels is rejected alone; the file goes on", async () => {
    const ledger = await dynamodb.createLedger();
    const f = await ingestFixture({
      s3,
      documentClient,
      ledger,
      rules: () => [{ name: "events", pattern: "events/*.jsonl", format: "jsonl", partitionKey: "id" }],
    });
    const deep = (levels: number) => `{"id":"deep${levels}","v":${"[".repeat(levels)}${"]".repeat(levels)}}`;
    await f.upload("events/deep.jsonl", [deep(5_000), deep(31), deep(32), '{"id":"ok"}'].join("\n"));
    expect(await f.ingest("events/deep.jsonl")).toMatchObject({ record: { status: "partial", rowsRead: 4, rowsWritten: 2, rowsRejected: 2 } });
    expect((await f.rows()).map((row) => row.id)).toEqual(["deep31", "ok"]);
    const report = await readText(f.bucket, "bucket-ledger/ingest-errors/events/deep.jsonl.errors.ndjson");
    expect(
      report
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { line: number; reason: string }),
    ).toMatchObject([
      { line: 1, reason: "nested deeper than DynamoDB's 32 levels" },
      { line: 3, reason: "nested deeper than DynamoDB's 32 levels" },
    ]);
  });
});

describe("JSON Lines and the copy", () => {
  it("parses objects per line, keeps nested values, rejects lines that are not objects, and copies written items", async () => {
    const ledger = await dynamodb.createLedger();
    const f = await ingestFixture({
      s3,
      documentClient,
      ledger,
      rules: () => [{ name: "events", pattern: "events/*.jsonl", format: "jsonl", partitionKey: "id", types: { n: "number" }, copyPrefix: "copies/" }],
    });
    const body = ['{"id":"1","n":"42","tags":["x"],"meta":{"a":1},"empty":""}', "", "not json", "[1,2]", '{"id":"2","n":7}\r', '{"n":1}'].join("\n");
    await f.upload("events/day.jsonl", body);
    expect(await f.ingest("events/day.jsonl")).toMatchObject({ record: { status: "partial", rowsRead: 5, rowsWritten: 2, rowsRejected: 3 } });
    expect(strip(await f.rows())).toEqual([
      { id: "1", n: 42, tags: ["x"], meta: { a: 1 } },
      { id: "2", n: 7 },
    ]);
    const copy = (await readText(f.bucket, "copies/events/day.jsonl"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(copy.map((item) => item.id)).toEqual(["1", "2"]);
    const head = await s3.send(new HeadObjectCommand({ Bucket: f.bucket, Key: "copies/events/day.jsonl" }));
    expect(head.ContentType).toBe("application/x-ndjson");
  });
});
