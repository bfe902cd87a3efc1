import { createInterface } from "node:readline/promises";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { Command } from "commander";
import { withoutSdkLogger } from "../../aws/lean-client.js";
import { localCredentials } from "../../local/credentials.js";
import { readDevFile } from "../../local/dev-file.js";
import { eventBridgeTarget, snsFifoTarget, sqsFifoTarget, type ChangeTarget } from "../../stream/targets.js";
import { UsageError } from "../errors.js";
import { escapeTerminal, escapeTerminalLines, toJson } from "../escape.js";
import { destinationName, parseDestination, type Destination } from "../feed/destination.js";
import { ChangeFollower, settledBefore } from "../feed/follower.js";
import { positionTime, resumeCursor, startPosition } from "../feed/position.js";
import { FEED, replayChanges, type ReplayOutcome } from "../feed/replay.js";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { bucketArgument, durationOption, parsePositiveInt, parseSince } from "../option-parsers.js";
import { outputMode, writeLine } from "../output.js";
import { statusLine } from "../status-line.js";
import type { Ledger } from "../../ledger/index.js";

interface ReplayOptions extends TargetOptions {
  since?: string;
  cursor?: string;
  to: string;
  prefix?: string;
  dryRun?: boolean;
  yes?: boolean;
  limit: number;
  settle: number;
  json?: boolean;
}

/** Changes one run publishes at most, unless --limit says otherwise: a bound on a mistaken replay. */
const DEFAULT_LIMIT = 100_000;
/** Calls per group of messages (the SDK retries each call as well). */
const MAX_ATTEMPTS = 5;
/** What an interrupted command exits with in a shell: 128 + SIGINT. */
const EXIT_INTERRUPTED = 130;

export function registerReplay(program: Command): void {
  withTargetOptions(program.command("replay"))
    .description("publish a bucket's changes since a time again, from the change feed, as change-stream messages: for a consumer that must rebuild")
    .addArgument(bucketArgument())
    .option("-s, --since <time>", "replay the changes recorded since this time: ISO-8601, or a duration ago (15m, 6h, 2d)")
    .option("--cursor <cursor>", "go on where an earlier replay (or watch, or changes --limit) stopped")
    .requiredOption("--to <target>", "sns:<FIFO topic ARN>, events:<bus name or ARN>, or sqs:<FIFO queue URL>")
    .option("-p, --prefix <prefix>", "only keys starting with this prefix")
    .option("--dry-run", "count what would be published; publish nothing")
    .option("--yes", "publish without asking (needed when not at a terminal)")
    .option("-n, --limit <n>", "publish at most n changes, then stop with a cursor to go on from", parsePositiveInt("--limit"), DEFAULT_LIMIT)
    .addOption(durationOption("--settle <duration>", "replay up to this long before it starts: later changes are the live stream's", 3_000))
    .option("--json", "a JSON summary (the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      [
        "",
        "Subscribe to the live stream first, then replay: a replayed change carries the revision, id and",
        "message group the live stream gives it, so a consumer keeping the deduplication rule (the greater",
        "revision per key wins) drops whichever copy comes second. The feed holds each key's latest state:",
        "a key changed several times since --since is published once, at its latest change.",
        "Exit codes: 0 done (or --limit reached: go on with the cursor printed), 1 a target refused a",
        "message (the cursor resumes at it), 2 bad input, 130 interrupted (the cursor resumes).",
        "",
        "Examples:",
        "  bucket-ledger replay photos --since 2d --to sns:arn:aws:sns:eu-west-1:123456789012:changes.fifo --stack prod --dry-run",
        "  bucket-ledger replay photos --since 2026-12-01T00:00:00Z --to events:my-bus --stack prod --yes",
      ].join("\n"),
    )
    .action(async (bucket: string, options: ReplayOptions) => {
      const destination = parseDestination(options.to);
      if (options.since === undefined && options.cursor === undefined)
        throw new UsageError("give --since <time> or --cursor <cursor>: where the replay starts");
      const since = options.since === undefined ? undefined : parseSince(options.since);
      if (options.local && destination.kind === "events")
        throw new UsageError("the local stack has no EventBridge: replay to sns:<topic ARN> or sqs:<queue URL>");
      const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
      if (!options.dryRun && !options.yes && !interactive)
        throw new UsageError(`replay publishes to ${destinationName(destination)}: pass --yes to publish, or --dry-run to count first`);

      const ledger = await openLedger(options);
      const start = startPosition(
        bucket,
        { ...(since && { since }), ...(options.cursor !== undefined && { cursor: options.cursor }) },
        ledger.changeHorizon(),
        new Date(),
      );
      const through = settledBefore(Date.now(), options.settle);
      const replay = (target: ChangeTarget | undefined, signal: AbortSignal, onProgress?: (published: number, at?: string) => void) =>
        replayChanges({
          follower: followerFrom(ledger, bucket, start, options),
          through,
          ...(target && { target }),
          limit: options.limit,
          maxAttempts: MAX_ATTEMPTS,
          signal,
          ...(onProgress && { onProgress: (progress) => onProgress(progress.published, progress.at) }),
        });

      if (!options.dryRun && !options.yes) {
        const counted = await replay(undefined, new AbortController().signal);
        if (!(await confirm(counted, bucket, start, through, destination))) {
          process.stderr.write("nothing published\n");
          return;
        }
      }
      const target = options.dryRun ? undefined : await targetOf(destination, options);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      const progress = statusLine(process.stderr);
      const verb = options.dryRun ? "counted" : "published";
      let outcome: ReplayOutcome;
      try {
        outcome = await replay(target, stop.signal, (published, at) =>
          progress.update(`${verb} ${published} changes of ${bucket}${at ? `, recorded up to ${at}` : ""}`),
        );
      } finally {
        progress.done();
        process.off("SIGINT", onSignal);
      }
      report(outcome, { bucket, destination, start, through, dryRun: Boolean(options.dryRun), json: outputMode(options).json });
      if (outcome.end === "failed") process.exitCode = 1;
      if (outcome.end === "interrupted") process.exitCode = EXIT_INTERRUPTED;
    });
}

