import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request, { type Response } from 'supertest';
import { createApp, initApp } from '../../src/app.factory';
import { ScopesGuard } from '../../src/auth/scopes.guard';
import { ExecutionsService } from '../../src/executions/executions.service';
import { loadConfig } from '../../src/config/config';
import { FakeClock } from '../support/fake-clock';
import { checkResponsesAgainstContract } from '../support/openapi-responses';
import { ADMIN_AUTH, linesInto, TEST_ADMIN_KEY } from '../support/test-app';

const AUTH_FAILURES_PER_MINUTE = 4;
const BODY_LIMIT_BYTES = 1024;
/** Headers that differ between any two responses, whatever served them. */
const VARYING_HEADERS = ['date'];

/** The apps compared: the edge before Fastify (the default), Fastify's direct handler, Nest's controller. */
const PATHS = ['edge', 'direct', 'nest'] as const;
type Path = (typeof PATHS)[number];
/** Who answered a request: the edge, Fastify (its direct handler, or a refusal of its own), or Nest's controller. */
type Via = 'edge' | 'fastify' | 'nest';
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
  /** Deliveries that reached Fastify's onRequest stage. */
  fastifyRequests: { count: number };
  /** What the app's root logger writes, instead of stdout. */
  log: string[];
  /** The workspace of the admin key, whose workflows the hooks `ack` and `wait` start. */
  workspaceId: string;
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
 * `/v1/hooks/:hookId` has three paths: the edge before Fastify (src/webhooks/delivery-edge.ts),
 * the Fastify handler of src/webhooks/delivery-route.ts (`deliveryEdge: false`) and Nest's
 * controller → filter (`directHookDeliveries: false` too). Three apps, each with its own data
 * directory, fake clock and counters, are given the same fixtures and then the same requests, with
 * the same X-Request-Id, in the same order: every answer must be the same as Nest's, byte for byte
 * (status, headers but Date, body), once each app's own ids (hooks, executions) are read as
 * placeholders; and so must their request log lines and metrics. Which path answered is told by
 * Nest's scope guard and by a Fastify onRequest hook.
 */
