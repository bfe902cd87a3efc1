/**
 * Ingests one object's rows into its rule's table, one invocation's worth at a time.
 *
 * - Only the ledger's current version is ingested, and a version already ingested is not
 *   ingested again unless asked (`again`): redelivered events ingest nothing twice
 *   (decision.ts decides, before anything is read from S3).
 * - A file is read twice from the GetObject stream: first to check it parses to the end
 *   (check-pass.ts), then to write (write-pass.ts). Both passes stop near the deadline and resume
 *   from a checkpoint stored in the ingestion record (attempt.ts), with a ranged GetObject pinned
 *   to the same version (source-file.ts).
 */
import type { Ledger } from "../ledger/index.js";
import type { TimeBudget } from "../foundation/time-budget.js";
import { IngestionAttempt, type AttemptEnd } from "./attempt.js";
import { checkRows } from "./check-pass.js";
import { admit, resumeOrStart, type SkipReason } from "./decision.js";
import type { IngestionRecord, IngestionStore } from "./ingestion-store.js";
import { NDJSON, ObjectSink } from "./object-sink.js";
import type { IngestRequest } from "./request.js";
import { sweepRows } from "./row-sweep.js";
import { ruleFor, sourceUri, type IngestRule } from "./rules.js";
import { SourceFile } from "./source-file.js";
import { sweepTargetFor, writeRows, type RowWriting } from "./write-pass.js";

export interface IngesterDependencies extends RowWriting {
  ledger: Ledger;
  store: IngestionStore;
  rules: readonly IngestRule[];
  now?: () => Date;
}

export type IngestOutcome = AttemptEnd | { outcome: "skipped"; why: SkipReason };

export class Ingester {
  private readonly now: () => Date;

  constructor(private readonly deps: IngesterDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  async run(request: IngestRequest, budget: TimeBudget): Promise<IngestOutcome> {
    const { bucket, key } = request;
    const rule = ruleFor(this.deps.rules, bucket, key);
    const current = rule && (await this.deps.ledger.get(bucket, key, { consistentRead: true }));
    const admission = admit(rule, request, current);
    if (admission.action === "skip") return { outcome: "skipped", why: admission.why };
    if (admission.action === "remove") return { outcome: "finished", record: await this.remove(admission.rule, request) };

    const start = resumeOrStart(admission, await this.deps.store.get(bucket, key), this.now().toISOString());
    if (start.action === "skip") return { outcome: "skipped", why: start.why };
    if (start.action === "start") {
      if (start.abandoned) await new ObjectSink({ s3: this.deps.s3, bucket, key: start.abandoned.key, contentType: NDJSON }, start.abandoned.upload).abort();
      await this.deps.store.clearRejected(bucket, key, start.record.version);
      await this.deps.store.put(start.record);
    }
    const attempt = new IngestionAttempt(this.deps.store, start.record, budget, this.now);
    const source = new SourceFile(this.deps.s3, bucket, key, admission.pin, admission.size);
    if (attempt.checkpoint.phase === "checking") {
      const checked = await checkRows(attempt, source, admission.rule);
      if (checked !== "parsed") return checked;
    }
    return writeRows(this.deps, attempt, source, admission.rule);
  }

  /** Removes every row the file wrote (a delete under `onDelete: delete`). */
  private async remove(rule: IngestRule, request: IngestRequest): Promise<IngestionRecord> {
    const began = Date.now();
    const startedAt = this.now().toISOString();
    const swept = await sweepRows(sweepTargetFor(rule, this.deps), sourceUri(request.bucket, request.key));
    const previous = await this.deps.store.get(request.bucket, request.key);
    const record: IngestionRecord = {
      bucket: request.bucket,
      key: request.key,
      rule: rule.name,
      version: previous?.version ?? "deleted",
      status: "removed",
      retryable: false,
      attempts: 1,
      startedAt,
      updatedAt: this.now().toISOString(),
      finishedAt: this.now().toISOString(),
      durationMs: Date.now() - began,
      rowsRead: 0,
      rowsWritten: 0,
      rowsRejected: 0,
      rowsUnprocessed: 0,
      rowsDeleted: swept.deleted,
    };
    await this.deps.store.put(record);
    return record;
  }
}
