/**
 * The write pass: the file's rows, each made its rule's item, go into the rule's table in
 * batches (and, when the rule asks, line by line into a JSON copy); a row that is wrong, or that
 * DynamoDB would not take, is rejected into the error report. It stops near the deadline and
 * resumes from its checkpoint; with a copy, only where a copy part ended (object-sink.ts).
 * Under `replace`, once every row is written, rows of older versions of the file are swept.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { NumberValue, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ROWS_PER_DEADLINE_CHECK, type AttemptEnd, type IngestionAttempt } from "./attempt.js";
import { RowBatchWriter } from "./batch-writer.js";
import { INGEST_DEFAULTS } from "./defaults.js";
import { removeErrorReport, writeErrorReport } from "./error-report.js";
import type { IngestCheckpoint, IngestionCounts } from "./ingestion-store.js";
import { NDJSON, ObjectSink } from "./object-sink.js";
import { readRows, type ReadPosition, type ReadStart } from "./row-reader.js";
import { toRowItem, type RowItem } from "./row-item.js";
import { sweepRows, type SweepTarget } from "./row-sweep.js";
import { tableNameOf } from "./row-table.js";
import { copyKey, errorReportKey, sourceUri, type IngestRule } from "./rules.js";
import type { SourceFile } from "./source-file.js";

export interface RowWriting {
  s3: S3Client;
  /** Reaches the rules' target tables. */
  documentClient: DynamoDBDocumentClient;
  writeConcurrency?: number;
  maxWriteAttempts?: number;
  retryBaseDelayMs?: number;
  copyPartBytes?: number;
  /** The source index's layout rows are written in (row-item.ts): sharded, unless a benchmark compares. */
  sourceLayout?: "sharded" | "unsharded";
}

export async function writeRows(deps: RowWriting, attempt: IngestionAttempt, source: SourceFile, rule: IngestRule): Promise<AttemptEnd> {
  const { bucket, key, version } = attempt.record;
  const checkpoint = attempt.checkpoint;
  const uri = sourceUri(bucket, key);
  const writer = rowWriter(deps, rule, attempt);
  const copy = copySink(deps, rule, source, checkpoint);
  const settle = async () => {
    await writer.flush();
    attempt.wrote(writer.counts.written);
    await attempt.saveRejected();
  };

  const body = await source.open(checkpoint.offset);
  if (!body) {
    await copy?.abort();
    return { outcome: "skipped", why: "superseded" };
  }
  // Where the next invocation may resume: with a copy, only where a copy part ended.
  let safe: { at: IngestCheckpoint; counts: IngestionCounts } | undefined;
  let next: ReadPosition = { offset: checkpoint.offset, line: checkpoint.line };
  let columns = checkpoint.columns;
  const here = (): ReadStart => ({ ...next, ...(columns && { columns }) });
  const csvBound = csvItemBound(uri, version);
  let rows = 0;
  for await (const event of readRows(body, rule, checkpoint)) {
    next = event.next;
    if (event.kind === "header") {
      columns = event.columns;
      continue;
    }
    attempt.read();
    if (event.kind === "invalid") {
      attempt.reject({ line: event.line, reason: event.reason });
    } else {
      const sizeBound = rule.format === "csv" && columns ? csvBound(columns, event.bytes) : undefined;
      const result = toRowItem(rule, event.values, {
        source: uri,
        version,
        line: event.line,
        ...(sizeBound !== undefined && { sizeBound }),
        ...(deps.sourceLayout && { layout: deps.sourceLayout }),
      });
      if (!result.ok) {
        attempt.reject({ line: event.line, reason: result.reason });
      } else {
        const full = writer.add({ item: result.item, identity: result.identity, line: event.line, bytes: event.bytes });
        if (full) await full;
        if (copy && (await copy.write(JSON.stringify(result.item, copyValue)))) {
          await settle();
          safe = { at: { ...here(), phase: "writing", ...(copy.state() && { copy: copy.state()! }) }, counts: { ...attempt.counts } };
          // Rows between safe points may be many (a part holds megabytes): stop here if time is short.
          if (attempt.outOfTime()) return attempt.pause(safe.at, safe.counts);
        }
      }
    }
    await attempt.saveRejectedIfMany();
    if (++rows % ROWS_PER_DEADLINE_CHECK === 0) {
      await attempt.heartbeat({ phase: "writing", offset: next.offset, size: source.size, rowsRead: attempt.counts.rowsRead });
      if (attempt.outOfTime() && (copy === undefined || safe !== undefined)) {
        await settle();
        if (copy === undefined) return attempt.pause({ ...here(), phase: "writing" });
        return attempt.pause(safe!.at, safe!.counts);
      }
    }
  }
  await settle();

  if (rule.onOverwrite === "replace" && attempt.record.mayHaveOlderRows !== false) {
    attempt.swept((await sweepRows(sweepTargetFor(rule, deps), uri, version)).deleted);
  }
  await copy?.complete();
  const counts = { ...attempt.counts };
  const report = { s3: deps.s3, bucket, key, version, reportKey: errorReportKey(rule, key), encryption: source.encryption() };
  if (counts.rowsRejected > 0) await writeErrorReport(report, attempt.savedRejected());
  else await removeErrorReport(report);
  return attempt.finish({
    ...counts,
    status: counts.rowsRejected > 0 ? "partial" : "succeeded",
    // Rows DynamoDB did not take may go in next time; rows that are wrong will not.
    retryable: counts.rowsUnprocessed > 0,
    ...(counts.rowsRejected > 0 && { errorReport: report.reportKey, reason: `${counts.rowsRejected} row(s) rejected; see s3://${bucket}/${report.reportKey}` }),
  });
}

