/**
 * The benchmark and capacity figures as pictures: `npm run docs:charts` reads bench/results/*.json
 * and writes an SVG per chart to docs/images/, which docs/benchmarks.md shows beside its tables.
 * Hand-written SVG (horizontal bars, one group per question), so the page needs no charting
 * library and the files diff as text. Each chart names the run it was drawn from.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const ROOT = new URL("../", import.meta.url);

interface Bar {
  label: string;
  value: number;
  /** Shown instead of the value, e.g. with its unit or a ratio. */
  text?: string;
  /** Stacked parts, left to right; their sum is the bar's length. */
  parts?: { label: string; value: number }[];
}
interface Group {
  title: string;
  bars: Bar[];
}
interface Chart {
  title: string;
  subtitle: string;
  unit: string;
  groups: Group[];
  /** A vertical line, e.g. a goal. */
  mark?: { value: number; label: string };
}

const COLOURS = ["#3b6fb6", "#e08a2c", "#4f9d5a", "#a05195", "#7a7a7a"];
const escapeXml = (text: string) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const round = (value: number) => Math.round(value * 10) / 10;

export function barChart(chart: Chart): string {
  const width = 880;
  const labelWidth = 250;
  const plotWidth = width - labelWidth - 240;
  const barHeight = 18;
  const max = Math.max(...chart.groups.flatMap((group) => group.bars.map((bar) => bar.value)), chart.mark?.value ?? 0);
  const x = (value: number) => labelWidth + (value / max) * plotWidth;
  const lines: string[] = [];
  let y = 58;
  for (const group of chart.groups) {
    lines.push(`<text x="12" y="${y + 12}" class="group">${escapeXml(group.title)}</text>`);
    y += 20;
    for (const bar of group.bars) {
      lines.push(`<text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end">${escapeXml(bar.label)}</text>`);
      const parts = bar.parts ?? [{ label: "", value: bar.value }];
      let left = labelWidth;
      parts.forEach((part, index) => {
        const right = x(parts.slice(0, index + 1).reduce((sum, each) => sum + each.value, 0));
        lines.push(
          `<rect x="${round(left)}" y="${y}" width="${round(Math.max(right - left, 0.5))}" height="${barHeight}" fill="${COLOURS[index % COLOURS.length]}"/>`,
        );
        left = right;
      });
      lines.push(`<text x="${round(left + 6)}" y="${y + 13}">${escapeXml(bar.text ?? `${bar.value.toLocaleString("en-US")} ${chart.unit}`)}</text>`);
      y += barHeight + 6;
    }
    y += 10;
  }
  const legend = chart.groups.flatMap((group) => group.bars).find((bar) => bar.parts)?.parts ?? [];
  if (legend.length > 0) {
    let left = labelWidth;
    legend.forEach((part, index) => {
      lines.push(`<rect x="${left}" y="${y}" width="12" height="12" fill="${COLOURS[index % COLOURS.length]}"/>`);
      lines.push(`<text x="${left + 16}" y="${y + 11}" class="note">${escapeXml(part.label)}</text>`);
      left += 24 + part.label.length * 6.5;
    });
    y += 24;
  }
  if (chart.mark) {
    const markX = round(x(chart.mark.value));
    lines.push(`<line x1="${markX}" y1="52" x2="${markX}" y2="${y - 8}" stroke="#c0392b" stroke-dasharray="4 3"/>`);
    lines.push(`<text x="${markX}" y="48" text-anchor="middle" class="note" fill="#c0392b">${escapeXml(chart.mark.label)}</text>`);
  }
  const height = y + 8;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<style>.title { font-size: 15px; font-weight: bold; } .group { font-weight: bold; } .note { font-size: 11px; fill: #555; }</style>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="20" class="title">${escapeXml(chart.title)}</text>`,
    `<text x="12" y="36" class="note">${escapeXml(chart.subtitle)}</text>`,
    ...lines,
    "</svg>",
    "",
  ].join("\n");
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the results' shapes belong to each benchmark; a chart reads the few fields it draws
type Results = any;
/** bench/results/, or another folder of results (BENCH_RESULTS), e.g. a committed copy while a run is in progress. */
const RESULTS = process.env.BENCH_RESULTS ? pathToFileURL(`${process.env.BENCH_RESULTS.replace(/\/$/, "")}/`) : new URL("bench/results/", ROOT);
const results = (name: string): Results => JSON.parse(readFileSync(new URL(`${name}.json`, RESULTS), "utf8")) as Results;
const day = (measuredAt: string) => measuredAt.slice(0, 10);
const times = (ratio: number) => `${ratio} x`;

function scaleThroughput(): Chart {
  const scale = results("scale");
  return {
    title: "Sustained events/s per bucket, by configuration (capacity model)",
    subtitle: `npm run bench -- scale, ${day(scale.measured_at)}: each partition of the table, change index and journal held to 1,000 write units/s`,
    unit: "events/s",
    mark: { value: 10_000, label: "goal: 10,000/s" },
    groups: scale.results.map((result: Results) => ({
      title: result.setup.name,
      bars: [
        { label: "creates", value: result.sustained.creates.eventsPerSecond },
        { label: "overwrites", value: result.sustained.overwrites.eventsPerSecond },
        { label: "creates of 1.2 KB items", value: result.sustained.largeCreates.eventsPerSecond },
      ],
    })),
  };
}

function scaleNightly(): Chart {
  const scale = results("scale");
  const defaults = scale.results[0].nightly;
  const bar = (label: string, run: Results): Bar => ({
    label,
    value: run.dollars,
    text: `$${run.dollars.toFixed(3)}, ${run.minutes.toFixed(1)} min`,
    parts: [
      { label: "source (LIST or inventory)", value: run.cost.source },
      { label: "reading the index", value: run.cost.indexReads },
      { label: "repairs' writes", value: run.cost.repairs },
      { label: "Lambda", value: run.cost.lambda },
    ],
  });
  return {
    title: "The nightly reconciliation of 10,000,000 objects: what it costs",
    subtitle: `npm run bench -- scale, ${day(scale.measured_at)}: us-east-1 on-demand prices; defaults (changeShards auto)`,
    unit: "$",
    mark: { value: scale.nightlyFloor, label: `floor of any change feed: $${scale.nightlyFloor.toFixed(2)}` },
    groups: [
      { title: "1% drift (100,000 repairs)", bars: [bar("listing", defaults.list), bar("S3 Inventory", defaults.inventory)] },
      { title: "no drift", bars: [bar("listing", defaults.undriftedList), bar("S3 Inventory", defaults.undriftedInventory)] },
    ],
  };
}

function queries(): Chart {
  const query = results("query");
  const profile = (name: "aws" | "local", title: string): Group[] => {
    const p = query.profiles[name];
    return [
      {
        title: `What changed since T? (${title})`,
        bars: [
          { label: `ledger: ${p.changes_ledger_requests} requests`, value: p.changes_ledger_s, text: `${p.changes_ledger_s} s` },
          {
            label: `S3 listing: ${p.changes_list_requests} requests`,
            value: p.changes_list_s,
            text: `${p.changes_list_s} s (${times(p.changes_speedup)} slower)`,
          },
        ],
      },
      {
        title: `What is under this prefix? (${title})`,
        bars: [
          {
            label: `ledger: ${p.prefix_ledger_requests} requests`,
            value: p.prefix_ledger_s,
            text: `${p.prefix_ledger_s} s (${times(p.prefix_ledger_vs_list_time)} slower)`,
          },
          { label: `S3 listing: ${p.prefix_list_requests} request`, value: p.prefix_list_s, text: `${p.prefix_list_s} s` },
        ],
      },
    ];
  };
  return {
    title: `Queries on a bucket of ${query.objects.toLocaleString("en-US")} objects, ${query.changed_after_t.toLocaleString("en-US")} changed after T`,
    subtitle: `npm run bench -- query, ${day(query.measured_at)}: median of ${query.rounds}; aws profile = ${query.aws_latency_ms.dynamodb} ms a DynamoDB request, ${query.aws_latency_ms.s3_list} ms an S3 LIST`,
    unit: "s",
    groups: [...profile("aws", "aws profile"), ...profile("local", "emulators as they are")],
  };
}

function tracker(): Chart {
  const run = results("tracker-8-in-flight");
  const group = (name: "aws" | "local", title: string): Group => {
    const p = run.profiles[name];
    return {
      title,
      bars: [
        { label: "ceiling: bare conditional PutItem", value: p.ceiling_per_s },
        { label: "ours: the tracker handler", value: p.ours_per_s, text: `${p.ours_per_s} events/s (${times(p.ours_vs_ceiling.median)} ceiling)` },
        { label: "ours with the journal", value: p.journal_per_s, text: `${p.journal_per_s} events/s (${times(p.journal_vs_ceiling.median)} ceiling)` },
        { label: "ours with contentType enrichment", value: p.enriched_per_s, text: `${p.enriched_per_s} events/s (${times(p.enriched_vs_ours.median)} ours)` },
      ],
    };
  };
  return {
    title: `The tracker: ${run.events.toLocaleString("en-US")} S3 events, ${run.concurrency} writes in flight`,
    subtitle: `TRACKER_BENCH_CONCURRENCY=8 npm run bench -- tracker, ${day(run.measured_at)}: medians of ${run.rounds} paired rounds`,
    unit: "events/s",
    groups: [group("aws", "aws profile (8 ms a DynamoDB request)"), group("local", "emulators as they are (CPU-bound)")],
  };
}

function reconcile(): Chart {
  const run = results("reconcile");
  return {
    title: `Reconciliation of ${run.objects.toLocaleString("en-US")} objects, ${run.repairs.toLocaleString("en-US")} repairs`,
    subtitle: `npm run bench -- --aws-latency reconcile, ${day(run.measured_at)}: median of ${run.rounds} paired rounds; floor = the listing and the index read, nothing else`,
    unit: "s",
    groups: [
      {
        title: "aws profile (8 ms DynamoDB, 50 ms S3 LIST, AWS's partition limits)",
        bars: [
          { label: "I/O floor", value: run.aws.floor_s, text: `${run.aws.floor_s} s` },
          { label: "ours", value: run.aws.ours_s, text: `${run.aws.ours_s} s (${times(run.aws.ours_vs_floor)} floor)` },
        ],
      },
      {
        title: "emulators as they are",
        bars: [
          { label: "I/O floor", value: run.floor_s, text: `${run.floor_s} s` },
          { label: "ours, dry run", value: run.ours_dry_run_s, text: `${run.ours_dry_run_s} s (${times(run.ours_dry_run_vs_floor)} floor)` },
          { label: "ours", value: run.ours_s, text: `${run.ours_s} s (${times(run.ours_vs_floor)} floor)` },
          { label: "ours, one key range", value: run.ours_one_range_s, text: `${run.ours_one_range_s} s (${times(run.ours_one_range_vs_floor)} floor)` },
          { label: "seed-style: in memory, one at a time", value: run.seed_s, text: `${run.seed_s} s (${times(run.seed_vs_ours)} ours)` },
        ],
      },
    ],
  };
}

function ingest(): Chart {
  const run = results("ingest");
  const group = (name: "aws" | "local", title: string): Group => {
    const p = run.profiles[name];
    return {
      title,
      bars: [
        { label: "ceiling: prebuilt items, BatchWriteItem", value: p.ceiling_per_s },
        {
          label: "ours: the Ingester (check, then write)",
          value: p.ours_per_s,
          text: `${p.ours_per_s.toLocaleString("en-US")} rows/s (${times(p.ours_vs_ceiling)} ceiling)`,
        },
        {
          label: "seed-style: in memory, sequential",
          value: p.seed_per_s,
          text: `${p.seed_per_s.toLocaleString("en-US")} rows/s (ours ${times(p.ours_vs_seed)})`,
        },
      ],
    };
  };
  return {
    title: `Row ingestion: a CSV of ${run.rows.toLocaleString("en-US")} rows`,
    subtitle: `npm run bench -- ingest, ${day(run.measured_at)}: medians of ${run.rounds} paired rounds, ${run.concurrency} BatchWriteItem calls in flight`,
    unit: "rows/s",
    groups: [group("aws", "aws profile (8 ms a DynamoDB request)"), group("local", "emulators as they are")],
  };
}

/** Each chart's file under docs/images/, and what draws it. */
export const CHARTS = {
  "docs/images/scale-throughput.svg": scaleThroughput,
  "docs/images/scale-nightly-cost.svg": scaleNightly,
  "docs/images/bench-query.svg": queries,
  "docs/images/bench-tracker.svg": tracker,
  "docs/images/bench-reconcile.svg": reconcile,
  "docs/images/bench-ingest.svg": ingest,
} as const;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [path, draw] of Object.entries(CHARTS)) {
    writeFileSync(new URL(path, ROOT), barChart(draw()));
    console.log(`wrote ${path}`);
  }
}
