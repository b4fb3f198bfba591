import { type CronSchedule, parseCronSchedule } from './cron-schedule';

function parsed(cron: string, timezone = 'UTC'): CronSchedule {
  const result = parseCronSchedule(cron, timezone);
  if (!('schedule' in result)) throw new Error(`expected a schedule: ${JSON.stringify(result.problems)}`);
  return result.schedule;
}

function problems(cron: string, timezone = 'UTC') {
  const result = parseCronSchedule(cron, timezone);
  return 'problems' in result ? result.problems : [];
}

const iso = (times: number[]) => times.map((time) => new Date(time).toISOString());

describe(parseCronSchedule.name, () => {
  it('fires a 02:30 Europe/Berlin daily job once on the spring-forward day (2026-03-29), at 03:00 CEST right after the gap', () => {
    const runs = parsed('30 2 * * *', 'Europe/Berlin').nextRuns(Date.parse('2026-03-27T12:00:00Z'), 4);
    expect(iso(runs)).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
  });

  it('fires a 02:30 Europe/Berlin daily job once on the fall-back day (2026-10-25), at the first 02:30 (CEST)', () => {
    const runs = parsed('30 2 * * *', 'Europe/Berlin').nextRuns(Date.parse('2026-10-23T12:00:00Z'), 4);
    expect(iso(runs)).toEqual(['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']);
  });

  it('fires an hourly job at every real hour across the fall-back (both 02:00s) and skips the hour the spring-forward removes', () => {
    expect(iso(parsed('0 * * * *', 'Europe/Berlin').nextRuns(Date.parse('2026-10-24T23:30:00Z'), 3))).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
    expect(iso(parsed('0 * * * *', 'Europe/Berlin').nextRuns(Date.parse('2026-03-29T00:30:00Z'), 2))).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T02:00:00.000Z',
    ]);
  });

  it('reads 6 fields as seconds first', () => {
    expect(iso(parsed('*/2 * * * * *').nextRuns(Date.parse('2026-03-28T00:00:00.500Z'), 3))).toEqual([
      '2026-03-28T00:00:02.000Z',
      '2026-03-28T00:00:04.000Z',
      '2026-03-28T00:00:06.000Z',
    ]);
  });

  it('finds the last fire time at or before a moment', () => {
    const daily = parsed('30 2 * * *', 'Europe/Berlin');
    expect(iso([daily.latestAtOrBefore(Date.parse('2026-03-29T01:00:00Z'))!])).toEqual(['2026-03-29T01:00:00.000Z']);
    expect(iso([daily.latestAtOrBefore(Date.parse('2026-03-29T00:59:59Z'))!])).toEqual(['2026-03-28T01:30:00.000Z']);
  });

  it('takes nicknames such as @daily, in the time zone', () => {
    expect(iso([parsed('@daily', 'Europe/Berlin').nextAfter(Date.parse('2026-06-01T12:00:00Z'))!])).toEqual(['2026-06-01T22:00:00.000Z']);
  });

  it('refuses a field out of range, with the reason', () => {
    expect(problems('61 * * * *')).toEqual([
      { setting: 'cron', message: expect.stringMatching(/^Setting "\/cron" \("61 \* \* \* \*"\) is not a valid cron expression: .*minute.*61/) },
    ]);
  });

  it('refuses 3 fields and 7 fields (a year), naming the shape it takes', () => {
    for (const cron of ['* * *', '0 0 0 1 1 * 2030']) {
      expect(problems(cron)).toEqual([
        { setting: 'cron', message: expect.stringContaining('Use 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first') },
      ]);
    }
  });

  it('refuses a pattern that never fires (February 30th)', () => {
    expect(problems('0 0 30 2 *')).toEqual([{ setting: 'cron', message: expect.stringContaining('never fires') }]);
  });

  it('refuses an unknown time zone, and still checks the cron', () => {
    expect(problems('* * * * *', 'Mars/Olympus_Mons')).toEqual([
      { setting: 'timezone', message: 'Setting "/timezone" ("Mars/Olympus_Mons") is not an IANA time zone name; use one such as "UTC" or "Europe/Berlin".' },
    ]);
    expect(problems('nope', 'Mars/Olympus_Mons').map((problem) => problem.setting)).toEqual(['timezone', 'cron']);
  });

  it('refuses @reboot, which has no fire time', () => {
    expect(problems('@reboot')).toEqual([{ setting: 'cron', message: expect.stringContaining('is not a valid cron expression') }]);
  });
});
