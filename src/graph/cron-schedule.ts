import { Cron } from 'croner';

/** The catalogue's schedule trigger: GraphValidator checks its cron and time zone beyond the settings schema. */
export const SCHEDULE_NODE_TYPE = 'schedule';

/** A schedule trigger's `cron` and `timezone`, parsed: the fire times after a moment, in UTC milliseconds. */
export interface CronSchedule {
  readonly cron: string;
  readonly timezone: string;
  /** The first fire time strictly after `after`, or null when the pattern never matches again. */
  nextAfter(after: number): number | null;
  /** Up to `count` fire times strictly after `after`. */
  nextRuns(after: number, count: number): number[];
  /** The last fire time at or before `time`, or null when there is none. */
  latestAtOrBefore(time: number): number | null;
}

export interface CronScheduleProblem {
  setting: 'cron' | 'timezone';
  message: string;
}

const CRON_SHAPE = 'Use 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, e.g. "30 2 * * *"';

/**
 * Parses a cron expression in an IANA time zone with croner (5 or 6 fields, names such as MON and
 * JAN, `@daily`-style nicknames). Daylight-saving days behave as cron users expect: a time that a
 * spring-forward skips (02:30 in Europe/Berlin on 2026-03-29) fires once, at the first instant
 * after the gap (03:00); a time that a fall-back repeats fires once, at its first occurrence.
 */
export function parseCronSchedule(cron: string, timezone: string): { schedule: CronSchedule } | { problems: CronScheduleProblem[] } {
  const problems: CronScheduleProblem[] = [];
  if (!isTimeZone(timezone)) {
    problems.push({
      setting: 'timezone',
      message: `Setting "/timezone" ("${timezone}") is not an IANA time zone name; use one such as "UTC" or "Europe/Berlin".`,
    });
  }
  let job: Cron | undefined;
  try {
    job = new Cron(cron, { timezone: problems.length === 0 ? timezone : 'UTC', mode: '5-or-6-parts', paused: true });
  } catch (error) {
    const reason = (error as Error).message.replace(/^CronPattern: /, '').replace(/\.$/, '');
    problems.push({ setting: 'cron', message: `Setting "/cron" ("${cron}") is not a valid cron expression: ${reason}. ${CRON_SHAPE}.` });
  }
  if (job !== undefined && problems.length === 0 && job.nextRun() === null) {
    problems.push({ setting: 'cron', message: `Setting "/cron" ("${cron}") never fires (no date matches it); check its day-of-month and month fields.` });
  }
  if (problems.length > 0 || job === undefined) return { problems };
  const parsed = job;
  const nextRuns = (after: number, count: number) => parsed.nextRuns(count, new Date(after)).map((date) => date.getTime());
  return {
    schedule: {
      cron,
      timezone,
      nextRuns,
      nextAfter: (after) => nextRuns(after, 1)[0] ?? null,
      latestAtOrBefore: (time) => parsed.previousRuns(1, new Date(time + 1))[0]?.getTime() ?? null,
    },
  };
}

/** Whether the runtime's ICU knows `name` as a time zone (`Intl` throws a RangeError otherwise). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
