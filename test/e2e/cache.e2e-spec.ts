import { CACHE_SYNC_INTERVAL_MS } from '../../src/database/cache-revisions.service';
import { ServerProcess, startServerProcess } from '../support/server-process';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';
import { MINIMAL_WORKFLOW } from '../support/workflows';

/** Asks until `check` passes, within the sync interval (plus slack). */
const eventually = <T>(ask: () => Promise<T>, check: (value: T) => boolean): Promise<T> =>
  waitFor(ask, check, { timeoutMs: CACHE_SYNC_INTERVAL_MS + 1500, intervalMs: 50, what: "the other instance's change" });

/**
 * Instance `a` is the in-process test app; instance `b` a real server process on the same
 * database, as a second instance runs in production.
 */
describe('In-memory caches across two instances on one database', () => {
  let a: TestApp;
  let b: ServerProcess;
  let auth: string;

  /** A request to instance b. */
  async function onB(method: string, path: string, body?: object): Promise<number> {
    const headers = { Authorization: auth, ...(body ? { 'Content-Type': 'application/json' } : {}) };
    const res = await fetch(`${b.baseUrl}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    return res.status;
  }

  beforeAll(async () => {
    a = await startTestApp();
    const database = a.config.database;
    b = await startServerProcess({
      TENSORIFY_DATA_DIR: a.dataDir,
      ...(database.type === 'postgres' ? { TENSORIFY_DATABASE_URL: database.url } : {}),
    });
    auth = a.bearer(a.adminKey);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
  });

  it('serves a workflow changed by the other instance within the sync interval', async () => {
    const created = await a.http.post('/v1/workflows').set('Authorization', auth).send(MINIMAL_WORKFLOW).expect(201);
    const id = created.body.id as string;
    await a.http.get(`/v1/workflows/${id}`).set('Authorization', auth).expect(200); // now cached in a
    expect(await onB('PUT', `/v1/workflows/${id}`, { ...MINIMAL_WORKFLOW, name: 'Renamed' })).toBe(200);
    const seen = await eventually(
      () => a.http.get(`/v1/workflows/${id}`).set('Authorization', auth),
      (res) => res.body.version === 2,
    );
    expect(seen.body).toMatchObject({ version: 2, name: 'Renamed' });
  });

  it('lists a workflow created, renamed or deleted on the other instance within the sync interval, and at once on its own', async () => {
    const names = async () =>
      (await a.http.get('/v1/workflows?limit=200').set('Authorization', auth).expect(200)).body.workflows as { id: string; name: string }[];
    await names(); // the page is now cached in a
    const own = (
      await a.http
        .post('/v1/workflows')
        .set('Authorization', auth)
        .send({ ...MINIMAL_WORKFLOW, name: 'Made on a' })
        .expect(201)
    ).body.id as string;
    expect((await names()).find((w) => w.id === own)?.name).toBe('Made on a');

    const created = await fetch(`${b.baseUrl}/v1/workflows`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...MINIMAL_WORKFLOW, name: 'Made on b' }),
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    await eventually(names, (list) => list.some((w) => w.id === id && w.name === 'Made on b'));
    expect(await onB('PUT', `/v1/workflows/${id}`, { ...MINIMAL_WORKFLOW, name: 'Renamed on b' })).toBe(200);
    await eventually(names, (list) => list.some((w) => w.id === id && w.name === 'Renamed on b'));
    expect(await onB('DELETE', `/v1/workflows/${id}`)).toBe(204);
    await eventually(names, (list) => !list.some((w) => w.id === id));
  });

  it('forgets a workflow deleted by the other instance within the sync interval', async () => {
    const created = await a.http.post('/v1/workflows').set('Authorization', auth).send(MINIMAL_WORKFLOW).expect(201);
    const id = created.body.id as string;
    await a.http.get(`/v1/workflows/${id}`).set('Authorization', auth).expect(200);
    expect(await onB('DELETE', `/v1/workflows/${id}`)).toBe(204);
    const seen = await eventually(
      () => a.http.get(`/v1/workflows/${id}`).set('Authorization', auth),
      (res) => res.status === 404,
    );
    expect(seen.body.error.code).toBe('WORKFLOW_NOT_FOUND');
  });

  it('refuses a key revoked on the other instance within the sync interval, and at once on its own', async () => {
    const workspaceId = await a.createWorkspace('pro');
    const first = await a.createKey(workspaceId);
    const second = await a.createKey(workspaceId);
    await a.http.get('/v1/me').set('Authorization', a.bearer(first.key)).expect(200);
    await a.http.get('/v1/me').set('Authorization', a.bearer(second.key)).expect(200);

    await a.http.delete(`/v1/api-keys/${first.id}`).set('Authorization', auth).expect(204);
    await a.http.get('/v1/me').set('Authorization', a.bearer(first.key)).expect(401);

    expect(await onB('DELETE', `/v1/api-keys/${second.id}`)).toBe(204);
    const seen = await eventually(
      () => a.http.get('/v1/me').set('Authorization', a.bearer(second.key)),
      (res) => res.status === 401,
    );
    expect(seen.body.error.message).toMatch(/revoked/);
  });

  it("applies a plan changed on the other instance to the workspace's keys within the sync interval", async () => {
    const workspaceId = await a.createWorkspace('free');
    const { key } = await a.createKey(workspaceId);
    const before = await a.http.get('/v1/me').set('Authorization', a.bearer(key)).expect(200);
    expect(before.headers['x-ratelimit-limit']).toBe('60');
    expect(await onB('PATCH', `/v1/workspaces/${workspaceId}`, { plan: 'pro' })).toBe(200);
    const seen = await eventually(
      () => a.http.get('/v1/me').set('Authorization', a.bearer(key)),
      (res) => res.body.workspace?.plan === 'pro',
    );
    expect(seen.body.workspace).toMatchObject({ plan: 'pro', rateLimitPerMinute: 300 });
    expect(seen.headers['x-ratelimit-limit']).toBe('300');
  });
});
