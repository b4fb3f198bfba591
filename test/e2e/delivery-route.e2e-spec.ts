import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request, { type Response } from 'supertest';
import { createApp, initApp } from '../../src/app.factory';
import { ScopesGuard } from '../../src/auth/scopes.guard';
import { loadConfig } from '../../src/config/config';
import { FakeClock } from '../support/fake-clock';
import { checkResponsesAgainstContract } from '../support/openapi-responses';
import { ADMIN_AUTH, TEST_ADMIN_KEY } from '../support/test-app';

const AUTH_FAILURES_PER_MINUTE = 4;
/** Headers that differ between any two responses, whatever served them. */
const VARYING_HEADERS = ['date', 'x-request-id'];

type Path = 'direct' | 'nest';
interface Hook {
  hookId: string;
  secret: string;
}
/** The hooks of one app: made by the same requests on each, but with ids and secrets of their own. */
interface Hooks {
  ack: Hook;
  wait: Hook;
  limited: Hook;
}
interface Served {
  app: NestFastifyApplication;
  clock: FakeClock;
  hooks: Hooks;
  dataDir: string;
  guard: jest.SpyInstance;
}

const hmac = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('hex');

const workflow = (settings: Record<string, unknown>) => ({
  name: 'Echo',
  nodes: [
    { id: 'trigger', type: 'webhook', settings },
    { id: 'out', type: 'return', settings: { value: { event: '{{ trigger.body.event }}', method: '{{ trigger.method }}' } } },
  ],
  edges: [{ source: 'trigger', target: 'out' }],
});

/**
 * `/v1/hooks/:hookId` has two paths: the Fastify handler of src/webhooks/delivery-route.ts and
 * Nest's controller → filter (`directHookDeliveries: false`). Two apps, each with its own data
 * directory, fake clock and counters, are given the same fixtures and then the same requests in the
 * same order: every answer must be the same, byte for byte (status, headers but Date and
 * X-Request-Id, body), once each app's own ids (hooks, executions, request ids) are read as
 * placeholders; and so must their metrics. The scope guard's calls show which path answered.
 */
