import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import { SqsIngestQueue } from "../../ingest/ingest-queue.js";
import type { IngestionRecord } from "../../ledger/index.js";
import { ingestVersionOf } from "../../ingest/request.js";
import { ruleFor } from "../../ingest/rules.js";
import { EXIT } from "../../foundation/user-error.js";
import { LookupFailedError, UsageError } from "../errors.js";
import { openTarget, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { outputMode } from "../output.js";
import { bucketArgument, durationOption } from "../option-parsers.js";
import { statusLine } from "../status-line.js";
import { escapeTerminal, toJson } from "../escape.js";

interface IngestOptions extends TargetOptions {
  wait: boolean;
  timeout: number;
  json?: boolean;
}

const POLL_MS = 500;

function describe(record: IngestionRecord): string {
  const counts = `${record.rowsRead} read, ${record.rowsWritten} written, ${record.rowsRejected} rejected, ${record.rowsDeleted} deleted`;
  return escapeTerminal(`${record.status}: s3://${record.bucket}/${record.key} (${record.version}): ${counts}${record.reason ? `; ${record.reason}` : ""}`);
}

export function registerIngest(program: Command): void {
  withTargetOptions(program.command("ingest"))
    .description("(re)ingest one object's rows now, through the deployed ingestion queue, and follow it to the end")
    .addArgument(bucketArgument())
    .argument("<key>", "object key (a rule must cover it)")
    .option("--no-wait", "queue the request and exit")
    .addOption(durationOption("--timeout <duration>", "give up waiting after this long (30s, 10m, 1h)", 15 * 60_000))
    .option("--json", "print the finished ingestion record as JSON (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      "\nThe request goes to the ingestion queue like any other, so it never runs beside another ingestion of the same\nfile. It ingests the version the ledger holds as current, even if that version was ingested already.\nExit code: 0 succeeded, 1 partial (rows rejected: see the error report) or failed, 2 bad usage.\n\nExamples:\n  bucket-ledger ingest my-bucket imports/offers.csv --stack prod\n  bucket-ledger ingest ledger-demo imports/offers.csv --local",
    )
    .action(async (bucket: string, key: string, options: IngestOptions) => {
      const target = await openTarget(options);
      const ingestion = target.ingestion();
      const rule = ruleFor(ingestion.rules, bucket, key);
      if (!rule) {
        const patterns = ingestion.rules.map((candidate) => `s3://${candidate.bucket}/${candidate.pattern}`).join(", ");
        throw new UsageError(`no ingestion rule covers s3://${bucket}/${key} (the rules cover ${patterns || "nothing"})`);
      }
      const object = await target.ledger.get(bucket, key, { consistentRead: true });
      if (!object || object.deleted)
        throw new LookupFailedError(`the ledger holds no live object s3://${bucket}/${key}: upload it, or wait for the tracker to record it`);
      const version = ingestVersionOf(object);
      const requestId = randomUUID();
      const queuedAt = new Date();
      await new SqsIngestQueue(ingestion.sqs, ingestion.queueUrl).send([{ kind: "ingest", bucket, key, version, cause: "operator", again: true, requestId }]);
      const mode = outputMode(options);
      if (!options.wait) {
        process.stdout.write(
          mode.json
            ? `${toJson({ queued: true, bucket, key, version, requestId })}\n`
            : `${escapeTerminal(`queued ingestion of s3://${bucket}/${key} (${version})`)}\n`,
        );
        return;
      }
      const status = statusLine(process.stderr);
      const deadline = queuedAt.getTime() + options.timeout;
      for (;;) {
        const record = await target.ledger.ingestion(bucket, key);
        if (record?.requestId === requestId && record.status !== "running") {
          status.done();
          process.stdout.write(mode.json ? `${toJson(record)}\n` : `${describe(record)}\n`);
          if (record.status !== "succeeded") process.exitCode = EXIT.failure;
          return;
        }
        if (record && record.version !== version && record.startedAt > queuedAt.toISOString()) {
          status.done();
          throw new LookupFailedError(
            `s3://${bucket}/${key} changed to version ${escapeTerminal(record.version)} meanwhile; that version is being ingested instead`,
          );
        }
        if (record?.requestId === requestId && record.progress) {
          const { phase, offset, size, rowsRead } = record.progress;
          status.update(`${phase} s3://${bucket}/${key}: ${Math.floor((100 * offset) / Math.max(1, size))}%${phase === "writing" ? `, ${rowsRead} rows` : ""}`);
        } else {
          status.update(`waiting for the ingestion of s3://${bucket}/${key} to start...`);
        }
        if (Date.now() > deadline) {
          status.done();
          throw new LookupFailedError(
            `no result after ${Math.round(options.timeout / 1000)} s; the request is still queued: see \`bucket-ledger ingestions ${bucket} --key ${key}\``,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    });
}
