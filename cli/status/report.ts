/**
 * Gathers what `status` shows and judges it: every line a finding (ok, warn, bad, or unreadable:
 * a part of the stack the caller may not read). The exit code follows: 0 when all is well, 4
 * when anything read needs attention, 5 when all that was read is well but a part was not read.
 */
import type { Ledger } from "../../ledger/index.js";
import type { RunStore } from "../../reconcile/run-store.js";
import { VERSION } from "../version.js";
import { bucketsToShow, isRunning, readBucketStatus, type BucketStatus } from "./bucket-status.js";
import { STATUS_DEFAULTS } from "./defaults.js";
import { firstRunOf, type FirstRun, type RunSchedule } from "./first-run.js";
import { QUEUE_TOPIC, type AlarmState, type QueueHealth, type StackProbe, type Unreadable } from "./stack-probe.js";

export type Level = "ok" | "warn" | "bad" | "unreadable";

export interface Finding {
  level: Level;
  /** The bucket, or `stack`. */
  subject: string;
  /** What the line is about: `reconciliation`, `event queue`... */
  topic: string;
  text: string;
}

export interface StatusReport {
  version: string;
  checkedAt: string;
  table: string;
  /** `stack <name>`, `the local stack`, or absent with `--table` alone. */
  stack?: string;
  healthy: boolean;
  exitCode: (typeof STATUS_EXIT)[keyof typeof STATUS_EXIT];
  buckets: BucketStatus[];
  /** The queues that could be read. */
  queues?: QueueHealth[];
  /** Absent when they could not be read. */
  alarms?: AlarmState[];
  /** With a stack: the parts of it that could not be read (empty when all could). */
  unreadable?: Unreadable[];
  findings: Finding[];
}

/** Beside foundation/user-error.ts's `EXIT` (1 could not read the ledger at all, 2 usage, 3 refused). */
export const STATUS_EXIT = { healthy: 0, attention: 4, partlyUnread: 5 } as const;

const hoursSince = (iso: string, now: Date) => (now.getTime() - new Date(iso).getTime()) / 3_600_000;

/** A bucket with no run yet: healthy until its first run is late. */
function notRunYet(firstRun: FirstRun | undefined, now: Date): { level: Level; text: string } {
  if (!firstRun) return { level: "warn", text: "never reconciled" };
  if (firstRun.due === undefined) return { level: "ok", text: `not run yet: no run is scheduled (${firstRun.schedule}); \`bucket-ledger reconcile\` runs one` };
  return now.getTime() - new Date(firstRun.due).getTime() > STATUS_DEFAULTS.firstRunGraceSeconds * 1000
    ? { level: "warn", text: `never reconciled: the first run was due at ${firstRun.due} (${firstRun.schedule})` }
    : { level: "ok", text: `not run yet: the first run is due at ${firstRun.due} (${firstRun.schedule})` };
}

/** A bucket adopted into a running stack counts from when the ledger first recorded it, not from the stack's start. */
const firstRunFor = (schedule: RunSchedule | undefined, firstSeenAt: string | undefined): FirstRun | undefined => schedule && firstRunOf(schedule, firstSeenAt);

function bucketFindings(status: BucketStatus, now: Date, firstRun: FirstRun | undefined): Finding[] {
  const finding = (level: Level, topic: string, text: string): Finding => ({ level, subject: status.bucket, topic, text });
  const findings: Finding[] = [];
  const { objects, newestChange, lastRun } = status;
  findings.push(
    objects
      ? finding(
          "ok",
          "objects",
          `${objects.count.toLocaleString("en-US")} objects, ${objects.bytes.toLocaleString("en-US")} bytes at the last complete run (${objects.asOf}); an estimate of now`,
        )
      : finding("ok", "objects", "not counted yet: counts come from the first complete reconciliation"),
  );
  findings.push(
    finding(
      "ok",
      "newest change",
      newestChange ? `${newestChange.recordedAt} ${newestChange.deleted ? "deleted " : ""}${newestChange.key}` : "none within the retention window",
    ),
  );
  if (!lastRun) {
    const { level, text } = notRunYet(firstRun, now);
    findings.push(finding(level, "reconciliation", text));
  } else if (isRunning(lastRun)) findings.push(finding("ok", "reconciliation", `running since ${lastRun.startedAt} (${lastRun.status})`));
  else if (lastRun.status !== "succeeded")
    findings.push(
      finding(
        "bad",
        "reconciliation",
        `last run ${lastRun.status} at ${lastRun.finishedAt ?? lastRun.startedAt}${lastRun.reason ? `: ${lastRun.reason}` : ""}`,
      ),
    );
  else {
    const age = hoursSince(lastRun.finishedAt ?? lastRun.startedAt, now);
    const drift = lastRun.drift === 0 ? "no drift" : `${lastRun.drift} drifted keys, ${lastRun.repaired} repaired${lastRun.dryRun ? " (dry run)" : ""}`;
    findings.push(
      finding(
        age > STATUS_DEFAULTS.reconcileStaleHours ? "warn" : "ok",
        "reconciliation",
        `last run succeeded ${Math.round(age * 10) / 10} h ago (${lastRun.finishedAt ?? lastRun.startedAt}): ${drift}`,
      ),
    );
  }
  findings.push(finding("ok", "watermark", status.reconciledThrough ? `reconciled through ${status.reconciledThrough}` : "none yet"));
  findings.push(
    finding(
      "ok",
      "change shards",
      `${status.changeShards} partition${status.changeShards === 1 ? "" : "s"} a day in the change index, each a Query for every day changes reads`,
    ),
  );
  const failed = status.failedIngestions;
  if (failed.count > 0)
    findings.push(
      finding("warn", "ingestions", `${failed.atLeast ? "at least " : ""}${failed.count} failed (bucket-ledger ingestions ${status.bucket} --failed)`),
    );
  return findings;
}

