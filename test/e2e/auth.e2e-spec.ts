import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiKeysService } from '../../src/api-keys/api-keys.service';
import { BootstrapService } from '../../src/api-keys/bootstrap.service';
import { LastUsedTracker } from '../../src/api-keys/last-used.tracker';
import { ForbiddenError } from '../../src/common/errors';
import { startTestApp, TEST_ADMIN_KEY, TestApp, useTestApp } from '../support/test-app';

const KEY_SHAPE = /^tfy_[0-9A-Za-z]{32,}$/;
const ALL_BUT_ADMIN = ['workflows:read', 'workflows:write', 'executions:read', 'executions:run'] as const;
const HELLO_WORKFLOW = {
  name: 'Hello',
  nodes: [
    { id: 'trigger', type: 'manual', settings: {} },
    { id: 'greeting', type: 'transform', settings: { value: { message: 'Hello, {{ trigger.name }}!' } } },
    { id: 'out', type: 'return', settings: { value: { result: '{{ greeting.message }}' } } },
  ],
  edges: [
    { id: 'e1', source: 'trigger', target: 'greeting' },
    { id: 'e2', source: 'greeting', target: 'out' },
  ],
};

interface ApiKeyRow {
  id: string;
  workspace_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

/** Everything the database holds, as text: the SQLite files (with the WAL) or every PostgreSQL row. */
async function storedText(t: TestApp): Promise<string> {
  if (t.config.database.type === 'sqlite') {
    const files = readdirSync(t.dataDir, { withFileTypes: true }).filter((entry) => entry.isFile());
    return files.map((file) => readFileSync(join(t.dataDir, file.name)).toString('latin1')).join('\n');
  }
  const db = t.app.get(DataSource);
  const tables = ['workspaces', 'api_keys', 'workflows', 'cache_revisions', 'executions', 'execution_logs'];
  const rows = await Promise.all(tables.map((table) => db.query(`SELECT t::text AS row FROM ${table} t`)));
  return rows
    .flat()
    .map((r: { row: string }) => r.row)
    .join('\n');
}

/** Rows in a table (PostgreSQL returns COUNT as text). */
async function count(db: DataSource, table: string): Promise<number> {
  const [{ n }] = await db.query(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(n);
}

function expectUnauthorized(res: request.Response, message?: RegExp): void {
  expect(res.status).toBe(401);
  expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED', requestId: res.headers['x-request-id'] });
  if (message) expect(res.body.error.message).toMatch(message);
}

describe('Authentication and API keys', () => {
  const t = useTestApp({
    // This suite makes many failed attempts on purpose; the per-IP failure limit has its own suite below.
    TENSORIFY_AUTH_FAILURES_PER_MINUTE: '100000',
    // lastUsedAt is only written when a test flushes it.
    TENSORIFY_LAST_USED_FLUSH_SECONDS: '3600',
  });
  let admin: string;
  let db: DataSource;
  let defaultWorkspaceId: string;

  beforeAll(async () => {
    admin = t.bearer(t.adminKey);
    db = t.app.get(DataSource);
    defaultWorkspaceId = (await t.http.get('/v1/me').set('Authorization', admin).expect(200)).body.workspace.id;
  });

  const nowIso = () => new Date(t.clock.now()).toISOString();
  const createKey = (body: object, auth = admin) => t.http.post('/v1/api-keys').set('Authorization', auth).send(body);
  const listKeys = async (query = '?limit=200') =>
    (await t.http.get(`/v1/api-keys${query}`).set('Authorization', admin).expect(200)).body.apiKeys as Array<Record<string, unknown>>;
  const listedKey = async (id: string) => (await listKeys()).find((k) => k.id === id);
  const row = async (id: string): Promise<ApiKeyRow> =>
    (await db.createQueryBuilder().select('*').from('api_keys', 'k').where('k.id = :id', { id }).getRawOne<ApiKeyRow>())!;
  const me = (key: string) => t.http.get('/v1/me').set('Authorization', t.bearer(key));

  describe('GET /v1/me', () => {
    it('describes the calling key and its workspace, in exactly the documented shape', async () => {
      const res = await me(TEST_ADMIN_KEY).expect(200);
      expect(res.body).toEqual({
        workspace: { id: expect.stringMatching(/^ws_/), name: 'default', plan: 'enterprise', rateLimitPerMinute: 1000 },
        apiKey: { id: expect.stringMatching(/^key_/), name: 'bootstrap admin', prefix: expect.any(String), scopes: ['admin'] },
      });
      expect(TEST_ADMIN_KEY.startsWith(res.body.apiKey.prefix)).toBe(true);
    });

    it("reports a free workspace's plan and its limit of 60", async () => {
      const workspaceId = await t.createWorkspace('free');
      const { key, id } = await t.createKey(workspaceId, ['executions:read']);
      const res = await me(key).expect(200);
      expect(res.body).toEqual({
        workspace: { id: workspaceId, name: expect.any(String), plan: 'free', rateLimitPerMinute: 60 },
        apiKey: { id, name: 'test key', prefix: key.slice(0, res.body.apiKey.prefix.length), scopes: ['executions:read'] },
      });
    });

    it('answers 401 UNAUTHORIZED without an Authorization header', async () => {
      expectUnauthorized(await t.http.get('/v1/me'));
    });

    it.each([
      ['a Basic header', 'Basic dXNlcjpwYXNz'],
      ['a Bearer without a key', 'Bearer '],
      ['a key of the wrong shape', 'Bearer tfy_short'],
      ['a key that was never issued', `Bearer tfy_${'Z'.repeat(43)}`],
    ])('answers 401 UNAUTHORIZED for %s', async (_case, header) => {
      expectUnauthorized(await t.http.get('/v1/me').set('Authorization', header));
    });

    it('refuses a key sent in the query string with 401, even a valid one', async () => {
      expectUnauthorized(await t.http.get(`/v1/me?access_token=${TEST_ADMIN_KEY}`));
    });
  });

  describe('before the body', () => {
    const bodies: [string, string, string][] = [
      ['malformed JSON', 'application/json', '{"name":'],
      ['a body over the size limit', 'application/json', `{"name":"${'x'.repeat(1_100_000)}"}`],
      ['a body that is not JSON', 'text/plain', 'hello'],
      ['a key sent in the body', 'application/json', JSON.stringify({ ...HELLO_WORKFLOW, access_token: TEST_ADMIN_KEY })],
    ];
    it.each(bodies)('answers 401 UNAUTHORIZED without a key, whatever the body: %s', async (_case, contentType, body) => {
      for (const path of ['/v1/workflows', '/v1/workflows/validate', '/v1/api-keys']) {
        expectUnauthorized(await t.http.post(path).set('Content-Type', contentType).send(body));
      }
    });

    it('answers 401 UNAUTHORIZED with an unknown key before looking at the body', async () => {
      expectUnauthorized(
        await t.http
          .post('/v1/workflows')
          .set('Authorization', `Bearer tfy_${'Z'.repeat(43)}`)
          .set('Content-Type', 'application/json')
          .send('{"name":'),
      );
    });

    it('reads the body once the key is valid', async () => {
      const res = await t.http.post('/v1/workflows').set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).set('Content-Type', 'application/json').send('{"name":');
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'INVALID_JSON' });
    });
  });

