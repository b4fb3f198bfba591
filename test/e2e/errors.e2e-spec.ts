import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { startTestApp, TestApp } from '../support/test-app';

const GENERATED_REQUEST_ID = /^req_[0-9a-f]{32}$/;

const VALID_BODY = {
  name: 'errors',
  nodes: [
    { id: 'trigger', type: 'manual', settings: {} },
    { id: 'step', type: 'transform', settings: { value: 1 } },
  ],
  edges: [{ source: 'trigger', target: 'step' }],
};

/** The one error shape of api.md: `{error:{code, message, details?, requestId}}`, requestId = X-Request-Id. */
function expectEnvelope(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(res.body)).toEqual(['error']);
  const allowed = ['code', 'message', 'details', 'requestId'];
  expect(Object.keys(res.body.error).filter((key) => !allowed.includes(key))).toEqual([]);
  expect(res.body.error.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
  expect(res.body.error.message).toEqual(expect.any(String));
  expect(res.body.error.message.length).toBeGreaterThan(0);
  expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
  if ('details' in res.body.error) expect(res.body.error.details).toEqual(expect.any(Object));
}

describe('Error envelope', () => {
  let t: TestApp;
  let auth: string;

  beforeAll(async () => {
    t = await startTestApp();
    auth = t.bearer(t.adminKey);
  });
  afterAll(() => t.close());

  describe('from the validation pipe', () => {
    it('is 400 VALIDATION_ERROR with details.fields', async () => {
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).send({ name: '' });
      expectEnvelope(res, 400, 'VALIDATION_ERROR');
      expect(res.body.error.details.fields).toEqual(expect.objectContaining({ name: expect.any(Array), nodes: expect.any(Array), edges: expect.any(Array) }));
    });

    it('is 400 VALIDATION_ERROR for a bad query parameter', async () => {
      const res = await t.http.get('/v1/workflows?limit=1000').set('Authorization', auth);
      expectEnvelope(res, 400, 'VALIDATION_ERROR');
      expect(res.body.error.details.fields).toHaveProperty('limit');
    });
  });

  describe('from the graph validator', () => {
    it('is 400 INVALID_WORKFLOW with details.nodes and details.graph', async () => {
      const res = await t.http
        .post('/v1/workflows')
        .set('Authorization', auth)
        .send({ ...VALID_BODY, nodes: [...VALID_BODY.nodes, { id: 'odd', type: 'unknown-type' }] });
      expectEnvelope(res, 400, 'INVALID_WORKFLOW');
      expect(res.body.error.details).toEqual({ nodes: { odd: expect.any(Array) }, graph: [] });
    });
  });

  describe('from the auth guard', () => {
    it('is 401 UNAUTHORIZED without a key', async () => {
      expectEnvelope(await t.http.get('/v1/workflows'), 401, 'UNAUTHORIZED');
    });

    it('is 401 UNAUTHORIZED with an unknown key', async () => {
      expectEnvelope(await t.http.get('/v1/workflows').set('Authorization', `Bearer tfy_${'Q'.repeat(40)}`), 401, 'UNAUTHORIZED');
    });
  });

  describe('from the scopes guard', () => {
    it('is 403 FORBIDDEN naming the scope when a read-only key creates a workflow, and nothing is stored', async () => {
      const workspaceId = await t.createWorkspace('enterprise');
      const readOnly = t.bearer((await t.createKey(workspaceId, ['workflows:read'])).key);
      const res = await t.http.post('/v1/workflows').set('Authorization', readOnly).send(VALID_BODY);
      expectEnvelope(res, 403, 'FORBIDDEN');
      expect(res.body.error.details).toEqual(expect.objectContaining({ requiredScope: 'workflows:write' }));
      const list = await t.http.get('/v1/workflows').set('Authorization', readOnly).expect(200);
      expect(list.body.workflows).toEqual([]);
    });

    it('is 403 FORBIDDEN when a workflows-only key calls an admin route', async () => {
      const workspaceId = await t.createWorkspace('enterprise');
      const key = t.bearer((await t.createKey(workspaceId, ['workflows:read', 'workflows:write'])).key);
      expectEnvelope(await t.http.get('/v1/api-keys').set('Authorization', key), 403, 'FORBIDDEN');
    });
  });

  describe('from the throttler', () => {
    it('is 429 RATE_LIMITED with Retry-After once a free workspace passes 60 requests a minute', async () => {
      const workspaceId = await t.createWorkspace('free');
      const key = t.bearer((await t.createKey(workspaceId)).key);
      let res: Response | undefined;
      for (let i = 1; i <= 61; i++) {
        res = await t.http.get('/v1/workflows').set('Authorization', key);
        if (i < 61) expect(res.status).toBe(200);
      }
      expectEnvelope(res!, 429, 'RATE_LIMITED');
      const retryAfter = Number(res!.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
    });
  });

  describe('for an unknown route', () => {
    it.each([
      ['GET', '/nope'],
      ['GET', '/v1/nope'],
      ['GET', '/v2/workflows'],
      ['POST', '/v1/workflows/wf_0000000000000000/nonsense'],
      ['PATCH', '/v1/workflows'],
      ['PATCH', '/v1/workflows/wf_0000000000000000'],
    ])('is 404 NOT_FOUND for %s %s', async (method, path) => {
      const res = await t.http[method.toLowerCase() as 'get' | 'post' | 'patch'](path).set('Authorization', auth);
      expectEnvelope(res, 404, 'NOT_FOUND');
    });

    it('is 404 NOT_FOUND without a key too', async () => {
      expectEnvelope(await t.http.get('/v1/nope'), 404, 'NOT_FOUND');
    });
  });

  describe('from the body parser', () => {
    it('is 400 INVALID_JSON for malformed JSON', async () => {
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).set('Content-Type', 'application/json').send('{"name":');
      expectEnvelope(res, 400, 'INVALID_JSON');
    });

    it('is 413 PAYLOAD_TOO_LARGE for a body over the limit', async () => {
      const res = await t.http
        .post('/v1/workflows')
        .set('Authorization', auth)
        .send({ ...VALID_BODY, description: 'x'.repeat(t.config.bodyLimitBytes + 1) });
      expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('is 415 UNSUPPORTED_MEDIA_TYPE for a body that is not JSON', async () => {
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).set('Content-Type', 'text/plain').send('hello');
      expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('for a domain error', () => {
    it('is 404 WORKFLOW_NOT_FOUND naming the workflow', async () => {
      const res = await t.http.get('/v1/workflows/wf_0000000000000000').set('Authorization', auth);
      expectEnvelope(res, 404, 'WORKFLOW_NOT_FOUND');
      expect(res.body.error.message).toBe('Workflow wf_0000000000000000 not found');
    });

    it('is 409 CONFLICT for a stale If-Match', async () => {
      const created = await t.http.post('/v1/workflows').set('Authorization', auth).send(VALID_BODY).expect(201);
      const res = await t.http.put(`/v1/workflows/${created.body.id}`).set('Authorization', auth).set('If-Match', '5').send(VALID_BODY);
      expectEnvelope(res, 409, 'CONFLICT');
    });
  });

  describe('X-Request-Id', () => {
    it('is generated when the caller sends none, on success and on error', async () => {
      const ok = await t.http.get('/v1/workflows').set('Authorization', auth).expect(200);
      expect(ok.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
      const error = await t.http.get('/v1/workflows');
      expect(error.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
      expect(error.body.error.requestId).toBe(error.headers['x-request-id']);
    });

    it('is unique per request', async () => {
      const first = await t.http.get('/health');
      const second = await t.http.get('/health');
      expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
    });

    it("echoes the caller's own id in the header and the error body", async () => {
      const res = await t.http.get('/v1/workflows/wf_0000000000000000').set('Authorization', auth).set('X-Request-Id', 'my-trace-12345');
      expect(res.headers['x-request-id']).toBe('my-trace-12345');
      expectEnvelope(res, 404, 'WORKFLOW_NOT_FOUND');
      expect(res.body.error.requestId).toBe('my-trace-12345');
    });

    it("echoes the caller's own id on a successful response", async () => {
      const res = await t.http.get('/v1/workflows').set('Authorization', auth).set('X-Request-Id', 'my-trace-12345').expect(200);
      expect(res.headers['x-request-id']).toBe('my-trace-12345');
    });

    it.each([
      ['too short', 'x'],
      ['with spaces', 'my trace id 12345'],
      ['too long', 'a'.repeat(129)],
      ['with markup', '<script>alert(1)</script>'],
      ['with a quote', 'trace"12345678'],
    ])('replaces an id that is %s with a generated one', async (_label, incoming) => {
      const res = await t.http.get('/v1/workflows').set('X-Request-Id', incoming);
      expect(res.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
      expectEnvelope(res, 401, 'UNAUTHORIZED');
    });
  });
});

describe('Error envelope for an unexpected exception', () => {
  let t: TestApp;
  let dataSource: DataSource;

  beforeAll(async () => {
    t = await startTestApp();
    dataSource = t.app.get(DataSource);
    await dataSource.destroy();
  });
  afterAll(async () => {
    if (!dataSource.isInitialized) await dataSource.initialize();
    await t.close();
  });

  it('is 500 INTERNAL_ERROR', async () => {
    expectEnvelope(await t.http.get('/v1/workflows').set('Authorization', t.bearer(t.adminKey)), 500, 'INTERNAL_ERROR');
  });

  it('quotes the request id in its message', async () => {
    const res = await t.http.get('/v1/workflows').set('Authorization', t.bearer(t.adminKey)).set('X-Request-Id', 'trace-for-500');
    expect(res.body.error.requestId).toBe('trace-for-500');
    expect(res.body.error.message).toContain('trace-for-500');
  });

  it('says nothing internal: no stack, error class, driver or ORM detail', async () => {
    const res = await t.http.get('/v1/workflows').set('Authorization', t.bearer(t.adminKey));
    const text = JSON.stringify(res.body);
    for (const leak of ['at ', 'Error:', 'SQLITE', 'sqlite', 'typeorm', 'TypeORM', 'DataSource', 'QueryFailed', '.ts:', 'node_modules', t.dataDir]) {
      expect(text).not.toContain(leak);
    }
    expect(res.body.error.details).toBeUndefined();
  });

  it('leaves the process serving', async () => {
    await t.http.get('/health').expect(200);
  });
});
