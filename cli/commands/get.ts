import type { Command } from "commander";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { formatBytes, formatTime, madeBy, outputMode } from "../output.js";
import { LookupFailedError } from "../errors.js";
import { escapeTerminal, toJson } from "../escape.js";
import type { WithheldReason } from "../../ledger/index.js";
import { bucketArgument } from "../option-parsers.js";

interface GetOptions extends TargetOptions {
  consistent?: boolean;
  json?: boolean;
}

/** `a=1, b=2` in key order (a DynamoDB map keeps none), or `(none)` for an empty set (kept, and empty). */
const pairs = (map: Record<string, string>) =>
  Object.entries(map)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join(", ") || "(none)";

/** Why S3 would not describe an object, as the operator can act on it. */
const WITHHELD_REASONS: Record<WithheldReason, string> = {
  kmsDenied: "S3 refused them (kms:Decrypt on the object's key)",
  sseCustomerKey: "encrypted with a customer-provided key (SSE-C)",
  accessDenied: "S3 refused the description (AccessDenied)",
};
export function registerGet(program: Command): void {
  withTargetOptions(program.command("get"))
    .description("show what the ledger holds for one object: its state, or the tombstone of its delete")
    .addArgument(bucketArgument())
    .argument("<key>", "object key, exactly as in S3 (quote it)")
    .option("--consistent", "strongly consistent read (sees a write that just happened)")
    .option("--json", "JSON output (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nExit code 1 when the ledger has no record of the key.\n\nExamples:\n  bucket-ledger get my-bucket 'photos/2026/a b.jpg' --table ledger-prod\n  bucket-ledger get ledger-demo hello.txt --local --json | jq .etag",
    )
    .action(async (bucket: string, key: string, options: GetOptions) => {
      const ledger = await openLedger(options);
      const record = await ledger.get(bucket, key, { consistentRead: Boolean(options.consistent) });
      if (!record)
        throw new LookupFailedError(`no record of ${toJson(key)} in ${escapeTerminal(bucket)}: never seen, or deleted longer ago than the retention window`);
      if (outputMode(options).json) {
        process.stdout.write(`${toJson(record)}\n`);
        return;
      }
      const rows: [string, string | undefined][] = [
        ["bucket", record.bucket],
        ["key", record.key],
        ["state", record.deleted ? "deleted (tombstone)" : "live"],
        ...(record.deleted
          ? []
          : ([
              ["size", `${formatBytes(record.size)} (${record.size} bytes)`],
              ["etag", record.etag],
              ["last modified", formatTime(record.lastModified)],
              ["storage class", record.storageClass],
              ["archive tier", record.archiveStatus],
              [
                "restore",
                record.restore &&
                  (record.restore.ongoing ? "in progress" : `restored${record.restore.expiresAt ? ` until ${formatTime(record.restore.expiresAt)}` : ""}`),
              ],
              ["content type", record.contentType],
              ["tags", record.tags && pairs(record.tags)],
              ["user metadata", record.userMetadata && pairs(record.userMetadata)],
              ["checksum", record.checksum && [record.checksum.algorithm, record.checksum.value, record.checksum.type].filter(Boolean).join(" ")],
              ["encryption", record.encryption && [record.encryption.algorithm, record.encryption.kmsKeyId].filter(Boolean).join(" ")],
              ["described at", record.describedAt && formatTime(record.describedAt)],
              ["not described", record.withheld && `${record.withheld.fields.join(", ")}: ${WITHHELD_REASONS[record.withheld.reason]}`],
            ] as [string, string | undefined][])),
        ["version", record.versionId],
        ["last change", `${record.cause} (${record.source})`],
        ["changed by", madeBy(record)],
        ["source IP", record.origin?.sourceIp],
        ["request id", record.origin?.requestId],
        ["sequencer", record.sequencer],
        ["changed at (S3)", formatTime(record.observedAt)],
        ["recorded at", formatTime(record.recordedAt)],
      ];
      for (const [name, value] of rows) if (value !== undefined) process.stdout.write(`${name.padEnd(18)}${escapeTerminal(value)}\n`);
    });
}
