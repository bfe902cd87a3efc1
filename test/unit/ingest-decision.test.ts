/** Whether a request ingests anything, and from where (ingest/decision.ts): every branch, with exact outcomes. */
import { describe, expect, it } from "vitest";
import { admit, resumeOrStart, type CurrentObject } from "../../ingest/decision.js";
import type { IngestRequest } from "../../ingest/request.js";
import { resolveIngestRules, type IngestRule } from "../../ingest/rules.js";
import type { IngestionRecord } from "../../ledger/index.js";
import { ingestionRecord } from "./ingestion-record.js";

const [deleting, keeping, copying] = resolveIngestRules([
  { name: "offers", bucket: "imports", pattern: "offers/*.csv", format: "csv", partitionKey: "id" },
  { name: "prices", bucket: "imports", pattern: "prices/*.csv", format: "csv", partitionKey: "id", onDelete: "keep" },
  { name: "copied", bucket: "imports", pattern: "copied/*.jsonl", format: "jsonl", partitionKey: "id", copyPrefix: "copies/" },
]) as [IngestRule, IngestRule, IngestRule];

const ingest = (fields: Partial<Extract<IngestRequest, { kind: "ingest" }>> = {}): Extract<IngestRequest, { kind: "ingest" }> => ({
  kind: "ingest",
  bucket: "imports",
  key: "offers/a.csv",
  version: "v2",
  cause: "event",
  again: false,
  ...fields,
});
const removal: IngestRequest = { kind: "remove", bucket: "imports", key: "offers/a.csv", cause: "event" };
const live = (fields: Partial<Extract<CurrentObject, { deleted: false }>> = {}): CurrentObject => ({
  deleted: false,
  size: 120,
  etag: "e2",
  versionId: "v2",
  ...fields,
});
/** An object in an unversioned bucket: no version ID. */
const unversioned: CurrentObject = { deleted: false, size: 120, etag: "e2" };

describe("admission", () => {
  it("a file no rule covers is skipped as uncovered, whatever the ledger says", () => {
    expect(admit(undefined, ingest(), live())).toStrictEqual({ action: "skip", why: "uncovered" });
    expect(admit(undefined, removal, undefined)).toStrictEqual({ action: "skip", why: "uncovered" });
  });

  it.each([
    ["absent from the ledger", undefined],
    ["deleted in the ledger", { deleted: true } as const],
  ])("a file %s has its rows removed under onDelete: delete, for an ingest or a remove request", (_name, current) => {
    expect(admit(deleting, ingest(), current)).toStrictEqual({ action: "remove", rule: deleting });
    expect(admit(deleting, removal, current)).toStrictEqual({ action: "remove", rule: deleting });
  });

  it.each([
    ["absent from the ledger", undefined],
    ["deleted in the ledger", { deleted: true } as const],
  ])("a file %s is skipped as gone under onDelete: keep", (_name, current) => {
    expect(admit(keeping, ingest(), current)).toStrictEqual({ action: "skip", why: "gone" });
    expect(admit(keeping, removal, current)).toStrictEqual({ action: "skip", why: "gone" });
  });

  it("a remove request for a file that is there again is superseded", () => {
    expect(admit(deleting, removal, live())).toStrictEqual({ action: "skip", why: "superseded" });
  });

  it("a request for another version than the ledger's current one is superseded", () => {
    expect(admit(deleting, ingest({ version: "v1" }), live())).toStrictEqual({ action: "skip", why: "superseded" });
    // Unversioned: the version is the ETag, and the version ID's absence does not match it.
    expect(admit(deleting, ingest({ version: "v2" }), unversioned)).toStrictEqual({ action: "skip", why: "superseded" });
  });

  it("the current version is ingested, pinned by its version ID, with its size", () => {
    const request = ingest();
    expect(admit(deleting, request, live())).toStrictEqual({ action: "ingest", rule: deleting, request, version: "v2", pin: { versionId: "v2" }, size: 120 });
  });

  it("in an unversioned bucket, the version is the ETag and the pin is the ETag", () => {
    const request = ingest({ version: "e2" });
    expect(admit(deleting, request, unversioned)).toStrictEqual({ action: "ingest", rule: deleting, request, version: "e2", pin: { etag: "e2" }, size: 120 });
  });

  it("an empty file is ingested (size 0)", () => {
    expect(admit(deleting, ingest(), live({ size: 0 }))).toMatchObject({ action: "ingest", size: 0 });
  });
});

const NOW = "2026-12-04T21:00:00.000Z";

const record = (fields: Partial<IngestionRecord> = {}): IngestionRecord => ({
  bucket: "imports",
  key: "offers/a.csv",
  rule: "offers",
  version: "v2",
  status: "succeeded",
  retryable: false,
  attempts: 3,
  startedAt: "2026-12-01T00:00:00.000Z",
  updatedAt: "2026-12-01T00:00:01.000Z",
  finishedAt: "2026-12-01T00:00:01.000Z",
  durationMs: 1_000,
  rowsRead: 7,
  rowsWritten: 6,
  rowsRejected: 1,
  rowsUnprocessed: 0,
  rowsDeleted: 2,
  ...fields,
});

