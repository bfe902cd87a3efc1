import type { Command } from "commander";
import { resolve } from "node:path";
import {
  applyRollback,
  assertVersioned,
  DEFAULT_MAX_SHARE,
  jobCommands,
  Journal,
  manifestsOf,
  manifestText,
  planRollback,
  RollbackRefusedError,
  shareGuard,
  summaryOf,
  writeFilesAtomically,
  type ApplySummary,
  type RefusedKey,
  type RollbackPlan,
  type RollbackSummary,
} from "../../rollback/index.js";
import { escapeTerminal, toJson } from "../escape.js";
import { openTarget, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { bucketArgument, parseFraction, parseTime } from "../option-parsers.js";
import { outputMode } from "../output.js";
import { statusLine } from "../status-line.js";

interface RollbackOptions extends TargetOptions {
  to: Date;
  prefix?: string;
  out: string;
  apply?: boolean;
  force?: boolean;
  maxShare: number;
  skipRefused?: boolean;
  json?: boolean;
}

/** `--to` as `--since` takes a time: ISO-8601 or a duration ago. */
const parseMoment = (value: string): Date => parseTime("--to", value);

/** Refused keys shown on a terminal; plan.json holds them all. */
const SHOWN_REFUSED = 20;

function keyList(title: string, keys: readonly RefusedKey[]): string[] {
  if (keys.length === 0) return [];
  const shown = keys.slice(0, SHOWN_REFUSED).map(({ key, reason }) => `  ${escapeTerminal(key)}: ${escapeTerminal(reason)}`);
  const more = keys.length > SHOWN_REFUSED ? [`  ... and ${keys.length - SHOWN_REFUSED} more (plan.json)`] : [];
  return ["", `${title} (${keys.length}):`, ...shown, ...more];
}

function summaryText(summary: RollbackSummary, plan: RollbackPlan, dir: string, applied: ApplySummary | undefined, refused: boolean): string {
  const where = `${escapeTerminal(summary.bucket)}${summary.prefix ? ` under ${escapeTerminal(summary.prefix)}` : ""}`;
  const rows: [string, string | number][] = [
    ["rollback of", `${where} to ${summary.to}`],
    ["copy the version back", summary.actions["copy-version"]],
    ["remove the delete marker", summary.actions["remove-delete-marker"]],
    ["delete (a delete marker)", summary.actions["delete-current"]],
    ["refused keys", summary.refused],
    ["already as at the moment", summary.done],
    ["keys of the prefix", summary.prefixKeys],
    ["plan and manifests in", escapeTerminal(dir)],
  ];
  if (applied) rows.push(["applied", applied.applied], ["changed since the plan", applied.conflicts.length], ["failed", applied.failures.length]);
  const lines = rows.map(([name, value]) => `${name.padEnd(28)}${value}`);
  lines.push(...keyList("refused, left as they are", plan.refused));
  if (applied) lines.push(...keyList("changed in S3 since the plan, left as they are", applied.conflicts), ...keyList("failed", applied.failures));
  if (!applied && !refused) lines.push("", "dry run: nothing changed. Run again with --apply, or start the jobs in commands.sh.");
  return `${lines.join("\n")}\n`;
}

export function registerRollbackPlan(program: Command): void {
  withTargetOptions(program.command("rollback-plan"))
    .description("plan (and with --apply carry out) returning a prefix of a versioned bucket to a past moment")
    .addArgument(bucketArgument())
    .requiredOption("--to <time>", "the moment to return to: ISO-8601 (2026-11-21T09:00:00Z) or a duration ago (15m, 6h, 2d)", parseMoment)
    .option("--prefix <prefix>", "only keys under this prefix")
    .requiredOption("--out <dir>", "directory for the plan (plan.json, summary.json), the S3 Batch Operations manifests, commands.sh and the journal")
    .option("--apply", "carry the plan out with the SDK (the default is a dry run that writes the plan only)")
    .option("--max-share <fraction>", "refuse to --apply to more than this fraction of the prefix's keys", parseFraction("--max-share"), DEFAULT_MAX_SHARE)
    .option("--force", "--apply even beyond --max-share")
    .option("--skip-refused", "go ahead with the other keys when some are refused (each is named and left as it is)")
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      [
        "",
        "Only on a bucket with versioning enabled. A key created since is deleted with a delete marker (no version is destroyed);",
        "a key deleted since gets its delete marker removed when the moment's version lies right beneath it, else that version",
        "copied back; a key changed since gets the moment's version copied back. Every key is checked against S3 first: a key",
        "the ledger cannot vouch for, whose current version S3 reports otherwise, or whose version S3 no longer has, is refused,",
        "and then the whole plan is, unless --skip-refused. --apply re-checks each key just before acting and writes its journal",
        "(journal.ndjson in --out): run it again with the same --to (plan.json's `to`) to resume.",
        "",
        "Exit codes: 0 done (or planned), 1 failure (some actions failed: run again), 2 usage error, 3 refused (nothing changed).",
        "",
        "Examples:",
        "  bucket-ledger rollback-plan my-bucket --to 2026-12-03T09:00:00Z --prefix reports/ --out rollback --table ledger-prod",
        "  bucket-ledger rollback-plan my-bucket --to 2026-12-03T09:00:00Z --prefix reports/ --out rollback --local --apply",
      ].join("\n"),
    )
    .action(async (bucket: string, options: RollbackOptions) => {
      const target = await openTarget(options);
      const s3 = target.s3();
      const dir = resolve(options.out);
      const identity = { bucket, prefix: options.prefix ?? "", to: options.to.toISOString() };
      // Before the output directory is touched: a refused bucket leaves nothing behind.
      await assertVersioned(s3, bucket);
      const journal = await Journal.open(dir, identity);
      const mode = outputMode(options);
      const progress = statusLine(process.stderr);
      const plan = await planRollback({
        reader: target.ledger,
        s3,
        bucket,
        ...(options.prefix !== undefined && { prefix: options.prefix }),
        to: options.to,
        journaled: journal.results,
        onProgress: ({ keys, actions, refused }) => progress.update(`planning ${bucket}: ${keys} changed keys read, ${actions} actions, ${refused} refused`),
      }).finally(() => progress.done());
      const refusedPlan = plan.refused.length > 0 && !options.skipRefused;
      // A refused plan still writes what it found (plan.json names each refused key) but no manifest to run.
      const manifests = manifestsOf(bucket, refusedPlan ? [] : plan.actions);
      const write = (applied?: ApplySummary) =>
        writeFilesAtomically(dir, {
          "plan.json": `${JSON.stringify({ ...plan, ...(applied && { applied }) }, null, 2)}\n`,
          "summary.json": `${JSON.stringify(summaryOf(plan, applied), null, 2)}\n`,
          ...Object.fromEntries(manifests.map((manifest) => [manifest.file, manifestText(manifest)])),
          "commands.sh": refusedPlan ? "# The plan was refused: see plan.json (refused). Nothing to run.\n" : jobCommands(bucket, dir, manifests),
        });
      await write();
      const print = (applied?: ApplySummary) => {
        const summary = summaryOf(plan, applied);
        process.stdout.write(
          mode.json
            ? `${toJson({ ...summary, refusedKeys: plan.refused, ...(applied && { conflicts: applied.conflicts, failures: applied.failures }) })}\n`
            : summaryText(summary, plan, dir, applied, refusedPlan),
        );
      };
      if (refusedPlan) {
        print();
        throw new RollbackRefusedError(
          `${plan.refused.length === 1 ? "1 key is" : `${plan.refused.length} keys are`} refused (${dir}/plan.json names each with why): nothing was changed. Pass --skip-refused to go ahead with the others`,
        );
      }
      if (!options.apply) {
        print();
        return;
      }
      const refusal = shareGuard({ actions: plan.actions.length, prefixKeys: plan.prefixKeys, maxShare: options.maxShare, force: Boolean(options.force) });
      if (refusal) {
        print();
        throw refusal;
      }
      const applying = statusLine(process.stderr);
      const applied = await applyRollback({
        s3,
        plan,
        journal,
        onProgress: ({ finished, total }) =>
          applying.update(`rolling back ${bucket}: ${finished}/${total} (${Math.floor((finished / Math.max(total, 1)) * 100)}%)`),
      }).finally(() => applying.done());
      await write(applied);
      print(applied);
      if (applied.failures.length > 0 || applied.conflicts.length > 0) process.exitCode = 1;
    });
}
