/** Object keys stay out of the functions' log lines above DEBUG (they can carry personal data). */
import { createHash } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { describe, expect, it } from "vitest";
import { createIngestHandler } from "../../ingest/handler.js";
import type { Ingester, IngestOutcome } from "../../ingest/ingester.js";
import type { IngestionRecord } from "../../ledger/index.js";
import type { RunSummary } from "../../reconcile/run-summary.js";
import { reportRun } from "../../reconcile/handler.js";
import { loggedKey } from "../../observability/logged-key.js";
import { fifoRecord } from "../support/events.js";

const KEY = "users/jane.doe@example.com/passport.pdf";
const DIGEST = createHash("sha256").update(KEY).digest("hex").slice(0, 16);

type Level = "debug" | "info" | "warn" | "error";

/** Records each line as Powertools would get it. */
function recordingLogger() {
  const lines: { level: Level; message: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: Level) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ level, message, fields });
  const logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } as unknown as Logger;
  return { logger, lines };
}

function expectKeyOnlyAtDebug(lines: ReturnType<typeof recordingLogger>["lines"]) {
  const above = lines.filter((line) => line.level !== "debug");
  expect(above.length).toBeGreaterThan(0);
  for (const line of above) {
    expect(JSON.stringify(line), line.message).not.toContain("jane.doe");
    expect(line.fields).toMatchObject({ keySha256: DIGEST, keyBytes: Buffer.byteLength(KEY) });
  }
  expect(lines).toContainEqual(expect.objectContaining({ level: "debug", fields: expect.objectContaining({ key: KEY, keySha256: DIGEST }) }));
}

const ingestion = (status: IngestionRecord["status"]): IngestionRecord => ({
  bucket: "imports",
  key: KEY,
  rule: "people",
  version: "v1",
  status,
  retryable: false,
  attempts: 1,
  startedAt: "2026-12-04T00:00:00.000Z",
  updatedAt: "2026-12-04T00:00:01.000Z",
  durationMs: 1_000,
  rowsRead: 2,
  rowsWritten: 1,
  rowsRejected: 1,
  rowsUnprocessed: 0,
  rowsDeleted: 0,
  errorReport: `errors/${KEY}.v1.ndjson`,
  checkpoint: { offset: 10 } as NonNullable<IngestionRecord["checkpoint"]>,
});

async function logsOf(outcome: IngestOutcome) {
  const { logger, lines } = recordingLogger();
  const ingester = { run: async () => outcome } as unknown as Ingester;
  const handler = createIngestHandler({ ingester, queue: { send: async () => undefined }, logger, stopMarginMs: 0 });
  const body = JSON.stringify({ kind: "ingest", bucket: "imports", key: KEY, version: "v1", cause: "event" });
  await handler({ Records: [fifoRecord(body, "imports")] });
  return lines;
}

describe("ingestion's log lines", () => {
  it.each<[string, IngestOutcome]>([
    ["a skipped request", { outcome: "skipped", why: "superseded" }],
    ["a continuing file", { outcome: "continuing", record: ingestion("running") }],
    ["a finished file (INFO), with its error report", { outcome: "finished", record: ingestion("partial") }],
    ["a failed file (ERROR)", { outcome: "finished", record: ingestion("failed") }],
  ])("%s names the key by its digest and length; the key itself only at DEBUG", async (_name, outcome) => {
    expectKeyOnlyAtDebug(await logsOf(outcome));
  });
});

describe("reconciliation's summary line", () => {
  it.each(["succeeded", "failed"] as const)("a run that %s logs no key of its encoding-mismatch sample", (status) => {
    const { logger, lines } = recordingLogger();
    const summary = {
      bucket: "imports",
      runId: "r1",
      status,
      encodingMismatches: 1,
      encodingMismatchSample: [{ ledgerKey: "users/jane.doe%40example.com/passport.pdf", bucketKey: KEY }],
    } as unknown as RunSummary;
    reportRun(summary, logger);
    expect(lines).toHaveLength(1);
    expect(JSON.stringify(lines[0])).not.toContain("jane.doe");
    expect(lines[0]!.fields).toMatchObject({ encodingMismatches: 1 });
  });
});

it("a key's digest is the first 16 hex digits of its SHA-256, and its length in UTF-8 bytes", () => {
  expect(loggedKey("é/😀")).toEqual({ keySha256: createHash("sha256").update("é/😀").digest("hex").slice(0, 16), keyBytes: 2 + 1 + 4 });
});