describe('/v1/hooks/:hookId: the edge and the direct handler answer as Nest does', () => {
  const served = {} as Record<Path, Served>;
  let requestNumber = 0;

  async function boot(path: Path): Promise<Served> {
    const dataDir = mkdtempSync(join(tmpdir(), `tensorify-delivery-route-${path}-`));
    const config = loadConfig({
      TENSORIFY_DATA_DIR: dataDir,
      TENSORIFY_LOG_LEVEL: 'info',
      TENSORIFY_BOOTSTRAP_API_KEY: TEST_ADMIN_KEY,
      TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES_PER_MINUTE),
      TENSORIFY_BODY_LIMIT: `${BODY_LIMIT_BYTES}b`,
    });
    const log: string[] = [];
    const clock = new FakeClock();
    const built = await createApp({
      config,
      clock,
      databaseRetryAttempts: 0,
      deliveryEdge: path === 'edge',
      directHookDeliveries: path !== 'nest',
      logDestination: linesInto(log),
    });
    const fastifyRequests = { count: 0 };
    built
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', (req, _reply, done) => {
        if (req.url.startsWith('/v1/hooks/')) fastifyRequests.count++;
        done();
      });
    const app = await initApp(checkResponsesAgainstContract(built));
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
      ack: await hookOf(workflow({ methods: ['POST', 'PUT', 'DELETE'] })),
      wait: await hookOf(workflow({ responseMode: 'wait', waitSeconds: 60 })),
      limited: await hookOf(workflow({}), `Bearer ${limitedKey}`),
    };
    const workspaceId = (await admin.get('/v1/me').set('Authorization', ADMIN_AUTH).expect(200)).body.workspace.id as string;
    // The fixtures' requests counted: every app starts the comparison in a new rate-limit window.
    clock.advance(60_000);
    return { app, clock, hooks, dataDir, guard: jest.spyOn(app.get(ScopesGuard), 'canActivate'), fastifyRequests, log, workspaceId };
  }

  beforeAll(async () => {
    for (const path of PATHS) served[path] = await boot(path);
  }, 180_000); // three apps boot: on a busy machine, more than the default 30 s

  afterAll(async () => {
    jest.restoreAllMocks();
    for (const { app, dataDir } of Object.values(served)) {
      await app?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  /** The app's own ids (hooks, executions, workspaces) as placeholders, in a text it sent or logged. */
  function placeholders(text: string, hooks: Hooks): string {
    let replaced = text
      .replace(/exec_[0-9A-Za-z]+/g, '<execution id>')
      .replace(/ws_[0-9A-Za-z]+/g, '<workspace id>')
      // Hook ids as the log masks them.
      .replace(/hk_[0-9A-Za-z]{4}\*\*\*/g, '<masked hook id>');
    for (const [name, hook] of Object.entries(hooks)) replaced = replaced.split(hook.hookId).join(`<${name} hook>`);
    return replaced;
  }

  /** What a client can observe of a response, but what varies between any two apps. */
  function observed(res: Response, hooks: Hooks) {
    const headers = Object.fromEntries(
      Object.entries(res.headers)
        .filter(([name]) => !VARYING_HEADERS.includes(name))
        .map(([name, value]) => [name, placeholders(String(value), hooks)]),
    );
    return { status: res.status, headers, body: placeholders(res.text ?? '', hooks) };
  }

  /** The request log lines of the request with this id (none or one), but their time and duration. */
  function logLinesOf({ log, hooks }: Served, requestId: string) {
    return log
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes(`"requestId":"${requestId}"`) && line.includes('"msg":"request completed"'))
      .map((line) => {
        const { time, durationMs, ...rest } = JSON.parse(placeholders(line, hooks)) as Record<string, unknown>;
        expect(typeof time).toBe('string');
        expect(typeof durationMs).toBe('number');
        return rest;
      });
  }

  type Send = (agent: ReturnType<typeof request>, hooks: Hooks, unixSeconds: number) => request.Test;

  /** Sends `send` to every app with the same request id, the calls of which `act` makes; returns who answered in each. */
  async function onEveryApp(act: (served: Served, requestId: string) => Promise<void>): Promise<{ requestId: string; via: Record<Path, Via> }> {
    const requestId = `req-delivery-${++requestNumber}`;
    const via = {} as Record<Path, Via>;
    for (const path of PATHS) {
      const app = served[path];
      const [guardCalls, fastifyCalls] = [app.guard.mock.calls.length, app.fastifyRequests.count];
      await act(app, requestId);
      via[path] = app.guard.mock.calls.length > guardCalls ? 'nest' : app.fastifyRequests.count > fastifyCalls ? 'fastify' : 'edge';
    }
    return { requestId, via };
  }

  /**
   * Sends the same request to every app and expects the same answer as Nest's, with the same log
   * line; returns the edge app's answer, and who answered in each app.
   */
  async function same(send: Send): Promise<{ res: Response; answers: Record<Path, Response>; via: Record<Path, Via> }> {
    const answers = {} as Record<Path, Response>;
    const { requestId, via } = await onEveryApp(async (app, id) => {
      const path = PATHS.find((name) => served[name] === app)!;
      answers[path] = await send(request(app.app.getHttpServer()), app.hooks, Math.floor(app.clock.now() / 1000)).set('X-Request-Id', id);
    });
    for (const path of PATHS) {
      expect(answers[path].headers['x-request-id']).toBe(requestId);
      expect({ path, ...observed(answers[path], served[path].hooks) }).toEqual({ path, ...observed(answers.nest, served.nest.hooks) });
      const lines = logLinesOf(served[path], requestId);
      expect(lines).toHaveLength(1);
      expect({ path, line: lines[0] }).toEqual({ path, line: logLinesOf(served.nest, requestId)[0] });
    }
    return { res: answers.edge, answers, via };
  }

  /** Answered by each app's own path. */
  const EDGE = { edge: 'edge', direct: 'fastify', nest: 'nest' };
  /** Left to Fastify by the edge. */
  const ROUTE = { edge: 'fastify', direct: 'fastify', nest: 'nest' };
  /** Refused by Fastify before any route runs. */
  const FASTIFY = { edge: 'fastify', direct: 'fastify', nest: 'fastify' };

  /** A delivery of `body` to the hook `name`, signed (Tensorify-Signature) unless `signature` says otherwise. */
  const deliver =
    (
      name: keyof Hooks,
      body: string | Buffer = '{"event":"push"}',
      headers: Record<string, string> = {},
      signature?: string,
      method: 'post' | 'put' | 'delete' | 'get' | 'head' = 'post',
    ) =>
    (agent: ReturnType<typeof request>, hooks: Hooks, t: number) => {
      const hook = hooks[name];
      const signed = createHmac('sha256', hook.secret).update(`${t}.`).update(body).digest('hex');
      const test = agent[method](`/v1/hooks/${hook.hookId}`).set({
        'Content-Type': 'application/json',
        'Tensorify-Signature': signature ?? `t=${t},v1=${signed}`,
        ...headers,
      });
      // The bytes as given (superagent would send a Buffer with a JSON type as the JSON of the Buffer).
      return method === 'get' || method === 'head' ? test : test.serialize((data: unknown) => data as string).send(body);
    };

  it('answers a signed delivery at the edge: the same 202, Location and body', async () => {
    const { res, via } = await same(deliver('ack'));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ executionId: expect.stringMatching(/^exec_/), status: 'queued' });
    expect(res.headers.location).toBe(`/v1/executions/${res.body.executionId}`);
    expect(via).toEqual(EDGE);
    for (const method of ['put', 'delete'] as const) {
      const other = await same(deliver('ack', `{"event":"${method}"}`, {}, undefined, method));
      expect(other.res.status).toBe(202);
      expect(other.via).toEqual(EDGE);
    }
  });

  it('answers deliveries without a body, and with a body of another type (kept as text) the same way', async () => {
    const empty = await same((agent, hooks, t) =>
      agent.post(`/v1/hooks/${hooks.ack.hookId}`).set('Tensorify-Signature', `t=${t},v1=${hmac(hooks.ack.secret, `${t}.`)}`),
    );
    expect(empty.res.status).toBe(202);
    expect(empty.via).toEqual(EDGE);
    const text = await same(deliver('ack', 'event=push', { 'Content-Type': 'application/x-www-form-urlencoded' }));
    expect(text.res.status).toBe(202);
    expect(text.via).toEqual(EDGE);
    const gzipped = await same(deliver('ack', gzipSync('{"event":"zipped"}'), { 'Content-Encoding': 'gzip' }));
    expect(gzipped.res.status).toBe(202);
    expect(gzipped.via).toEqual(EDGE);
  });

  it('answers a redelivery with its Idempotency-Key (202, Idempotency-Replayed) and the key with another body (409) the same way', async () => {
    const key = { 'Idempotency-Key': 'delivery-1' };
    const first = await same(deliver('ack', '{"event":"once"}', key));
    expect(first.res.status).toBe(202);
    // A redelivery answers with the execution as it is then: each app's has ended first.
    for (const path of PATHS) {
      const { app, workspaceId } = served[path];
      expect((await app.get(ExecutionsService).awaitEnd(workspaceId, first.answers[path].body.executionId, 30_000)).status).toBe('completed');
    }
    const replayed = await same(deliver('ack', '{"event":"once"}', key));
    expect(replayed.res.status).toBe(202);
    expect(replayed.res.headers['idempotency-replayed']).toBe('true');
    expect(replayed.via).toEqual(EDGE);
    const conflict = await same(deliver('ack', '{"event":"other"}', key));
    expect(conflict.res.status).toBe(409);
    expect(conflict.res.body.error.code).toBe('CONFLICT');
    expect(conflict.via).toEqual(EDGE);
  });

  it("answers a wait-mode delivery with the workflow's output (200) the same way", async () => {
    const { res, via } = await same(deliver('wait', '{"event":"waited"}'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ event: 'waited', method: 'POST' });
    expect(via).toEqual(EDGE);
  }, 60_000);

  it('refuses an unknown hook (404), a method the trigger does not take (405, with Allow) and bad input (400, 413, 415) the same way', async () => {
    const unknown = await same((agent) => agent.post('/v1/hooks/hk_0000000000000000').send({}));
    expect(unknown.res.status).toBe(404);
    expect(unknown.via).toEqual(EDGE);
    expect((await same((agent) => agent.post('/v1/hooks/not-a-hook').send({}))).via).toEqual(EDGE);
    const method = await same(deliver('ack', '', {}, undefined, 'get'));
    expect(method.res.status).toBe(405);
    expect(method.res.headers.allow).toBe('POST, PUT, DELETE');
    expect(method.via).toEqual(EDGE);
    const head = await same(deliver('ack', '', {}, undefined, 'head'));
    expect(head.res.status).toBe(405);
    expect(head.via).toEqual(ROUTE);
    const invalid = await same(deliver('ack', '{"event":'));
    expect(invalid.res.body.error.code).toBe('INVALID_JSON');
    expect(invalid.via).toEqual(EDGE);
    const nul = await same(deliver('ack', '{"event":"\\u0000"}'));
    expect(nul.res.body.error.code).toBe('VALIDATION_ERROR');
    expect(nul.via).toEqual(EDGE);
    const nulInText = await same(deliver('ack', 'a\u0000b', { 'Content-Type': 'text/plain' }));
    expect(nulInText.res.body.error.details).toEqual({ fields: { '/body': ['contains a NUL character (\\u0000)'] } });
    expect(nulInText.via).toEqual(EDGE);
    // Nested as deep as a body may be, one level too deep under the trigger output's `body`.
    const deep = await same(deliver('ack', `${'['.repeat(64)}${']'.repeat(64)}`));
    expect(deep.res.body.error.message).toMatch(/^The request's \/body(\/0)+ is nested deeper than 64 levels/);
    expect(deep.via).toEqual(EDGE);
    const key = await same(deliver('ack', '{}', { 'Idempotency-Key': '\u00e9' }));
    expect(key.res.body.error.code).toBe('VALIDATION_ERROR');
    expect(key.via).toEqual(EDGE);
    const encoding = await same(deliver('ack', '{}', { 'Content-Encoding': 'compress' }));
    expect(encoding.res.status).toBe(415);
    expect(encoding.via).toEqual(EDGE);
  });

  it('leaves to Fastify what it refuses before the route: a body past the limit (413), a Content-Type it cannot read (415); and a query string', async () => {
    const oversized = await same(deliver('ack', JSON.stringify({ event: 'x'.repeat(2000) })));
    expect(oversized.res.status).toBe(413);
    expect(oversized.via).toEqual(FASTIFY);
    const badType = await same(deliver('ack', '{}', { 'Content-Type': 'json' }));
    expect(badType.res.status).toBe(415);
    expect(badType.via).toEqual(FASTIFY);
    const query = await same((agent, hooks, t) => deliver('ack')(agent, hooks, t).query({ source: 'ci' }));
    expect(query.res.status).toBe(202);
    expect(query.via).toEqual(ROUTE);
  });

  it('refuses a body past the limit once decompressed (413) at the edge, the same way', async () => {
    const bomb = await same(deliver('ack', gzipSync(JSON.stringify({ event: 'x'.repeat(4 * BODY_LIMIT_BYTES) })), { 'Content-Encoding': 'gzip' }));
    expect(bomb.res.status).toBe(413);
    expect(bomb.via).toEqual(EDGE);
  });

  it('answers nothing and logs no request line when the client hangs up mid-body', async () => {
    const { requestId, via } = await onEveryApp(async ({ app, hooks }, id) => {
      const server = app.getHttpServer();
      if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      const received = once(server, 'request') as Promise<[IncomingMessage]>;
      socket.write(
        `POST /v1/hooks/${hooks.ack.hookId} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
          `Content-Length: 100\r\nX-Request-Id: ${id}\r\n\r\n{"event":`,
      );
      const [req] = await received;
      const closed = new Promise((resolve) => req.once('close', resolve));
      socket.destroy();
      await closed;
      // What answers a failed read (the exception filter) runs in a later turn.
      await new Promise((resolve) => setImmediate(resolve));
    });
    expect(via).toEqual({ edge: 'edge', direct: 'fastify', nest: 'fastify' });
    for (const path of PATHS) expect({ path, lines: logLinesOf(served[path], requestId) }).toEqual({ path, lines: [] });
  });

  it("counts signed deliveries against the workspace's rate limit: the same headers, and the same 429", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { res, via } = await same(deliver('limited', `{"event":"${i}"}`));
      statuses.push(res.status);
      expect(res.headers['x-ratelimit-limit']).toBe('3');
      expect(via).toEqual(EDGE);
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
  });

  it('refuses missing and wrong signatures (401), then the client IP (429), good deliveries included, the same way', async () => {
    expect((await same(deliver('ack', '{}', {}, ''))).res.status).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++) statuses.push((await same(deliver('ack', '{}', {}, 't=1,v1=00'))).res.status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const blocked = await same(deliver('ack'));
    expect(blocked.res.status).toBe(429);
    expect(blocked.res.body.error.details).toMatchObject({ scope: 'client-ip' });
    expect(blocked.via).toEqual(EDGE);
  });

  it('records the same deliveries by outcome and the same HTTP metrics', async () => {
    const series = async ({ app }: Served) =>
      (await request(app.getHttpServer()).get('/metrics').expect(200)).text
        .split('\n')
        .filter(
          (line) =>
            line.startsWith('tensorify_webhook_deliveries_total') ||
            line.startsWith('tensorify_rate_limit') ||
            (line.includes('route="/v1/hooks/:hookId"') && !line.includes('_bucket') && !line.includes('_sum')),
        )
        .sort();
    const edge = await series(served.edge);
    expect(edge).toContain('tensorify_webhook_deliveries_total{outcome="accepted"} 11');
    expect(edge).toContain('tensorify_webhook_deliveries_total{outcome="rate_limited"} 4');
    expect(edge).toContain('tensorify_webhook_deliveries_total{outcome="invalid"} 10');
    expect(edge).toContain('tensorify_rate_limit_rejections_total{limiter="workspace"} 2');
    expect(edge).toContain('tensorify_rate_limit_rejections_total{limiter="auth_failures"} 2');
    expect(edge).toEqual(await series(served.nest));
    expect(await series(served.direct)).toEqual(await series(served.nest));
  });
});
