import type { Command } from "commander";
import { openTarget, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { outputMode, writeLine } from "../output.js";
import { UsageError } from "../errors.js";
import { escapeTerminal, toJson } from "../escape.js";
import { parsePositiveInt } from "../option-parsers.js";
import { statusLine } from "../status-line.js";
import { eraseKey, eraseRequester, MAX_ERASE_SEGMENTS } from "../../ledger/erase.js";

interface EraseOptions extends TargetOptions {
  key?: string;
  requester?: string;
  yes?: boolean;
  segments: number;
  json?: boolean;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/key`, the key taken exactly as written after the bucket's slash (no decoding). */
export function parseS3Url(value: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/s.exec(value);
  if (!match || !BUCKET_NAME.test(match[1]!)) throw new UsageError(`--key ${toJson(value)} is not s3://<bucket>/<key>`);
  return { bucket: match[1]!, key: match[2]! };
}

export function registerErase(program: Command): void {
  withTargetOptions(program.command("erase"))
    .description("remove personal data on request: a key's history, or one requester's origin everywhere (a dry run unless --yes)")
    .option("--key <s3-url>", "s3://bucket/key: delete the key's history (journal) entries and the origin on its ledger item")
    .option("--requester <principal>", "remove this requester's origin (requester, source IP, request id) from every ledger item and history entry")
    .option("--yes", "erase; without it nothing is written and the command says what it would erase")
    .option("--segments <n>", `parallel Scan segments for --requester (1-${MAX_ERASE_SEGMENTS})`, parsePositiveInt("--segments"), 4)
    .option("--json", "a JSON summary (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      [
        "",
        "A dry run by default: it reads what it would erase and writes nothing. Every write is conditional on",
        "the item still holding the change read, so a change recorded meanwhile is never touched (skipped).",
        "",
        "--key reads the key's journal partition and its item: a few requests. The item itself stays.",
        "--requester has no index to use: it Scans the whole table with a filter, in parallel segments, and",
        "DynamoDB charges read units for every item scanned, matching or not (about one per 4 KB read, half",
        "that eventually consistent). Progress shows on a terminal. Run it again with --yes to erase.",
        "Needs dynamodb:Query, GetItem, Scan, UpdateItem and DeleteItem on the table.",
        "",
        "Examples:",
        "  bucket-ledger erase --key 's3://my-bucket/reports/q3.csv' --stack prod",
        "  bucket-ledger erase --requester AWS:AIDAEXAMPLE --table ledger-prod --yes",
      ].join("\n"),
    )
    .action(async (options: EraseOptions) => {
      if ((options.key === undefined) === (options.requester === undefined))
        throw new UsageError("give one of --key s3://bucket/key or --requester <principal>");
      if (options.segments > MAX_ERASE_SEGMENTS) throw new UsageError(`--segments must be at most ${MAX_ERASE_SEGMENTS}`);
      const { json } = outputMode(options);
      const dryRun = !options.yes;
      const target = await openTarget(options);
      const ctx = { tableName: target.ledger.tableName, documentClient: target.documentClient };
      const verb = dryRun ? "would remove" : "removed";
      if (options.key !== undefined) {
        const result = await eraseKey(ctx, { ...parseS3Url(options.key), dryRun });
        if (json) writeLine(toJson(result));
        else
          writeLine(
            `${escapeTerminal(result.bucket)} ${toJson(result.key)}: ${verb} ${result.historyEntries} history entries` +
              `${result.itemOrigin ? " and the origin on its item" : ""}${result.skipped > 0 ? `; ${result.skipped} changed since read, kept` : ""}`,
          );
      } else {
        const progress = statusLine(process.stderr);
        const result = await eraseRequester(ctx, {
          requester: options.requester!,
          dryRun,
          segments: options.segments,
          onProgress: (so) => progress.update(`scanning ${target.ledger.tableName}: ${so.scanned} items read, ${so.erased} of ${options.requester} found`),
        }).finally(() => progress.done());
        if (json) writeLine(toJson(result));
        else
          writeLine(
            `${toJson(result.requester)}: ${verb} the origin of ${result.erased} items (ledger items and history entries) of ${result.scanned} scanned` +
              `${result.skipped > 0 ? `; ${result.skipped} changed since read, kept` : ""}`,
          );
      }
      if (dryRun) process.stderr.write("dry run: nothing was written; run again with --yes to erase\n");
    });
}
