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
import { ADMIN_AUTH, TEST_ADMIN_KEY } from '../support/test-app';

const EXAMPLES_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'examples');
const HELLO = JSON.parse(readFileSync(resolve(EXAMPLES_DIR, 'hello.json'), 'utf8'));
const AUTH_FAILURES_PER_MINUTE = 2;
/** Headers that differ between any two responses, whatever served them. */
const VARYING_HEADERS = ['date', 'x-request-id'];

/**
 * GET /v1/workflows/:id has two paths: the cached read of src/workflows/hot-read.ts, a Fastify
 * handler in front of Nest's, and Nest's guard → controller → filter behind it. Two apps on one
 * database, one with the cached read and one without (`cachedWorkflowReads: false`), each with its
 * own fake clock and rate-limit counters, get the same requests in the same order: every answer
 * must be the same, byte for byte (status, headers but Date and X-Request-Id, body with its request
 * id), and so must their HTTP metrics. The scope guard's calls show which path answered.
 */
describe('GET /v1/workflows/:id: the cached read answers as Nest does', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-hot-read-'));
  const config = loadConfig({
    TENSORIFY_DATA_DIR: dataDir,
    TENSORIFY_LOG_LEVEL: 'silent',
    TENSORIFY_BOOTSTRAP_API_KEY: TEST_ADMIN_KEY,
    TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES_PER_MINUTE),
  });
  let fast: NestFastifyApplication;
  let slow: NestFastifyApplication;
  let guardCalls: { fast: jest.SpyInstance; slow: jest.SpyInstance };
  const ids = { workflow: '', limitedWorkflow: '' };
  const keys = { reader: '', noRead: '', otherWorkspace: '', limited: '' };

  const clocks = { fast: new FakeClock(), slow: new FakeClock() };
  const boot = async (cachedWorkflowReads: boolean) =>
    initApp(
      checkResponsesAgainstContract(
        await createApp({ config, clock: cachedWorkflowReads ? clocks.fast : clocks.slow, databaseRetryAttempts: 0, cachedWorkflowReads }),
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
    ids.workflow = await workflow(main);
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
    await fast?.close();
    await slow?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** What a client can observe of a response, but what varies between any two. */
  function observed(res: Response) {
    const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !VARYING_HEADERS.includes(name)));
    const requestId = String(res.headers['x-request-id']);
    expect(requestId).toMatch(/^\S+$/);
    return { status: res.status, headers, body: (res.text ?? '').split(requestId).join('<request id>') };
  }

  type Send = (agent: ReturnType<typeof request>) => request.Test;

  /** Sends the same request to both apps and expects the same answer; returns it, and which apps passed the scope guard. */
  async function same(send: Send): Promise<{ res: Response; guarded: { fast: boolean; slow: boolean } }> {
    const before = { fast: guardCalls.fast.mock.calls.length, slow: guardCalls.slow.mock.calls.length };
    const fromFast = await send(request(fast.getHttpServer()));
    const fromSlow = await send(request(slow.getHttpServer()));
    expect(observed(fromFast)).toEqual(observed(fromSlow));
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

  it('counts cached reads against the workspace rate limit: the same headers, and the same 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await same(get(ids.limitedWorkflow, keys.limited))).res.status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('records the same HTTP metrics for both paths', async () => {
    const series = async (app: NestFastifyApplication) =>
      (await request(app.getHttpServer()).get('/metrics').expect(200)).text
        .split('\n')
        .filter((line) => line.includes('route="/v1/workflows/:id"') && !line.includes('_bucket') && !line.includes('_sum'))
        .sort();
    const fromFast = await series(fast);
    expect(fromFast.length).toBeGreaterThan(0);
    expect(fromFast).toContain('tensorify_http_requests_total{method="GET",route="/v1/workflows/:id",status="200"} 8');
    expect(fromFast).toEqual(await series(slow));
  });

  it('refuses missing and wrong keys before either path, and then the client IP, the same way', async () => {
    const missing = await same(get(ids.workflow));
    expect(missing.res.status).toBe(401);
    const wrong = 'tfy_NoSuchKey0123456789abcdefghijklmnopqrstuvwx';
    expect((await same(get(ids.workflow, wrong))).res.status).toBe(401);
    const refused = await same(get(ids.workflow, wrong));
    expect(refused.res.status).toBe(429);
    expect(refused.res.body.error.details).toMatchObject({ scope: 'client-ip' });
    // Past the allowed failures, even a good key is refused for this address until the window ends.
    const blocked = await same(get(ids.workflow, keys.reader));
    expect(blocked.res.status).toBe(429);
    expect(blocked.res.body.error.details).toMatchObject({ scope: 'client-ip' });
    expect(blocked.guarded).toEqual({ fast: false, slow: false });
  });
});
