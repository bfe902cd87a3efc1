import type { Command } from "commander";
import { openLedger, withTargetOptions, type TargetOptions } from "../ledger-target.js";
import { changeColumns, changeRow, outputMode, writeLine, type OutputMode } from "../output.js";
import { bucketArgument, durationOption, parseSince } from "../option-parsers.js";
import { escapeTerminal, escapeTerminalLines, toJson } from "../escape.js";
import { ChangeFollower, type FollowSettings } from "../feed/follower.js";
import { positionTime, resumeCursor, startPosition } from "../feed/position.js";
import { noticeIfUnknown } from "../unknown-bucket.js";

interface WatchOptions extends TargetOptions {
  prefix?: string;
  since?: string;
  cursor?: string;
  json?: boolean;
  interval: number;
  idleInterval: number;
  settle: number;
}

/** Polls that may fail in a row (the SDK has retried each already) before watch gives up. */
const MAX_FAILURES = 5;

export function registerWatch(program: Command): void {
  withTargetOptions(program.command("watch"))
    .description("follow a bucket's changes: catch up from the change feed, then poll it for new ones until Ctrl-C")
    .addArgument(bucketArgument())
    .option("-p, --prefix <prefix>", "only keys starting with this prefix (the feed is read whole and filtered)")
    .option("-s, --since <time>", "start with the changes recorded since this time: ISO-8601, or a duration ago (15m, 6h, 2d); default: now")
    .option("--cursor <cursor>", "resume where a stopped watch, a replay or changes --limit left off")
    .option("--json", "NDJSON output, each record with the cursor that resumes after it (the default when stdout is not a terminal)")
    .addOption(durationOption("--interval <duration>", "wait between polls while changes come", 1_000))
    .addOption(durationOption("--idle-interval <duration>", "longest wait between polls: each poll that finds nothing doubles the wait, up to this", 5_000))
    .addOption(
      durationOption(
        "--settle <duration>",
        "how far behind the present to stay: the change index is eventually consistent, and a change recorded earlier can appear later",
        3_000,
      ),
    )
    .addHelpText(
      "after",
      '\nOn Ctrl-C (or when the reader of a pipe goes away) it prints the cursor to resume from on stderr: text on a terminal, {"cursor": ...} when piped.' +
        "\nThe change feed holds each key's latest state: a key changed twice between two polls shows once. Every change: the change stream." +
        "\n\nExamples:\n  bucket-ledger watch my-bucket --prefix logs/ --stack prod\n  bucket-ledger watch ledger-demo --local --since 1h | jq -c '{key, cause}'",
    )
    .action(async (bucket: string, options: WatchOptions) => {
      const mode = outputMode(options);
      const ledger = await openLedger(options);
      const start = startPosition(
        bucket,
        { ...(options.since !== undefined && { since: parseSince(options.since) }), ...(options.cursor !== undefined && { cursor: options.cursor }) },
        ledger.changeHorizon(),
        new Date(),
      );
      const settings: FollowSettings = {
        settleMs: options.settle,
        intervalMs: options.interval,
        idleIntervalMs: Math.max(options.interval, options.idleInterval),
        maxFailures: MAX_FAILURES,
        ...(options.prefix !== undefined && { prefix: options.prefix }),
      };
      const follower = new ChangeFollower(
        (position) => ledger.changes({ bucket, since: new Date(positionTime(position)), cursor: resumeCursor(bucket, position) }),
        start,
        settings,
      );
      await noticeIfUnknown(ledger, bucket);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      // Lines written in one burst all go out before the closed pipe's EPIPE is reported: stop on
      // the report, not only at the next write (which could be an idle bucket's hours away).
      const onStdoutError = (error: NodeJS.ErrnoException) => error.code === "EPIPE" && stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      process.stdout.on("error", onStdoutError);
      try {
        if (!mode.json) writeLine(changeColumns);
        for await (const event of follower.follow(stop.signal)) {
          if (event.kind === "change")
            writeLine(mode.json ? toJson({ ...event.record, cursor: resumeCursor(bucket, event.position) }) : changeRow(mode, event.record));
          else if (event.kind === "caughtUp" && !mode.json)
            process.stderr.write(`caught up to ${positionTime(event.position)}; following ${escapeTerminal(bucket)} (Ctrl-C stops)\n`);
          else if (event.kind === "retrying")
            process.stderr.write(
              `bucket-ledger: reading the change feed failed (${escapeTerminalLines(event.error.message)}); trying again in ${event.waitMs} ms (${event.failures} of ${MAX_FAILURES})\n`,
            );
        }
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        process.stdout.off("error", onStdoutError);
        reportStop(mode, bucket, follower.position);
      }
    });
}

/**
 * Where it stopped, however it stopped: on stderr, so stdout stays the records. Piped, one JSON
 * line as `changes --limit` prints its cursor; the lines written just before a closed pipe was
 * noticed may never have been read, so a consumer that must not lose one resumes from the
 * `cursor` of the last line it handled instead.
 */
function reportStop(mode: OutputMode, bucket: string, position: string): void {
  const cursor = resumeCursor(bucket, position);
  process.stderr.write(mode.json ? `${toJson({ cursor })}\n` : `stopped at ${positionTime(position)}: resume with --cursor ${cursor}\n`);
}
