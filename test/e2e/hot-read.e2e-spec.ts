import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request, { type Response } from 'supertest';
import { createApp, initApp } from '../../src/app.factory';
import { ScopesGuard } from '../../src/auth/scopes.guard';
import { loadConfig } from '../../src/config/config';
import { FakeClock } from '../support/fake-clock';
import { checkResponsesAgainstContract } from '../support/openapi-responses';
import { ForegroundActivity } from '../../src/common/foreground-activity';
import { ADMIN_AUTH, linesInto, TEST_ADMIN_KEY } from '../support/test-app';

const EXAMPLES_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'examples');
const HELLO = JSON.parse(readFileSync(resolve(EXAMPLES_DIR, 'hello.json'), 'utf8'));
const AUTH_FAILURES_PER_MINUTE = 3;
/** Headers that differ between any two responses, whatever served them. */
const VARYING_HEADERS = ['date'];

/**
 * GET /v1/workflows/:id and GET /v1/workflows have a cached read (src/workflows/hot-read.ts: at
 * the edge, before Fastify, and for :id also a Fastify handler in front of Nest's) and Nest's
 * guard → controller → filter behind it. Two apps on one database, one with the cached reads and
 * one without (`cachedWorkflowReads: false`), each with its own fake clock and rate-limit counters,
 * get the same requests in the same order, with the same X-Request-Id: every answer must be the
 * same, byte for byte (status, headers but Date, body with its request id), and so must their
 * request log lines and HTTP metrics. The scope guard's calls show which path answered.
 */