/** A rule's table, swept with the row writer's retry budget. */
export function sweepTargetFor(rule: IngestRule, deps: Pick<RowWriting, "documentClient" | "maxWriteAttempts" | "retryBaseDelayMs">): SweepTarget {
  return {
    documentClient: deps.documentClient,
    tableName: tableNameOf(rule),
    rule,
    concurrency: INGEST_DEFAULTS.writeConcurrency,
    maxAttempts: deps.maxWriteAttempts ?? INGEST_DEFAULTS.maxWriteAttempts,
    baseDelayMs: deps.retryBaseDelayMs ?? INGEST_DEFAULTS.retryBaseDelayMs,
  };
}

function rowWriter(deps: RowWriting, rule: IngestRule, attempt: IngestionAttempt): RowBatchWriter {
  return new RowBatchWriter({
    documentClient: deps.documentClient,
    tableName: tableNameOf(rule),
    concurrency: deps.writeConcurrency ?? INGEST_DEFAULTS.writeConcurrency,
    maxBytesInFlight: INGEST_DEFAULTS.maxBytesInFlight,
    maxAttempts: deps.maxWriteAttempts ?? INGEST_DEFAULTS.maxWriteAttempts,
    baseDelayMs: deps.retryBaseDelayMs ?? INGEST_DEFAULTS.retryBaseDelayMs,
    maxDelayMs: INGEST_DEFAULTS.retryMaxDelayMs,
    identify: (item) => identityOfItem(rule, item),
    onRejected: ({ line, reason, retryable }) => attempt.reject({ line, reason }, retryable),
  });
}

/** The rule's JSON copy of the file, resumed from the checkpoint's upload; none without `copyPrefix`. */
function copySink(deps: RowWriting, rule: IngestRule, source: SourceFile, checkpoint: IngestCheckpoint): ObjectSink | undefined {
  const copyTarget = copyKey(rule, source.key);
  if (copyTarget === undefined) return undefined;
  return new ObjectSink(
    {
      s3: deps.s3,
      bucket: source.bucket,
      key: copyTarget,
      contentType: NDJSON,
      encryption: () => source.encryption(),
      ...(deps.copyPartBytes !== undefined && { partBytes: deps.copyPartBytes }),
    },
    checkpoint.copy,
  );
}

/**
 * A CSV row's item is at most its header's names, its own bytes, a byte per number and the row
 * attributes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 * The names' bytes are summed once per header.
 */
function csvItemBound(uri: string, version: string): (columns: string[], rowBytes: number) => number {
  const rowAttributeBytes = Buffer.byteLength(uri) + Buffer.byteLength(version) + 64;
  let named: string[] | undefined;
  let namedBytes = 0;
  return (columns, rowBytes) => {
    if (columns !== named) [named, namedBytes] = [columns, columns.reduce((sum, column) => sum + Buffer.byteLength(column), 0)];
    return namedBytes + rowBytes + columns.length + rowAttributeBytes;
  };
}

function identityOfItem(rule: IngestRule, item: RowItem): string {
  return JSON.stringify([String(item[rule.partitionKey]), rule.sortKey === undefined ? null : String(item[rule.sortKey])]);
}

/** NumberValue (numbers past 15 digits) as its decimal text in the copy. */
function copyValue(_key: string, value: unknown): unknown {
  return value instanceof NumberValue ? value.toString() : value;
}
