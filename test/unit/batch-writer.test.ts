/**
 * The batch writer's bounds, with a stand-in for DynamoDB that only counts and waits: how many
 * bytes of rows are in flight at once, and that rows sharing a key are written in file order.
 * (Its behaviour against DynamoDB, retries included, is in test/integration/ingest.test.ts.)
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { RowBatchWriter } from "../../ingest/batch-writer.js";

interface Call {
  rows: { id: string; n: number }[];
}

function standIn(delayMs: number) {
  let inFlightBytes = 0;
  let peakBytes = 0;
  const calls: Call[] = [];
  const written = new Map<string, number>();
  const client = {
    async send(command: { input: { RequestItems: Record<string, { PutRequest: { Item: { id: string; n: number; bytes: number } } }[]> } }) {
      const items = Object.values(command.input.RequestItems)[0]!.map((request) => request.PutRequest.Item);
      const bytes = items.reduce((sum, item) => sum + item.bytes, 0);
      inFlightBytes += bytes;
      peakBytes = Math.max(peakBytes, inFlightBytes);
      calls.push({ rows: items.map(({ id, n }) => ({ id, n })) });
      await new Promise((resolve) => setTimeout(resolve, delayMs * Math.random()));
      for (const item of items) written.set(item.id, item.n);
      inFlightBytes -= bytes;
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, calls, written, peak: () => peakBytes };
}

const writerFor = (client: DynamoDBDocumentClient, maxBytesInFlight?: number) =>
  new RowBatchWriter({
    documentClient: client,
    tableName: "t",
    concurrency: 16,
    maxAttempts: 1,
    baseDelayMs: 1,
    maxDelayMs: 1,
    identify: (item) => String(item.id),
    onRejected: () => undefined,
    ...(maxBytesInFlight !== undefined && { maxBytesInFlight }),
  });

describe("the batch writer", () => {
  it("keeps the bytes of rows in flight under its bound, whatever the concurrency", async () => {
    const db = standIn(5);
    const writer = writerFor(db.client, 4_000_000);
    const rowBytes = 400_000;
    for (let i = 0; i < 500; i++) await writer.add({ item: { id: `r${i}`, n: i, bytes: rowBytes }, identity: `r${i}`, line: i + 2, bytes: rowBytes });
    await writer.flush();
    expect(db.written.size).toBe(500);
    // One group may exceed what is left of the bound only when nothing else is in flight.
    expect(db.peak()).toBeLessThanOrEqual(4_000_000 + 25 * rowBytes);
    expect(db.peak()).toBeGreaterThan(0);
    // Without the bound, 16 calls of 25 such rows run at once.
    const unbounded = standIn(5);
    const free = writerFor(unbounded.client);
    for (let i = 0; i < 500; i++) await free.add({ item: { id: `r${i}`, n: i, bytes: rowBytes }, identity: `r${i}`, line: i + 2, bytes: rowBytes });
    await free.flush();
    expect(unbounded.peak()).toBeGreaterThan(4_000_000 + 25 * rowBytes);
  });

  it("writes the last of rows sharing a key last, across groups in flight at once and within one group", async () => {
    const db = standIn(10);
    const writer = writerFor(db.client);
    // 40 keys in turn (so each group of 25 is full and keys recur in later groups), and every
    // seventh row repeating the row before it (a duplicate within one group).
    const keys = Array.from({ length: 1000 }, (_, i) => `k${(i % 7 === 0 && i > 0 ? i - 1 : i) % 40}`);
    for (const [i, key] of keys.entries()) await writer.add({ item: { id: key, n: i, bytes: 1 }, identity: key, line: i + 2 });
    await writer.flush();
    const last = new Map<string, number>();
    keys.forEach((key, i) => last.set(key, i));
    expect(db.written).toEqual(last);
    expect(db.calls.length).toBeGreaterThan(30);
    expect(writer.counts.collapsed).toBeGreaterThan(0);
  });

  it("rejects a row the document client cannot send by the kind of problem, never quoting the value", async () => {
    const rejected: { line: number; reason: string }[] = [];
    const client = {
      async send(command: { input: { RequestItems: Record<string, { PutRequest: { Item: { id: string } } }[]> } }) {
        const items = Object.values(command.input.RequestItems)[0]!;
        // The document client's own refusal: no HTTP response ($metadata), the value in its message.
        if (items.some((request) => request.PutRequest.Item.id === "bad")) throw new Error("Number 123-45-6789 is not a number");
        return {};
      },
    } as unknown as DynamoDBDocumentClient;
    const writer = new RowBatchWriter({
      documentClient: client,
      tableName: "t",
      concurrency: 2,
      maxAttempts: 1,
      baseDelayMs: 1,
      maxDelayMs: 1,
      identify: (item) => String(item.id),
      onRejected: (row) => rejected.push(row),
    });
    for (const [line, id] of ["a", "bad", "c"].entries()) writer.add({ item: { id }, identity: id, line: line + 2 });
    await writer.flush();
    expect(rejected).toEqual([{ line: 3, reason: "the row holds a value the document client cannot send to DynamoDB (Error)" }]);
  });
});