describe('/v1/hooks/:hookId: the direct handler answers as Nest does', () => {
  const served = {} as Record<Path, Served>;

  async function boot(path: Path): Promise<Served> {
    const dataDir = mkdtempSync(join(tmpdir(), `tensorify-delivery-route-${path}-`));
    const config = loadConfig({
      TENSORIFY_DATA_DIR: dataDir,
      TENSORIFY_LOG_LEVEL: 'silent',
      TENSORIFY_BOOTSTRAP_API_KEY: TEST_ADMIN_KEY,
      TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES_PER_MINUTE),
      TENSORIFY_BODY_LIMIT: '1kb',
    });
    const clock = new FakeClock();
    const app = await initApp(
      checkResponsesAgainstContract(await createApp({ config, clock, databaseRetryAttempts: 0, directHookDeliveries: path === 'direct' })),
    );
    const admin = request(app.getHttpServer());
    const hookOf = async (body: object, auth = ADMIN_AUTH) =>
      (await admin.post('/v1/workflows').set('Authorization', auth).send(body).expect(201)).body.webhook as Hook;
    const limitedWorkspace = (
      await admin.post('/v1/workspaces').set('Authorization', ADMIN_AUTH).send({ name: 'limited', plan: 'enterprise', rateLimitPerMinute: 3 }).expect(201)
    ).body.id as string;
    const limitedKey = (
      await admin
        .post('/v1/api-keys')
        .set('Authorization', ADMIN_AUTH)
        .send({ name: 'limited', workspaceId: limitedWorkspace, scopes: ['workflows:write'] })
        .expect(201)
    ).body.key as string;
    const hooks: Hooks = {
      ack: await hookOf(workflow({ methods: ['POST', 'PUT'] })),
      wait: await hookOf(workflow({ responseMode: 'wait', waitSeconds: 60 })),
      limited: await hookOf(workflow({}), `Bearer ${limitedKey}`),
    };
    // The fixtures' requests counted: both apps start the comparison in a new rate-limit window.
    clock.advance(60_000);
    return { app, clock, hooks, dataDir, guard: jest.spyOn(app.get(ScopesGuard), 'canActivate') };
  }

  beforeAll(async () => {
    served.direct = await boot('direct');
    served.nest = await boot('nest');
  }, 120_000); // two apps boot: on a busy machine, more than the default 30 s

  afterAll(async () => {
    for (const { app, dataDir } of Object.values(served)) {
      await app?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  /** What a client can observe of a response, but what varies between any two apps. */
  function observed(res: Response, hooks: Hooks) {
    const requestId = String(res.headers['x-request-id']);
    expect(requestId).toMatch(/^\S+$/);
    const placeholders = (text: string) => {
      let replaced = text
        .split(requestId)
        .join('<request id>')
        .replace(/exec_[0-9A-Za-z]+/g, '<execution id>')
        .replace(/ws_[0-9A-Za-z]+/g, '<workspace id>');
      for (const [name, hook] of Object.entries(hooks)) replaced = replaced.split(hook.hookId).join(`<${name} hook>`);
      return replaced;
    };
    const headers = Object.fromEntries(
      Object.entries(res.headers)
        .filter(([name]) => !VARYING_HEADERS.includes(name))
        .map(([name, value]) => [name, placeholders(String(value))]),
    );
    return { status: res.status, headers, body: placeholders(res.text ?? '') };
  }

  type Send = (agent: ReturnType<typeof request>, hooks: Hooks, unixSeconds: number) => request.Test;

  /** Sends the same request to both apps and expects the same answer; returns the direct one, and whether each passed Nest's guard. */
  async function same(send: Send): Promise<{ res: Response; throughNest: Record<Path, boolean> }> {
    const answers = {} as Record<Path, Response>;
    const throughNest = {} as Record<Path, boolean>;
    for (const path of ['direct', 'nest'] as const) {
      const { app, clock, hooks, guard } = served[path];
      const calls = guard.mock.calls.length;
      answers[path] = await send(request(app.getHttpServer()), hooks, Math.floor(clock.now() / 1000));
      throughNest[path] = guard.mock.calls.length > calls;
    }
    expect(observed(answers.direct, served.direct.hooks)).toEqual(observed(answers.nest, served.nest.hooks));
    return { res: answers.direct, throughNest };
  }

  /** A delivery of `body` to the hook `name`, signed (Tensorify-Signature) unless `signature` says otherwise. */
  const deliver =
    (
      name: keyof Hooks,
      body = '{"event":"push"}',
      headers: Record<string, string> = {},
      signature?: string,
      method: 'post' | 'put' | 'get' | 'head' = 'post',
    ) =>
    (agent: ReturnType<typeof request>, hooks: Hooks, t: number) => {
      const hook = hooks[name];
      const test = agent[method](`/v1/hooks/${hook.hookId}`).set({
        'Content-Type': 'application/json',
        'Tensorify-Signature': signature ?? `t=${t},v1=${hmac(hook.secret, `${t}.${body}`)}`,
        ...headers,
      });
      return method === 'get' || method === 'head' ? test : test.send(body);
    };

  it('answers a signed delivery without Nest: the same 202, Location and body', async () => {
    const { res, throughNest } = await same(deliver('ack'));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ executionId: expect.stringMatching(/^exec_/), status: 'queued' });
    expect(res.headers.location).toBe(`/v1/executions/${res.body.executionId}`);
    expect(throughNest).toEqual({ direct: false, nest: true });
    expect((await same(deliver('ack', '{"event":"put"}', {}, undefined, 'put'))).res.status).toBe(202);
  });

  it('answers a redelivery with its Idempotency-Key (202, Idempotency-Replayed) and the key with another body (409) the same way', async () => {
    const key = { 'Idempotency-Key': 'delivery-1' };
    expect((await same(deliver('ack', '{"event":"once"}', key))).res.status).toBe(202);
    const replayed = await same(deliver('ack', '{"event":"once"}', key));
    expect(replayed.res.status).toBe(202);
    expect(replayed.res.headers['idempotency-replayed']).toBe('true');
    const conflict = await same(deliver('ack', '{"event":"other"}', key));
    expect(conflict.res.status).toBe(409);
    expect(conflict.res.body.error.code).toBe('CONFLICT');
  });

  it("answers a wait-mode delivery with the workflow's output (200) the same way", async () => {
    const { res } = await same(deliver('wait', '{"event":"waited"}'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ event: 'waited', method: 'POST' });
  }, 60_000);

  it('refuses an unknown hook (404), a method the trigger does not take (405, with Allow) and bad input (400, 413, 415) the same way', async () => {
    const unknown = await same((agent) => agent.post('/v1/hooks/hk_0000000000000000').send({}));
    expect(unknown.res.status).toBe(404);
    expect(unknown.throughNest).toEqual({ direct: false, nest: true });
    expect((await same((agent) => agent.post('/v1/hooks/not-a-hook').send({}))).res.status).toBe(404);
    const method = await same(deliver('ack', '', {}, undefined, 'get'));
    expect(method.res.status).toBe(405);
    expect(method.res.headers.allow).toBe('POST, PUT');
    expect(method.throughNest).toEqual({ direct: false, nest: true });
    expect((await same(deliver('ack', '', {}, undefined, 'head'))).res.status).toBe(405);
    const invalid = await same(deliver('ack', '{"event":'));
    expect(invalid.res.body.error.code).toBe('INVALID_JSON');
    expect(invalid.throughNest).toEqual({ direct: false, nest: true });
    expect((await same(deliver('ack', '{"event":"\\u0000"}'))).res.body.error.code).toBe('VALIDATION_ERROR');
    expect((await same(deliver('ack', '{}', { 'Idempotency-Key': '\u00e9' }))).res.body.error.code).toBe('VALIDATION_ERROR');
    expect((await same(deliver('ack', JSON.stringify({ event: 'x'.repeat(2000) })))).res.status).toBe(413);
    expect((await same(deliver('ack', '{}', { 'Content-Encoding': 'compress' }))).res.status).toBe(415);
  });

  it("counts signed deliveries against the workspace's rate limit: the same headers, and the same 429", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { res } = await same(deliver('limited', `{"event":"${i}"}`));
      statuses.push(res.status);
      expect(res.headers['x-ratelimit-limit']).toBe('3');
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
  });

  it('records the same deliveries by outcome and the same HTTP metrics', async () => {
    const series = async (app: NestFastifyApplication) =>
      (await request(app.getHttpServer()).get('/metrics').expect(200)).text
        .split('\n')
        .filter(
          (line) =>
            line.startsWith('tensorify_webhook_deliveries_total') ||
            (line.includes('route="/v1/hooks/:hookId"') && !line.includes('_bucket') && !line.includes('_sum')),
        )
        .sort();
    const direct = await series(served.direct.app);
    expect(direct).toContain('tensorify_webhook_deliveries_total{outcome="accepted"} 6');
    expect(direct).toContain('tensorify_webhook_deliveries_total{outcome="rate_limited"} 2');
    expect(direct).toEqual(await series(served.nest.app));
  });

  it('refuses missing and wrong signatures (401), then the client IP (429), good deliveries included, the same way', async () => {
    expect((await same(deliver('ack', '{}', {}, ''))).res.status).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++) statuses.push((await same(deliver('ack', '{}', {}, 't=1,v1=00'))).res.status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const blocked = await same(deliver('ack'));
    expect(blocked.res.status).toBe(429);
    expect(blocked.res.body.error.details).toMatchObject({ scope: 'client-ip' });
  });
});