function queueFindings(queues: QueueHealth[]): Finding[] {
  return queues.map((queue) => {
    const topic = QUEUE_TOPIC[queue.role];
    if (queue.role !== "events") {
      return { level: queue.visible > 0 ? "bad" : "ok", subject: "stack", topic, text: queue.visible > 0 ? `${queue.visible} messages parked` : "empty" };
    }
    const age = queue.oldestAgeSeconds;
    const lagging = age !== undefined && age > STATUS_DEFAULTS.lagWarnSeconds;
    const lag = age === undefined ? "lag not measured (CloudWatch only)" : `oldest message ${Math.round(age)} s old`;
    return { level: lagging ? "warn" : "ok", subject: "stack", topic, text: `${queue.visible} waiting, ${queue.inFlight} in flight, ${lag}` };
  });
}

const unreadableFinding = (part: Unreadable): Finding => ({
  level: "unreadable",
  subject: "stack",
  topic: part.part,
  text: `not readable (${part.error} on ${part.action})`,
});

function alarmFindings(alarms: AlarmState[]): Finding[] {
  if (alarms.length === 0) return [{ level: "ok", subject: "stack", topic: "alarms", text: "none in ALARM" }];
  return alarms.map((alarm) => ({ level: "bad", subject: "stack", topic: "alarm", text: `${alarm.name} in ALARM${alarm.reason ? `: ${alarm.reason}` : ""}` }));
}

export interface CollectOptions {
  ledger: Ledger;
  runs: RunStore;
  /** Buckets to show beside those the ledger has recorded (the stack's own). */
  buckets: string[];
  stack?: { name: string; probe: StackProbe };
  now?: Date;
}

export async function collectStatus(options: CollectOptions): Promise<StatusReport> {
  const now = options.now ?? new Date();
  const shown = await bucketsToShow(options.ledger, options.buckets);
  const names = shown.map((entry) => entry.bucket);
  const [buckets, queues, alarms] = await Promise.all([
    Promise.all(names.map((bucket) => readBucketStatus(options.ledger, options.runs, bucket))),
    options.stack?.probe.queues(),
    options.stack?.probe.alarms(),
  ]);
  // The stack's age is read only while it matters: a reader allowed the rest need not be allowed DescribeTable.
  const schedule = buckets.some((status) => !status.lastRun) ? await options.stack?.probe.runSchedule() : undefined;
  const unreadable = [...(queues?.unreadable ?? []), ...(alarms?.unreadable ?? []), ...(schedule?.unreadable ?? [])];
  const findings = [
    ...buckets.flatMap((status, index) => bucketFindings(status, now, firstRunFor(schedule?.read, shown[index]?.firstSeenAt))),
    ...(queues ? queueFindings(queues.read) : []),
    ...unreadable.map(unreadableFinding),
    ...(alarms?.read ? alarmFindings(alarms.read) : []),
  ];
  if (names.length === 0) findings.push({ level: "warn", subject: "ledger", topic: "buckets", text: "no buckets recorded yet" });
  const healthy = findings.every((finding) => finding.level === "ok");
  const attention = findings.some((finding) => finding.level === "warn" || finding.level === "bad");
  return {
    version: VERSION,
    checkedAt: now.toISOString(),
    table: options.ledger.tableName,
    ...(options.stack && { stack: options.stack.name }),
    healthy,
    // What was read and needs attention comes first: a part left unread cannot make it well.
    exitCode: attention ? STATUS_EXIT.attention : unreadable.length > 0 ? STATUS_EXIT.partlyUnread : STATUS_EXIT.healthy,
    buckets,
    ...(queues && { queues: queues.read }),
    ...(alarms?.read && { alarms: alarms.read }),
    ...(options.stack && { unreadable }),
    findings,
  };
}
