import type { Command } from "commander";
import { FINISHED, type RunRecord } from "../../reconcile/run-model.js";
import { DynamoDbRunStore } from "../../reconcile/dynamodb-run-store.js";
import type { RunStore } from "../../reconcile/run-store.js";
import { summarizeRun } from "../../reconcile/run-summary.js";
import { openTarget, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { driftColumns, driftRow, formatTime, outputMode, writeLine, type OutputMode } from "../output.js";
import { LookupFailedError } from "../errors.js";
import { escapeTerminal, padEndDisplay, toJson } from "../escape.js";
import { RECONCILE_DEFAULTS } from "../../reconcile/defaults.js";
import { bucketArgument, parsePositiveInt } from "../option-parsers.js";

interface RunsOptions extends TargetOptions {
  limit: number;
  drift?: string;
  json?: boolean;
}

async function newestRun(runs: RunStore, bucket: string): Promise<RunRecord | undefined> {
  for await (const run of runs.listRuns(bucket)) return run;
  return undefined;
}

/** `runs <bucket> --drift <run>`: the run's drift sample, and whether it is the whole of the drift. */
async function printDriftSample(runs: RunStore, bucket: string, runId: string, mode: OutputMode): Promise<void> {
  const run = runId === "latest" ? await newestRun(runs, bucket) : await runs.getRun(bucket, runId);
  if (!run) throw new LookupFailedError(`no run ${runId} recorded for ${bucket} (bucket-ledger runs ${bucket} lists them)`);
  let shown = 0;
  for await (const drift of runs.driftSample(bucket, run.runId)) {
    if (shown === 0 && !mode.json) writeLine(driftColumns);
    writeLine(mode.json ? toJson(drift) : driftRow(drift));
    shown++;
  }
  const total = run.counts.missing + run.counts.stale + run.counts.orphaned;
  const finished = FINISHED.includes(run.status) ? "" : " so far (the run is still going)";
  if (shown < total)
    process.stderr.write(
      `the sample holds ${shown} of the ${total} drifted keys found${finished}: a run keeps up to ${RECONCILE_DEFAULTS.driftSampleSize}, shared by its tasks\n`,
    );
  else if (shown === 0) process.stderr.write(`run ${run.runId} found no drift${finished}\n`);
}

function progressOf(run: RunRecord): string {
  const mode = run.backfill ? " (backfill)" : "";
  if (FINISHED.includes(run.status)) return `${run.status}${mode}`;
  return run.status === "scanning"
    ? `scanning ${run.tasksDone}/${run.tasksTotal} tasks${mode}`
    : `tombstoning ${run.tombstoneTasksDone}/${run.tombstoneTasksTotal} tasks${mode}`;
}

export function registerRuns(program: Command): void {
  withTargetOptions(program.command("runs"))
    .description("reconciliation runs recorded by the scheduled (fan-out) reconciler, newest first, with progress")
    .addArgument(bucketArgument())
    .option("-n, --limit <n>", "show at most n runs", parsePositiveInt("--limit"), 10)
    .option("--drift <run>", "list the drifted keys the run kept (a run id, or latest) instead of the runs")
    .option("--json", "NDJSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nCounts of a run in progress cover its finished tasks only. A run keeps a sample of the keys it found\ndrifted (up to 1,000, shared by its tasks, kept 30 days): --drift lists it, and says when it is not the whole.\n\nExamples:\n  bucket-ledger runs my-bucket --stack prod\n  bucket-ledger runs my-bucket --stack prod --drift latest\n  bucket-ledger runs ledger-demo --local --json",
    )
    .action(async (bucket: string, options: RunsOptions) => {
      const target = await openTarget(options);
      const runs = new DynamoDbRunStore(target.ledger.tableName, target.documentClient);
      const mode = outputMode(options);
      if (options.drift !== undefined) return printDriftSample(runs, bucket, options.drift, mode);
      let shown = 0;
      for await (const run of runs.listRuns(bucket)) {
        if (shown === options.limit) break;
        const summary = summarizeRun(run);
        if (mode.json) {
          process.stdout.write(`${toJson({ ...summary, tasksDone: run.tasksDone, startedAt: run.startedAt, finishedAt: run.finishedAt })}\n`);
        } else {
          if (shown === 0)
            process.stdout.write(
              `${"STARTED".padEnd(21)}${"STATUS".padEnd(28)}${"SCANNED".padStart(10)}${"MISSING".padStart(9)}${"STALE".padStart(7)}${"ORPHANED".padStart(10)}${"REPAIRED".padStart(10)}  REASON\n`,
            );
          process.stdout.write(
            `${formatTime(run.startedAt).padEnd(21)}${padEndDisplay(escapeTerminal(progressOf(run)), 28)}${String(summary.scanned).padStart(10)}${String(summary.missing).padStart(9)}${String(summary.stale).padStart(7)}${String(summary.orphaned).padStart(10)}${String(summary.repaired).padStart(10)}  ${escapeTerminal(run.reason ?? "")}\n`,
          );
        }
        shown++;
      }
      if (shown === 0 && !mode.json) process.stderr.write(`no reconciliation runs recorded for ${bucket}\n`);
    });
}
