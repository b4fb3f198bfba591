import { DataSource } from 'typeorm';
import { MISSED_AFTER_MS, Scheduler } from '../../src/schedules/scheduler';
import { parsePrometheusText, valueOf } from '../support/prometheus';
import { ADMIN_AUTH, useTestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

interface ScheduleBody {
  cron: string;
  timezone: string;
  paused: boolean;
  nextRuns: string[];
  lastRunAt: string | null;
  lastExecutionId: string | null;
}

interface ExecutionSummary {
  id: string;
  workflowId: string;
  trigger: { type: string; fireTime?: string };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function scheduledWorkflow(settings: Record<string, unknown>, name = 'nightly') {
  return {
    name,
    nodes: [
      { id: 'trigger', type: 'schedule', settings },
      { id: 'out', type: 'return', settings: { value: { dataset: '{{ trigger.dataset }}' } } },
    ],
    edges: [{ id: 'e1', source: 'trigger', target: 'out' }],
  };
}

function manualWorkflow(name = 'by hand') {
  return {
    name,
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      { id: 'out', type: 'return', settings: { value: { ok: true } } },
    ],
    edges: [{ id: 'e1', source: 'trigger', target: 'out' }],
  };
}

describe('Schedules', () => {
  const t = useTestApp();
  const auth = ADMIN_AUTH;
  const scheduler = () => t.app.get(Scheduler);

  /** Sets the fake clock to an ISO time (forward or back). */
  function setClock(iso: string): void {
    t.clock.advance(Date.parse(iso) - t.clock.now());
  }

  /** Moves the fake clock to `untilIso` in steps, letting the scheduler handle what is due at each: time passing with a server up. */
  async function runClock(untilIso: string, stepMs: number): Promise<void> {
    const until = Date.parse(untilIso);
    while (t.clock.now() < until) {
      t.clock.advance(Math.min(stepMs, until - t.clock.now()));
      await scheduler().tick();
    }
  }

  const created: string[] = [];

  async function create(body: object): Promise<string> {
    const id = (await t.http.post('/v1/workflows').set('Authorization', auth).send(body).expect(201)).body.id as string;
    created.push(id);
    return id;
  }

  // Each test's schedules stop with it, so the next test's clock moves only its own.
  afterEach(async () => {
    for (const id of created.splice(0)) await t.http.delete(`/v1/workflows/${id}`).set('Authorization', auth);
  });

  async function schedule(workflowId: string): Promise<ScheduleBody> {
    return (await t.http.get(`/v1/workflows/${workflowId}/schedule`).set('Authorization', auth).expect(200)).body as ScheduleBody;
  }

  async function scheduledRuns(workflowId: string): Promise<ExecutionSummary[]> {
    const res = await t.http.get(`/v1/executions?workflowId=${workflowId}&trigger=schedule&limit=200`).set('Authorization', auth).expect(200);
    return (res.body.executions as ExecutionSummary[]).reverse();
  }

  const fireTimes = async (workflowId: string) => (await scheduledRuns(workflowId)).map((run) => run.trigger.fireTime);

  describe('GET /v1/workflows/:id/schedule', () => {
    it('shows the cron, the time zone (UTC by default), and the next 5 fire times', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      expect(await schedule(id)).toEqual({
        cron: '0 * * * *',
        timezone: 'UTC',
        paused: false,
        nextRuns: ['13', '14', '15', '16', '17'].map((hour) => `2026-11-28T${hour}:00:00.000Z`),
        lastRunAt: null,
        lastExecutionId: null,
      });
    });

    it('answers 404 SCHEDULE_NOT_FOUND for a workflow whose trigger is not a schedule, naming the trigger', async () => {
      const id = await create(manualWorkflow());
      const res = await t.http.get(`/v1/workflows/${id}/schedule`).set('Authorization', auth).expect(404);
      expect(res.body.error.code).toBe('SCHEDULE_NOT_FOUND');
      expect(res.body.error.message).toContain('its trigger is "manual", not "schedule"');
    });

    it("answers 404 WORKFLOW_NOT_FOUND for an unknown workflow and for another workspace's", async () => {
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      const workspaceId = await t.createWorkspace('pro');
      const { key } = await t.createKey(workspaceId);
      expect((await t.http.get(`/v1/workflows/${id}/schedule`).set('Authorization', t.bearer(key)).expect(404)).body.error.code).toBe('WORKFLOW_NOT_FOUND');
      expect((await t.http.get('/v1/workflows/wf_doesNotExist0000/schedule').set('Authorization', auth).expect(404)).body.error.code).toBe(
        'WORKFLOW_NOT_FOUND',
      );
    });
  });

  describe('firing', () => {
    it('starts one execution per fire time, with the inputs setting and the fire time as its trigger', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 * * * *', inputs: { dataset: 'nightly' } }));
      await runClock('2026-11-28T14:30:00.000Z', 30_000);
      const runs = await scheduledRuns(id);
      expect(runs.map((run) => run.trigger)).toEqual([
        { type: 'schedule', fireTime: '2026-11-28T13:00:00.000Z' },
        { type: 'schedule', fireTime: '2026-11-28T14:00:00.000Z' },
      ]);
      const execution = (await t.http.get(`/v1/executions/${runs[1].id}`).set('Authorization', auth).expect(200)).body;
      expect(execution.trigger).toEqual({ type: 'schedule', fireTime: '2026-11-28T14:00:00.000Z' });
      expect(await schedule(id)).toMatchObject({
        lastRunAt: '2026-11-28T14:00:00.000Z',
        lastExecutionId: runs[1].id,
        nextRuns: expect.arrayContaining(['2026-11-28T15:00:00.000Z']),
      });
    });

    it('starts no second execution for a fire time whose run exists, when a process died before moving the schedule on', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      await runClock('2026-11-28T13:00:10.000Z', 10_000);
      expect(await fireTimes(id)).toEqual(['2026-11-28T13:00:00.000Z']);
      // As if the process that started 13:00's run had died before its conditional UPDATE: 13:00 is due again.
      await t.app.get(DataSource).query(`UPDATE schedules SET next_fire_at = '2026-11-28T13:00:00.000Z' WHERE workflow_id = '${id}'`);
      await scheduler().tick();
      expect(await fireTimes(id)).toEqual(['2026-11-28T13:00:00.000Z']);
      expect((await schedule(id)).nextRuns[0]).toBe('2026-11-28T14:00:00.000Z');
    });

    it('fires on its own timer, armed when the schedule is stored, without anyone calling tick()', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      // The clock reaches 13:00 with no pass started here: only the timer (re-armed at least every few seconds) can see it.
      setClock('2026-11-28T13:00:00.000Z');
      expect(
        await waitFor(
          () => fireTimes(id),
          (times) => times.length > 0,
          { what: 'the timer-fired run', intervalMs: 100 },
        ),
      ).toEqual(['2026-11-28T13:00:00.000Z']);
    });

    it('reads 6 fields as seconds first: every 2 seconds', async () => {
      setClock('2026-11-28T12:00:00.500Z');
      const id = await create(scheduledWorkflow({ cron: '*/2 * * * * *' }));
      await runClock('2026-11-28T12:00:10.600Z', 1000);
      expect(await fireTimes(id)).toEqual(['02', '04', '06', '08', '10'].map((second) => `2026-11-28T12:00:${second}.000Z`));
    });
  });

  describe('daylight saving time in Europe/Berlin', () => {
    it('runs a 02:30 daily job once on the spring-forward day (2026-03-29), at 03:00 CEST, when 02:30 does not exist', async () => {
      setClock('2026-03-28T20:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '30 2 * * *', timezone: 'Europe/Berlin' }));
      expect((await schedule(id)).nextRuns.slice(0, 2)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
      await runClock('2026-03-29T21:59:00.000Z', MINUTE);
      expect(await fireTimes(id)).toEqual(['2026-03-29T01:00:00.000Z']);
    });

    it('runs a 02:30 daily job once on the fall-back day (2026-10-25), at the first 02:30 (CEST), not again at 02:30 CET', async () => {
      setClock('2026-10-24T21:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '30 2 * * *', timezone: 'Europe/Berlin' }));
      await runClock('2026-10-25T22:59:00.000Z', MINUTE);
      expect(await fireTimes(id)).toEqual(['2026-10-25T00:30:00.000Z']);
    });
  });

  describe('stopping and changing', () => {
    it('stops firing while paused, and resumes from the next fire time after now without the ones it slept through', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      const paused = (await t.http.patch(`/v1/workflows/${id}/schedule`).set('Authorization', auth).send({ paused: true }).expect(200)).body;
      expect(paused).toMatchObject({ paused: true, nextRuns: [] });
      await runClock('2026-11-28T15:30:00.000Z', 10 * MINUTE);
      expect(await fireTimes(id)).toEqual([]);
      const resumed = (await t.http.patch(`/v1/workflows/${id}/schedule`).set('Authorization', auth).send({ paused: false }).expect(200)).body;
      expect(resumed).toMatchObject({ paused: false, nextRuns: expect.arrayContaining(['2026-11-28T16:00:00.000Z']) });
      expect(resumed.nextRuns[0]).toBe('2026-11-28T16:00:00.000Z');
      await runClock('2026-11-28T16:00:30.000Z', 30_000);
      expect(await fireTimes(id)).toEqual(['2026-11-28T16:00:00.000Z']);
    });

    it('keeps a schedule paused across an edit of the workflow', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      await t.http.patch(`/v1/workflows/${id}/schedule`).set('Authorization', auth).send({ paused: true }).expect(200);
      await t.http
        .put(`/v1/workflows/${id}`)
        .set('Authorization', auth)
        .send(scheduledWorkflow({ cron: '*/5 * * * *' }))
        .expect(200);
      expect(await schedule(id)).toMatchObject({ cron: '*/5 * * * *', paused: true, nextRuns: [] });
      await runClock('2026-11-28T12:30:00.000Z', MINUTE);
      expect(await fireTimes(id)).toEqual([]);
    });

    it('fires by the new cron after an edit, without a restart', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 0 * * *' }));
      await t.http
        .put(`/v1/workflows/${id}`)
        .set('Authorization', auth)
        .send(scheduledWorkflow({ cron: '15 12 * * *' }))
        .expect(200);
      expect((await schedule(id)).nextRuns[0]).toBe('2026-11-28T12:15:00.000Z');
      await runClock('2026-11-28T12:20:00.000Z', MINUTE);
      expect(await fireTimes(id)).toEqual(['2026-11-28T12:15:00.000Z']);
    });

    it('keeps the pending fire time when an edit leaves the cron and time zone alone, and runs with the new inputs', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '15 12 * * *', inputs: { dataset: 'a' } }));
      await t.http
        .put(`/v1/workflows/${id}`)
        .set('Authorization', auth)
        .send(scheduledWorkflow({ cron: '15 12 * * *', inputs: { dataset: 'b' } }))
        .expect(200);
      await runClock('2026-11-28T12:16:00.000Z', MINUTE);
      const [run] = await scheduledRuns(id);
      expect((await t.http.get(`/v1/executions/${run.id}`).set('Authorization', auth).expect(200)).body.trigger.fireTime).toBe('2026-11-28T12:15:00.000Z');
      expect(await fireTimes(id)).toHaveLength(1);
    });

    it('stops firing when its workflow is deleted', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '*/10 * * * *' }));
      await t.http.delete(`/v1/workflows/${id}`).set('Authorization', auth).expect(204);
      await runClock('2026-11-28T12:30:00.000Z', MINUTE);
      expect(await fireTimes(id)).toEqual([]);
      expect((await t.http.get(`/v1/workflows/${id}/schedule`).set('Authorization', auth).expect(404)).body.error.code).toBe('WORKFLOW_NOT_FOUND');
    });

    it('stops firing when its trigger changes to another type', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '*/10 * * * *' }));
      await t.http.put(`/v1/workflows/${id}`).set('Authorization', auth).send(manualWorkflow()).expect(200);
      await runClock('2026-11-28T12:30:00.000Z', MINUTE);
      expect(await fireTimes(id)).toEqual([]);
      expect((await t.http.get(`/v1/workflows/${id}/schedule`).set('Authorization', auth).expect(404)).body.error.code).toBe('SCHEDULE_NOT_FOUND');
      // And switching back gives it a schedule again, from now.
      await t.http
        .put(`/v1/workflows/${id}`)
        .set('Authorization', auth)
        .send(scheduledWorkflow({ cron: '*/10 * * * *' }))
        .expect(200);
      expect((await schedule(id)).nextRuns[0]).toBe('2026-11-28T12:40:00.000Z');
    });
  });

  describe('fire times missed while no server ran', () => {
    it('skips them with missed: skip (the default), and goes on from now', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      t.clock.advance(5 * HOUR + 30 * MINUTE);
      await scheduler().tick();
      expect(await fireTimes(id)).toEqual([]);
      expect((await schedule(id)).nextRuns[0]).toBe('2026-11-28T18:00:00.000Z');
    });

    it('runs once, for the latest of them, with missed: run-once', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 * * * *', missed: 'run-once' }));
      t.clock.advance(5 * HOUR + 30 * MINUTE);
      await scheduler().tick();
      await scheduler().tick();
      expect(await fireTimes(id)).toEqual(['2026-11-28T17:00:00.000Z']);
      expect(await schedule(id)).toMatchObject({ lastRunAt: '2026-11-28T17:00:00.000Z', nextRuns: expect.arrayContaining(['2026-11-28T18:00:00.000Z']) });
    });

    it('runs once after a restart that slept through fire times, with missed: run-once', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '*/15 * * * *', missed: 'run-once' }));
      await runClock('2026-11-28T12:16:00.000Z', MINUTE);
      expect(await fireTimes(id)).toEqual(['2026-11-28T12:15:00.000Z']);
      // The server is down from 12:16 to 13:40: 12:30, 12:45, 13:00, 13:15 and 13:30 pass unhandled.
      // (Whether the old app or the new one's start-up pass handles them, the result is the same.)
      t.clock.advance(84 * MINUTE);
      await t.restart();
      await scheduler().tick();
      expect(await fireTimes(id)).toEqual(['2026-11-28T12:15:00.000Z', '2026-11-28T13:30:00.000Z']);
      expect((await schedule(id)).nextRuns[0]).toBe('2026-11-28T13:45:00.000Z');
    });

    it('runs a fire time handled late, but within the grace period, as usual', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      setClock('2026-11-28T13:00:00.000Z');
      t.clock.advance(MISSED_AFTER_MS);
      await scheduler().tick();
      expect(await fireTimes(id)).toEqual(['2026-11-28T13:00:00.000Z']);
    });
  });

  describe('bad input', () => {
    const countWorkflows = async () => (await t.http.get('/v1/workflows?limit=200').set('Authorization', auth).expect(200)).body.workflows.length as number;

    it.each([
      ['an out-of-range field', { cron: '0 25 * * *' }, 'cron', /is not a valid cron expression: .*hour/],
      ['3 fields', { cron: '* * *' }, 'cron', /Use 5 fields/],
      ['a cron that never fires', { cron: '0 0 31 2 *' }, 'cron', /never fires/],
      ['an unknown time zone', { cron: '0 * * * *', timezone: 'Europe/Atlantis' }, 'timezone', /"Europe\/Atlantis"\) is not an IANA time zone name/],
    ])('refuses %s with 400 INVALID_WORKFLOW on the node, and stores nothing', async (_, settings, setting, reason) => {
      const before = await countWorkflows();
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).send(scheduledWorkflow(settings)).expect(400);
      expect(res.body.error.code).toBe('INVALID_WORKFLOW');
      expect(res.body.error.details.nodes.trigger).toEqual([
        { code: 'INVALID_SETTINGS', message: expect.stringMatching(reason), path: `/nodes/0/settings/${setting}` },
      ]);
      expect(await countWorkflows()).toBe(before);
      const report = (await t.http.post('/v1/workflows/validate').set('Authorization', auth).send(scheduledWorkflow(settings)).expect(200)).body;
      expect(report.valid).toBe(false);
      expect(report.errors.nodes.trigger).toEqual(res.body.error.details.nodes.trigger);
    });

    it('refuses an invalid cron on replace and leaves the schedule as it was', async () => {
      setClock('2026-11-28T12:00:00.000Z');
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      const res = await t.http
        .put(`/v1/workflows/${id}`)
        .set('Authorization', auth)
        .send(scheduledWorkflow({ cron: '0 * * * * * * *' }))
        .expect(400);
      expect(res.body.error.code).toBe('INVALID_WORKFLOW');
      expect(await schedule(id)).toMatchObject({ cron: '0 * * * *', nextRuns: expect.arrayContaining(['2026-11-28T13:00:00.000Z']) });
    });

    it('refuses a PATCH body without a boolean paused, or with other fields, with 400 VALIDATION_ERROR', async () => {
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      for (const body of [{}, { paused: 'yes' }, { paused: true, cron: '* * * * *' }]) {
        const res = await t.http.patch(`/v1/workflows/${id}/schedule`).set('Authorization', auth).send(body).expect(400);
        expect(res.body.error.code).toBe('VALIDATION_ERROR');
      }
      expect((await schedule(id)).paused).toBe(false);
    });

    it('needs workflows:write to pause and workflows:read to read', async () => {
      const id = await create(scheduledWorkflow({ cron: '0 * * * *' }));
      const { key } = await t.createKey((await t.http.get('/v1/me').set('Authorization', auth).expect(200)).body.workspace.id, ['workflows:read']);
      await t.http.get(`/v1/workflows/${id}/schedule`).set('Authorization', t.bearer(key)).expect(200);
      expect((await t.http.patch(`/v1/workflows/${id}/schedule`).set('Authorization', t.bearer(key)).send({ paused: true }).expect(403)).body.error.code).toBe(
        'FORBIDDEN',
      );
    });
  });

  it('counts fires by outcome in GET /metrics', async () => {
    const fires = async () => {
      const families = parsePrometheusText((await t.http.get('/metrics').expect(200)).text);
      return (outcome: string) => valueOf(families, 'tensorify_schedule_fires_total', { outcome });
    };
    const before = await fires();
    setClock('2026-11-28T12:00:00.000Z');
    await create(scheduledWorkflow({ cron: '0 * * * *' }));
    await runClock('2026-11-28T14:00:30.000Z', 30_000);
    // Down for three hours: a catch-up skips 15:00 to 17:00.
    t.clock.advance(3 * HOUR);
    await scheduler().tick();
    const after = await fires();
    expect(after('started') - before('started')).toBe(2);
    expect(after('missed_skipped') - before('missed_skipped')).toBe(1);
    expect(after('failed') - before('failed')).toBe(0);
  });
});
