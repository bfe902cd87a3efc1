/**
 * Reconciliation's scratch disk is bounded and cleaned up: a spill that would pass the budget
 * stops with a reason (issue 29: inventory runs spilled the whole listing to a 512 MB /tmp),
 * a killed process leaves nothing behind, and a listing that repeats a continuation token
 * fails instead of running forever or ending quietly.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compareUtf8 } from "../../ledger/index.js";
import { externalSort, spoolToDisk } from "../../reconcile/external-sort.js";
import { configuredLimit, ScratchSpace, ScratchSpaceExceededError } from "../../reconcile/scratch.js";
import { ListingLoopError, listObjectPages } from "../../aws/list-objects.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function* keys(count: number): AsyncGenerator<{ key: string }> {
  for (let i = count; i > 0; i--) yield { key: `key-${String(i).padStart(8, "0")}` };
}

const byKey = (a: { key: string }, b: { key: string }) => compareUtf8(a.key, b.key);

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "scratch-test-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("the scratch budget", () => {
  it("lets a sort that fits spill, and gives every byte back when it ends", async () => {
    const space = new ScratchSpace(root, () => 1_000_000);
    const sorted = await collect(externalSort(keys(500), byKey, 50, space));
    expect(sorted.map((item) => item.key)).toEqual([...sorted.map((item) => item.key)].sort());
    expect(sorted).toHaveLength(500);
    expect(space.usedBytes).toBe(0);
    expect(readdirSync(root)).toEqual([]);
  });

  it("stops a sort before its runs pass the budget, naming the limit, and removes what it wrote", async () => {
    // 500 lines of about 22 bytes are about 11 KB: a 4 KB budget holds a few runs only.
    const space = new ScratchSpace(root, () => 4096);
    const error = await collect(externalSort(keys(500), byKey, 50, space)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ScratchSpaceExceededError);
    expect((error as Error).message).toMatch(/scratch disk .* limit of 0 MiB .*nothing was deleted.*ephemeral storage/);
    expect(space.usedBytes).toBe(0);
    expect(readdirSync(root)).toEqual([]);
  });

  it("stops a spooled ledger that passes the budget when it is read", async () => {
    const space = new ScratchSpace(root, () => 2048);
    const spooled = spoolToDisk(keys(500), space);
    await expect(collect(spooled.read())).rejects.toBeInstanceOf(ScratchSpaceExceededError);
    await spooled.discard();
    expect(readdirSync(root)).toEqual([]);
  });

  it("never takes more than 90% of the free space, whatever is configured", () => {
    const space = new ScratchSpace(root, () => Number.MAX_SAFE_INTEGER);
    expect(space.budget()).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect(space.budget()).toBeGreaterThan(0);
    expect(new ScratchSpace(root, () => 1234).budget()).toBe(1234);
  });

  it("refuses a configured limit that is not a positive whole number", () => {
    expect(configuredLimit(undefined)).toBeUndefined();
    expect(configuredLimit("536870912")).toBe(536870912);
    for (const bad of ["0", "-1", "1.5", "lots", "1e400"])
      expect(() => configuredLimit(bad)).toThrow(/BUCKET_LEDGER_SCRATCH_LIMIT_BYTES must be a positive whole number/);
  });

  it("removes, before its first spill, what processes that no longer run left behind (Lambda sends no SIGTERM without an extension)", async () => {
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max default range, so never running
    const left = [`bucket-ledger-scratch-${deadPid}-sort-a`, `bucket-ledger-scratch-${process.pid}-spool-b`];
    const alive = `bucket-ledger-scratch-${process.ppid}-sort-c`;
    const unrelated = "someone-else";
    for (const name of [...left, alive, unrelated]) mkdirSync(join(root, name));
    const space = new ScratchSpace(root, () => 1_000_000);
    const directory = await space.directory("orphans");
    expect(readdirSync(root).sort()).toEqual([alive, unrelated, basename(directory)].sort());
    await space.remove(directory);
  });

  it("removes what a killed process left in scratch", async () => {
    const script = `
      import { ScratchSpace } from ${JSON.stringify(join(process.cwd(), "reconcile/scratch.ts"))};
      const space = new ScratchSpace(${JSON.stringify(root)}, () => 1_000_000);
      await space.directory("killed");
      console.log("ready");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    await once(child.stdout!, "data");
    expect(readdirSync(root)).toHaveLength(1);
    child.kill("SIGTERM");
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    // It still ends the way SIGTERM ends a process: cleanup does not swallow the signal.
    expect({ code, signal }).toEqual({ code: null, signal: "SIGTERM" });
    expect(readdirSync(root)).toEqual([]);
  });
});

describe("a listing that repeats a continuation token", () => {
  let server: Server;
  let requests = 0;
  beforeEach(async () => {
    requests = 0;
    // An S3-compatible endpoint whose every page says there is more, with the same token.
    server = createServer((_request, response) => {
      requests++;
      response.setHeader("content-type", "application/xml");
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>loop</Name><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>` +
          `<IsTruncated>true</IsTruncated><EncodingType>url</EncodingType><NextContinuationToken>same</NextContinuationToken>` +
          `<Contents><Key>k${requests}</Key><Size>1</Size><ETag>"e"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents></ListBucketResult>`,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("fails instead of running forever or ending as if complete", async () => {
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "x", secretAccessKey: "x" } });
    const pages: unknown[] = [];
    const error = await (async () => {
      for await (const page of listObjectPages(s3, { Bucket: "loop" })) pages.push(page);
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ListingLoopError);
    expect((error as Error).message).toMatch(/repeated a continuation token after 2 pages.*nothing was deleted/);
    expect(requests).toBe(2);
    expect(existsSync(root)).toBe(true);
    s3.destroy();
  });
});
