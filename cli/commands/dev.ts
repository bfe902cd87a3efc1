import type { Command } from "commander";
import { readStackConfigFile, stackConfigFilePath, type DevStackConfig } from "../../local/stack-config-file.js";
import { UsageError } from "../errors.js";
import { devFilePath, type LocalStackInfo } from "../../local/dev-file.js";
import type { PublishReport } from "../../stream/publisher.js";
import { runDevSession } from "../../local/dev-session.js";
import { localEnvironment } from "../../local/environment.js";
import type { TrackerCounts } from "../../tracker/counts.js";
import { withChaosOptions, type ChaosOptions } from "../chaos-options.js";
import { bucketListOption, intervalOption, parsePort, parsePositiveInt } from "../option-parsers.js";
import type { IngestOutcome } from "../../ingest/ingester.js";
import { resolveIngestRules } from "../../ingest/rules.js";
import { readIngestRulesFile } from "../../local/ingest-rules-file.js";
import { escapeTerminal, escapeTerminalLines, toJson } from "../escape.js";
import { Option } from "commander";
import { DEFAULT_ORIGIN, ORIGIN_SETTINGS, type OriginSetting } from "../../ledger/origin.js";

interface DevOptions extends ChaosOptions {
  bucket: string[];
  versioned?: boolean;
  awsPort?: number;
  apiPort?: number;
  dynamodbPort?: number;
  dataDir?: string;
  retentionDays?: number;
  origin: OriginSetting;
  visibilityTimeout?: number;
  reconcileEvery: number;
  ingestRules?: string;
  stackConfig?: string;
  stack?: string;
  verbose?: boolean;
  changeStream?: boolean;
}

function describeBatch(counts: TrackerCounts): string {
  const parts = Object.entries(counts)
    .filter(([, value]) => value > 0)
    .map(([name, value]) => `${name} ${value}`);
  return `tracker batch: ${parts.join(", ") || "nothing to do"}`;
}

/** Said once, whatever the output: a key set for the stack is never dropped silently. */
function reportNotUsedLocally(stack: DevStackConfig): void {
  if (stack.notUsedLocally.length === 0) return;
  const lines = stack.notUsedLocally.map(({ key, why }) => `  ${key}: ${why}`).join("\n");
  process.stderr.write(escapeTerminalLines(`stack configuration ${stack.path}: not used locally:\n${lines}`) + "\n");
}

/** How to read the local change stream's subscription, when there is one. */
export function changeStreamHint(info: LocalStackInfo): string {
  if (info.changeQueueUrl === undefined) return "";
  return `\nThe change stream (topic ${info.changeTopicArn}) is delivered to the SQS FIFO queue\n  ${info.changeQueueUrl}\nRead it with:\n  aws sqs receive-message --endpoint-url ${info.endpoints.sqs} --queue-url ${info.changeQueueUrl} --max-number-of-messages 10 --wait-time-seconds 10\n`;
}

