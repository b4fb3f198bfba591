import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { Scheduler } from '../../src/schedules/scheduler';
import { parsePrometheusText, valueOf } from '../support/prometheus';
import { ADMIN_AUTH, useTestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';
import { MINIMAL_WORKFLOW } from '../support/workflows';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A callback receiver on 127.0.0.1: answers each request with the next status of `statuses`, then 200. */
class Receiver {
  readonly received: Received[] = [];
  statuses: number[] = [];
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = this.statuses.shift() ?? 200;
        if (res.statusCode >= 300 && res.statusCode < 400) res.setHeader('Location', '/elsewhere');
        res.end('ok');
      });
    });
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/callback`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((done) => this.server?.close(() => done()));
  }
}

interface CallbacksBody {
  executionId: string;
  callbackUrl: string | null;
  delivery: { url: string; status: string; attempts: number; nextAttemptAt: string | null; completedAt: string | null } | null;
  attempts: { attempt: number; startedAt: string; durationMs: number; statusCode: number | null; error: string | null; outcome: string }[];
}

/** The receiver's check, as the README tells it: HMAC-SHA256 of "<t>.<body>" with the secret. */
function verify(header: string, body: string, secret: string): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=') as [string, string]));
  return parts.v1 === createHmac('sha256', secret).update(`${parts.t}.${body}`).digest('hex');
}

describe('Completion callbacks (deliveries to 127.0.0.1, TENSORIFY_CALLBACK_ALLOW_PRIVATE=true)', () => {
  const env = { TENSORIFY_CALLBACK_ALLOW_PRIVATE: 'true' };
  const t = useTestApp(env);
  const receiver = new Receiver();
  let url: string;
  let workflowId: string;
  let workspaceId: string;

  beforeAll(async () => {
    url = await receiver.start();
    workflowId = (await t.http.post('/v1/workflows').set('Authorization', ADMIN_AUTH).send(MINIMAL_WORKFLOW).expect(201)).body.id as string;
    workspaceId = (await t.http.get('/v1/me').set('Authorization', ADMIN_AUTH).expect(200)).body.workspace.id as string;
  });
  afterAll(() => receiver.stop());
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.statuses = [];
  });

  async function execute(callbackUrl: string): Promise<string> {
    const res = await t.http
      .post(`/v1/workflows/${workflowId}/execute`)
      .set('Authorization', ADMIN_AUTH)
      .send({ inputs: { name: 'Ada' }, callbackUrl })
      .expect(202);
    return res.body.executionId as string;
  }

  const callbacks = async (id: string) =>
    (await t.http.get(`/v1/executions/${id}/callbacks`).set('Authorization', ADMIN_AUTH).expect(200)).body as CallbacksBody;

  const rotate = async () =>
    (await t.http.post(`/v1/workspaces/${workspaceId}/signing-secret/rotate`).set('Authorization', ADMIN_AUTH).expect(200)).body as { secret: string };

  it('POSTs execution.finished, signed with the workspace secret, with the GET shape of the execution without logs', async () => {
    const { secret } = await rotate();
    const id = await execute(url);
    await waitFor(
      () => receiver.received.length,
      (n) => n >= 1,
      { what: 'the callback' },
    );
    const [delivery] = receiver.received;
    expect(delivery.headers['content-type']).toBe('application/json');
    const signature = delivery.headers['tensorify-signature'] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(signature.startsWith(`t=${Math.floor(t.clock.now() / 1000)},`)).toBe(true);
    expect(verify(signature, delivery.body, secret)).toBe(true);
    expect(verify(signature, delivery.body, `${secret}x`)).toBe(false);

    const { logs, ...execution } = (await t.http.get(`/v1/executions/${id}`).set('Authorization', ADMIN_AUTH).expect(200)).body as Record<string, unknown>;
    expect(logs).toBeDefined();
    expect(JSON.parse(delivery.body)).toEqual({ type: 'execution.finished', execution });
    expect(execution).toMatchObject({ status: 'completed', output: { result: 'Ada' } });

    const listed = await waitFor(
      () => callbacks(id),
      (body) => body.delivery?.status === 'delivered',
      { what: 'the delivery' },
    );
    expect(listed).toMatchObject({ executionId: id, callbackUrl: url, delivery: { url, status: 'delivered', attempts: 1, nextAttemptAt: null } });
    expect(listed.attempts).toEqual([expect.objectContaining({ attempt: 1, statusCode: 200, error: null, outcome: 'delivered' })]);
    expect(receiver.received).toHaveLength(1);
  });

  it('retries a receiver that fails twice, 5 s then 10 s later by the clock, then records the 2xx', async () => {
    receiver.statuses = [500, 503];
    const id = await execute(url);
    const rescheduled = (attempts: number) => (body: CallbacksBody) =>
      body.attempts.length === attempts && body.delivery?.nextAttemptAt != null && Date.parse(body.delivery.nextAttemptAt) > t.clock.now();
    const first = await waitFor(() => callbacks(id), rescheduled(1), { what: 'the first attempt' });
    expect(first.delivery).toMatchObject({ status: 'pending', attempts: 1 });
    expect(first.attempts[0]).toMatchObject({ statusCode: 500, outcome: 'failed', error: 'The receiver answered 500' });
    expect(Date.parse(first.delivery!.nextAttemptAt!) - t.clock.now()).toBe(5_000);

    t.clock.advance(5_000);
    const second = await waitFor(() => callbacks(id), rescheduled(2), { what: 'the second attempt' });
    expect(second.attempts[1]).toMatchObject({ attempt: 2, statusCode: 503, outcome: 'failed' });
    expect(Date.parse(second.delivery!.nextAttemptAt!) - t.clock.now()).toBe(10_000);

    t.clock.advance(10_000);
    const third = await waitFor(
      () => callbacks(id),
      (body) => body.delivery?.status === 'delivered',
      { what: 'the delivery' },
    );
    expect(third.attempts.map((attempt) => [attempt.attempt, attempt.statusCode, attempt.outcome])).toEqual([
      [1, 500, 'failed'],
      [2, 503, 'failed'],
      [3, 200, 'delivered'],
    ]);
    expect(receiver.received.filter((r) => r.headers['tensorify-delivery'] === id)).toHaveLength(3);

    const metrics = parsePrometheusText((await t.http.get('/metrics').set('Authorization', ADMIN_AUTH).expect(200)).text);
    expect(valueOf(metrics, 'tensorify_callbacks_total', { outcome: 'retrying' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(metrics, 'tensorify_callbacks_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
  });

  it('delivers after a restart what was pending, and what a crashed process held, once its lease ran out', async () => {
    receiver.statuses = [500];
    const id = await execute(url);
    await waitFor(
      () => callbacks(id),
      (body) => body.attempts.length === 1 && body.delivery?.nextAttemptAt != null,
      { what: 'the first attempt' },
    );
    await t.restart(env);
    t.clock.advance(5_000);
    await waitFor(
      () => callbacks(id),
      (body) => body.delivery?.status === 'delivered',
      { what: 'the delivery after the restart' },
    );
    expect(receiver.received.filter((r) => r.headers['tensorify-delivery'] === id)).toHaveLength(2);

    // A process that died while sending: its lease holds the row for a minute, then another process takes it.
    receiver.received.length = 0;
    receiver.statuses = [500];
    const held = await execute(url);
    await waitFor(
      () => callbacks(held),
      (body) => body.attempts.length === 1 && Date.parse(body.delivery?.nextAttemptAt ?? '0') > t.clock.now(),
      {
        what: 'the first attempt',
      },
    );
    const leaseUntil = new Date(t.clock.now() + 60_000).toISOString();
    await t.app
      .get(DataSource)
      .query(
        `UPDATE callback_deliveries SET lease_until = '${leaseUntil}', next_attempt_at = '${new Date(t.clock.now()).toISOString()}' WHERE execution_id = '${held}'`,
      );
    await t.restart(env);
    expect((await callbacks(held)).delivery?.status).toBe('pending');
    const sentFor = (executionId: string) => receiver.received.filter((r) => r.headers['tensorify-delivery'] === executionId).length;
    expect(sentFor(held)).toBe(1);
    t.clock.advance(60_000);
    await waitFor(
      () => callbacks(held),
      (body) => body.delivery?.status === 'delivered',
      { what: 'the delivery once the lease ran out' },
    );
    expect(sentFor(held)).toBe(2);
  });

  it('rotates the signing secret: a new one each time, only for an admin key, 404 for an unknown workspace', async () => {
    const a = await rotate();
    const b = await rotate();
    expect(a.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(b.secret).not.toBe(a.secret);
    const id = await execute(url);
    await waitFor(
      () => receiver.received.length,
      (n) => n >= 1,
      { what: 'the callback' },
    );
    const [delivery] = receiver.received;
    expect(verify(delivery.headers['tensorify-signature'] as string, delivery.body, b.secret)).toBe(true);
    expect(verify(delivery.headers['tensorify-signature'] as string, delivery.body, a.secret)).toBe(false);
    await waitFor(
      () => callbacks(id),
      (body) => body.delivery?.status === 'delivered',
      { what: 'the delivery' },
    );

    const reader = await t.http
      .post('/v1/api-keys')
      .set('Authorization', ADMIN_AUTH)
      .send({ name: 'reader', scopes: ['executions:read'] })
      .expect(201);
    await t.http
      .post(`/v1/workspaces/${workspaceId}/signing-secret/rotate`)
      .set('Authorization', `Bearer ${reader.body.key as string}`)
      .expect(403);
    const missing = await t.http.post('/v1/workspaces/ws_0000000000000000/signing-secret/rotate').set('Authorization', ADMIN_AUTH).expect(404);
    expect(missing.body.error.code).toBe('WORKSPACE_NOT_FOUND');
  });

  it("takes the trigger node's callbackUrl setting (manual, webhook, schedule) when the request gives none; the request's wins", async () => {
    const trigger = (type: string, settings: Record<string, unknown>) => ({
      name: `callback from ${type}`,
      nodes: [
        { id: 'trigger', type, settings },
        { id: 'out', type: 'return', settings: { value: { ok: true } } },
      ],
      edges: [{ source: 'trigger', target: 'out' }],
    });
    const sentTo = (executionId: string) => receiver.received.filter((r) => r.headers['tensorify-delivery'] === executionId);

    const manual = (
      await t.http
        .post('/v1/workflows')
        .set('Authorization', ADMIN_AUTH)
        .send(trigger('manual', { callbackUrl: `${url}?from=node` }))
        .expect(201)
    ).body.id as string;
    const fromNode = (await t.http.post(`/v1/workflows/${manual}/execute`).set('Authorization', ADMIN_AUTH).send({}).expect(202)).body.executionId as string;
    const fromRequest = (
      await t.http
        .post(`/v1/workflows/${manual}/execute`)
        .set('Authorization', ADMIN_AUTH)
        .send({ callbackUrl: `${url}?from=request` })
        .expect(202)
    ).body.executionId as string;
    await waitFor(
      () => Promise.all([callbacks(fromNode), callbacks(fromRequest)]),
      (both) => both.every((body) => body.delivery?.status === 'delivered'),
      {
        what: 'both deliveries',
      },
    );
    expect((await callbacks(fromNode)).callbackUrl).toBe(`${url}?from=node`);
    expect((await callbacks(fromRequest)).callbackUrl).toBe(`${url}?from=request`);
    expect(sentTo(fromNode)).toHaveLength(1);

    const hooked = (
      await t.http
        .post('/v1/workflows')
        .set('Authorization', ADMIN_AUTH)
        .send(trigger('webhook', { signature: 'none', callbackUrl: url }))
        .expect(201)
    ).body as { webhook: { hookId: string } };
    const delivered = await t.http.post(`/v1/hooks/${hooked.webhook.hookId}`).set('Content-Type', 'application/json').send('{"a":1}').expect(202);
    const hookRun = delivered.body.executionId as string;
    await waitFor(
      () => callbacks(hookRun),
      (body) => body.delivery?.status === 'delivered',
      { what: 'the webhook run callback' },
    );
    expect(JSON.parse(sentTo(hookRun)[0].body)).toMatchObject({ type: 'execution.finished', execution: { id: hookRun, trigger: { type: 'webhook' } } });

    const scheduled = (
      await t.http
        .post('/v1/workflows')
        .set('Authorization', ADMIN_AUTH)
        .send(trigger('schedule', { cron: '* * * * *', callbackUrl: url }))
        .expect(201)
    ).body.id as string;
    t.clock.advance(60_000);
    await t.app.get(Scheduler).tick();
    const fired = await waitFor(
      async () => (await t.http.get(`/v1/executions?workflowId=${scheduled}`).set('Authorization', ADMIN_AUTH).expect(200)).body.executions as { id: string }[],
      (runs) => runs.length >= 1,
      { what: 'the scheduled run' },
    );
    await t.http.delete(`/v1/workflows/${scheduled}`).set('Authorization', ADMIN_AUTH).expect(204);
    await waitFor(
      () => callbacks(fired[0].id),
      (body) => body.delivery?.status === 'delivered',
      { what: 'the scheduled run callback' },
    );
    expect(JSON.parse(sentTo(fired[0].id)[0].body)).toMatchObject({ execution: { trigger: { type: 'schedule' } } });

    const refused = await t.http
      .post('/v1/workflows')
      .set('Authorization', ADMIN_AUTH)
      .send(trigger('manual', { callbackUrl: 'ftp://example.com/' }))
      .expect(400);
    expect(JSON.stringify(refused.body.error)).toContain('callbackUrl');
  });

  it('does not follow a redirect: a 3xx is a failed attempt, retried at the same URL', async () => {
    receiver.statuses = [302];
    const id = await execute(url);
    const first = await waitFor(
      () => callbacks(id),
      (body) => body.attempts.length === 1 && Date.parse(body.delivery?.nextAttemptAt ?? '0') > t.clock.now(),
      {
        what: 'the first attempt',
      },
    );
    expect(first.attempts[0]).toMatchObject({ statusCode: 302, outcome: 'failed' });
    t.clock.advance(5_000);
    await waitFor(
      () => callbacks(id),
      (body) => body.delivery?.status === 'delivered',
      { what: 'the delivery' },
    );
    const sent = receiver.received.filter((r) => r.headers['tensorify-delivery'] === id);
    expect(sent).toHaveLength(2);
    expect(receiver.received.every((r) => r.headers['tensorify-delivery'] !== undefined)).toBe(true);
  });

  it('lists no delivery for an execution without a callback', async () => {
    const res = await t.http
      .post(`/v1/workflows/${workflowId}/execute`)
      .set('Authorization', ADMIN_AUTH)
      .send({ inputs: { name: 'Ada' } })
      .expect(202);
    const id = res.body.executionId as string;
    await waitFor(
      async () => (await t.http.get(`/v1/executions/${id}`).set('Authorization', ADMIN_AUTH)).body.status as string,
      (status) => status === 'completed',
    );
    expect(await callbacks(id)).toEqual({ executionId: id, callbackUrl: null, delivery: null, attempts: [] });
  });
});

describe('Completion callbacks: server-side request forgery (TENSORIFY_CALLBACK_ALLOW_PRIVATE unset)', () => {
  const t = useTestApp();
  let workflowId: string;

  beforeAll(async () => {
    workflowId = (await t.http.post('/v1/workflows').set('Authorization', ADMIN_AUTH).send(MINIMAL_WORKFLOW).expect(201)).body.id as string;
  });

  it.each([
    ['loopback', 'http://127.0.0.1:8080/callback', 'loopback'],
    ['loopback by name', 'http://localhost/callback', 'loopback'],
    ['IPv6 loopback', 'http://[::1]/callback', 'loopback'],
    ['private 10/8', 'http://10.1.2.3/callback', 'private'],
    ['private 192.168/16', 'https://192.168.0.10/callback', 'private'],
    ['link-local', 'http://169.254.10.20/', 'linkLocal'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['IPv4-mapped IPv6', 'http://[::ffff:10.0.0.1]/', 'private'],
    ['unspecified', 'http://0.0.0.0/', 'unspecified'],
    ['not http', 'ftp://example.com/callback', 'must be an http or https URL'],
    ['not a URL', 'example.com/callback', 'must be an absolute http(s) URL'],
  ])('refuses %s with 400 VALIDATION_ERROR naming callbackUrl, and queues nothing', async (_what, callbackUrl, why) => {
    const before = (await t.http.get(`/v1/executions?workflowId=${workflowId}`).set('Authorization', ADMIN_AUTH).expect(200)).body.executions.length as number;
    const res = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', ADMIN_AUTH).send({ callbackUrl }).expect(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body.error.message).toContain('callbackUrl');
    expect(res.body.error.details.fields.callbackUrl[0]).toContain(why);
    const after = (await t.http.get(`/v1/executions?workflowId=${workflowId}`).set('Authorization', ADMIN_AUTH).expect(200)).body.executions.length as number;
    expect(after).toBe(before);
  });
});
