import { describe, expect, it } from "vitest";
import { firstFiringAfter } from "../../cli/status/schedule.js";

const at = (iso: string) => new Date(iso);
const next = (expression: string, timeZone: string, after: string) => firstFiringAfter(expression, timeZone, at(after))?.toISOString();

describe("when a stack's reconciliation schedule first fires", () => {
  it("the default, cron(0 3 * * ? *) in UTC: the next 03:00", () => {
    expect(next("cron(0 3 * * ? *)", "UTC", "2026-12-04T21:40:00Z")).toBe("2026-12-05T03:00:00.000Z");
    expect(next("cron(0 3 * * ? *)", "UTC", "2026-12-04T02:59:30Z")).toBe("2026-12-04T03:00:00.000Z");
    expect(next("cron(0 3 * * ? *)", "UTC", "2026-12-04T03:00:00Z")).toBe("2026-12-05T03:00:00.000Z");
  });

  it("in the schedule's time zone, daylight saving time included", () => {
    expect(next("cron(0 3 * * ? *)", "Europe/Paris", "2026-12-04T21:40:00Z")).toBe("2026-12-05T02:00:00.000Z");
    expect(next("cron(0 3 * * ? *)", "Europe/Paris", "2026-07-01T12:00:00Z")).toBe("2026-07-02T01:00:00.000Z");
    expect(next("cron(30 2 * * ? *)", "America/New_York", "2026-03-08T05:00:00Z")).toBe("2026-03-09T06:30:00.000Z"); // 02:30 does not exist on 8 March
  });

  it("steps, ranges, lists and names", () => {
    expect(next("cron(0/15 * * * ? *)", "UTC", "2026-12-04T10:07:00Z")).toBe("2026-12-04T10:15:00.000Z");
    expect(next("cron(0 8 ? * MON-FRI *)", "UTC", "2026-12-05T12:00:00Z")).toBe("2026-12-07T08:00:00.000Z");
    expect(next("cron(0 8 ? * 1,7 *)", "UTC", "2026-12-07T12:00:00Z")).toBe("2026-12-12T08:00:00.000Z");
    expect(next("cron(0 0 1 JAN ? *)", "UTC", "2026-12-04T00:00:00Z")).toBe("2027-01-01T00:00:00.000Z");
    expect(next("cron(15 10 ? * 6 2027)", "UTC", "2026-12-04T00:00:00Z")).toBe("2027-01-01T10:15:00.000Z");
  });

  it("a rate without a start date: at the schedule's creation; from a later time, at the latest one period after it", () => {
    expect(next("rate(1 day)", "UTC", "2026-12-04T21:40:00Z")).toBe("2026-12-04T21:40:00.000Z");
    expect(next("rate(5 minutes)", "UTC", "2026-12-04T21:40:00Z")).toBe("2026-12-04T21:40:00.000Z");
    const created = at("2026-12-01T00:00:00Z");
    expect(firstFiringAfter("rate(1 day)", "UTC", at("2026-12-04T21:40:00Z"), created)?.toISOString()).toBe("2026-12-05T21:40:00.000Z");
    expect(firstFiringAfter("rate(5 minutes)", "UTC", created, created)?.toISOString()).toBe("2026-12-01T00:00:00.000Z");
  });

  it("unknown, never guessed, for what it does not evaluate or what never fires", () => {
    expect(next("cron(0 0 L * ? *)", "UTC", "2026-12-04T00:00:00Z")).toBeUndefined();
    expect(next("cron(0 0 ? * 6#3 *)", "UTC", "2026-12-04T00:00:00Z")).toBeUndefined();
    expect(next("cron(0 0 30 FEB ? *)", "UTC", "2026-12-04T00:00:00Z")).toBeUndefined();
    expect(next("at(2026-12-05T00:00:00)", "UTC", "2026-12-04T00:00:00Z")).toBeUndefined();
  });
});
