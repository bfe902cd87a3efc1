/**
 * The CLI's exit code for each error a user can see comes from the error itself
 * (foundation/user-error.ts); these are the codes the CLI has always given.
 */
import { describe, expect, it } from "vitest";
import { LookupFailedError, UsageError } from "../../cli/errors.js";
import { EXIT, UserError } from "../../foundation/user-error.js";
import { IngestRequestError, IngestRulesError } from "../../ingest/errors.js";
import { ChangeHorizonError, InvalidCursorError, InvalidObjectKeyError, InvalidSequencerError, LedgerError } from "../../ledger/errors.js";
import { LocalStackNotRunningError, PortInUseError } from "../../local/errors.js";
import { MaxDeleteExceededError, ReconcileError, SourceOrderError, TaskLeaseError } from "../../reconcile/errors.js";
import { MalformedMessageError } from "../../events/errors.js";

describe("user errors", () => {
  it.each([
    ["UsageError", EXIT.usage, new UsageError("bad")],
    ["InvalidCursorError", EXIT.usage, new InvalidCursorError("bad cursor")],
    ["ChangeHorizonError", EXIT.usage, new ChangeHorizonError(new Date(0), new Date(1))],
    ["LocalStackNotRunningError", EXIT.usage, new LocalStackNotRunningError(".bucket-ledger/dev.json", "gone")],
    ["PortInUseError", EXIT.usage, new PortInUseError(4566, "the query API")],
    ["IngestRulesError", EXIT.usage, new IngestRulesError("no rules")],
    ["MaxDeleteExceededError", EXIT.refused, new MaxDeleteExceededError(9, 10, 0.1)],
    ["LookupFailedError", EXIT.failure, new LookupFailedError("no such key")],
    ["LedgerError", EXIT.failure, new LedgerError("ledger")],
    ["InvalidSequencerError", EXIT.failure, new InvalidSequencerError("xyz")],
    ["InvalidObjectKeyError", EXIT.failure, new InvalidObjectKeyError("")],
    ["ReconcileError", EXIT.failure, new ReconcileError("stopped")],
    ["SourceOrderError", EXIT.failure, new SourceOrderError("out of order")],
    ["TaskLeaseError", EXIT.failure, new TaskLeaseError("taken")],
  ])("%s exits %d", (name, exitCode, error) => {
    expect(error).toBeInstanceOf(UserError);
    expect(error.exitCode).toBe(exitCode);
    expect(error.name).toBe(name);
  });

  it("faults are not user errors, so the CLI names them and exits 1", () => {
    for (const fault of [new Error("boom"), new MalformedMessageError("bad body"), new IngestRequestError("bad request")]) {
      expect(fault).not.toBeInstanceOf(UserError);
    }
  });

  it("keeps the exit code out of the error's own fields, which loggers copy into log lines", () => {
    expect(Object.keys(new MaxDeleteExceededError(9, 10, 0.1))).not.toContain("exitCode");
    expect(Object.keys(new UsageError("bad"))).not.toContain("exitCode");
  });
});
