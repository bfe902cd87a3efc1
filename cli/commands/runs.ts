import type { Command } from "commander";
import { FINISHED, type RunRecord } from "../../reconcile/run-model.js";
import { RunStore } from "../../reconcile/run-store.js";
import { summarizeRun } from "../../reconcile/fan-out.js";
import { openTarget, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { formatTime, outputMode } from "../output.js";
import { parsePositiveInt } from "../option-parsers.js";

interface RunsOptions extends TargetOptions {
  limit: number;
  json?: boolean;
}

function progressOf(run: RunRecord): string {
  if (FINISHED.includes(run.status)) return run.status;
  return run.status === "scanning"
    ? `scanning ${run.tasksDone}/${run.tasksTotal} tasks`
    : `tombstoning ${run.tombstoneTasksDone}/${run.tombstoneTasksTotal} tasks`;
}

export function registerRuns(program: Command): void {
  withTargetOptions(program.command("runs"))
    .description("reconciliation runs recorded by the scheduled (fan-out) reconciler, newest first, with progress")
    .argument("<bucket>", "bucket name")
    .option("-n, --limit <n>", "show at most n runs", parsePositiveInt("--limit"), 10)
    .option("--json", "NDJSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nCounts of a run in progress cover its finished tasks only.\n\nExamples:\n  bucket-ledger runs my-bucket --stack prod\n  bucket-ledger runs ledger-demo --local --json",
    )
    .action(async (bucket: string, options: RunsOptions) => {
      const target = await openTarget(options);
      const runs = new RunStore(target.ledger.tableName, target.documentClient);
      const mode = outputMode(options);
      let shown = 0;
      for await (const run of runs.listRuns(bucket)) {
        if (shown === options.limit) break;
        const summary = summarizeRun(run);
        if (mode.json) {
          process.stdout.write(`${JSON.stringify({ ...summary, tasksDone: run.tasksDone, startedAt: run.startedAt, finishedAt: run.finishedAt })}\n`);
        } else {
          if (shown === 0)
            process.stdout.write(
              `${"STARTED".padEnd(21)}${"STATUS".padEnd(28)}${"SCANNED".padStart(10)}${"MISSING".padStart(9)}${"STALE".padStart(7)}${"ORPHANED".padStart(10)}${"REPAIRED".padStart(10)}  REASON\n`,
            );
          process.stdout.write(
            `${formatTime(run.startedAt).padEnd(21)}${progressOf(run).padEnd(28)}${String(summary.scanned).padStart(10)}${String(summary.missing).padStart(9)}${String(summary.stale).padStart(7)}${String(summary.orphaned).padStart(10)}${String(summary.repaired).padStart(10)}  ${run.reason ?? ""}\n`,
          );
        }
        shown++;
      }
      if (shown === 0 && !mode.json) process.stderr.write(`no reconciliation runs recorded for ${bucket}\n`);
    });
}
