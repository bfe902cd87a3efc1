/**
 * Opening a run's source (reconcile/open-source.ts) on an in-memory S3: a listing, the newest
 * inventory report, a listing instead while no report exists yet (and why), the same source
 * reopened by a task; and the bounded writer that carries a task's repairs.
 */
import { describe, expect, it } from "vitest";
import { BoundedWriter } from "../../foundation/bounded-writer.js";
import { ReconcileError } from "../../reconcile/errors.js";
import { InventoryError } from "../../reconcile/errors.js";
import { openRunSource } from "../../reconcile/open-source.js";
import { writeInventoryReport } from "../support/inventory.js";
import { memoryS3 } from "./memory-s3.js";

const inventory = { bucket: "inventories", prefix: "reports", configurationId: "daily" };
const CREATED = new Date("2026-11-20T06:00:00.000Z");

async function withReport(s3: Parameters<typeof writeInventoryReport>[0], incomplete = false): Promise<string> {
  return writeInventoryReport(s3, {
    destinationBucket: inventory.bucket,
    prefix: inventory.prefix,
    sourceBucket: "photos",
    configurationId: inventory.configurationId,
    createdAt: CREATED,
    format: "CSV",
    entries: [{ key: "a", size: 1, etag: "e" }],
    incomplete,
  });
}

describe("openRunSource", () => {
  it("lists the bucket when no inventory is configured, ordered unless told otherwise", async () => {
    const { s3 } = memoryS3();
    const { source, spec } = await openRunSource({ s3 }).forNewRun("photos");
    expect(spec).toStrictEqual({ kind: "list" });
    expect(source).toMatchObject({ kind: "list", ordered: true, lagsBucket: false });
    const unordered = await openRunSource({ s3, ordered: false }).forNewRun("photos");
    expect(unordered.source.ordered).toBe(false);
  });

  it("reads the newest complete report, and records which", async () => {
    const { s3 } = memoryS3();
    const folder = await withReport(s3);
    const { source, spec } = await openRunSource({ s3, inventory }).forNewRun("photos");
    expect(spec).toStrictEqual({ kind: "inventory", reportFolder: folder });
    expect(source).toMatchObject({ kind: "inventory", snapshotTime: CREATED });
  });

  it("lists instead while S3 has delivered no complete report, saying so", async () => {
    const { s3 } = memoryS3();
    await withReport(s3, true);
    const { source, spec } = await openRunSource({ s3, inventory }).forNewRun("photos");
    expect(spec).toStrictEqual({
      kind: "list",
      fallback: "no complete inventory report yet (S3 delivers the first within 48 hours): listed the bucket instead",
    });
    expect(source.kind).toBe("list");
  });

  it("does not list instead of a report that is there but refused", async () => {
    const { s3, objects } = memoryS3();
    const folder = await withReport(s3);
    objects.set(`inventories/${folder}manifest.checksum`, Buffer.from("0".repeat(32)));
    await expect(openRunSource({ s3, inventory }).forNewRun("photos")).rejects.toBeInstanceOf(InventoryError);
  });

  it("reopens a task's source at the run's snapshot time, from the run's report", async () => {
    const { s3 } = memoryS3();
    const folder = await withReport(s3);
    const snapshot = new Date("2026-11-21T00:00:00.000Z");
    const listed = await openRunSource({ s3, ordered: false }).reopen("photos", { kind: "list" }, snapshot);
    expect(listed).toMatchObject({ kind: "list", snapshotTime: snapshot, ordered: false });
    const reported = await openRunSource({ s3, inventory }).reopen("photos", { kind: "inventory", reportFolder: folder }, snapshot);
    expect(reported).toMatchObject({ kind: "inventory", reportFolder: folder, snapshotTime: CREATED });
    const unconfigured = openRunSource({ s3 }).reopen("photos", { kind: "inventory", reportFolder: folder }, snapshot);
    await expect(unconfigured).rejects.toBeInstanceOf(ReconcileError);
    await expect(unconfigured).rejects.toThrow(`run of photos reads inventory report ${folder}, but no inventory location is configured`);
  });
});

describe("BoundedWriter", () => {
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

  it("runs at most its concurrency at once, and holds a submitter once twice that are in flight", async () => {
    const writer = new BoundedWriter(2);
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const task = () =>
      new Promise<void>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        releases.push(() => (running--, resolve()));
      });
    for (let i = 0; i < 3; i++) await writer.submit(task);
    let fourthReturned = false;
    const fourth = writer.submit(task).then(() => (fourthReturned = true));
    await tick();
    expect(peak).toBe(2);
    expect(fourthReturned).toBe(false);
    releases.shift()!();
    await fourth;
    expect(fourthReturned).toBe(true);
    while (releases.length > 0 || running > 0) {
      releases.shift()?.();
      await tick();
    }
    await writer.drain();
    expect(peak).toBe(2);
  });

  it("keeps the first failure, refuses further work with it, and throws it from drain", async () => {
    const writer = new BoundedWriter(4);
    const first = new Error("first");
    await writer.submit(async () => {
      throw first;
    });
    await writer.submit(async () => {
      await tick();
      throw new Error("second");
    });
    await expect(writer.drain()).rejects.toBe(first);
    await expect(writer.submit(async () => undefined)).rejects.toBe(first);
  });

  it("drains to nothing when every task succeeds", async () => {
    const writer = new BoundedWriter(1);
    const done: number[] = [];
    for (let i = 0; i < 5; i++) await writer.submit(async () => void done.push(i));
    await writer.drain();
    expect(done).toEqual([0, 1, 2, 3, 4]);
  });
});
