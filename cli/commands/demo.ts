import type { Command } from "commander";
import { runDemo } from "../../local/demo.js";
import { changeColumns, changeRow, objectColumns, objectRow, outputMode } from "../output.js";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("start the local stack, run a scripted S3 workload, and check the ledger against the bucket")
    .option("--json", "print the result as one JSON document")
    .addHelpText("after", "\nExits 0 only if the ledger matches a full listing of the bucket.\n\nExample:\n  npm run demo")
    .action(async (options: { json?: boolean }) => {
      const mode = outputMode({ json: options.json ?? false });
      const log = (line: string) => !options.json && process.stdout.write(`${line}\n`);
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
