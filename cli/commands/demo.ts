import type { Command } from "commander";
import { runChaosDemo, runDemo } from "../../local/demo.js";
import { changeColumns, changeRow, objectColumns, objectRow, outputMode } from "../output.js";
import { parseDuration, parseFraction, parsePositiveInt } from "../time.js";

interface DemoOptions {
  json?: boolean;
  chaos?: boolean;
  seed?: number;
  dropEvents?: number;
  duplicateEvents?: number;
  maxDelay?: number;
  tableOutage?: number;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("start the local stack, run a scripted S3 workload, and check the ledger against the bucket")
    .option("--json", "print the result as one JSON document")
    .option("--chaos", "the same workload under dropped, duplicated and late events and a table outage; then reconciliation repairs it")
    .option("--seed <n>", "with --chaos: seed of the fault choices, to repeat a run exactly", parsePositiveInt("--seed"))
    .option("--drop-events <fraction>", "with --chaos: share of notifications lost (default 0.2)", parseFraction("--drop-events"))
    .option("--duplicate-events <fraction>", "with --chaos: share delivered twice (default 0.1)", parseFraction("--duplicate-events"))
    .option("--max-delay <duration>", "with --chaos: longest delivery delay, reordering events (default 1500ms)", parseDuration("--max-delay"))
    .option("--table-outage <duration>", "with --chaos: how long the table is unreachable for the tracker (default 3s)", parseDuration("--table-outage"))
    .addHelpText("after", "\nExits 0 only if the ledger matches a full listing of the bucket (with --chaos: after reconciliation,\nand again after the DLQ is replayed).\n\nExamples:\n  npm run demo\n  npm run demo -- --chaos --seed 42")
    .action(async (options: DemoOptions) => {
      const log = (line: string) => !options.json && process.stdout.write(`${line}\n`);
      if (options.chaos) {
        const result = await runChaosDemo(log, {
          ...(options.seed !== undefined && { seed: options.seed }),
          ...(options.dropEvents !== undefined && { dropFraction: options.dropEvents }),
          ...(options.duplicateEvents !== undefined && { duplicateFraction: options.duplicateEvents }),
          ...(options.maxDelay !== undefined && { maxDelayMs: options.maxDelay }),
          ...(options.tableOutage !== undefined && { tableOutageMs: options.tableOutage }),
        });
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        const ok = result.repaired.matches && result.afterRedrive.matches;
        log(ok ? `\nOK: exact again after reconciliation, and still exact after the DLQ replay (seed ${result.seed}).` : `\nMISMATCH after reconciliation (seed ${result.seed}): ${JSON.stringify(result.afterRedrive)}`);
        if (!ok) process.exitCode = 1;
        return;
      }
      const mode = outputMode({ json: options.json ?? false });
      const result = await runDemo(log);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } else {
        log(`\nThe ledger (${result.ledger.length} objects, key order):\n${objectColumns}`);
        for (const record of result.ledger) log(objectRow(mode, record));
        log(`\nThe change feed since the demo started (${result.changes.length} keys, recording order):\n${changeColumns}`);
        for (const record of result.changes) log(changeRow(mode, record));
        const { comparison } = result;
        log(
          comparison.matches
            ? `\nOK: the ledger matches a full listing of the bucket (${comparison.bucketObjects} objects).`
            : `\nMISMATCH: missing ${JSON.stringify(comparison.missing)}, extra ${JSON.stringify(comparison.extra)}, different ${JSON.stringify(comparison.different)}`,
        );
      }
      if (!result.comparison.matches) process.exitCode = 1;
    });
}
