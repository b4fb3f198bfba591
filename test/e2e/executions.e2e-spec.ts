import { readFileSync } from 'node:fs';
import http from 'node:http';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { codeWorkflow, processAlive as alive, SLEEPER } from '../support/executions';
import { ADMIN_AUTH, startTestApp, useTestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

const EXAMPLES_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'examples');
const read = (file: string) => JSON.parse(readFileSync(resolve(EXAMPLES_DIR, file), 'utf8'));

interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Reads a whole SSE response (until the server ends it) into events. */
function readSse(baseUrl: string, path: string, headers: Record<string, string>): Promise<{ status: number; contentType: string; events: SseEvent[] }> {
  return new Promise((done, fail) => {
    const request = http.get(`${baseUrl}${path}`, { headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => {
        const events = text
          .split('\n\n')
          .filter((block) => block.trim() !== '' && !block.startsWith(':'))
          .map((block) => {
            const event: SseEvent = { data: '' };
            const data: string[] = [];
            for (const line of block.split('\n')) {
              const [field, ...rest] = line.split(': ');
              const value = rest.join(': ');
              if (field === 'id') event.id = value;
              else if (field === 'event') event.event = value;
              else if (field === 'data') data.push(value);
            }
            event.data = data.join('\n');
            return event;
          });
        done({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type']), events });
      });
    });
    request.on('error', fail);
  });
}

describe('Executions', () => {
  const t = useTestApp({ TENSORIFY_EXECUTION_CONCURRENCY: '8' });
  const auth = ADMIN_AUTH;
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = await t.listen();
  });

  async function create(body: object, as = auth): Promise<string> {
    return (await t.http.post('/v1/workflows').set('Authorization', as).send(body).expect(201)).body.id;
  }

  async function execute(workflowId: string, body: object = {}, as = auth): Promise<string> {
    const res = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', as).send(body);
    if (res.status !== 202) throw new Error(`execute answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.executionId;
  }

  async function getExecution(id: string, as = auth) {
    return (await t.http.get(`/v1/executions/${id}`).set('Authorization', as).expect(200)).body;
  }

  /** Polls until `predicate` holds for the execution. */
  function waitForExecution(id: string, predicate: (execution: Record<string, unknown>) => boolean, timeoutMs = 20_000, as = auth): Promise<any> {
    return waitFor(() => getExecution(id, as), predicate, { timeoutMs, what: `execution ${id}` });
  }

  const finished = (execution: Record<string, unknown>) => execution.status !== undefined && !['queued', 'running'].includes(execution.status as string);

  /** The two pids the SLEEPER printed, once it printed them. */
  async function pidsOf(id: string): Promise<[number, number]> {
    const execution = await waitForExecution(id, (e) => (e.logs as string[]).some((line) => line.startsWith('pids ')));
    const line = (execution.logs as string[]).find((entry) => entry.startsWith('pids '))!;
    const [, pid, child] = line.split(' ').map(Number);
    return [pid, child];
  }

  it.each(['hello', 'code-branch'])('runs the %s example to completed with its expected output', async (name) => {
    const workflowId = await create(read(`${name}.json`));
    const res = await t.http
      .post(`/v1/workflows/${workflowId}/execute`)
      .set('Authorization', auth)
      .send({ inputs: read(`${name}.inputs.json`) })
      .expect(202);
    expect(res.body).toEqual({ executionId: expect.stringMatching(/^exec_[A-Za-z0-9]{16}$/), status: 'queued' });
    expect(res.headers.location).toBe(`/v1/executions/${res.body.executionId}`);
    const execution = await waitForExecution(res.body.executionId, finished);
    expect(execution).toMatchObject({
      status: 'completed',
      output: read(`${name}.expected-output.json`),
      error: null,
      exitCode: 0,
      executor: 'local',
      workflowId,
      gpu: false,
    });
    expect(execution.logs).toContain('[node trigger] started');
    expect(Date.parse(execution.startedAt)).toBeLessThanOrEqual(Date.parse(execution.completedAt));
  });

  it('serves the files that ran, identical to an export of that version', async () => {
    const workflowId = await create(read('hello.json'));
    const id = await execute(workflowId, { inputs: { name: 'Ada' } });
    const exported = (await t.http.post(`/v1/workflows/${workflowId}/export`).set('Authorization', auth).expect(200)).body.files;
    const files = (await t.http.get(`/v1/executions/${id}/files`).set('Authorization', auth).expect(200)).body.files;
    expect(files).toEqual(exported);
  });

  it('ends failed with EXECUTION_FAILED and the last lines of the traceback when a code node raises', async () => {
    const workflowId = await create(codeWorkflow('Raises', 'raise ValueError("the numbers do not add up")'));
    const execution = await waitForExecution(await execute(workflowId), finished);
    expect(execution.status).toBe('failed');
    expect(execution.exitCode).toBe(1);
    expect(execution.error.code).toBe('EXECUTION_FAILED');
    expect(execution.error.message).toContain('ValueError: the numbers do not add up');
    expect(execution.error.message.trimEnd().split('\n').pop()).toBe('Node "step" failed: ValueError: the numbers do not add up');
    expect(execution.output).toBeNull();
  });

  it('cancels a running execution: cancelled long before the program would end, the program and its grandchild gone', async () => {
    const workflowId = await create(codeWorkflow('Sleeper', SLEEPER));
    const id = await execute(workflowId);
    const [pid, grandchild] = await pidsOf(id);
    expect(alive(pid) && alive(grandchild)).toBe(true);
    // The executor's id of the run is there while it runs: the local executor's is the program's process group.
    const pgid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[2]);
    expect(await getExecution(id)).toMatchObject({ status: 'running', externalId: String(pgid) });
    const started = Date.now();
    const res = await t.http.post(`/v1/executions/${id}/cancel`).set('Authorization', auth).expect(202);
    expect(['running', 'cancelled']).toContain(res.body.status);
    // The program sleeps 60 s: ending far sooner means the cancel stopped it. Not a latency bound
    // (it takes well under a second on an idle machine, over 2 s on a loaded one).
    const execution = await waitForExecution(id, finished, 30_000);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(execution).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    expect(alive(pid)).toBe(false);
    expect(alive(grandchild)).toBe(false);
  });

  it('ends timed_out at its timeoutSeconds with the process tree gone', async () => {
    const workflowId = await create(codeWorkflow('Slow', SLEEPER));
    const id = await execute(workflowId, { timeoutSeconds: 1 });
    const [pid, grandchild] = await pidsOf(id);
    const execution = await waitForExecution(id, finished, 6_000);
    expect(execution).toMatchObject({ status: 'timed_out', error: { code: 'TIMED_OUT' } });
    expect(alive(pid) || alive(grandchild)).toBe(false);
  });

  it('refuses to cancel a finished execution with 409 CONFLICT', async () => {
    const workflowId = await create(read('hello.json'));
    const id = await execute(workflowId, { inputs: { name: 'Ada' } });
    await waitForExecution(id, finished);
    const res = await t.http.post(`/v1/executions/${id}/cancel`).set('Authorization', auth).expect(409);
    expect(res.body.error).toMatchObject({ code: 'CONFLICT', details: { status: 'completed' } });
  });

  it('refuses a timeoutSeconds above the configured maximum, and a GPU run when no executor has a GPU', async () => {
    const workflowId = await create(read('hello.json'));
    const tooLong = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).send({ timeoutSeconds: 999_999 }).expect(400);
    expect(tooLong.body.error.code).toBe('VALIDATION_ERROR');
    const gpu = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).send({ gpu: true }).expect(400);
    expect(gpu.body.error.code).toBe('GPU_UNAVAILABLE');
    const unknown = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).send({ executor: 'mainframe' }).expect(400);
    expect(unknown.body.error.code).toBe('VALIDATION_ERROR');
    const list = (await t.http.get(`/v1/executions?workflowId=${workflowId}`).set('Authorization', auth).expect(200)).body;
    expect(list.executions).toEqual([]);
  });

  it("keeps a child from seeing the server's secrets in its environment", async () => {
    // The server's own environment holds them (as in production), not only its config.
    const secrets = { TENSORIFY_BOOTSTRAP_API_KEY: t.adminKey, TENSORIFY_DATABASE_URL: 'postgres://app:secret@db/prod', TENSORIFY_DATA_DIR: t.dataDir };
    const saved = Object.fromEntries(Object.keys(secrets).map((name) => [name, process.env[name]]));
    Object.assign(process.env, secrets);
    const workflowId = await create(codeWorkflow('Env', 'import os\nreturn {"names": sorted(os.environ), "values": list(os.environ.values())}'));
    let execution: Record<string, any>;
    try {
      execution = await waitForExecution(await execute(workflowId), finished);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    expect(execution.output.values.join('\n')).not.toContain(t.adminKey);
    expect(execution.output.values.join('\n')).not.toContain('postgres://app:secret');
    expect(execution.status).toBe('completed');
    const names: string[] = execution.output.names;
    expect(names).not.toContain('TENSORIFY_BOOTSTRAP_API_KEY');
    expect(names).not.toContain('TENSORIFY_DATABASE_URL');
    expect(names).not.toContain('TENSORIFY_DATA_DIR');
    expect(names).toEqual(expect.arrayContaining(['PATH', 'HOME', 'TENSORIFY_EXECUTION_ID']));
  });

  describe('Idempotency-Key', () => {
    it('answers the same request with the same execution, marked replayed', async () => {
      const workflowId = await create(read('hello.json'));
      const send = () =>
        t.http
          .post(`/v1/workflows/${workflowId}/execute`)
          .set('Authorization', auth)
          .set('Idempotency-Key', `same-${workflowId}`)
          .send({ inputs: { name: 'Ada' } });
      const first = await send().expect(202);
      const again = await send().expect(202);
      expect(again.body.executionId).toBe(first.body.executionId);
      expect(again.headers['idempotency-replayed']).toBe('true');
      expect(first.headers['idempotency-replayed']).toBeUndefined();
      // Once the run has finished, a replay still answers as the first request did (the contract's `queued` or `running`).
      await waitForExecution(first.body.executionId, finished, 20_000);
      const late = await send().expect(202);
      expect(late.body).toEqual({ executionId: first.body.executionId, status: 'queued' });
      expect(late.headers.location).toBe(`/v1/executions/${first.body.executionId}`);
    });

    it('refuses the key with another body: 409 naming the execution it made', async () => {
      const workflowId = await create(read('hello.json'));
      const key = `other-${workflowId}`;
      const first = await t.http
        .post(`/v1/workflows/${workflowId}/execute`)
        .set('Authorization', auth)
        .set('Idempotency-Key', key)
        .send({ inputs: { name: 'Ada' } })
        .expect(202);
      const res = await t.http
        .post(`/v1/workflows/${workflowId}/execute`)
        .set('Authorization', auth)
        .set('Idempotency-Key', key)
        .send({ inputs: { name: 'Grace' } })
        .expect(409);
      expect(res.body.error).toMatchObject({ code: 'CONFLICT', details: { executionId: first.body.executionId } });
    });

    it('frees the key after 24 hours', async () => {
      const workflowId = await create(read('hello.json'));
      const send = () => t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).set('Idempotency-Key', `day-${workflowId}`).send({});
      const first = await send().expect(202);
      t.clock.advance(24 * 60 * 60 * 1000);
      const later = await send().expect(202);
      expect(later.body.executionId).not.toBe(first.body.executionId);
    });

    it('refuses a key that is not printable ASCII', async () => {
      const workflowId = await create(read('hello.json'));
      const res = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).set('Idempotency-Key', ' ').send({}).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    });
  });

  describe('GET /v1/executions', () => {
    it('lists newest first, filtered by workflow and status, with a cursor', async () => {
      const workspace = await t.createWorkspace('enterprise');
      const own = t.bearer((await t.createKey(workspace)).key);
      const hello = await create(read('hello.json'), own);
      const other = await create(read('code-branch.json'), own);
      const ids = [
        await execute(hello, { inputs: { name: 'a' } }, own),
        await execute(hello, { inputs: { name: 'b' } }, own),
        await execute(other, { inputs: { numbers: [1] } }, own),
      ];
      for (const id of ids) await waitForExecution(id, finished, 20_000, own);
      const all = (await t.http.get('/v1/executions?limit=2').set('Authorization', own).expect(200)).body;
      expect(all.executions).toHaveLength(2);
      const rest = (await t.http.get(`/v1/executions?limit=2&cursor=${all.nextCursor}`).set('Authorization', own).expect(200)).body;
      expect([...all.executions, ...rest.executions].map((e: { id: string }) => e.id).sort()).toEqual([...ids].sort());
      expect(rest.nextCursor).toBeNull();
      const ofHello = (await t.http.get(`/v1/executions?workflowId=${hello}&status=completed`).set('Authorization', own).expect(200)).body;
      expect(ofHello.executions.map((e: { id: string }) => e.id).sort()).toEqual(ids.slice(0, 2).sort());
      const bad = await t.http.get('/v1/executions?status=done').set('Authorization', own).expect(400);
      expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    });

    it('records what started each execution: a request to execute is an api trigger, and the list filters on it', async () => {
      const workspace = await t.createWorkspace('enterprise');
      const own = t.bearer((await t.createKey(workspace)).key);
      const id = await execute(await create(read('hello.json'), own), { inputs: { name: 'a' } }, own);
      expect((await t.http.get(`/v1/executions/${id}`).set('Authorization', own).expect(200)).body.trigger).toEqual({ type: 'api' });
      const api = (await t.http.get('/v1/executions?trigger=api').set('Authorization', own).expect(200)).body;
      expect(api.executions.map((e: { id: string; trigger: unknown }) => [e.id, e.trigger])).toEqual([[id, { type: 'api' }]]);
      expect((await t.http.get('/v1/executions?trigger=schedule').set('Authorization', own).expect(200)).body.executions).toEqual([]);
      const bad = await t.http.get('/v1/executions?trigger=cron').set('Authorization', own).expect(400);
      expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    });

    it("answers another workspace's execution as not found", async () => {
      const workflowId = await create(read('hello.json'));
      const id = await execute(workflowId, { inputs: { name: 'Ada' } });
      const stranger = t.bearer((await t.createKey(await t.createWorkspace('enterprise'))).key);
      for (const path of [`/v1/executions/${id}`, `/v1/executions/${id}/files`, `/v1/executions/${id}/logs`]) {
        const res = await t.http.get(path).set('Authorization', stranger).expect(404);
        expect(res.body.error).toMatchObject({ code: 'EXECUTION_NOT_FOUND', message: `Execution ${id} not found` });
      }
      await t.http.post(`/v1/executions/${id}/cancel`).set('Authorization', stranger).expect(404);
    });
  });

  describe('GET /v1/executions/:id/logs (Server-Sent Events)', () => {
    const COUNTER = 'for index in range(30):\n    print("line", index, flush=True)\nreturn {"done": True}';

    it('streams every line with its index, then an end event, for a finished execution', async () => {
      const workflowId = await create(codeWorkflow('Counter', COUNTER));
      const id = await execute(workflowId);
      const execution = await waitForExecution(id, finished);
      const { status, contentType, events } = await readSse(baseUrl, `/v1/executions/${id}/logs`, { Authorization: auth });
      expect(status).toBe(200);
      expect(contentType).toBe('text/event-stream; charset=utf-8');
      const lines = events.filter((event) => event.event === undefined);
      expect(lines.map((event) => event.data)).toEqual(execution.logs);
      expect(lines.map((event) => Number(event.id))).toEqual(lines.map((_, index) => index));
      expect(events[events.length - 1]).toEqual({ event: 'end', data: '{"status":"completed"}' });
    });

    it('resumes after Last-Event-ID without gaps or repeats', async () => {
      const workflowId = await create(codeWorkflow('Counter', COUNTER));
      const id = await execute(workflowId);
      const execution = await waitForExecution(id, finished);
      const { events } = await readSse(baseUrl, `/v1/executions/${id}/logs`, { Authorization: auth, 'Last-Event-ID': '9' });
      const lines = events.filter((event) => event.event === undefined);
      expect(lines[0].id).toBe('10');
      expect(lines.map((event) => event.data)).toEqual(execution.logs.slice(10));
    });

    it('follows a running execution live until it ends', async () => {
      const body = 'import time\nfor index in range(5):\n    print("tick", index, flush=True)\n    time.sleep(0.1)\nreturn {}';
      const workflowId = await create(codeWorkflow('Ticker', body));
      const id = await execute(workflowId);
      const { events } = await readSse(baseUrl, `/v1/executions/${id}/logs`, { Authorization: auth });
      const data = events.filter((event) => event.event === undefined).map((event) => event.data);
      expect(data.filter((line) => line.startsWith('tick'))).toEqual(['tick 0', 'tick 1', 'tick 2', 'tick 3', 'tick 4']);
      expect(events[events.length - 1]).toEqual({ event: 'end', data: '{"status":"completed"}' });
      expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
    });
  });

  describe('concurrency per plan', () => {
    it('runs at most 2 executions of a free workspace at once; the others wait queued', async () => {
      const workspace = await t.createWorkspace('free');
      const own = t.bearer((await t.createKey(workspace)).key);
      const workflowId = await create(codeWorkflow('Nap', 'import time\ntime.sleep(0.6)\nreturn {}'), own);
      const ids = [await execute(workflowId, {}, own), await execute(workflowId, {}, own), await execute(workflowId, {}, own)];
      // Polled in the database: the free plan's 60 requests a minute would not last.
      const db = t.app.get(DataSource);
      const statusesOf = async () => {
        const rows: { id: string; status: string }[] = await db.query(`SELECT id, status FROM executions WHERE workflow_id = '${workflowId}'`);
        return ids.map((id) => rows.find((row) => row.id === id)!.status);
      };
      let most = 0;
      for (let polls = 0; polls < 400; polls++) {
        const statuses = await statusesOf();
        most = Math.max(most, statuses.filter((status) => status === 'running').length);
        if (statuses.every((status) => status === 'completed')) break;
        await new Promise((done) => setTimeout(done, 20));
      }
      expect(most).toBe(2);
      expect(await statusesOf()).toEqual(['completed', 'completed', 'completed']);
    });
  });

  it('keeps at most TENSORIFY_EXECUTION_LOG_LINES lines, the last saying the log was cut, and the run goes on', async () => {
    const capped = await startTestApp({ TENSORIFY_EXECUTION_LOG_LINES: '10' });
    try {
      const as = capped.bearer(capped.adminKey);
      const workflowId = (
        await capped.http
          .post('/v1/workflows')
          .set('Authorization', as)
          .send(codeWorkflow('Chatty', 'for index in range(50):\n    print(index)\nreturn {"printed": 50}'))
          .expect(201)
      ).body.id;
      const id = (await capped.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', as).send({}).expect(202)).body.executionId;
      let execution: Record<string, any> = {};
      for (let polls = 0; polls < 400 && !finished(execution); polls++) {
        execution = (await capped.http.get(`/v1/executions/${id}`).set('Authorization', as).expect(200)).body;
        await new Promise((done) => setTimeout(done, 25));
      }
      expect(execution).toMatchObject({ status: 'completed', output: { printed: 50 } });
      expect(execution.logs).toHaveLength(10);
      expect(execution.logs[9]).toBe('[tensorify] log cut: only the first 9 lines of this execution are kept');
    } finally {
      await capped.close();
    }
  });

  it('lists the local executor, healthy, in GET /v1/executors', async () => {
    const res = await t.http.get('/v1/executors').set('Authorization', auth).expect(200);
    expect(res.body.executors).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'local', healthy: true, gpu: false })]));
  });
});
