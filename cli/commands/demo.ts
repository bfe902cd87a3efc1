import type { Command } from "commander";
import { runChaosDemo, runDemo } from "../../local/demo.js";
import { changeColumns, changeRow, historyColumns, historyRow, objectColumns, objectRow, outputMode } from "../output.js";
import { withChaosOptions, type ChaosOptions } from "../chaos-options.js";
import { toJson } from "../escape.js";

interface DemoOptions extends ChaosOptions {
  json?: boolean;
  chaos?: boolean;
}

export function registerDemo(program: Command): void {
  withChaosOptions(program.command("demo"), {
    prefix: "with --chaos: ",
    outage: "make the table unreachable for the tracker this long while the workload runs",
    defaults: { drop: "0.2", duplicate: "0.1", delay: "1500ms", outage: "3s" },
  })
    .description("start the local stack, run a scripted S3 workload, check the ledger against the bucket, and mirror a CSV into DynamoDB")
    .option("--json", "print the result as one JSON document")
    .option("--chaos", "the same workload under dropped, duplicated and late events and a table outage; then reconciliation repairs it")
    .addHelpText(
      "after",
      "\nExits 0 only if the ledger matches a full listing of the bucket (with --chaos: after reconciliation,\nand again after the DLQ is replayed).\n\nExamples:\n  npm run demo\n  npm run demo -- --chaos --fault-seed 42",
    )
    .action(async (options: DemoOptions) => {
      const log = (line: string) => !options.json && process.stdout.write(`${line}\n`);
      if (options.chaos) {
        const result = await runChaosDemo(log, {
          ...(options.faultSeed !== undefined && { seed: options.faultSeed }),
          ...(options.dropEvents !== undefined && { dropFraction: options.dropEvents }),
          ...(options.duplicateEvents !== undefined && { duplicateFraction: options.duplicateEvents }),
          ...(options.maxDelay !== undefined && { maxDelayMs: options.maxDelay }),
          ...(options.tableOutage !== undefined && { tableOutageMs: options.tableOutage }),
        });
        if (options.json) process.stdout.write(`${toJson(result)}\n`);
        const ok = result.repaired.matches && result.afterRedrive.matches;
        log(
          ok
            ? `\nOK: exact again after reconciliation, and still exact after the DLQ replay (seed ${result.seed}).`
            : `\nMISMATCH after reconciliation (seed ${result.seed}): ${JSON.stringify(result.afterRedrive)}`,
        );
        if (!ok) process.exitCode = 1;
        return;
      }
      const mode = outputMode({ json: options.json ?? false });
      const result = await runDemo(log);
      if (options.json) {
        process.stdout.write(`${toJson(result)}\n`);
      } else {
        log(`\nThe ledger (${result.ledger.length} objects, key order):\n${objectColumns}`);
        for (const record of result.ledger) log(objectRow(mode, record));
        log(`\nThe change feed since the demo started (${result.changes.length} keys, recording order):\n${changeColumns}`);
        for (const record of result.changes) log(changeRow(mode, record));
        log(
          `\nWho deleted ${result.history.key}? Its history (bucket-ledger history ${result.history.bucket} '${result.history.key}' --local):\n${historyColumns}`,
        );
        for (const entry of result.history.entries) log(historyRow(entry));
        const { comparison } = result;
        log(
          comparison.matches
            ? `\nOK: the ledger matches a full listing of the bucket (${comparison.bucketObjects} objects).`
            : `\nMISMATCH: missing ${JSON.stringify(comparison.missing)}, extra ${JSON.stringify(comparison.extra)}, different ${JSON.stringify(comparison.different)}`,
        );
        log(
          result.ingestion.ok
            ? "OK: the table held exactly each version's rows, bad rows were reported, and the delete removed them."
            : "MISMATCH in row ingestion (see above).",
        );
      }
      if (!result.comparison.matches || !result.ingestion.ok) process.exitCode = 1;
    });
}
