/**
 * Faults beyond the happy path, on the local stack with real clients: the table unreachable for
 * longer than the retry budget (messages go to the DLQ, reconciliation repairs the index, a DLQ
 * redrive afterwards changes nothing, even for a create whose delete was lost), and DynamoDB
 * throttling (retried, nothing lost). A reconciliation killed midway is covered in
 * reconcile-fan-out.test.ts.
 */
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterEach, describe, expect, it } from "vitest";
import { runChaosDemo } from "../../local/demo.js";
import { redriveDeadLetters } from "../../local/redrive.js";
import { queueDepth } from "../../local/queues.js";
import { LocalStack } from "../../local/stack.js";
import { compareLedgerWithBucket } from "../../local/verify.js";
import type { TrackerCounts } from "../../tracker/counts.js";

let stack: LocalStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const bucket = "faulty";

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("faults", () => {
  it("parks events in the DLQ while the table is down past the retry budget; reconciliation repairs; a redrive is harmless", async () => {
    const batches: TrackerCounts[] = [];
    stack = await LocalStack.start({
      buckets: [bucket],
      events: { visibilityTimeoutSeconds: 1 },
      maxReceiveCount: 2,
      logLevel: "SILENT",
      tracker: { tableFaults: true, onBatch: (counts) => batches.push(counts) },
    });
    const s3 = stack.clients.s3;
    for (let i = 0; i < 20; i++) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `kept/${i}.txt`, Body: `v1 ${i}` }));
    await stack.waitForIdle();

    stack.tableFaults!.proxy.failWhen(() => true);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "during outage.txt", Body: "new" }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "kept/0.txt", Body: "v2 of 0" }));
    // Created and deleted during the outage: both events end in the DLQ...
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "short-lived.txt", Body: "gone soon" }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "short-lived.txt" }));
    await waitFor(async () => (await queueDepth(stack!.clients.sqs, stack!.info.deadLetterQueueUrl)).visible === 4, "4 messages in the DLQ");
    stack.tableFaults!.proxy.failWhen(() => false);
    expect(batches.some((counts) => counts.failedMessages > 0)).toBe(true);

    const diverged = await compareLedgerWithBucket(stack.ledger, s3, bucket);
    expect(diverged).toMatchObject({ missing: ["during outage.txt"], different: ["kept/0.txt"], extra: [] });

    const [run] = await stack.reconcileAll();
    expect(run).toMatchObject({ status: "succeeded", missing: 1, stale: 1, orphaned: 0 });
    expect(await compareLedgerWithBucket(stack.ledger, s3, bucket)).toMatchObject({ matches: true });

    // ...and the delete is lost for good: only the old create is replayed. The watermark of the
    // reconciliation keeps it from resurrecting an object the bucket no longer has.
    const dlq = stack.info.deadLetterQueueUrl;
    const { ReceiveMessageCommand, DeleteMessageCommand } = await import("@aws-sdk/client-sqs");
    let droppedDelete = false;
    while (!droppedDelete) {
      const { Messages = [] } = await stack.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, VisibilityTimeout: 1 }));
      for (const message of Messages) {
        if (message.Body?.includes("ObjectRemoved")) {
          await stack.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: dlq, ReceiptHandle: message.ReceiptHandle! }));
          droppedDelete = true;
        }
      }
    }
    batches.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the received ones become visible again
    expect(await redriveDeadLetters(stack.clients.sqs, dlq, stack.info.queueUrl)).toBe(3);
    await stack.waitForIdle();
    expect(await compareLedgerWithBucket(stack.ledger, s3, bucket)).toMatchObject({ matches: true });
    // Not resurrected: the ledger keeps that the reconciliation saw it absent (a tombstone at the
    // run's snapshot), so its history does not answer the late create for later moments.
    expect(await stack.ledger.get(bucket, "short-lived.txt")).toMatchObject({ deleted: true, source: "reconcile", cause: "Reconcile:Orphaned" });
    const replayed = batches.reduce(
      (sum, counts) => ({ applied: sum.applied + counts.applied, skipped: sum.skipped + counts.skippedOlder + counts.duplicates }),
      { applied: 0, skipped: 0 },
    );
    expect(replayed).toEqual({ applied: 0, skipped: 3 });
  });

  it("retries throttled writes: nothing lost, nothing in the DLQ", async () => {
    stack = await LocalStack.start({ buckets: [bucket], tracker: { tableFaults: true }, logLevel: "SILENT" });
    let request = 0;
    // Every third write is throttled, as a hot partition would be.
    stack.tableFaults!.proxy.failWhen((body) => body.includes('"ConditionExpression"') && ++request % 3 === 0, "throttle");
    await Promise.all(Array.from({ length: 30 }, (_, i) => stack!.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `hot/${i}`, Body: String(i) }))));
    await stack.waitForIdle();
    expect(stack.tableFaults!.proxy.failedRequests).toBeGreaterThanOrEqual(10);
    expect(await compareLedgerWithBucket(stack.ledger, stack.clients.s3, bucket)).toMatchObject({ matches: true, bucketObjects: 30 });
    expect((await queueDepth(stack.clients.sqs, stack.info.deadLetterQueueUrl)).visible).toBe(0);
  });

  it("walks through the chaos demo: the ledger diverges under faults, reconciliation makes it exact, a DLQ replay keeps it exact", async () => {
    const lines: string[] = [];
    const result = await runChaosDemo((line) => lines.push(line), { seed: 7 });
    expect(result.faults.dropped).toBeGreaterThan(0);
    expect(result.deadLettered).toBeGreaterThan(0);
    expect(result.diverged.matches).toBe(false);
    expect(result.reconciliation.status).toBe("succeeded");
    expect(result.reconciliation.repaired).toBeGreaterThan(0);
    expect(result.repaired.matches).toBe(true);
    expect(result.redriven).toBe(result.deadLettered);
    expect(result.afterRedrive.matches).toBe(true);
    expect(lines.join("\n")).toMatch(/CHAOS: dropping 20% of S3 event notifications/);
  });
});