const fresh = (fields: Partial<IngestionRecord> = {}): IngestionRecord =>
  ingestionRecord({ startedAt: NOW, updatedAt: NOW, checkpoint: { phase: "checking", offset: 0, line: 1 }, mayHaveOlderRows: true, ...fields });

const admitted = (request = ingest(), rule = deleting) => ({ rule, request, version: "v2" });
const upload = { uploadId: "u1", parts: [{ PartNumber: 1, ETag: "p1" }] };

describe("start or resume", () => {
  it("a first ingestion starts from the check pass, with nothing older to sweep", () => {
    expect(resumeOrStart(admitted(), undefined, NOW)).toStrictEqual({ action: "start", record: fresh({ mayHaveOlderRows: false }) });
  });

  it("a running ingestion of this version with a checkpoint resumes as stored", () => {
    const running = record({ status: "running", checkpoint: { phase: "writing", offset: 40, line: 3 } });
    expect(resumeOrStart(admitted(), running, NOW)).toStrictEqual({ action: "resume", record: running });
    // `again` does not restart a file midway: the continuation carries on.
    expect(resumeOrStart(admitted(ingest({ again: true })), running, NOW)).toStrictEqual({ action: "resume", record: running });
  });

  it("a running record of this version without a checkpoint is not resumed: a duplicate, or afresh when asked again", () => {
    const running = record({ status: "running" });
    expect(resumeOrStart(admitted(), running, NOW)).toStrictEqual({ action: "skip", why: "duplicate" });
    expect(resumeOrStart(admitted(ingest({ again: true })), running, NOW)).toStrictEqual({ action: "start", record: fresh({ attempts: 4 }) });
  });

  it.each(["succeeded", "partial", "failed"] as const)("a version already %s is a duplicate, unless asked again (attempts go on counting)", (status) => {
    const done = record({ status, checkpoint: { phase: "writing", offset: 40, line: 3 } });
    expect(resumeOrStart(admitted(), done, NOW)).toStrictEqual({ action: "skip", why: "duplicate" });
    expect(resumeOrStart(admitted(ingest({ again: true })), done, NOW)).toStrictEqual({ action: "start", record: fresh({ attempts: 4 }) });
  });

  it("another version's record starts a first attempt of this one, which may have older rows to sweep", () => {
    expect(resumeOrStart(admitted(), record({ version: "v1" }), NOW)).toStrictEqual({ action: "start", record: fresh() });
  });

  it("after a removal there is nothing older to sweep, even of the same version", () => {
    expect(resumeOrStart(admitted(), record({ version: "deleted", status: "removed" }), NOW)).toStrictEqual({
      action: "start",
      record: fresh({ mayHaveOlderRows: false }),
    });
    expect(resumeOrStart(admitted(ingest({ again: true })), record({ status: "removed" }), NOW)).toStrictEqual({
      action: "start",
      record: fresh({ attempts: 4, mayHaveOlderRows: false }),
    });
  });

  it("the version a removal took away starts again when it comes back (the same content re-uploaded to an unversioned bucket)", () => {
    expect(resumeOrStart(admitted(), record({ status: "removed" }), NOW)).toStrictEqual({
      action: "start",
      record: fresh({ attempts: 4, mayHaveOlderRows: false }),
    });
  });

  it("a request ID is recorded on the ingestion it starts", () => {
    expect(resumeOrStart(admitted(ingest({ requestId: "r-1" })), undefined, NOW)).toStrictEqual({
      action: "start",
      record: fresh({ requestId: "r-1", mayHaveOlderRows: false }),
    });
  });

  describe("the copy upload an older version left midway", () => {
    const copyRequest = ingest({ key: "copied/a.jsonl" });
    const start = (previous: IngestionRecord) => resumeOrStart(admitted(copyRequest, copying), previous, NOW);
    const freshCopy = fresh({ key: "copied/a.jsonl", rule: "copied" });

    it("is aborted, at the rule's copy key", () => {
      const older = record({ key: "copied/a.jsonl", version: "v1", status: "running", checkpoint: { phase: "writing", offset: 9, line: 2, copy: upload } });
      expect(start(older)).toStrictEqual({ action: "start", record: freshCopy, abandoned: { key: "copies/copied/a.jsonl", upload } });
    });

    it("is not there when the older ingestion finished, or stopped before its first part", () => {
      const finished = record({ key: "copied/a.jsonl", version: "v1", status: "partial", checkpoint: { phase: "writing", offset: 9, line: 2, copy: upload } });
      expect(start(finished)).toStrictEqual({ action: "start", record: freshCopy });
      const noPart = record({ key: "copied/a.jsonl", version: "v1", status: "running", checkpoint: { phase: "writing", offset: 9, line: 2 } });
      expect(start(noPart)).toStrictEqual({ action: "start", record: freshCopy });
      const noCheckpoint = record({ key: "copied/a.jsonl", version: "v1", status: "running" });
      expect(start(noCheckpoint)).toStrictEqual({ action: "start", record: freshCopy });
    });

    it("is left alone by a rule without a copy", () => {
      const older = record({ version: "v1", status: "running", checkpoint: { phase: "writing", offset: 9, line: 2, copy: upload } });
      expect(resumeOrStart(admitted(), older, NOW)).toStrictEqual({ action: "start", record: fresh() });
    });
  });
});