describe('GET /v1/workflows/:id and /v1/workflows: the cached reads answer as Nest does', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-hot-read-'));
  const config = loadConfig({
    TENSORIFY_DATA_DIR: dataDir,
    TENSORIFY_LOG_LEVEL: 'info',
    TENSORIFY_BOOTSTRAP_API_KEY: TEST_ADMIN_KEY,
    TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES_PER_MINUTE),
  });
  let fast: NestFastifyApplication;
  let slow: NestFastifyApplication;
  let guardCalls: { fast: jest.SpyInstance; slow: jest.SpyInstance };
  const ids = { mainWorkspace: '', workflow: '', newer: '', limitedWorkflow: '' };
  const keys = { reader: '', noRead: '', otherWorkspace: '', limited: '' };

  const clocks = { fast: new FakeClock(), slow: new FakeClock() };
  /** What each app's root logger writes, instead of stdout. */
  const logs = { fast: [] as string[], slow: [] as string[] };
  let requestNumber = 0;
  const boot = async (cachedWorkflowReads: boolean) =>
    initApp(
      checkResponsesAgainstContract(
        await createApp({
          config,
          clock: cachedWorkflowReads ? clocks.fast : clocks.slow,
          databaseRetryAttempts: 0,
          cachedWorkflowReads,
          logDestination: linesInto(cachedWorkflowReads ? logs.fast : logs.slow),
        }),
      ),
    );

  beforeAll(async () => {
    fast = await boot(true);
    slow = await boot(false);
    // The fixtures, written once through the fast app with the admin key (whose counters no comparison reads).
    const admin = request(fast.getHttpServer());
    const workspace = async (name: string, rateLimitPerMinute: number) =>
      (await admin.post('/v1/workspaces').set('Authorization', ADMIN_AUTH).send({ name, plan: 'enterprise', rateLimitPerMinute }).expect(201)).body
        .id as string;
    const key = async (workspaceId: string, scopes: string[]) =>
      (await admin.post('/v1/api-keys').set('Authorization', ADMIN_AUTH).send({ name: 'hot', workspaceId, scopes }).expect(201)).body.key as string;
    const workflow = async (workspaceId: string) => {
      const owner = await key(workspaceId, ['workflows:write']);
      return (await admin.post('/v1/workflows').set('Authorization', `Bearer ${owner}`).send(HELLO).expect(201)).body.id as string;
    };
    const [main, other, limited] = [await workspace('main', 1000), await workspace('other', 1000), await workspace('limited', 3)];
    ids.mainWorkspace = main;
    ids.workflow = await workflow(main);
    ids.newer = await workflow(main);
    ids.limitedWorkflow = await workflow(limited);
    keys.reader = await key(main, ['workflows:read']);
    keys.noRead = await key(main, ['executions:read']);
    keys.otherWorkspace = await key(other, ['workflows:read', 'workflows:write']);
    keys.limited = await key(limited, ['workflows:read']);
    // The fixtures' requests counted on the fast app only: both apps start the comparison in a new rate-limit window.
    clocks.fast.advance(60_000);
    clocks.slow.advance(60_000);
    guardCalls = { fast: jest.spyOn(fast.get(ScopesGuard), 'canActivate'), slow: jest.spyOn(slow.get(ScopesGuard), 'canActivate') };
  }, 120_000); // two apps boot: on a busy machine, more than the default 30 s

  afterAll(async () => {
    jest.restoreAllMocks();
    await fast?.close();
    await slow?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** What a client can observe of a response, but what varies between any two. */
  function observed(res: Response) {
    const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !VARYING_HEADERS.includes(name)));
    return { status: res.status, headers, body: res.text ?? '' };
  }

  type Send = (agent: ReturnType<typeof request>) => request.Test;

  /** The request log line of the request with this id, but its time and duration. */
  function logLineOf(lines: string[], requestId: string) {
    const found = lines
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes(`"requestId":"${requestId}"`) && line.includes('"msg":"request completed"'));
    expect(found).toHaveLength(1);
    const { time, durationMs, ...line } = JSON.parse(found[0]) as Record<string, unknown>;
    expect(typeof time).toBe('string');
    expect(typeof durationMs).toBe('number');
    return line;
  }

  /**
   * Sends the same request, with the same request id, to both apps and expects the same answer and
   * the same log line; returns the answer, and which apps passed the scope guard.
   */
  async function same(send: Send): Promise<{ res: Response; guarded: { fast: boolean; slow: boolean } }> {
    const before = { fast: guardCalls.fast.mock.calls.length, slow: guardCalls.slow.mock.calls.length };
    const requestId = `req-hot-read-${++requestNumber}`;
    const fromFast = await send(request(fast.getHttpServer())).set('X-Request-Id', requestId);
    const fromSlow = await send(request(slow.getHttpServer())).set('X-Request-Id', requestId);
    expect(fromFast.headers['x-request-id']).toBe(requestId);
    expect(observed(fromFast)).toEqual(observed(fromSlow));
    expect(logLineOf(logs.fast, requestId)).toEqual(logLineOf(logs.slow, requestId));
    return {
      res: fromFast,
      guarded: { fast: guardCalls.fast.mock.calls.length > before.fast, slow: guardCalls.slow.mock.calls.length > before.slow },
    };
  }

  const get =
    (id: string, key?: string, headers: Record<string, string> = {}) =>
    (agent: ReturnType<typeof request>) => {
      const test = agent.get(`/v1/workflows/${id}`).set(headers);
      return key === undefined ? test : test.set('Authorization', `Bearer ${key}`);
    };

  it('answers a cached workflow without Nest, with the same status, headers and bytes', async () => {
    // The first read fills the cache of each app, through Nest on both.
    const first = await same(get(ids.workflow, keys.reader));
    expect(first.res.status).toBe(200);
    expect(first.guarded).toEqual({ fast: true, slow: true });

    const cached = await same(get(ids.workflow, keys.reader));
    expect(cached.res.status).toBe(200);
    expect(cached.res.headers).toMatchObject({ etag: '"1"', 'content-type': 'application/json; charset=utf-8', 'x-ratelimit-remaining': '998' });
    expect(cached.res.body).toMatchObject({ id: ids.workflow, version: 1 });
    expect(cached.guarded).toEqual({ fast: false, slow: true });
  });

  it('answers HEAD and If-None-Match as Nest does', async () => {
    const head = await same((agent) => agent.head(`/v1/workflows/${ids.workflow}`).set('Authorization', `Bearer ${keys.reader}`));
    expect(head.res.status).toBe(200);
    expect(head.res.text ?? '').toBe('');
    expect(Number(head.res.headers['content-length'])).toBeGreaterThan(0);
    expect(head.guarded).toEqual({ fast: false, slow: true });

    for (const etag of ['"1"', '"2"', '*']) {
      const conditional = await same(get(ids.workflow, keys.reader, { 'If-None-Match': etag }));
      expect(conditional.res.status).toBe(200);
      expect(conditional.guarded).toEqual({ fast: false, slow: true });
    }
  });

  it("leaves a key without the scope, another workspace's workflow and unknown ids to Nest: 403 and 404", async () => {
    const forbidden = await same(get(ids.workflow, keys.noRead));
    expect(forbidden.res.status).toBe(403);
    expect(forbidden.res.body.error).toMatchObject({ code: 'FORBIDDEN', details: { requiredScope: 'workflows:read' } });
    expect(forbidden.guarded).toEqual({ fast: true, slow: true });

    // Cached by the reads above, but another workspace's: the same 404 as an id that does not exist.
    const elsewhere = await same(get(ids.workflow, keys.otherWorkspace));
    expect(elsewhere.res.status).toBe(404);
    expect(elsewhere.res.body.error.code).toBe('WORKFLOW_NOT_FOUND');
    for (const id of ['wf_0000000000000000', 'not-an-id', '%7Bx%7D']) {
      expect((await same(get(id, keys.reader))).res.status).toBe(404);
    }
  });

  const list =
    (query: string, key?: string, method: 'get' | 'head' = 'get') =>
    (agent: ReturnType<typeof request>) => {
      const test = agent[method](`/v1/workflows${query}`);
      return key === undefined ? test : test.set('Authorization', `Bearer ${key}`);
    };

  it('answers a cached page of the list without Nest, with the same status, headers and bytes, for GET and HEAD', async () => {
    const firstPage = await same(list('?limit=1', keys.reader));
    const [first] = firstPage.res.body.workflows.map((w: { id: string }) => w.id) as string[];
    expect([ids.workflow, ids.newer]).toContain(first);
    const cursor = String(firstPage.res.body.nextCursor);
    for (const query of ['', '?limit=1', `?limit=1&cursor=${cursor}`, `?cursor=${cursor}&limit=1`]) {
      // The first read of a page fills the cache of pages of each app, through Nest on both.
      await same(list(query, keys.reader));
      const cached = await same(list(query, keys.reader));
      expect(cached.res.status).toBe(200);
      expect(cached.res.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'x-ratelimit-limit': '1000' });
      expect(cached.guarded).toEqual({ fast: false, slow: true });
      const head = await same(list(query, keys.reader, 'head'));
      expect(head.res.text ?? '').toBe('');
      expect(head.res.headers['content-length']).toBe(cached.res.headers['content-length']);
      expect(head.guarded).toEqual({ fast: false, slow: true });
    }
    const secondPage = (await same(list(`?limit=1&cursor=${cursor}`, keys.reader))).res.body.workflows.map((w: { id: string }) => w.id);
    expect(secondPage).toEqual([first === ids.workflow ? ids.newer : ids.workflow]);
  });

  it('leaves the list queries it does not fully understand, and keys without the scope, to Nest', async () => {
    const answers: Record<string, number> = {};
    for (const query of [
      '?limit=0',
      '?limit=abc',
      '?limit=01',
      '?limit=1&limit=2',
      '?limit=201',
      '?cursor=notacursor',
      '?access_token=x',
      '?foo=bar',
      '?',
      '/',
    ]) {
      answers[query] = (await same(list(query, keys.reader))).res.status;
    }
    expect(answers).toMatchObject({
      '?limit=0': 400,
      '?limit=abc': 400,
      '?limit=01': 200,
      '?limit=201': 400,
      '?cursor=notacursor': 400,
      '?access_token=x': 401,
    });
    const forbidden = await same(list('', keys.noRead));
    expect(forbidden.res.status).toBe(403);
    expect(forbidden.guarded).toEqual({ fast: true, slow: true });
    // Another workspace's key gets its own (empty) page, cached or not.
    for (let i = 0; i < 2; i++) expect((await same(list('', keys.otherWorkspace))).res.body).toEqual({ workflows: [], nextCursor: null });
  });

  it('counts cached reads against the workspace rate limit: the same headers, and the same 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await same(i % 2 === 0 ? get(ids.limitedWorkflow, keys.limited) : list('', keys.limited))).res.status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('records the same HTTP metrics for both paths', async () => {
    const series = async (app: NestFastifyApplication) =>
      (await request(app.getHttpServer()).get('/metrics').expect(200)).text
        .split('\n')
        // The reads: the fixtures were written through the fast app only.
        .filter((line) => /method="(GET|HEAD)",route="\/v1\/workflows(\/:id)?"/.test(line) && !line.includes('_bucket') && !line.includes('_sum'))
        .sort();
    const fromFast = await series(fast);
    expect(fromFast.length).toBeGreaterThan(0);
    expect(fromFast).toContain('tensorify_http_requests_total{method="GET",route="/v1/workflows/:id",status="200"} 7');
    expect(fromFast).toContain('tensorify_http_requests_total{method="HEAD",route="/v1/workflows",status="200"} 4');
    expect(fromFast).toEqual(await series(slow));
  });

  it('refuses missing and wrong keys before either path, and then the client IP, the same way', async () => {
    const missing = await same(get(ids.workflow));
    expect(missing.res.status).toBe(401);
    const wrong = 'tfy_NoSuchKey0123456789abcdefghijklmnopqrstuvwx';
    expect((await same(list('', wrong))).res.status).toBe(401);
    const refused = await same(get(ids.workflow, wrong));
    expect(refused.res.status).toBe(429);
    expect(refused.res.body.error.details).toMatchObject({ scope: 'client-ip' });
    // Past the allowed failures, even a good key is refused for this address until the window ends.
    for (const send of [get(ids.workflow, keys.reader), list('', keys.reader)]) {
      const blocked = await same(send);
      expect(blocked.res.status).toBe(429);
      expect(blocked.res.body.error.details).toMatchObject({ scope: 'client-ip' });
      expect(blocked.guarded).toEqual({ fast: false, slow: false });
    }
  });

  it('refuses a cached key from the moment it expires or is revoked, at the edge as in Nest', async () => {
    // The client IP's failure window of the test above ends.
    clocks.fast.advance(60_000);
    clocks.slow.advance(60_000);
    const admin = request(fast.getHttpServer());
    const newKey = async (expiresAt?: string) => {
      const created = await admin
        .post('/v1/api-keys')
        .set('Authorization', ADMIN_AUTH)
        .send({ name: 'short', workspaceId: ids.mainWorkspace, scopes: ['workflows:read'], expiresAt });
      expect(created.status).toBe(201);
      return created.body as { id: string; key: string };
    };
    const expiring = await newKey(new Date(clocks.fast.now() + 60_000).toISOString());
    // Twice each: the second is answered with the key cached (on the fast app, at once, at the edge).
    for (let i = 0; i < 2; i++) expect((await same(get(ids.workflow, expiring.key))).guarded).toEqual({ fast: false, slow: true });
    clocks.fast.advance(60_000);
    clocks.slow.advance(60_000);
    const expired = await same(get(ids.workflow, expiring.key));
    expect(expired.res.status).toBe(401);
    expect(expired.res.body.error.message).toMatch(/expired/);

    // Revoked through the fast app, whose cache drops the key at once (the other app's only at its next poll of the revisions).
    const revoked = await newKey();
    for (let i = 0; i < 2; i++)
      await request(fast.getHttpServer()).get(`/v1/workflows/${ids.workflow}`).set('Authorization', `Bearer ${revoked.key}`).expect(200);
    await admin.delete(`/v1/api-keys/${revoked.id}`).set('Authorization', ADMIN_AUTH).expect(204);
    const refused = await request(fast.getHttpServer()).get(`/v1/workflows/${ids.workflow}`).set('Authorization', `Bearer ${revoked.key}`).expect(401);
    expect(refused.body.error.message).toMatch(/revoked/);
  });

  it('tells the retention job of the reads it answers before Fastify (ForegroundActivity)', async () => {
    const read = () => request(fast.getHttpServer()).get(`/v1/workflows/${ids.workflow}`).set('Authorization', `Bearer ${keys.reader}`).expect(200);
    await read(); // cached by now; the second is answered at the edge
    const since = performance.now();
    await read();
    expect(fast.get(ForegroundActivity, { strict: false }).requestSince(since)).toBe(true);
  });
});
