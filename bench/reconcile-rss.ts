/**
 * Peak RSS of the reconciliation engine alone, fed by in-process generators on both sides
 * (ordered, 1% of each drift kind, dry run), so only the engine's own memory is measured.
 * Run in a fresh process per size: `node --expose-gc --import tsx bench/reconcile-rss.ts <objects>`;
 * prints JSON. With --expose-gc it also collects every 250 ms and reports the peak live heap:
 * V8 lets garbage pile up longer in longer runs, which moves peak RSS without any growth in
 * what the engine actually holds.
 */
import { Ledger } from "../ledger/index.js";
import type { LedgerRecord } from "../ledger/index.js";
import { reconcileBucket } from "../reconcile/in-process.js";
import type { ObjectSource, SourceObject } from "../reconcile/source.js";

const objects = Number(process.argv[2] ?? 100_000);
const key = (i: number) => `d${String(i % 1000).padStart(3, "0")}/object-${String(i).padStart(9, "0")}`;
const keyOrder = Array.from({ length: 1000 }, (_, d) => d); // directories in order, objects within each

function* orderedIndexes(): Generator<number> {
  const perDirectory = Math.ceil(objects / 1000);
  for (const d of keyOrder)
    for (let j = 0; j < perDirectory; j++) {
      const i = j * 1000 + d;
      if (i < objects) yield i;
    }
}

const source: ObjectSource = {
  kind: "list",
  snapshotTime: new Date(),
  ordered: true,
  lagsBucket: false,
  // Bench keys are plain ASCII: no encoded forms to look up.
  head: async () => undefined,
  async *objects() {
    for (const i of orderedIndexes()) {
      if (i % 100 === 1) continue; // orphan: only in the index
      yield { key: key(i), size: i, etag: `etag-${i}`, lastModified: "2026-11-20T00:00:00.000Z" } satisfies SourceObject;
    }
  },
};

async function* index(): AsyncGenerator<LedgerRecord> {
  for (const i of orderedIndexes()) {
    if (i % 100 === 0) continue; // missing: only in the bucket
    yield {
      bucket: "bench",
      key: key(i),
      deleted: false,
      size: i,
      etag: i % 100 === 2 ? "stale" : `etag-${i}`,
      lastModified: "2026-11-20T00:00:00.000Z",
      cause: "ObjectCreated:Put",
      source: "event",
      observedAt: "2026-11-20T00:00:00.000Z",
      recordedAt: "2026-11-20T00:00:00.000Z",
    };
  }
}

let peak = process.memoryUsage().rss;
let peakLiveHeap = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
const collect = globalThis.gc;
const liveSampler = collect
  ? setInterval(() => {
      collect();
      peakLiveHeap = Math.max(peakLiveHeap, process.memoryUsage().heapUsed);
    }, 250)
  : undefined;
const summary = await reconcileBucket({
  ledger: new Ledger({ tableName: "unused-in-dry-run" }),
  bucket: "bench",
  source,
  index: () => index(),
  dryRun: true,
});
clearInterval(sampler);
clearInterval(liveSampler);
peak = Math.max(peak, process.memoryUsage().rss);
process.stdout.write(
  `${JSON.stringify({ objects, peak_rss_mb: Math.round((peak / 1024 / 1024) * 10) / 10, ...(collect && { peak_live_heap_mb: Math.round((peakLiveHeap / 1024 / 1024) * 10) / 10 }), missing: summary.missing, stale: summary.stale, orphaned: summary.orphaned, scanned: summary.scanned })}\n`,
);
