/** `npm run bench`: runs the benchmarks and writes bench/results/<name>.json. */
import { mkdir, writeFile } from "node:fs/promises";
import { benchIngest, benchIngestLayouts } from "./ingest.js";
import { benchQuery } from "./query.js";
import { benchReconcile } from "./reconcile.js";
import { benchTracker } from "./tracker.js";
import { benchScale } from "./scale.js";
import { benchReconcileLarge } from "./reconcile-large.js";
import { benchStream } from "./stream.js";
import { benchTimeTravel } from "./timetravel.js";

const benchmarks: Record<string, (log: (line: string) => void) => Promise<object>> = {
  tracker: benchTracker,
  reconcile: benchReconcile,
  query: benchQuery,
  ingest: benchIngest,
  "ingest-layouts": benchIngestLayouts,
  scale: benchScale,
  "reconcile-large": benchReconcileLarge,
  stream: benchStream,
  timetravel: benchTimeTravel,
};
/** Run only when named: minutes long. */
const OPT_IN = new Set(["reconcile-large", "ingest-layouts", "stream", "timetravel"]);

const flags = process.argv.slice(2).filter((argument) => argument.startsWith("--"));
const only = process.argv.slice(2).filter((argument) => !argument.startsWith("--"));
for (const flag of flags)
  if (flag !== "--aws-latency") throw new Error(`unknown flag ${flag}: npm run bench -- [--aws-latency] [tracker|reconcile|query|ingest|scale|timetravel...]`);
// The tracker, query, ingest and timetravel benchmarks always run both profiles; reconcile adds its aws profile with the flag.
if (flags.includes("--aws-latency")) process.env.BENCH_AWS_LATENCY = "1";
const resultsDir = new URL("./results/", import.meta.url);
await mkdir(resultsDir, { recursive: true });
for (const [name, run] of Object.entries(benchmarks)) {
  if (only.length > 0 ? !only.includes(name) : OPT_IN.has(name)) continue;
  process.stderr.write(`benchmark: ${name}\n`);
  const result = { ...(await run((line) => process.stderr.write(`${line}\n`))), measured_at: new Date().toISOString(), node: process.version };
  await writeFile(new URL(`${name}.json`, resultsDir), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify({ benchmark: name, ...result })}\n`);
}
