/** The local stack repairs drift on its own, on an interval, as the nightly schedule does in AWS. */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LocalStack } from "../../local/stack.js";
import type { RunSummary } from "../../reconcile/run-summary.js";
import { createdAMinuteAgo } from "../support/records.js";

let stack: LocalStack;
const summaries: RunSummary[] = [];

beforeAll(async () => {
  stack = await LocalStack.start({ buckets: ["drifty"], logLevel: "SILENT", reconcile: { intervalMs: 300, onRun: (summary) => summaries.push(summary) } });
});
afterAll(async () => {
  await stack?.stop();
});

it("tombstones an index entry the bucket does not have, within a few intervals", async () => {
  // Enough real objects that one orphan stays under the default 10% delete guard.
  for (let i = 0; i < 12; i++) await stack.clients.s3.send(new PutObjectCommand({ Bucket: "drifty", Key: `real-${i}`, Body: "x" }));
  await stack.waitForIdle();
  await stack.ledger.apply(createdAMinuteAgo("drifty", "lost-delete.txt", "x"));
  const deadline = Date.now() + 10_000;
  while (!summaries.some((summary) => summary.orphaned === 1 && summary.repaired >= 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(await stack.ledger.get("drifty", "lost-delete.txt")).toMatchObject({ deleted: true, cause: "Reconcile:Orphaned" });
});
