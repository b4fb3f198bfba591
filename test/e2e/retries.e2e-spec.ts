import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeWorkflow, SLEEPER } from '../support/executions';
import { ADMIN_AUTH, useTestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * A code node that fails its first `inputs.fail` runs, then succeeds: the number of runs so far is
 * kept in the file `inputs.counter` (a temp dir of the test), so each attempt sees the ones before.
 */
const FLAKY = [
  'import os',
  'path = input["counter"]',
  'runs = int(open(path).read()) if os.path.exists(path) else 0',
  'runs += 1',
  'open(path, "w").write(str(runs))',
  'print("run", runs, flush=True)',
  'if runs <= int(input["fail"]):',
  '    raise RuntimeError(f"flaky failure {runs}")',
  'return {"runs": runs}',
].join('\n');

describe('Retries and re-runs', () => {
  const t = useTestApp({ TENSORIFY_EXECUTION_CONCURRENCY: '4' });
  let dir: string;
  let flaky: string;
  let counters = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tensorify-retries-'));
    flaky = await create(codeWorkflow('Flaky', FLAKY));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const counter = () => join(dir, `counter-${++counters}`);
  const runs = (path: string) => Number(readFileSync(path, 'utf8'));

  async function create(body: object): Promise<string> {
    return (await t.http.post('/v1/workflows').set('Authorization', ADMIN_AUTH).send(body).expect(201)).body.id;
  }

  async function execute(workflowId: string, body: object): Promise<string> {
    const res = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', ADMIN_AUTH).send(body);
    if (res.status !== 202) throw new Error(`execute answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.executionId;
  }

  async function get(id: string) {
    return (await t.http.get(`/v1/executions/${id}`).set('Authorization', ADMIN_AUTH).expect(200)).body;
  }

  function waitForExecution(id: string, predicate: (execution: any) => boolean, timeoutMs = 30_000): Promise<any> {
    return waitFor(() => get(id), predicate, { timeoutMs, what: `execution ${id}` });
  }

  const finished = (execution: any) => !['queued', 'running'].includes(execution.status);

  it('tries a failing run again until it succeeds: one execution, its attempts listed, each attempt marked in the logs', async () => {
    const path = counter();
    const id = await execute(flaky, { inputs: { counter: path, fail: 2 }, retry: { maxAttempts: 3, backoffSeconds: 0 } });
    const done = await waitForExecution(id, finished);
    expect(done).toMatchObject({ status: 'completed', output: { runs: 3 }, error: null, attempt: 3, maxAttempts: 3, nextAttemptAt: null });
    expect(done.attempts.map((a: any) => [a.attempt, a.status, a.error?.code ?? null])).toEqual([
      [1, 'failed', 'EXECUTION_FAILED'],
      [2, 'failed', 'EXECUTION_FAILED'],
      [3, 'completed', null],
    ]);
    expect(done.attempts[0].error.message).toContain('flaky failure 1');
    for (const attempt of done.attempts) {
      expect(attempt.startedAt).not.toBeNull();
      expect(attempt.completedAt).not.toBeNull();
    }
    expect(done.logs.filter((line: string) => line.startsWith('run '))).toEqual(['run 1', 'run 2', 'run 3']);
    const marks = done.logs.filter((line: string) => line.startsWith('[attempt '));
    expect(marks).toEqual(['[attempt 2 of 3] started after a backoff of 0 s', '[attempt 3 of 3] started after a backoff of 0 s']);
    // Each mark comes before the run it starts.
    expect(done.logs.indexOf(marks[0])).toBeLessThan(done.logs.indexOf('run 2'));
    expect(done.logs.indexOf('run 2')).toBeLessThan(done.logs.indexOf(marks[1]));
    expect(runs(path)).toBe(3);

    const metrics = (await t.http.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^tensorify_execution_retries_total\{reason="failed"\} [2-9]/m);
    expect(metrics).toMatch(/^tensorify_execution_retries_total\{reason="worker_lost"\} 0/m);
  });

  it('ends with the last attempt’s status once no attempt is left', async () => {
    const path = counter();
    const id = await execute(flaky, { inputs: { counter: path, fail: 5 }, retry: { maxAttempts: 2, backoffSeconds: 0 } });
    const done = await waitForExecution(id, finished);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_FAILED' }, attempt: 2, maxAttempts: 2 });
    expect(done.error.message).toContain('flaky failure 2');
    expect(done.attempts.map((a: any) => a.status)).toEqual(['failed', 'failed']);
    expect(runs(path)).toBe(2);
  });

  it('runs once by default, and does not retry an ending the policy does not name', async () => {
    const once = counter();
    const plain = await waitForExecution(await execute(flaky, { inputs: { counter: once, fail: 1 } }), finished);
    expect(plain).toMatchObject({ status: 'failed', attempt: 1, maxAttempts: 1 });
    expect(plain.attempts).toHaveLength(1);

    const path = counter();
    const id = await execute(flaky, { inputs: { counter: path, fail: 1 }, retry: { maxAttempts: 3, backoffSeconds: 0, on: ['timed_out', 'worker_lost'] } });
    const done = await waitForExecution(id, finished);
    expect(done).toMatchObject({ status: 'failed', attempt: 1, maxAttempts: 3 });
    expect(runs(path)).toBe(1);
  });

  it('takes the trigger node’s retry setting as the default; the request overrides it field by field', async () => {
    const workflow = codeWorkflow('Flaky with a default', FLAKY);
    workflow.nodes[0] = { ...workflow.nodes[0], settings: { retry: { maxAttempts: 2, backoffSeconds: 0 } } } as unknown as (typeof workflow.nodes)[0];
    const id = await create(workflow);
    const path = counter();
    const done = await waitForExecution(await execute(id, { inputs: { counter: path, fail: 1 } }), finished);
    expect(done).toMatchObject({ status: 'completed', attempt: 2, maxAttempts: 2 });

    const overridden = await waitForExecution(await execute(id, { inputs: { counter: counter(), fail: 1 }, retry: { maxAttempts: 1 } }), finished);
    expect(overridden).toMatchObject({ status: 'failed', attempt: 1, maxAttempts: 1 });
  });

  it('waits its backoff queued (by the clock), stops trying once cancelled, and a restart finds a waiting attempt again', async () => {
    const path = counter();
    const id = await execute(flaky, { inputs: { counter: path, fail: 1 }, retry: { maxAttempts: 3, backoffSeconds: 3600 } });
    const waiting = await waitForExecution(id, (e) => e.attempt === 2);
    expect(waiting).toMatchObject({ status: 'queued', attempt: 2, maxAttempts: 3, error: null });
    expect(waiting.attempts.map((a: any) => [a.attempt, a.status])).toEqual([
      [1, 'failed'],
      [2, 'queued'],
    ]);
    // The fake clock does not move: the next attempt may start exactly one backoff after the first ended.
    expect(Date.parse(waiting.nextAttemptAt) - Date.parse(waiting.attempts[0].completedAt)).toBe(3600_000);

    const cancelled = (await t.http.post(`/v1/executions/${id}/cancel`).set('Authorization', ADMIN_AUTH).expect(202)).body;
    expect(cancelled).toMatchObject({ status: 'cancelled', attempt: 2, error: { code: 'CANCELLED' }, nextAttemptAt: null });
    expect(cancelled.attempts.map((a: any) => a.status)).toEqual(['failed', 'cancelled']);

    // Another one waits for its backoff across a restart; once the clock has passed it, the new process runs it.
    const later = counter();
    const resumed = await execute(flaky, { inputs: { counter: later, fail: 1 }, retry: { maxAttempts: 2, backoffSeconds: 3600 } });
    await waitForExecution(resumed, (e) => e.attempt === 2 && e.status === 'queued');
    t.clock.advance(3600_000);
    await t.restart({ TENSORIFY_EXECUTION_CONCURRENCY: '4' });
    const done = await waitForExecution(resumed, finished);
    expect(done).toMatchObject({ status: 'completed', attempt: 2, output: { runs: 2 } });
    expect(runs(path)).toBe(1);
  });

  it('re-runs a finished execution as a new one with the same files and inputs', async () => {
    const path = counter();
    const first = await waitForExecution(await execute(flaky, { inputs: { counter: path, fail: 1 } }), finished);
    expect(first.status).toBe('failed');
    // The workflow changes after: a re-run runs what the first one ran.
    await t.http.put(`/v1/workflows/${flaky}`).set('Authorization', ADMIN_AUTH).send(codeWorkflow('Flaky', 'return {"changed": True}')).expect(200);

    const res = await t.http.post(`/v1/executions/${first.id}/rerun`).set('Authorization', ADMIN_AUTH).expect(202);
    expect(res.body).toEqual({ executionId: expect.stringMatching(/^exec_/), status: 'queued' });
    expect(res.headers.location).toBe(`/v1/executions/${res.body.executionId}`);
    expect(res.body.executionId).not.toBe(first.id);
    const rerun = await waitForExecution(res.body.executionId, finished);
    expect(rerun).toMatchObject({
      status: 'completed',
      output: { runs: 2 },
      trigger: { type: 'rerun', executionId: first.id },
      workflowVersion: first.workflowVersion,
    });
    const files = async (id: string) => (await t.http.get(`/v1/executions/${id}/files`).set('Authorization', ADMIN_AUTH).expect(200)).body.files;
    expect(await files(rerun.id)).toEqual(await files(first.id));

    const listed = await t.http.get('/v1/executions?trigger=rerun').set('Authorization', ADMIN_AUTH).expect(200);
    expect(listed.body.executions.map((e: any) => e.id)).toContain(rerun.id);
  });

  it('refuses to re-run an execution that has not finished (409), and an unknown one (404)', async () => {
    const sleeper = await create(codeWorkflow('Sleeper', SLEEPER));
    const id = await execute(sleeper, { inputs: { seconds: 60 } });
    await waitForExecution(id, (e) => e.status === 'running');
    const res = await t.http.post(`/v1/executions/${id}/rerun`).set('Authorization', ADMIN_AUTH).expect(409);
    expect(res.body.error).toMatchObject({ code: 'CONFLICT', details: { status: 'running' } });
    await t.http.post(`/v1/executions/${id}/cancel`).set('Authorization', ADMIN_AUTH).expect(202);
    await waitForExecution(id, finished);
    await t.http.post('/v1/executions/exec_0000000000000000/rerun').set('Authorization', ADMIN_AUTH).expect(404);
  });

  it.each([
    [{ maxAttempts: 0 }, 'retry.maxAttempts'],
    [{ maxAttempts: 11 }, 'retry.maxAttempts'],
    [{ maxAttempts: 2.5 }, 'retry.maxAttempts'],
    [{ backoffSeconds: -1 }, 'retry.backoffSeconds'],
    [{ backoffSeconds: 3601 }, 'retry.backoffSeconds'],
    [{ on: ['crashed'] }, 'retry.on'],
    [{ on: 'failed' }, 'retry.on'],
    [{ attempts: 3 }, 'retry.attempts'],
  ])('refuses retry %j with a 400 naming %s, and queues nothing', async (retry, field) => {
    const before = (await t.http.get('/v1/executions?limit=100').set('Authorization', ADMIN_AUTH).expect(200)).body.executions.length;
    const res = await t.http.post(`/v1/workflows/${flaky}/execute`).set('Authorization', ADMIN_AUTH).send({ retry }).expect(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(res.body.error.details.fields)).toContain(field);
    const after = (await t.http.get('/v1/executions?limit=100').set('Authorization', ADMIN_AUTH).expect(200)).body.executions.length;
    expect(after).toBe(before);
  });

  it('refuses a bad retry setting on the trigger node when the workflow is saved', async () => {
    const workflow = codeWorkflow('Bad default', FLAKY);
    workflow.nodes[0] = { ...workflow.nodes[0], settings: { retry: { maxAttempts: 20 } } } as unknown as (typeof workflow.nodes)[0];
    const res = await t.http.post('/v1/workflows').set('Authorization', ADMIN_AUTH).send(workflow);
    expect(res.status).toBe(400);
  });
});
