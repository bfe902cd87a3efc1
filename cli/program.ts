/** The `bucket-ledger` program: every command, as `main` runs it and `npm run docs:reference` prints its help. */
import { Command } from "commander";
import { registerChanges } from "./commands/changes.js";
import { registerDemo } from "./commands/demo.js";
import { registerDiff } from "./commands/diff.js";
import { registerDev } from "./commands/dev.js";
import { registerGet } from "./commands/get.js";
import { registerHistory } from "./commands/history.js";
import { registerErase } from "./commands/erase.js";
import { registerLs } from "./commands/ls.js";
import { registerReconcile } from "./commands/reconcile.js";
import { registerRollbackPlan } from "./commands/rollback-plan.js";
import { registerRuns } from "./commands/runs.js";
import { registerIngest } from "./commands/ingest.js";
import { registerIngestions } from "./commands/ingestions.js";
import { registerStat } from "./commands/stat.js";
import { VERSION } from "./version.js";
import { registerStatus } from "./commands/status.js";
import { registerBuckets } from "./commands/buckets.js";
import { registerWatch } from "./commands/watch.js";
import { registerReplay } from "./commands/replay.js";

export function buildProgram(): Command {
  const program = new Command("bucket-ledger")
    .description("An exact, queryable index of every object in an S3 bucket.")
    .version(VERSION, "-V, --version", "print the installed version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerStatus(program);
  registerBuckets(program);
  registerLs(program);
  registerChanges(program);
  registerDiff(program);
  registerWatch(program);
  registerReplay(program);
  registerGet(program);
  registerHistory(program);
  registerErase(program);
  registerStat(program);
  registerReconcile(program);
  registerRollbackPlan(program);
  registerRuns(program);
  registerIngestions(program);
  registerIngest(program);
  registerDev(program);
  registerDemo(program);
  return program;
}
