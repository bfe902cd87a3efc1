/** Where `watch` and `replay` start (cli/feed/position.ts): a cursor or a --since is hostile input. */
import { describe, expect, it } from "vitest";
import { positionTime, resumeCursor, startPosition } from "../../cli/feed/position.js";
import { UsageError } from "../../cli/errors.js";
import { EXIT } from "../../foundation/user-error.js";
import { changesCursorAfter, encodeCursor, listCursorAfter } from "../../ledger/cursor.js";
import { ChangeHorizonError, InvalidCursorError, changeToken } from "../../ledger/index.js";

const NOW = new Date("2026-12-04T12:00:00.000Z");
const HORIZON = new Date("2026-11-04T12:00:00.000Z");
const SKEW_MS = 5 * 60_000;

function refusal(start: () => unknown): Error & { exitCode: number } {
  try {
    start();
  } catch (error) {
    return error as Error & { exitCode: number };
  }
  throw new Error("not refused");
}

describe("positionTime", () => {
  it("is a token's recording time, a time itself, and a day's midnight", () => {
    expect(positionTime(changeToken("2026-12-04T11:00:00.123Z", "k"))).toBe("2026-12-04T11:00:00.123Z");
    expect(positionTime("2026-12-04T11:00:00.123Z")).toBe("2026-12-04T11:00:00.123Z");
    expect(positionTime("2026-12-04")).toBe("2026-12-04T00:00:00.000Z");
  });
});

describe("startPosition", () => {
  it("starts now when given neither --since nor --cursor", () => {
    expect(startPosition("photos", {}, HORIZON, NOW)).toBe("2026-12-04T12:00:00.000Z");
  });

  it("starts at --since, the horizon itself included", () => {
    expect(startPosition("photos", { since: new Date("2026-12-01T00:00:00.000Z") }, HORIZON, NOW)).toBe("2026-12-01T00:00:00.000Z");
    expect(startPosition("photos", { since: HORIZON }, HORIZON, NOW)).toBe(HORIZON.toISOString());
  });

  it("refuses a --since before the horizon, naming the horizon, with exit 2", () => {
    const error = refusal(() => startPosition("photos", { since: new Date(HORIZON.getTime() - 1) }, HORIZON, NOW));
    expect(error).toBeInstanceOf(ChangeHorizonError);
    expect(error.message).toContain("2026-11-04T12:00:00.000Z");
    expect(error.exitCode).toBe(EXIT.usage);
  });

  it("refuses a --since further in the future than writers' clocks may run ahead", () => {
    expect(startPosition("photos", { since: new Date(NOW.getTime() + SKEW_MS) }, HORIZON, NOW)).toBe("2026-12-04T12:05:00.000Z");
    const error = refusal(() => startPosition("photos", { since: new Date(NOW.getTime() + SKEW_MS + 1) }, HORIZON, NOW));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe("--since 2026-12-04T12:05:00.001Z is in the future");
    expect(error.exitCode).toBe(EXIT.usage);
  });

  it("refuses --since and --cursor together", () => {
    const error = refusal(() => startPosition("photos", { since: NOW, cursor: resumeCursor("photos", NOW.toISOString()) }, HORIZON, NOW));
    expect(error.message).toBe("--since and --cursor both say where to start: give one");
    expect(error.exitCode).toBe(EXIT.usage);
  });

  it("resumes after the position a cursor it printed carries: a token, a time or a day", () => {
    for (const position of [changeToken("2026-12-04T11:00:00.000Z", "a/b"), "2026-12-04T11:00:00.000Z", "2026-12-04"]) {
      expect(startPosition("photos", { cursor: resumeCursor("photos", position) }, HORIZON, NOW)).toBe(position);
    }
  });

  it("takes a cursor from changes --limit: the feed's cursors are one kind", () => {
    expect(startPosition("photos", { cursor: changesCursorAfter("photos", "2026-12-04T10:00:00.000Z") }, HORIZON, NOW)).toBe("2026-12-04T10:00:00.000Z");
  });

  it.each([
    ["not base64 JSON", "%%%"],
    ["JSON of another shape", Buffer.from('{"v":1,"q":"changes","b":"photos","after":"yesterday"}').toString("base64url")],
    ["a cursor with a field of its own", Buffer.from(JSON.stringify({ v: 1, q: "changes", b: "photos", after: "2026-12-04", x: 1 })).toString("base64url")],
    ["a history page's cursor", encodeCursor({ v: 1, q: "history", b: "photos", k: "0".repeat(24), after: "e" })],
    ["a listing's cursor", listCursorAfter("photos", "", "k")],
  ])("refuses a cursor that is %s, with exit 2", (_, cursor) => {
    const error = refusal(() => startPosition("photos", { cursor }, HORIZON, NOW));
    expect(error).toBeInstanceOf(InvalidCursorError);
    expect(error.exitCode).toBe(EXIT.usage);
  });

  it("refuses another bucket's cursor", () => {
    const error = refusal(() => startPosition("photos", { cursor: resumeCursor("videos", "2026-12-04") }, HORIZON, NOW));
    expect(error).toBeInstanceOf(InvalidCursorError);
    expect(error.message).toBe("cursor belongs to a different changes query");
  });

  it("refuses a cursor older than the horizon as expired", () => {
    const error = refusal(() => startPosition("photos", { cursor: resumeCursor("photos", "2026-11-04T11:59:59.999Z") }, HORIZON, NOW));
    expect(error).toBeInstanceOf(InvalidCursorError);
    expect(error.message).toMatch(/^cursor expired: it resumes changes from 2026-11-04T11:59:59.999Z, before the change-feed horizon 2026-11-04T12:00:00.000Z/);
  });

  it("refuses a cursor resuming from the future (forged: the ledger gives none)", () => {
    expect(startPosition("photos", { cursor: resumeCursor("photos", "2026-12-04T12:05:00.000Z") }, HORIZON, NOW)).toBe("2026-12-04T12:05:00.000Z");
    const error = refusal(() => startPosition("photos", { cursor: resumeCursor("photos", "2026-12-04T12:05:00.001Z") }, HORIZON, NOW));
    expect(error).toBeInstanceOf(InvalidCursorError);
    expect(error.message).toBe("cursor resumes from 2026-12-04T12:05:00.001Z, in the future: it is not a cursor the ledger gave");
    const day = refusal(() => startPosition("photos", { cursor: resumeCursor("photos", "9999-12-31") }, HORIZON, NOW));
    expect(day.exitCode).toBe(EXIT.usage);
  });
});
