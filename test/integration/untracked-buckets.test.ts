/**
 * The tracker drops events about buckets it does not track (issue 29, Low): against DynamoDB
 * Local, a batch mixing tracked and foreign buckets, in S3's and EventBridge's formats, writes
 * only the tracked bucket's keys, acknowledges every message (no DLQ), counts and logs the rest.
 */
import { readFileSync } from "node:fs";
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Ledger } from "../../ledger/index.js";
import { addCounts, emptyCounts } from "../../tracker/counts.js";
import { createTrackerHandler } from "../../tracker/handler.js";
import type { ObjectLookup } from "../../s3/object-lookup.js";
import { startTestDynamoDb, type TestDynamoDb } from "../support/dynamodb.js";
import { put, s3EventRecord, sqsRecord } from "../support/events.js";

let dynamodb: TestDynamoDb;
beforeAll(async () => {
  dynamodb = await startTestDynamoDb();
});
afterAll(async () => {
  await dynamodb?.stop();
});

const noLookup: ObjectLookup = { head: () => Promise.reject(new Error("no S3 lookups expected in this test")) };

function trackerOf(ledger: Ledger, trackedBuckets?: string[]) {
  const totals = emptyCounts();
  const logger = new Logger({ serviceName: "tracker-test", logLevel: "SILENT" });
  const warn = vi.spyOn(logger, "warn");
  const handler = createTrackerHandler({
    ledger,
    lookup: noLookup,
    logger,
    concurrency: 4,
    ...(trackedBuckets && { trackedBuckets }),
    onBatchComplete: (counts) => addCounts(totals, counts),
  });
  return { handler, totals, warn };
}

/** AWS's documented EventBridge Object Created example, about `bucket`. */
function eventBridgeCreate(bucket: string, key: string): string {
  const example = JSON.parse(readFileSync(new URL("../fixtures/aws/events/eventbridge-object-created.json", import.meta.url), "utf8")) as {
    resources: string[];
    detail: { bucket: { name: string }; object: { key: string } };
  };
  example.detail.bucket.name = bucket;
  example.detail.object.key = key;
  example.resources = [`arn:aws:s3:::${bucket}`];
  return JSON.stringify(example);
}

describe("events about buckets the stack does not track", () => {
  it("are dropped, counted and logged at WARN, and their messages acknowledged; the tracked bucket's are applied", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler, totals, warn } = trackerOf(ledger, ["photos"]);
    const records = [
      sqsRecord(JSON.stringify({ Records: [s3EventRecord(put("kept.txt", "0A", 3))] })),
      sqsRecord(JSON.stringify({ Records: [s3EventRecord(put("forged.txt", "0A", 3, "etag", "someone-elses"))] })),
      // One message, two records: the tracked one applied, the other dropped, the message acknowledged.
      sqsRecord(JSON.stringify({ Records: [s3EventRecord(put("mixed.txt", "0B", 4)), s3EventRecord(put("mixed.txt", "0B", 4, "etag", "someone-elses"))] })),
      sqsRecord(eventBridgeCreate("someone-elses", "via-rule.txt")),
      sqsRecord(eventBridgeCreate("photos", "via-rule.txt")),
    ];

    const response = await handler({ Records: records });

    expect(response.batchItemFailures).toEqual([]);
    expect(totals).toMatchObject({ applied: 3, untrackedBucket: 3, failedMessages: 0 });
    for (const key of ["kept.txt", "mixed.txt", "via-rule.txt"]) expect(await ledger.get("photos", key, { consistentRead: true }), key).toBeDefined();
    for (const key of ["forged.txt", "mixed.txt", "via-rule.txt"]) {
      expect(await ledger.get("someone-elses", key, { consistentRead: true }), key).toBeUndefined();
    }
    // Not even listed among the ledger's buckets.
    expect((await ledger.buckets()).map((bucket) => bucket.bucket)).toEqual(["photos"]);
    expect(warn).toHaveBeenCalledTimes(3);
    expect(warn).toHaveBeenCalledWith(
      "events for buckets this stack does not track dropped",
      expect.objectContaining({ events: 1, buckets: ["someone-elses"], messageId: records[1]!.messageId }),
    );
  });

  it("are applied like any other when the handler is given no list (a test's single-bucket tracker)", async () => {
    const ledger = await dynamodb.createLedger();
    const { handler, totals } = trackerOf(ledger);
    await handler({ Records: [sqsRecord(JSON.stringify({ Records: [s3EventRecord(put("x.txt", "0A", 1, "etag", "anywhere"))] }))] });
    expect(totals).toMatchObject({ applied: 1, untrackedBucket: 0 });
  });
});