function followerFrom(ledger: Ledger, bucket: string, start: string, options: ReplayOptions): ChangeFollower {
  return new ChangeFollower(
    (position) => ledger.changes({ bucket, since: new Date(positionTime(position)), cursor: resumeCursor(bucket, position) }),
    start,
    // One poll: the intervals and retries of following do not apply.
    { settleMs: options.settle, intervalMs: 0, idleIntervalMs: 0, maxFailures: 0, ...(options.prefix !== undefined && { prefix: options.prefix }) },
  );
}

/** Asks on the terminal, with the count a dry run found; true to publish. */
async function confirm(counted: ReplayOutcome, bucket: string, start: string, through: string, destination: Destination): Promise<boolean> {
  const many = counted.end === "limit" ? `${counted.published} (the --limit; more remain)` : String(counted.published);
  const question = `publish ${many} changes of ${escapeTerminal(bucket)} recorded from ${positionTime(start)} to ${through} to ${escapeTerminal(destinationName(destination))}? [y/N] `;
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await terminal.question(question)).trim());
  } finally {
    terminal.close();
  }
}

/** The destination's client: the local stack's emulator with `--local`, else the default chain in the destination's Region. */
async function targetOf(destination: Destination, options: ReplayOptions): Promise<ChangeTarget> {
  const local = options.local ? await readDevFile() : undefined;
  const config = local
    ? // fauxqs serves SNS beside SQS on the emulator's endpoint.
      { region: local.region, credentials: localCredentials, endpoint: local.endpoints.sqs }
    : { ...((destination.region ?? options.region) !== undefined && { region: destination.region ?? options.region }) };
  switch (destination.kind) {
    case "sns":
      return snsFifoTarget(withoutSdkLogger(new SNSClient(config)), destination.topicArn);
    case "events":
      return eventBridgeTarget(withoutSdkLogger(new EventBridgeClient(config)), destination.bus);
    case "sqs":
      return sqsFifoTarget(withoutSdkLogger(new SQSClient(config)), destination.queueUrl);
  }
}

interface ReportContext {
  bucket: string;
  destination: Destination;
  start: string;
  through: string;
  dryRun: boolean;
  json: boolean;
}

/** The summary on stdout (JSON when piped); how to go on, on stderr. */
function report(outcome: ReplayOutcome, context: ReportContext): void {
  const { bucket, destination, start, through, dryRun } = context;
  const cursor = resumeCursor(bucket, outcome.position);
  const to = destinationName(destination);
  if (context.json) {
    writeLine(
      toJson({
        bucket,
        to,
        dryRun,
        end: outcome.end,
        [dryRun ? "wouldPublish" : "published"]: outcome.published,
        changes: outcome.changes,
        from: positionTime(start),
        through,
        cursor,
        ...(outcome.failure && { failure: outcome.failure }),
      }),
    );
  } else {
    const kinds = Object.entries(outcome.changes)
      .map(([kind, count]) => `${count} ${kind}`)
      .join(", ");
    writeLine(
      `${dryRun ? "would publish" : "published"} ${outcome.published} changes of ${escapeTerminal(bucket)}${kinds ? ` (${kinds})` : ""} to ${escapeTerminal(to)}, recorded from ${positionTime(start)} to ${positionTime(outcome.position)}`,
    );
  }
  if (outcome.failure) {
    const { target, code, message } = outcome.failure;
    const what = target === FEED ? "reading the change feed failed" : `${target} refused a message`;
    process.stderr.write(`bucket-ledger: ${what}: ${escapeTerminalLines(`${code}: ${message}`)}; fix it, then go on with --cursor ${cursor}\n`);
  } else if (outcome.end === "limit") process.stderr.write(`stopped at the --limit: go on with --cursor ${cursor}\n`);
  else if (outcome.end === "interrupted") process.stderr.write(`interrupted: go on with --cursor ${cursor}\n`);
  else if (dryRun) process.stderr.write("dry run: nothing was published\n");
}
