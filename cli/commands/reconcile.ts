import type { Command } from "commander";
import { RECONCILE_DEFAULTS } from "../../reconcile/defaults.js";
import { reconcileBucket } from "../../reconcile/in-process.js";
import type { ReconcileSummary } from "../../reconcile/run-summary.js";
import { inventorySource } from "../../reconcile/inventory-source.js";
import { listObjectsSource } from "../../reconcile/source.js";
import { UsageError } from "../errors.js";
import { bucketArgument, parseFraction } from "../option-parsers.js";
import { openTarget, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { NO_STATUS_LINE, statusLine } from "../status-line.js";
import { once } from "node:events";
import type { DriftRecord } from "../../reconcile/drift-record.js";
import { driftColumns, driftRow, outputMode } from "../output.js";
import { StdoutClosedError, stdoutClosed } from "../pipe.js";
import { escapeTerminal, toJson } from "../escape.js";

interface ReconcileOptions extends TargetOptions {
  source: string;
  inventoryBucket?: string;
  inventoryPrefix: string;
  inventoryId: string;
  dryRun?: boolean;
  maxDelete: number;
  force?: boolean;
  unordered?: boolean;
  showDrift?: boolean;
  json?: boolean;
}

/** Writes one line, waiting for the pipe when it is full: memory stays bounded however much drifted. */
async function writeBounded(line: string): Promise<void> {
  if (stdoutClosed()) throw new StdoutClosedError();
  if (!process.stdout.write(`${line}\n`)) await once(process.stdout, "drain");
}

function summaryTable(summary: ReconcileSummary): string {
  const rows: [string, string | number][] = [
    ["bucket", escapeTerminal(summary.bucket)],
    ["source", `${summary.source} (snapshot ${summary.snapshotTime})`],
    ["objects scanned", summary.scanned],
    ["objects indexed", summary.indexed],
    ["missing", summary.missing],
    ["stale", summary.stale],
    ["orphaned", summary.orphaned],
    [summary.dryRun ? "repairs (dry run: none made)" : "repairs made", summary.repaired],
    ["newer state kept", summary.newerStateKept],
    ...(summary.source === "inventory" ? ([["not confirmed by S3 (left alone)", summary.unconfirmed]] as [string, number][]) : []),
    ["duration", `${(summary.durationMs / 1000).toFixed(1)} s (${summary.objectsPerSecond} objects/s)`],
  ];
  const table = rows.map(([name, value]) => `${name.padEnd(34)}${value}`).join("\n");
  if (summary.encodingMismatches === 0) return table;
  const pairs = summary.encodingMismatchSample.map(({ ledgerKey, bucketKey }) => `  ledger ${toJson(ledgerKey)}  <->  bucket ${toJson(bucketKey)}`);
  return `${table}\n\nKEY ENCODING: ${summary.encodingMismatches} ledger keys are another URL-encoding form of a bucket key.\nS3 event keys are being decoded wrongly; these keys will drift again after every event.\n${pairs.join("\n")}`;
}

export function registerReconcile(program: Command): void {
  withTargetOptions(program.command("reconcile"))
    .description("compare the ledger with the bucket and repair drift (missing, stale, orphaned objects)")
    .addArgument(bucketArgument())
    .option("--source <source>", "list (ListObjectsV2) or inventory (newest S3 Inventory report)", "list")
    .option("--inventory-bucket <bucket>", "inventory destination bucket (pulumi stack output inventoryDestination)")
    .option("--inventory-prefix <prefix>", "inventory destination prefix", "inventory")
    .option("--inventory-id <id>", "inventory configuration id", "bucket-ledger")
    .option("--dry-run", "report what would change, write nothing")
    .option(
      "--max-delete <fraction>",
      "refuse to tombstone more than this fraction of the index",
      parseFraction("--max-delete"),
      RECONCILE_DEFAULTS.maxDeleteFraction,
    )
    .option("--force", "tombstone even beyond --max-delete")
    .option("--unordered", "the store does not list in UTF-8 byte order (some S3-compatible stores): sort on disk")
    .option(
      "--show-drift",
      "stream each drifted key (kind, key, the ledger's state, the source's) to stdout as it is found: NDJSON when piped, a table on a terminal; the summary then goes to stderr",
    )
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      "\nExit codes: 0 in sync or repaired, 1 failure, 2 usage error, 3 refused by the --max-delete guard (nothing deleted).\n\nExamples:\n  bucket-ledger reconcile my-bucket --table ledger-prod --dry-run\n  bucket-ledger reconcile my-bucket --table ledger-prod --dry-run --show-drift | jq -r 'select(.kind == \"orphaned\") | .key'\n  bucket-ledger reconcile ledger-demo --local",
    )
    .action(async (bucket: string, options: ReconcileOptions) => {
      if (options.source !== "list" && options.source !== "inventory")
        throw new UsageError(`--source must be list or inventory, got ${JSON.stringify(options.source)}`);
      if (options.source === "inventory" && !options.inventoryBucket)
        throw new UsageError("--source inventory needs --inventory-bucket (pulumi stack output inventoryDestination)");
      const target = await openTarget(options);
      const s3 = target.s3();
      const source =
        options.source === "inventory"
          ? await inventorySource({
              s3,
              sourceBucket: bucket,
              location: { bucket: options.inventoryBucket!, prefix: options.inventoryPrefix, configurationId: options.inventoryId },
            })
          : listObjectsSource({ s3, bucket, ordered: !options.unordered });
      const mode = outputMode(options);
      // Drift rows on a terminal are the progress; a status line would interleave with them.
      const progress = options.showDrift && !mode.json ? NO_STATUS_LINE : statusLine(process.stderr);
      let shown = 0;
      const onDrift = async (drift: DriftRecord) => {
        if (!mode.json && shown === 0) await writeBounded(driftColumns);
        shown++;
        await writeBounded(mode.json ? toJson(drift) : driftRow(drift));
      };
      const summary = await reconcileBucket({
        ledger: target.ledger,
        bucket,
        source,
        dryRun: Boolean(options.dryRun),
        maxDeleteFraction: options.maxDelete,
        force: Boolean(options.force),
        onProgress: ({ scanned, indexed, drift }) => progress.update(`reconciling ${bucket}: ${scanned} objects listed, ${indexed} indexed, ${drift} drift`),
        ...(options.showDrift && { onDrift }),
      }).finally(() => progress.done());
      const printed = mode.json ? `${toJson(summary)}\n` : `${summaryTable(summary)}\n`;
      if (!options.showDrift) {
        process.stdout.write(printed);
        return;
      }
      // With the drift on stdout, the summary keeps out of its way, and is left out when the
      // reader of the drift has gone (as after `| head`): the last lines' fate is known once flushed.
      await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
      if (!stdoutClosed()) process.stderr.write(printed);
    });
}