  describe('POST /v1/api-keys', () => {
    it('creates a key: 201 with a tfy_ secret of 32+ base62 characters, shown with its prefix', async () => {
      const res = await createKey({ name: 'CI pipeline', scopes: ['workflows:read', 'executions:run'] }).expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^key_[0-9A-Za-z]+$/),
        key: expect.stringMatching(KEY_SHAPE),
        prefix: expect.any(String),
        name: 'CI pipeline',
        scopes: ['workflows:read', 'executions:run'],
        workspaceId: defaultWorkspaceId,
        createdAt: nowIso(),
        expiresAt: null,
        lastUsedAt: null,
        revokedAt: null,
      });
      expect(res.body.key.startsWith(res.body.prefix)).toBe(true);
      expect(res.body.prefix.length).toBeGreaterThan('tfy_'.length);
      expect(res.body.key.length - res.body.prefix.length).toBeGreaterThanOrEqual(32);
    });

    it('issues a key that authenticates at once, with the granted scopes', async () => {
      const created = (await createKey({ name: 'works', scopes: ['workflows:read'] }).expect(201)).body;
      const res = await me(created.key).expect(200);
      expect(res.body.apiKey).toEqual({ id: created.id, name: 'works', prefix: created.prefix, scopes: ['workflows:read'] });
    });

    it('issues a different secret every time', async () => {
      const a = (await createKey({ name: 'a' }).expect(201)).body;
      const b = (await createKey({ name: 'b' }).expect(201)).body;
      expect(a.key).not.toBe(b.key);
      expect(a.id).not.toBe(b.id);
    });

    it("gives the new key the caller's scopes when none are asked for", async () => {
      const res = await createKey({ name: 'defaults' }).expect(201);
      expect(res.body.scopes).toEqual(['admin']);
    });

    it('creates the key in another workspace when workspaceId is given', async () => {
      const workspaceId = await t.createWorkspace('pro');
      const created = (await createKey({ name: 'elsewhere', workspaceId, scopes: ['workflows:read'] }).expect(201)).body;
      expect(created.workspaceId).toBe(workspaceId);
      expect((await me(created.key).expect(200)).body.workspace).toMatchObject({ id: workspaceId, plan: 'pro' });
    });

    it('answers 404 WORKSPACE_NOT_FOUND for the workspaceId of a missing workspace', async () => {
      const res = await createKey({ name: 'nowhere', workspaceId: 'ws_DoesNotExist0000' }).expect(404);
      expect(res.body.error.code).toBe('WORKSPACE_NOT_FOUND');
    });

    it('refuses an expiresAt in the past with 400 VALIDATION_ERROR', async () => {
      const past = new Date(t.clock.now() - 1000).toISOString();
      const res = await createKey({ name: 'stale', expiresAt: past }).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.fields).toHaveProperty('expiresAt');
    });

    it.each([
      ['an empty scope list', { name: 'none', scopes: [] }, 'scopes'],
      ['an unknown scope', { name: 'unknown', scopes: ['workflows:delete'] }, 'scopes'],
      ['an expiresAt that is not a date', { name: 'soon', expiresAt: 'tomorrow' }, 'expiresAt'],
      ['no name', { scopes: ['workflows:read'] }, 'name'],
      ['an unknown field', { name: 'typo', scope: ['workflows:read'] }, 'scope'],
    ])('refuses %s with 400 VALIDATION_ERROR', async (_case, body, field) => {
      const res = await createKey(body).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.fields).toHaveProperty([field]);
    });
  });

  describe('the secret is shown once only', () => {
    let created: { id: string; key: string; prefix: string };
    beforeAll(async () => {
      created = (await createKey({ name: 'secret keeper', scopes: ['workflows:read'] }).expect(201)).body;
    });

    it('is absent from GET /v1/api-keys, which shows the prefix instead', async () => {
      const res = await t.http.get('/v1/api-keys?limit=200').set('Authorization', admin).expect(200);
      expect(res.text).not.toContain(created.key);
      const listed = res.body.apiKeys.find((k: { id: string }) => k.id === created.id);
      expect(Object.keys(listed).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'scopes', 'workspaceId']);
      expect(listed.prefix).toBe(created.prefix);
    });

    it('is stored only as its SHA-256 hash (64 hex digits) and the display prefix', async () => {
      const stored = await row(created.id);
      expect(stored.secret_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(stored.secret_hash).toBe(createHash('sha256').update(created.key).digest('hex'));
      expect(stored.prefix).toBe(created.prefix);
      expect(JSON.stringify(stored)).not.toContain(created.key);
    });

    it('is nowhere in the stored data, where its prefix is', async () => {
      const stored = await storedText(t);
      expect(stored).toContain(created.prefix); // the scan does see the key's row
      expect(stored).not.toContain(created.key);
    });
  });

  describe('GET /v1/api-keys', () => {
    it('lists only the keys of workspaceId when given', async () => {
      const workspaceId = await t.createWorkspace('free');
      const first = await t.createKey(workspaceId);
      const second = await t.createKey(workspaceId);
      const keys = await listKeys(`?workspaceId=${workspaceId}`);
      expect(keys.map((k) => k.id).sort()).toEqual([first.id, second.id].sort());
    });
  });

  describe('admin-only routes', () => {
    let memberKey: string;
    let otherKeyId: string;
    beforeAll(async () => {
      const workspaceId = await t.createWorkspace('pro');
      memberKey = (await t.createKey(workspaceId, [...ALL_BUT_ADMIN])).key;
      otherKeyId = (await t.createKey(workspaceId, ['workflows:read'])).id;
    });

    it.each([
      ['POST', '/v1/api-keys', { name: 'escalate', scopes: ['admin'] }],
      ['GET', '/v1/api-keys', undefined],
      ['POST', '/v1/workspaces', { name: 'mine', plan: 'enterprise', rateLimitPerMinute: 1000000 }],
      ['GET', '/v1/workspaces', undefined],
    ])('refuse a key without the admin scope: %s %s → 403 FORBIDDEN', async (method, path, body) => {
      const req = method === 'POST' ? t.http.post(path).send(body) : t.http.get(path);
      const res = await req.set('Authorization', t.bearer(memberKey)).expect(403);
      expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', details: { requiredScope: 'admin' }, requestId: res.headers['x-request-id'] });
    });

    it('refuse to let a non-admin key revoke a key (403), and the key keeps working', async () => {
      const res = await t.http.delete(`/v1/api-keys/${otherKeyId}`).set('Authorization', t.bearer(memberKey)).expect(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect(await listedKey(otherKeyId)).toMatchObject({ revokedAt: null });
    });

    it('refuse to let a non-admin key change its own workspace (403)', async () => {
      const workspaceId = (await me(memberKey).expect(200)).body.workspace.id;
      const res = await t.http.patch(`/v1/workspaces/${workspaceId}`).set('Authorization', t.bearer(memberKey)).send({ plan: 'enterprise' }).expect(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect((await me(memberKey).expect(200)).body.workspace.plan).toBe('pro');
    });
  });

  describe('scopes per route', () => {
    let readKey: string;
    let runKey: string;
    beforeAll(async () => {
      const workspaceId = await t.createWorkspace('pro');
      readKey = (await t.createKey(workspaceId, ['workflows:read'])).key;
      runKey = (await t.createKey(workspaceId, ['executions:run'])).key;
    });

    it('lets a workflows:read key list workflows', async () => {
      const res = await t.http.get('/v1/workflows').set('Authorization', t.bearer(readKey)).expect(200);
      expect(res.body).toEqual({ workflows: [], nextCursor: null });
    });

    it('refuses a workflows:read key to create a workflow with 403 FORBIDDEN, and stores nothing', async () => {
      const res = await t.http.post('/v1/workflows').set('Authorization', t.bearer(readKey)).send(HELLO_WORKFLOW).expect(403);
      expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', details: { requiredScope: 'workflows:write' } });
      expect((await t.http.get('/v1/workflows').set('Authorization', t.bearer(readKey)).expect(200)).body.workflows).toEqual([]);
    });

    it('refuses an executions:run-only key to list workflows with 403 FORBIDDEN', async () => {
      const res = await t.http.get('/v1/workflows').set('Authorization', t.bearer(runKey)).expect(403);
      expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', details: { requiredScope: 'workflows:read' } });
    });

    it('lets a key of any scope call GET /v1/me', async () => {
      await me(runKey).expect(200);
      await me(readKey).expect(200);
    });

    it('lets an admin key do everything', async () => {
      await t.http.get('/v1/workflows').set('Authorization', admin).expect(200);
      await t.http.post('/v1/workflows').set('Authorization', admin).send(HELLO_WORKFLOW).expect(201);
      await t.http.get('/v1/nodes').set('Authorization', admin).expect(200);
      await t.http.get('/v1/api-keys').set('Authorization', admin).expect(200);
      await t.http.get('/v1/workspaces').set('Authorization', admin).expect(200);
    });
  });

  describe('a key never mints a key with a scope it lacks (ApiKeysService.create with a grantor)', () => {
    const keyCount = async () => Number((await db.query('SELECT COUNT(*) AS n FROM api_keys'))[0].n);

    it('refuses workflows:write to a workflows:read grantor with ForbiddenError, storing nothing', async () => {
      const before = await keyCount();
      await expect(
        t.app.get(ApiKeysService).create({ workspaceId: defaultWorkspaceId, name: 'escalation', scopes: ['workflows:write'] }, { scopes: ['workflows:read'] }),
      ).rejects.toBeInstanceOf(ForbiddenError);
      expect(await keyCount()).toBe(before);
    });

    it('refuses admin to a grantor holding every other scope', async () => {
      await expect(
        t.app.get(ApiKeysService).create({ workspaceId: defaultWorkspaceId, name: 'escalation', scopes: ['admin'] }, { scopes: [...ALL_BUT_ADMIN] }),
      ).rejects.toBeInstanceOf(ForbiddenError);
    });

    it('refuses a mix of held and missing scopes, naming the missing one', async () => {
      const attempt = t.app
        .get(ApiKeysService)
        .create({ workspaceId: defaultWorkspaceId, name: 'mixed', scopes: ['workflows:read', 'executions:run'] }, { scopes: ['workflows:read'] });
      await expect(attempt).rejects.toMatchObject({ code: 'FORBIDDEN', details: { missingScopes: ['executions:run'] } });
    });

    it('grants a scope the grantor holds', async () => {
      const { apiKey } = await t.app
        .get(ApiKeysService)
        .create({ workspaceId: defaultWorkspaceId, name: 'narrow', scopes: ['workflows:read'] }, { scopes: ['workflows:read', 'executions:read'] });
      expect(apiKey.scopes).toEqual(['workflows:read']);
    });
  });

  describe('DELETE /v1/api-keys/:id (revoke)', () => {
    it('answers 204 and the key fails with 401 from the very next request', async () => {
      const { key, id } = await t.createKey(defaultWorkspaceId, ['workflows:read']);
      await me(key).expect(200);
      const res = await t.http.delete(`/v1/api-keys/${id}`).set('Authorization', admin).expect(204);
      expect(res.text).toBe('');
      expectUnauthorized(await me(key), /revoked/i);
    });

    it('shows revokedAt and lastUsedAt in the list', async () => {
      const { key, id } = await t.createKey(defaultWorkspaceId, ['workflows:read']);
      await me(key).expect(200);
      const usedAt = nowIso();
      t.clock.advance(2000);
      await t.http.delete(`/v1/api-keys/${id}`).set('Authorization', admin).expect(204);
      expect(await listedKey(id)).toMatchObject({ id, revokedAt: nowIso(), lastUsedAt: usedAt });
    });

    it('is a no-op on a revoked key: 204 again, revokedAt unchanged', async () => {
      const { id } = await t.createKey(defaultWorkspaceId, ['workflows:read']);
      await t.http.delete(`/v1/api-keys/${id}`).set('Authorization', admin).expect(204);
      const revokedAt = nowIso();
      t.clock.advance(5000);
      await t.http.delete(`/v1/api-keys/${id}`).set('Authorization', admin).expect(204);
      expect((await listedKey(id))?.revokedAt).toBe(revokedAt);
    });

    it.each(['key_DoesNotExist0000', 'not-a-key-id'])('answers 404 API_KEY_NOT_FOUND for %s', async (id) => {
      const res = await t.http.delete(`/v1/api-keys/${id}`).set('Authorization', admin).expect(404);
      expect(res.body.error).toMatchObject({ code: 'API_KEY_NOT_FOUND', requestId: res.headers['x-request-id'] });
    });
  });

  describe('expiry', () => {
    it('lets a key work until expiresAt and fails it with 401 "expired" from then on', async () => {
      const expiresAt = new Date(t.clock.now() + 3_600_000).toISOString();
      const created = (await createKey({ name: 'temporary', scopes: ['workflows:read'], expiresAt }).expect(201)).body;
      expect(created.expiresAt).toBe(expiresAt);
      await me(created.key).expect(200);
      t.clock.advance(3_599_999);
      await me(created.key).expect(200);
      t.clock.advance(1);
      expectUnauthorized(await me(created.key), /expired/i);
    });
  });

  describe('lastUsedAt', () => {
    it('is null until the key is used', async () => {
      const { id } = await t.createKey(defaultWorkspaceId, ['workflows:read']);
      expect(await listedKey(id)).toMatchObject({ lastUsedAt: null });
    });

    it('shows the time of the last use in GET /v1/api-keys at once, without a database write per request', async () => {
      const { key, id } = await t.createKey(defaultWorkspaceId, ['workflows:read']);
      t.clock.advance(1000);
      await me(key).expect(200);
      const usedAt = nowIso();
      t.clock.advance(1000);
      expect((await row(id)).last_used_at).toBeNull();
      expect(await listedKey(id)).toMatchObject({ lastUsedAt: usedAt });
    });

    it('is written to the database when the tracker flushes', async () => {
      const { key, id } = await t.createKey(defaultWorkspaceId, ['workflows:read']);
      await me(key).expect(200);
      const usedAt = nowIso();
      expect((await row(id)).last_used_at).toBeNull();
      await t.app.get(LastUsedTracker).flush();
      expect((await row(id)).last_used_at).toBe(usedAt);
      expect(await listedKey(id)).toMatchObject({ lastUsedAt: usedAt });
    });

    it('keeps the latest use when a key is used again', async () => {
      const { key, id } = await t.createKey(defaultWorkspaceId, ['workflows:read']);
      await me(key).expect(200);
      await t.app.get(LastUsedTracker).flush();
      t.clock.advance(7000);
      await me(key).expect(200);
      expect(await listedKey(id)).toMatchObject({ lastUsedAt: nowIso() });
    });
  });
});

