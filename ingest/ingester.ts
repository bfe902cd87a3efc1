/**
 * Ingests one object's rows into its rule's table, one invocation's worth at a time.
 *
 * - Only the ledger's current version is ingested, and a version already ingested is not
 *   ingested again unless asked (`again`): redelivered events ingest nothing twice.
 * - A file is read twice from the GetObject stream: first to check it parses to the end (so
 *   a malformed file changes nothing in the table and an earlier good version's rows stay),
 *   then to write. Both passes stop near the deadline and resume from a checkpoint stored in
 *   the ingestion record, with a ranged GetObject pinned to the same version.
 * - Under `replace`, once every row is written, rows of older versions of the file are swept.
 */
import { GetObjectCommand, DeleteObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { NumberValue, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Readable } from "node:stream";
import type { Ledger } from "../ledger/index.js";
import { RowBatchWriter, type RejectedRow } from "./batch-writer.js";
import type { IngestCheckpoint, IngestionCounts, IngestionRecord, IngestionStore } from "./ingestion-store.js";
import { encryptionOf, ObjectSink, type SinkEncryption } from "./object-sink.js";
import { ingestVersionOf, type IngestRequest } from "./request.js";
import { FileFormatError, readRows, type ReadPosition, type ReadStart } from "./row-reader.js";
import { toRowItem, type RowItem } from "./row-item.js";
import { sweepRows, type SweepTarget } from "./row-sweep.js";
import { copyKey, errorReportKey, ruleFor, sourceUri, type IngestRule } from "./rules.js";
import { INGEST_DEFAULTS } from "./defaults.js";

export interface IngesterDependencies {
  s3: S3Client;
  /** Reaches the rules' target tables. */
  documentClient: DynamoDBDocumentClient;
  ledger: Ledger;
  store: IngestionStore;
  rules: readonly IngestRule[];
  writeConcurrency?: number;
  maxWriteAttempts?: number;
  retryBaseDelayMs?: number;
  copyPartBytes?: number;
  /** The source index's layout rows are written in (row-item.ts): sharded, unless a benchmark compares. */
  sourceLayout?: "sharded" | "unsharded";
  now?: () => Date;
}

/** How long this invocation may still run; ingestion stops `marginMs` before the end. */
export interface TimeBudget {
  remainingMs(): number;
  marginMs: number;
}

export interface IngestProgress {
  phase: "checking" | "writing";
  offset: number;
  size: number;
  rowsRead: number;
}

export type IngestOutcome =
  | { outcome: "finished"; record: IngestionRecord }
  | { outcome: "continuing"; record: IngestionRecord }
  | { outcome: "skipped"; why: "uncovered" | "superseded" | "duplicate" | "gone" };

const ROWS_PER_DEADLINE_CHECK = 256;
const HEARTBEAT_MS = 5_000;
/** The error report's and the copy's content type. */
const NDJSON = "application/x-ndjson";
const REJECTED_FLUSH = 500;

const zeroCounts = (): IngestionCounts => ({ rowsRead: 0, rowsWritten: 0, rowsRejected: 0, rowsUnprocessed: 0, rowsDeleted: 0 });

export class Ingester {
  private readonly now: () => Date;

  constructor(private readonly deps: IngesterDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  async run(request: IngestRequest, budget: TimeBudget): Promise<IngestOutcome> {
    const rule = ruleFor(this.deps.rules, request.bucket, request.key);
    if (!rule) return { outcome: "skipped", why: "uncovered" };
    const current = await this.deps.ledger.get(request.bucket, request.key, { consistentRead: true });
    if (!current || current.deleted) {
      if (rule.onDelete === "delete") return { outcome: "finished", record: await this.remove(rule, request) };
      return { outcome: "skipped", why: "gone" };
    }
    if (request.kind === "remove") return { outcome: "skipped", why: "superseded" };
    const version = ingestVersionOf(current);
    if (version !== request.version) return { outcome: "skipped", why: "superseded" };

    const previous = await this.deps.store.get(request.bucket, request.key);
    const sameVersion = previous?.version === version;
    let record: IngestionRecord;
    if (sameVersion && previous.status === "running" && previous.checkpoint) {
      // A continuation, or a redelivery after a crash: resume where the last invocation stopped.
      record = previous;
    } else {
      if (sameVersion && !request.again) return { outcome: "skipped", why: "duplicate" };
      // An older version stopped midway leaves its copy's multipart upload behind: drop it.
      const abandoned = previous?.status === "running" ? previous.checkpoint?.copy : undefined;
      const abandonedKey = copyKey(rule, request.key);
      if (abandoned && abandonedKey !== undefined)
        await new ObjectSink({ s3: this.deps.s3, bucket: request.bucket, key: abandonedKey, contentType: NDJSON }, abandoned).abort();
      const startedAt = this.now().toISOString();
      record = {
        bucket: request.bucket,
        key: request.key,
        rule: rule.name,
        version,
        status: "running",
        retryable: true,
        attempts: (sameVersion ? previous.attempts : 0) + 1,
        startedAt,
        updatedAt: startedAt,
        durationMs: 0,
        ...zeroCounts(),
        checkpoint: { phase: "checking", offset: 0, line: 1 } satisfies IngestCheckpoint,
        ...(request.requestId !== undefined && { requestId: request.requestId }),
        // Rows of a file are written only by an ingestion recorded first, and a removal is recorded
        // only once its rows are gone: with no record, or a removal, there is nothing older to sweep.
        mayHaveOlderRows: previous !== undefined && previous.status !== "removed",
      };
      await this.deps.store.clearRejected(request.bucket, request.key, version);
      await this.deps.store.put(record);
    }
    return this.resume(rule, current.versionId === undefined ? { etag: current.etag } : { versionId: current.versionId }, current.size, record, budget);
  }

  private async resume(
    rule: IngestRule,
    pin: { versionId: string } | { etag: string },
    size: number,
    record: IngestionRecord,
    budget: TimeBudget,
  ): Promise<IngestOutcome> {
    const began = Date.now();
    const outOfTime = () => budget.remainingMs() < budget.marginMs;
    let checkpoint = record.checkpoint as IngestCheckpoint;
    // The source's encryption, learnt from its GetObject; what is derived from it is encrypted alike.
    let sourceEncryption: SinkEncryption | undefined;
    const open = async (from: number): Promise<AsyncIterable<Uint8Array> | undefined> => {
      if (from >= size) return (async function* () {})();
      try {
        const response = await this.deps.s3.send(
          new GetObjectCommand({
            Bucket: record.bucket,
            Key: record.key,
            ...("versionId" in pin ? { VersionId: pin.versionId } : { IfMatch: `"${pin.etag}"` }),
            ...(from > 0 && { Range: `bytes=${from}-` }),
          }),
        );
        sourceEncryption = encryptionOf(response);
        return response.Body as Readable;
      } catch (error) {
        const name = (error as Error).name;
        // The version is gone or overwritten: a newer event (and its request) follows.
        if (name === "PreconditionFailed" || name === "NoSuchKey" || name === "NoSuchVersion") return undefined;
        throw error;
      }
    };
    const finish = async (fields: Partial<IngestionRecord>): Promise<IngestionRecord> => {
      const finishedAt = this.now().toISOString();
      const { checkpoint: _, progress: __, ...rest } = record;
      const done: IngestionRecord = { ...rest, ...fields, updatedAt: finishedAt, finishedAt, durationMs: record.durationMs + (Date.now() - began) };
      await this.deps.store.put(done);
      return done;
    };
    // Every few seconds the record shows how far this invocation got: a heartbeat for the audit's
    // "stuck" check, and what `bucket-ledger ingest` shows. Awaited, so it never lands after the end.
    let lastBeat = Date.now();
    const progress = async (at: IngestProgress) => {
      if (Date.now() - lastBeat < HEARTBEAT_MS) return;
      lastBeat = Date.now();
      await this.deps.store.put({ ...record, progress: at, updatedAt: this.now().toISOString() });
    };
    const pause = async (at: IngestCheckpoint, counts: IngestionCounts): Promise<IngestOutcome> => {
      record = { ...record, ...counts, checkpoint: at, updatedAt: this.now().toISOString(), durationMs: record.durationMs + (Date.now() - began) };
      await this.deps.store.put(record);
      return { outcome: "continuing", record };
    };

    if (checkpoint.phase === "checking") {
      const body = await open(checkpoint.offset);
      if (!body) return { outcome: "skipped", why: "superseded" };
      let next: ReadPosition = { offset: checkpoint.offset, line: checkpoint.line };
      let columns = checkpoint.columns;
      const here = (): ReadStart => ({ ...next, ...(columns && { columns }) });
      let rows = 0;
      try {
        for await (const event of readRows(body, rule, checkpoint, { values: false })) {
          next = event.next;
          if (event.kind === "header") columns = event.columns;
          if (++rows % ROWS_PER_DEADLINE_CHECK === 0) {
            await progress({ phase: "checking", offset: next.offset, size, rowsRead: 0 });
            if (outOfTime()) return pause({ ...here(), phase: "checking" }, zeroCounts());
          }
        }
      } catch (error) {
        if (!(error instanceof FileFormatError)) throw error;
        return { outcome: "finished", record: await finish({ status: "failed", retryable: false, reason: error.reason, failedLine: error.line }) };
      }
      checkpoint = { phase: "writing", offset: 0, line: 1 };
    }
    return this.write(rule, record, checkpoint, size, open, { outOfTime, pause, finish, progress, encryption: () => sourceEncryption });
  }

  private async write(
    rule: IngestRule,
    record: IngestionRecord,
    checkpoint: IngestCheckpoint,
    size: number,
    open: (from: number) => Promise<AsyncIterable<Uint8Array> | undefined>,
    control: {
      outOfTime: () => boolean;
      pause: (at: IngestCheckpoint, counts: IngestionCounts) => Promise<IngestOutcome>;
      finish: (fields: Partial<IngestionRecord>) => Promise<IngestionRecord>;
      progress: (at: IngestProgress) => Promise<void>;
      encryption: () => SinkEncryption | undefined;
    },
  ): Promise<IngestOutcome> {
    const { bucket, key, version } = record;
    const source = sourceUri(bucket, key);
    const counts: IngestionCounts = {
      rowsRead: record.rowsRead,
      rowsWritten: record.rowsWritten,
      rowsRejected: record.rowsRejected,
      rowsUnprocessed: record.rowsUnprocessed,
      rowsDeleted: 0,
    };
    let rejected: RejectedRow[] = [];
    const reject = (row: RejectedRow, retryable = false) => {
      counts.rowsRejected++;
      if (retryable) counts.rowsUnprocessed++;
      rejected.push(row);
    };
    const writer = new RowBatchWriter({
      documentClient: this.deps.documentClient,
      tableName: tableNameOf(rule),
      concurrency: this.deps.writeConcurrency ?? INGEST_DEFAULTS.writeConcurrency,
      maxBytesInFlight: INGEST_DEFAULTS.maxBytesInFlight,
      maxAttempts: this.deps.maxWriteAttempts ?? INGEST_DEFAULTS.maxWriteAttempts,
      baseDelayMs: this.deps.retryBaseDelayMs ?? INGEST_DEFAULTS.retryBaseDelayMs,
      maxDelayMs: INGEST_DEFAULTS.retryMaxDelayMs,
      identify: (item) => identityOfItem(rule, item),
      onRejected: ({ line, reason, retryable }) => reject({ line, reason }, retryable),
    });
    const rowAttributeBytes = Buffer.byteLength(source) + Buffer.byteLength(version) + 64;
    let namedColumns: string[] | undefined;
    let namedBytes = 0;
    const namesBytes = (columns: string[]) => {
      if (columns !== namedColumns) [namedColumns, namedBytes] = [columns, columns.reduce((sum, column) => sum + Buffer.byteLength(column), 0)];
      return namedBytes;
    };
    const copyTarget = copyKey(rule, key);
    const copy =
      copyTarget === undefined
        ? undefined
        : new ObjectSink(
            {
              s3: this.deps.s3,
              bucket,
              key: copyTarget,
              contentType: NDJSON,
              encryption: control.encryption,
              ...(this.deps.copyPartBytes !== undefined && { partBytes: this.deps.copyPartBytes }),
            },
            checkpoint.copy,
          );
    const settle = async () => {
      await writer.flush();
      counts.rowsWritten = record.rowsWritten + writer.counts.written;
      if (rejected.length > 0) {
        const batch = rejected;
        rejected = [];
        await this.deps.store.addRejected(bucket, key, version, batch);
      }
    };

    const body = await open(checkpoint.offset);
    if (!body) {
      await copy?.abort();
      return { outcome: "skipped", why: "superseded" };
    }
    // Where the next invocation may resume: with a copy, only where a copy part ended.
    let safe: { at: IngestCheckpoint; counts: IngestionCounts } | undefined;
    let next: ReadPosition = { offset: checkpoint.offset, line: checkpoint.line };
    let columns = checkpoint.columns;
    const here = (): ReadStart => ({ ...next, ...(columns && { columns }) });
    let rows = 0;
    for await (const event of readRows(body, rule, checkpoint)) {
      next = event.next;
      if (event.kind === "header") {
        columns = event.columns;
        continue;
      }
      counts.rowsRead++;
      if (event.kind === "invalid") {
        reject({ line: event.line, reason: event.reason });
      } else {
        // A CSV row's item is at most its header's names, its own bytes, a byte per number and
        // the row attributes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
        const sizeBound = rule.format === "csv" && columns ? namesBytes(columns) + event.bytes + columns.length + rowAttributeBytes : undefined;
        const result = toRowItem(rule, event.values, {
          source,
          version,
          line: event.line,
          ...(sizeBound !== undefined && { sizeBound }),
          ...(this.deps.sourceLayout && { layout: this.deps.sourceLayout }),
        });
        if (!result.ok) {
          reject({ line: event.line, reason: result.reason });
        } else {
          const full = writer.add({ item: result.item, identity: result.identity, line: event.line, bytes: event.bytes });
          if (full) await full;
          if (copy && (await copy.write(JSON.stringify(result.item, copyValue)))) {
            await settle();
            safe = { at: { ...here(), phase: "writing", ...(copy.state() && { copy: copy.state()! }) }, counts: { ...counts } };
            // Rows between safe points may be many (a part holds megabytes): stop here if time is short.
            if (control.outOfTime()) return control.pause(safe.at, safe.counts);
          }
        }
      }
      if (rejected.length >= REJECTED_FLUSH) {
        const batch = rejected;
        rejected = [];
        await this.deps.store.addRejected(bucket, key, version, batch);
      }
      if (++rows % ROWS_PER_DEADLINE_CHECK === 0) {
        await control.progress({ phase: "writing", offset: next.offset, size, rowsRead: counts.rowsRead });
        if (control.outOfTime() && (copy === undefined || safe !== undefined)) {
          await settle();
          if (copy === undefined) return control.pause({ ...here(), phase: "writing" }, { ...counts });
          return control.pause(safe!.at, safe!.counts);
        }
      }
    }
    await settle();

    if (rule.onOverwrite === "replace" && record.mayHaveOlderRows !== false) {
      const swept = await sweepRows(this.sweepTarget(rule), source, version);
      counts.rowsDeleted = swept.deleted;
    }
    await copy?.complete();
    const reportKey = errorReportKey(rule, key);
    if (counts.rowsRejected > 0) await this.writeReport(bucket, key, version, reportKey, control.encryption());
    else await this.deps.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: reportKey }));
    const finished = await control.finish({
      ...counts,
      status: counts.rowsRejected > 0 ? "partial" : "succeeded",
      // Rows DynamoDB did not take may go in next time; rows that are wrong will not.
      retryable: counts.rowsUnprocessed > 0,
      ...(counts.rowsRejected > 0 && { errorReport: reportKey, reason: `${counts.rowsRejected} row(s) rejected; see s3://${bucket}/${reportKey}` }),
    });
    return { outcome: "finished", record: finished };
  }

  /** The error report: NDJSON, one line per rejected row, next to the source key under the rule's error prefix. */
  private async writeReport(bucket: string, key: string, version: string, reportKey: string, encryption: SinkEncryption | undefined): Promise<void> {
    const sink = new ObjectSink({ s3: this.deps.s3, bucket, key: reportKey, contentType: NDJSON, encryption: () => encryption });
    try {
      for await (const row of this.deps.store.rejected(bucket, key, version)) {
        await sink.write(JSON.stringify({ source: sourceUri(bucket, key), version, line: row.line, reason: row.reason }));
      }
      await sink.complete();
    } catch (error) {
      await sink.abort();
      throw error;
    }
  }

  /** The sweep deletes with the writer's retry budget. */
  private sweepTarget(rule: IngestRule): SweepTarget {
    return {
      documentClient: this.deps.documentClient,
      tableName: tableNameOf(rule),
      rule,
      concurrency: INGEST_DEFAULTS.writeConcurrency,
      maxAttempts: this.deps.maxWriteAttempts ?? INGEST_DEFAULTS.maxWriteAttempts,
      baseDelayMs: this.deps.retryBaseDelayMs ?? INGEST_DEFAULTS.retryBaseDelayMs,
    };
  }

  /** Removes every row the file wrote (a delete under `onDelete: delete`). */
  private async remove(rule: IngestRule, request: IngestRequest): Promise<IngestionRecord> {
    const began = Date.now();
    const startedAt = this.now().toISOString();
    const swept = await sweepRows(this.sweepTarget(rule), sourceUri(request.bucket, request.key));
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
      ...zeroCounts(),
      rowsDeleted: swept.deleted,
    };
    await this.deps.store.put(record);
    return record;
  }
}

/** A rule's target table: the existing one it names, or the one the stack (or `dev`) created for it. */
export function tableNameOf(rule: IngestRule): string {
  return rule.table ?? createdTableName(rule);
}

/**
 * The name of the table `bucket-ledger dev` creates for a rule without `table`. Deployed, the
 * component creates the table and hands the function each rule with its physical name in `table`.
 */
export function createdTableName(rule: Pick<IngestRule, "name">): string {
  return `bucket-ledger-rows-${rule.name}`;
}

function identityOfItem(rule: IngestRule, item: RowItem): string {
  return JSON.stringify([String(item[rule.partitionKey]), rule.sortKey === undefined ? null : String(item[rule.sortKey])]);
}

/** NumberValue (numbers past 15 digits) as its decimal text in the copy. */
function copyValue(_key: string, value: unknown): unknown {
  return value instanceof NumberValue ? value.toString() : value;
}
