import type { Test } from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { startTestApp, TestApp } from '../support/test-app';

const BODY = {
  name: 'private to B',
  nodes: [
    { id: 'trigger', type: 'manual', settings: {} },
    { id: 'secret', type: 'transform', settings: { value: 'B only' } },
  ],
  edges: [{ source: 'trigger', target: 'secret' }],
};

/** A well-formed workflow id that no workspace has. */
const NONEXISTENT_ID = 'wf_0000000000000000';

interface WorkflowRoute {
  route: string;
  request(http: TestAgent, id: string): Test;
}

/** Every route that addresses one workflow by id; a new route is one more line here. */
const WORKFLOW_ROUTES: WorkflowRoute[] = [
  { route: 'GET /v1/workflows/:id', request: (http, id) => http.get(`/v1/workflows/${id}`) },
  { route: 'PUT /v1/workflows/:id', request: (http, id) => http.put(`/v1/workflows/${id}`).send({ ...BODY, name: 'taken over' }) },
  { route: 'PUT /v1/workflows/:id with If-Match', request: (http, id) => http.put(`/v1/workflows/${id}`).set('If-Match', '1').send(BODY) },
  { route: 'PUT /v1/workflows/:id with a stale If-Match', request: (http, id) => http.put(`/v1/workflows/${id}`).set('If-Match', '9').send(BODY) },
  { route: 'DELETE /v1/workflows/:id', request: (http, id) => http.delete(`/v1/workflows/${id}`) },
  { route: 'POST /v1/workflows/:id/export', request: (http, id) => http.post(`/v1/workflows/${id}/export`) },
  { route: 'POST /v1/workflows/:id/export?format=zip', request: (http, id) => http.post(`/v1/workflows/${id}/export?format=zip`) },
];

describe('Workspace isolation', () => {
  let t: TestApp;
  let authA: string;
  let authB: string;
  let workflowOfB: { id: string; version: number };

  beforeAll(async () => {
    t = await startTestApp();
    authA = t.bearer((await t.createKey(await t.createWorkspace('enterprise'))).key);
    authB = t.bearer((await t.createKey(await t.createWorkspace('enterprise'))).key);
    workflowOfB = (await t.http.post('/v1/workflows').set('Authorization', authB).send(BODY).expect(201)).body;
  });
  afterAll(() => t.close());

  /** The error body with the requested id and the request id taken out, to compare two 404s. */
  function shapeOf(body: { error: { code: string; message: string; details?: unknown; requestId: string } }, id: string) {
    const { requestId, message, ...rest } = body.error;
    expect(requestId).toEqual(expect.any(String));
    return { ...rest, message: message.split(id).join('<id>'), keys: Object.keys(body.error).sort() };
  }

  describe.each(WORKFLOW_ROUTES)('$route', ({ request }) => {
    it("answers another workspace's workflow exactly as a nonexistent one: 404 WORKFLOW_NOT_FOUND", async () => {
      const foreign = await request(t.http, workflowOfB.id).set('Authorization', authA);
      const missing = await request(t.http, NONEXISTENT_ID).set('Authorization', authA);
      expect(foreign.status).toBe(404);
      expect(missing.status).toBe(404);
      expect(foreign.body.error.code).toBe('WORKFLOW_NOT_FOUND');
      expect(foreign.body.error.message).toBe(`Workflow ${workflowOfB.id} not found`);
      expect(shapeOf(foreign.body, workflowOfB.id)).toEqual(shapeOf(missing.body, NONEXISTENT_ID));
      expect(foreign.headers.etag).toBeUndefined();
    });

    it("leaves the other workspace's workflow unchanged", async () => {
      await request(t.http, workflowOfB.id).set('Authorization', authA).expect(404);
      const res = await t.http.get(`/v1/workflows/${workflowOfB.id}`).set('Authorization', authB).expect(200);
      expect(res.body).toEqual(workflowOfB);
      expect(res.body.version).toBe(1);
    });
  });

  describe('GET /v1/workflows', () => {
    it("never lists another workspace's workflows", async () => {
      const ownOfA = (
        await t.http
          .post('/v1/workflows')
          .set('Authorization', authA)
          .send({ ...BODY, name: 'of A' })
          .expect(201)
      ).body;
      const res = await t.http.get('/v1/workflows?limit=200').set('Authorization', authA).expect(200);
      expect(res.body.workflows.map((w: { id: string }) => w.id)).toEqual([ownOfA.id]);
    });

    it("lists the owner's workflows to the owner", async () => {
      const res = await t.http.get('/v1/workflows?limit=200').set('Authorization', authB).expect(200);
      expect(res.body.workflows.map((w: { id: string }) => w.id)).toEqual([workflowOfB.id]);
    });

    it("does not let a cursor reach into another workspace's list", async () => {
      const cursor = Buffer.from(JSON.stringify([Date.parse('2100-01-01T00:00:00.000Z'), 'wf_zzzzzzzzzzzzzzzz'])).toString('base64url');
      const res = await t.http.get(`/v1/workflows?cursor=${cursor}`).set('Authorization', authA).expect(200);
      expect(res.body.workflows.map((w: { id: string }) => w.id)).not.toContain(workflowOfB.id);
    });
  });
});