export function registerDev(program: Command): void {
  withChaosOptions(program.command("dev"), {
    prefix: "chaos: ",
    outage: "make the table unreachable for the tracker this long, once ready and on each SIGUSR1",
  })
    .description("run the whole system locally: DynamoDB Local, S3 + SQS emulator with S3 event notifications, and the tracker")
    .addOption(bucketListOption("-b, --bucket <name...>", "buckets to create and track", ["ledger-demo"]))
    .option("--versioned", "turn S3 Versioning on for those buckets: version ids, delete markers, version deletes, ListObjectVersions")
    .option("--aws-port <port>", "S3 + SQS endpoint port (default: a free port)", parsePort("--aws-port"))
    .option("--api-port <port>", "query API port on 127.0.0.1 (default: a free port)", parsePort("--api-port"))
    .option("--dynamodb-port <port>", "DynamoDB Local port (default: a free port)", parsePort("--dynamodb-port"))
    .option("--data-dir <dir>", "keep the ledger and the buckets in this directory across restarts (created if missing)")
    .option("--retention-days <n>", "how long tombstones (and the change feed) are kept", parsePositiveInt("--retention-days"))
    .addOption(
      new Option("--origin <kept>", "what of each change's origin is kept: full (with source IP), principal, none")
        .choices(ORIGIN_SETTINGS)
        .default(DEFAULT_ORIGIN),
    )
    .option("--visibility-timeout <seconds>", "queue visibility timeout: how soon a failed message is retried", parsePositiveInt("--visibility-timeout"))
    .addOption(intervalOption("--reconcile-every <duration>", "reconcile every bucket this often (30s, 10m, 1h, or off)", 300_000))
    .option("--ingest-rules <file>", "mirror CSV / JSON Lines objects into DynamoDB tables: a JSON or YAML list of rules, or a Pulumi.<stack>.yaml")
    .option(
      "--change-stream",
      "publish the ledger's changes (the stack's changeStream): DynamoDB Local's stream -> the publisher -> an SNS FIFO topic -> an SQS FIFO queue",
    )
    .option("--stack-config <file>", "run with a stack's configuration (a Pulumi.<stack>.yaml), validated as pulumi up does; flags given beside it win")
    .option("--stack <name>", "as --stack-config Pulumi.<name>.yaml, from the current directory (beside Pulumi.yaml)")
    .option("-v, --verbose", "log every tracker batch and the tracker's own JSON logs")
    .addHelpText(
      "after",
      '\nPrints one JSON line on stdout once ready ({"ready":true, endpoints, tableName, ...}) and writes it to\n.bucket-ledger/dev.json, which `bucket-ledger ls|changes --local` read. Ctrl-C stops everything.\n\nChaos flags inject the faults S3 and DynamoDB really have, so retries, the DLQ and reconciliation\ncan be watched at work; all are off by default.\n\nExamples:\n  bucket-ledger dev\n  bucket-ledger dev --bucket photos --bucket logs --aws-port 4566 --dynamodb-port 8000\n  bucket-ledger dev --versioned\n  bucket-ledger dev --ingest-rules rules.json\n  bucket-ledger dev --change-stream\n  bucket-ledger dev --stack dev\n  bucket-ledger dev --drop-events 0.1 --duplicate-events 0.05 --max-delay 2s --table-outage 20s --reconcile-every 1m',
    )
    .action(async (options: DevOptions, command: Command) => {
      const chatty = Boolean(options.verbose) || Boolean(process.stderr.isTTY);
      if (options.stack !== undefined && options.stackConfig !== undefined) throw new UsageError("give --stack or --stack-config, not both");
      const stackFile = options.stack !== undefined ? stackConfigFilePath(options.stack) : options.stackConfig;
      // Refused before anything starts, every problem named (the same checks as `pulumi up`'s).
      const stack = stackFile === undefined ? undefined : await readStackConfigFile(stackFile);
      if (stack) reportNotUsedLocally(stack);
      const config = stack?.options;
      // A flag given on the command line wins over the stack's value; a flag's own default does not.
      const given = (name: string) => command.getOptionValueSource(name) === "cli";
      const buckets = given("bucket") ? options.bucket : (config?.buckets ?? options.bucket);
      const ruleInput = options.ingestRules !== undefined ? await readIngestRulesFile(options.ingestRules) : config?.ingest.rules;
      const ingestRules = ruleInput === undefined ? undefined : resolveIngestRules(ruleInput, buckets);
      const retentionDays = given("retentionDays") ? options.retentionDays : config?.retentionDays;
      await runDevSession(
        {
          buckets,
          ...(options.versioned && { versioned: true }),
          ...(options.awsPort !== undefined && { awsPort: options.awsPort }),
          ...(options.apiPort !== undefined && { api: { port: options.apiPort } }),
          ...(options.dynamodbPort !== undefined && { dynamoDbPort: options.dynamodbPort }),
          ...(options.dataDir !== undefined && { dataDirectory: options.dataDir }),
          ...(retentionDays !== undefined && { retentionDays }),
          ...(config?.historyDays !== undefined && { historyDays: config.historyDays }),
          ...(config?.changeShards !== undefined && { changeShards: config.changeShards }),
          ...(config?.enrich !== undefined && { enrich: config.enrich }),
          ...(config?.maxReceiveCount !== undefined && { maxReceiveCount: config.maxReceiveCount }),
          ...((options.changeStream || config?.changeStream?.enabled) && {
            changeStream: {
              enabled: true,
              // A batch the topic refused is retried from its record: said when it happens.
              onBatch: (report: PublishReport) =>
                report.failure &&
                process.stderr.write(
                  escapeTerminal(`change stream: ${report.failure.target} refused a change (${report.failure.code}: ${report.failure.message}); retrying`) +
                    "\n",
                ),
            },
          }),
          logLevel: options.verbose ? "INFO" : "WARN",
          events: {
            ...(options.visibilityTimeout !== undefined && { visibilityTimeoutSeconds: options.visibilityTimeout }),
            ...(options.dropEvents !== undefined || options.duplicateEvents !== undefined || options.maxDelay !== undefined
              ? {
                  deliveryFaults: {
                    dropFraction: options.dropEvents ?? 0,
                    duplicateFraction: options.duplicateEvents ?? 0,
                    maxDelayMs: options.maxDelay ?? 0,
                    ...(options.faultSeed !== undefined && { seed: options.faultSeed }),
                  },
                }
              : {}),
          },
          tracker: {
            ...config?.tracker,
            origin: given("origin") ? options.origin : (config?.tracker.origin ?? options.origin),
            ...(options.tableOutage !== undefined && { tableFaults: true }),
            onBatch: (counts) => chatty && process.stderr.write(`${describeBatch(counts)}\n`),
          },
          ...(ingestRules && {
            ingest: {
              rules: ingestRules,
              onOutcome: (outcome: IngestOutcome) =>
                outcome.outcome === "finished" &&
                (chatty || outcome.record.status !== "succeeded") &&
                process.stderr.write(
                  escapeTerminal(
                    `ingestion of ${outcome.record.key} ${outcome.record.status}: ${outcome.record.rowsWritten} rows written, ${outcome.record.rowsRejected} rejected, ${outcome.record.rowsDeleted} deleted${outcome.record.reason ? ` (${outcome.record.reason})` : ""}`,
                  ) + "\n",
                ),
            },
          }),
          reconcile: {
            ...config?.reconcile,
            intervalMs: options.reconcileEvery,
            onRun: (summary) =>
              // A run that did not succeed is reported even when quiet: it needs someone's attention.
              (chatty || summary.status !== "succeeded") &&
              process.stderr.write(
                escapeTerminal(
                  `reconciliation of ${summary.bucket} ${summary.status}: ${summary.scanned} objects, missing ${summary.missing}, stale ${summary.stale}, orphaned ${summary.orphaned}, repaired ${summary.repaired}${summary.reason ? ` (${summary.reason})` : ""}`,
                ) + "\n",
              ),
          },
          onError: (error) => process.stderr.write(`local stack: ${(error as Error).message}\n`),
        },
        {
          onSignal: (signal) => chatty && process.stderr.write(`\n${signal}: stopping the local stack...\n`),
          onStarted: (stack) => {
            // Faults are announced whatever the output: nobody should mistake a chaos run for a healthy one.
            if (stack.deliveryFaults) process.stderr.write(`CHAOS: ${stack.deliveryFaults.describe()}\n`);
            if (options.tableOutage === undefined) return;
            const outage = () => {
              process.stderr.write(`CHAOS: the table is unreachable for the tracker for ${options.tableOutage} ms (kill -USR1 ${process.pid} to repeat)\n`);
              stack.tableFaults!.startOutage(options.tableOutage!);
            };
            outage();
            process.on("SIGUSR1", outage);
          },
          onReady: (stack) => {
            process.stdout.write(`${toJson(stack.info)}\n`);
            if (!process.stderr.isTTY) return;
            const env = Object.entries(localEnvironment(stack.info))
              .map(([name, value]) => `  export ${name}=${value}`)
              .join("\n");
            process.stderr.write(
              `\nbucket-ledger dev is running (details in ${devFilePath()}).\nPoint any AWS SDK or CLI at it with:\n${env}\n\nTry: bucket-ledger ls ${stack.info.buckets[0]} --local\n     curl ${stack.info.endpoints.api}/buckets/${stack.info.buckets[0]}/objects\n${escapeTerminalLines(changeStreamHint(stack.info))}Ctrl-C to stop.\n\n`,
            );
          },
        },
      );
    });
}
