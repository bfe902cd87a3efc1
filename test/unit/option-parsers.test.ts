import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.js";
import { parseSince } from "../../cli/option-parsers.js";

describe("--since", () => {
  const now = new Date("2026-11-22T12:00:00.000Z");

  it("accepts durations ago and ISO-8601 times", () => {
    expect(parseSince("15m", now).toISOString()).toBe("2026-11-22T11:45:00.000Z");
    expect(parseSince("2d", now).toISOString()).toBe("2026-11-20T12:00:00.000Z");
    expect(parseSince("2026-11-21T09:30:00Z", now).toISOString()).toBe("2026-11-21T09:30:00.000Z");
  });

  it("rejects anything else with a usage error that shows the accepted forms", () => {
    expect(() => parseSince("yesterday", now)).toThrow(UsageError);
    expect(() => parseSince("2026-13-45", now)).toThrow(/ISO-8601/);
  });
});
