/**
 * When a deployed stack's reconciliation schedule first fires after the stack was created, so
 * `status` can say when the first run is due. The schedule is an EventBridge Scheduler
 * expression evaluated in its time zone (EventBridge Scheduler user guide, "Schedule types on
 * EventBridge Scheduler": https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
 *
 * - `rate(value unit)`: "If you do not provide a StartDate for the rate-based schedule, your
 *   schedule starts invoking the target immediately", then at that rate. The stack gives no start
 *   date, so the first run is due when the schedule is created (`status` allows its grace after
 *   it, as for a cron time). From a later time the phase is the schedule's own, created a little
 *   after the table it is dated by, so the latest bound is returned: one period after that time.
 * - `cron(minutes hours day-of-month month day-of-week year)`: the fields and wildcards of
 *   EventBridge's cron expressions (EventBridge user guide, "Cron expressions":
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html):
 *   `, - * / ?`, month names JAN-DEC, day names SUN-SAT (1 is Sunday). `L`, `W` and `#` are not
 *   evaluated: the time is then unknown (undefined), never guessed.
 *
 * "All schedule types on EventBridge Scheduler invoke their targets with 60 second precision"
 * (the same page): the minute is the answer.
 */

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
/** How far ahead a cron expression is searched: one that fires less often than this (or never, `30 FEB`) has no answer. */
const SEARCH_DAYS = 5 * 366;

/** The values a field allows; undefined for syntax this module does not evaluate. */
function fieldValues(text: string, min: number, max: number, names: string[] = []): Set<number> | undefined {
  const value = (token: string): number | undefined => {
    const named = names.indexOf(token.toUpperCase());
    if (named !== -1) return named + 1;
    if (!/^\d+$/.test(token)) return undefined;
    const number = Number(token);
    return number >= min && number <= max ? number : undefined;
  };
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText, ...rest] = part.split("/");
    if (rest.length > 0 || range === undefined) return undefined;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step <= 0) return undefined;
    let low: number | undefined;
    let high: number | undefined;
    if (range === "*" || range === "?") [low, high] = [min, max];
    else if (range.includes("-")) {
      const [from, to] = range.split("-");
      [low, high] = [value(from ?? ""), value(to ?? "")];
    } else {
      low = value(range);
      high = stepText === undefined ? low : max;
    }
    if (low === undefined || high === undefined || low > high) return undefined;
    for (let next = low; next <= high; next += step) values.add(next);
  }
  return values;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

function wallClockIn(timeZone: string): (at: number) => WallClock {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
  });
  return (at) => {
    const parts = Object.fromEntries(format.formatToParts(at).map((part) => [part.type, Number(part.value)]));
    return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute! };
  };
}

const asUtc = (wall: WallClock) => Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);

/** The instant a wall-clock minute in the zone names; undefined for a minute a daylight-saving jump skips. */
function instantOf(wall: WallClock, wallClock: (at: number) => WallClock): number | undefined {
  const guess = asUtc(wall);
  let at = guess - (asUtc(wallClock(guess)) - guess);
  at = guess - (asUtc(wallClock(at)) - at);
  return asUtc(wallClock(at)) === guess ? at : undefined;
}

function nextCron(fields: string[], timeZone: string, after: number): number | undefined {
  const [minutesText, hoursText, dayOfMonthText, monthText, dayOfWeekText, yearText] = fields as [string, string, string, string, string, string];
  const minutes = fieldValues(minutesText, 0, 59);
  const hours = fieldValues(hoursText, 0, 23);
  const daysOfMonth = fieldValues(dayOfMonthText, 1, 31);
  const months = fieldValues(monthText, 1, 12, MONTHS);
  const daysOfWeek = fieldValues(dayOfWeekText, 1, 7, DAYS);
  const years = fieldValues(yearText, 1970, 2199);
  if (!minutes || !hours || !daysOfMonth || !months || !daysOfWeek || !years) return undefined;
  const wallClock = wallClockIn(timeZone);
  const start = wallClock(after);
  const sortedHours = [...hours].sort((a, b) => a - b);
  const sortedMinutes = [...minutes].sort((a, b) => a - b);
  for (let offset = 0; offset <= SEARCH_DAYS; offset++) {
    const date = new Date(Date.UTC(start.year, start.month - 1, start.day + offset));
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!years.has(year) || !months.has(month)) continue;
    if (dayOfMonthText !== "?" && !daysOfMonth.has(day)) continue;
    if (dayOfWeekText !== "?" && !daysOfWeek.has(date.getUTCDay() + 1)) continue;
    for (const hour of sortedHours)
      for (const minute of sortedMinutes) {
        const at = instantOf({ year, month, day, hour, minute }, wallClock);
        if (at !== undefined && at > after) return at;
      }
  }
  return undefined;
}

/**
 * The first time `expression` fires after `after` in `timeZone`, for a schedule created at
 * `created` without a start date; undefined when not known. A rate fires at its creation, and
 * after that is given the latest it can.
 */
export function firstFiringAfter(expression: string, timeZone: string, after: Date, created: Date = after): Date | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    if (after.getTime() <= created.getTime()) return created;
    return new Date(after.getTime() + Number(rate[1]) * UNIT_MS[rate[2]!.replace(/s$/, "")]!);
  }
  const cron = CRON.exec(expression);
  if (!cron) return undefined;
  const at = nextCron(cron.slice(1), timeZone, after.getTime());
  return at === undefined ? undefined : new Date(at);
}