describe('Bootstrap', () => {
  it('makes TENSORIFY_BOOTSTRAP_API_KEY, exactly, the admin key of the enterprise workspace "default"', async () => {
    const t = await startTestApp();
    try {
      const res = await t.http.get('/v1/me').set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).expect(200);
      expect(res.body.workspace).toMatchObject({ name: 'default', plan: 'enterprise' });
      expect(res.body.apiKey.scopes).toEqual(['admin']);
    } finally {
      await t.close();
    }
  });

  it('creates exactly one workspace and one key on an empty database', async () => {
    const t = await startTestApp();
    try {
      const db = t.app.get(DataSource);
      expect(await db.query('SELECT name, plan FROM workspaces')).toEqual([{ name: 'default', plan: 'enterprise' }]);
      expect(await count(db, 'api_keys')).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('generates an admin key when TENSORIFY_BOOTSTRAP_API_KEY is not set', async () => {
    const t = await startTestApp({ TENSORIFY_BOOTSTRAP_API_KEY: '' });
    try {
      const generated = t.app.get(BootstrapService).result?.generatedSecret;
      expect(generated).toMatch(KEY_SHAPE);
      expect(generated).not.toBe(TEST_ADMIN_KEY);
      const res = await t.http.get('/v1/me').set('Authorization', `Bearer ${generated}`).expect(200);
      expect(res.body).toMatchObject({ workspace: { name: 'default', plan: 'enterprise' }, apiKey: { scopes: ['admin'] } });
      await t.http.get('/v1/me').set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).expect(401);
    } finally {
      await t.close();
    }
  });

  describe('restarting on the same data directory and database', () => {
    const OTHER_BOOTSTRAP_KEY = 'tfy_AnotherBootstrapKey0123456789abcdefghijklm';
    const t = useTestApp();

    beforeAll(async () => {
      await t.http.get('/v1/me').set('Authorization', t.bearer(TEST_ADMIN_KEY)).expect(200);
      await t.restart({ TENSORIFY_BOOTSTRAP_API_KEY: OTHER_BOOTSTRAP_KEY });
    });

    it('creates no second workspace and no second key', async () => {
      const db = t.app.get(DataSource);
      expect(await count(db, 'workspaces')).toBe(1);
      expect(await count(db, 'api_keys')).toBe(1);
      expect(t.app.get(BootstrapService).result).toBeNull();
    });

    it('keeps the original bootstrap key working', async () => {
      await t.http.get('/v1/me').set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).expect(200);
    });

    it('ignores a TENSORIFY_BOOTSTRAP_API_KEY set only for the later start', async () => {
      const res = await t.http.get('/v1/me').set('Authorization', `Bearer ${OTHER_BOOTSTRAP_KEY}`);
      expectUnauthorized(res);
    });

    it('has written lastUsedAt of the first run on shutdown', async () => {
      const [stored] = await t.app.get(DataSource).query('SELECT last_used_at FROM api_keys');
      expect(stored.last_used_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    });
  });
});

describe('Failed authentications per client IP', () => {
  const LIMIT = 5;
  let t: TestApp;

  afterEach(() => t?.close());

  const badKey = (i: number) => `Bearer tfy_${String(i).padStart(43, 'W')}`;
  const withBadKey = (i: number, ip?: string) => {
    const req = t.http.get('/v1/me').set('Authorization', badKey(i));
    return ip ? req.set('X-Forwarded-For', ip) : req;
  };

  it(`answers 401 to the first ${LIMIT} failures and 429 RATE_LIMITED with Retry-After to the next`, async () => {
    t = await startTestApp({ TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
    for (let i = 0; i < LIMIT; i++) expectUnauthorized(await withBadKey(i));
    const res = await withBadKey(LIMIT);
    expect(res.status).toBe(429);
    expect(res.body.error).toMatchObject({ code: 'RATE_LIMITED', requestId: res.headers['x-request-id'] });
    expect(res.headers['retry-after']).toBe('60');
  });

  it('refuses even the valid admin key from a blocked IP with 429', async () => {
    t = await startTestApp({ TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
    for (let i = 0; i <= LIMIT; i++) await withBadKey(i);
    const res = await t.http.get('/v1/me').set('Authorization', t.bearer(t.adminKey)).expect(429);
    expect(res.body.error.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('counts Retry-After down to the end of the window and lets the valid key in after it', async () => {
    t = await startTestApp({ TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
    for (let i = 0; i <= LIMIT; i++) await withBadKey(i);
    t.clock.advance(45_000);
    expect((await t.http.get('/v1/me').set('Authorization', t.bearer(t.adminKey)).expect(429)).headers['retry-after']).toBe('15');
    t.clock.advance(15_000);
    await t.http.get('/v1/me').set('Authorization', t.bearer(t.adminKey)).expect(200);
  });

  it('does not count successful authentications as failures', async () => {
    t = await startTestApp({ TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
    for (let i = 0; i < LIMIT - 1; i++) expectUnauthorized(await withBadKey(i));
    for (let i = 0; i < 10; i++) await t.http.get('/v1/me').set('Authorization', t.bearer(t.adminKey)).expect(200);
    expectUnauthorized(await withBadKey(LIMIT));
  });

  it('blocks only the failing address when the proxy is trusted (X-Forwarded-For)', async () => {
    t = await startTestApp({ TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(LIMIT), TENSORIFY_TRUST_PROXY: 'true' });
    for (let i = 0; i <= LIMIT; i++) await withBadKey(i, '203.0.113.7');
    await t.http.get('/v1/me').set('Authorization', t.bearer(t.adminKey)).set('X-Forwarded-For', '203.0.113.7').expect(429);
    await t.http.get('/v1/me').set('Authorization', t.bearer(t.adminKey)).set('X-Forwarded-For', '198.51.100.23').expect(200);
  });

  it('cannot be escaped by forging X-Forwarded-For when no proxy is trusted', async () => {
    t = await startTestApp({ TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
    for (let i = 0; i < LIMIT; i++) expectUnauthorized(await withBadKey(i, `203.0.113.${i + 1}`));
    expect((await withBadKey(LIMIT, '198.51.100.99')).status).toBe(429);
  });
});
