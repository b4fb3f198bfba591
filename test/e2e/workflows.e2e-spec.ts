import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startTestApp, TestApp } from '../support/test-app';

/** The shared example workflows of the contract (beside this repository: /work/shared/examples). */
const EXAMPLES_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'examples');

function example(name: 'hello' | 'code-branch') {
  return JSON.parse(readFileSync(resolve(EXAMPLES_DIR, `${name}.json`), 'utf8'));
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UNKNOWN_ID = 'wf_0000000000000000';

/** A small valid workflow whose transform node outputs `value`. */
function workflowBody(name: string, value: unknown = 'x') {
  return {
    name,
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      { id: 'step', type: 'transform', settings: { value } },
    ],
    edges: [{ source: 'trigger', target: 'step' }],
  };
}

describe('Workflows API', () => {
  let t: TestApp;
  let auth: string;

  beforeAll(async () => {
    t = await startTestApp();
    auth = t.bearer(t.adminKey);
  });
  afterAll(() => t.close());

  /** A fresh workspace and a key of it, so list assertions see only what the test created. */
  async function freshWorkspaceAuth(): Promise<string> {
    const workspaceId = await t.createWorkspace('enterprise');
    return t.bearer((await t.createKey(workspaceId)).key);
  }

  async function create(body: object, as = auth) {
    return (await t.http.post('/v1/workflows').set('Authorization', as).send(body).expect(201)).body;
  }

  async function listAll(as: string): Promise<{ id: string }[]> {
    return (await t.http.get('/v1/workflows?limit=200').set('Authorization', as).expect(200)).body.workflows;
  }

  describe('POST /v1/workflows', () => {
    it('stores the hello example as version 1 and echoes the full workflow', async () => {
      const hello = example('hello');
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).send(hello).expect(201);
      const now = new Date(t.clock.now()).toISOString();
      expect(res.body).toEqual({
        id: expect.stringMatching(/^wf_[A-Za-z0-9]{16}$/),
        name: hello.name,
        description: hello.description,
        version: 1,
        nodes: hello.nodes,
        edges: hello.edges,
        createdAt: now,
        updatedAt: now,
      });
    });

    it('accepts the code-branch example as it is', async () => {
      const branch = example('code-branch');
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).send(branch).expect(201);
      expect(res.body.nodes).toEqual(branch.nodes);
      expect(res.body.edges).toEqual(branch.edges);
      expect(res.body.version).toBe(1);
    });

    it('returns the version as a quoted ETag', async () => {
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).send(workflowBody('etag')).expect(201);
      expect(res.headers.etag).toBe('"1"');
    });

    it('defaults description to an empty string and settings to an empty object', async () => {
      const body = workflowBody('defaults');
      delete (body.nodes[0] as { settings?: unknown }).settings;
      const created = await create(body);
      expect(created.description).toBe('');
      expect(created.nodes[0].settings).toEqual({});
    });

    it('keeps position and ui objects verbatim', async () => {
      const position = { x: 12.5, y: -40, z: 0, extra: { nested: [1, 'two', null, { deep: true }] } };
      const ui = { color: '#ff00aa', collapsed: true, label: 'Start ▶', tags: ['a', 'b'], size: { w: 120, h: 48 } };
      const body = workflowBody('positions');
      Object.assign(body.nodes[0], { position, ui });
      const created = await create(body);
      expect(created.nodes[0].position).toEqual(position);
      expect(created.nodes[0].ui).toEqual(ui);
      const fetched = await t.http.get(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(200);
      expect(fetched.body.nodes[0].position).toEqual(position);
      expect(fetched.body.nodes[0].ui).toEqual(ui);
    });

    it('refuses an invalid graph with INVALID_WORKFLOW, details.nodes keyed by node id and details.graph', async () => {
      const body = {
        name: 'broken',
        nodes: [
          { id: 'trigger', type: 'manual', settings: {} },
          { id: 'mystery', type: 'no-such-type', settings: {} },
          { id: 'out', type: 'return', settings: { value: '{{ ghost.field }}' } },
        ],
        edges: [{ source: 'trigger', target: 'out' }],
      };
      const before = await listAll(auth);
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).send(body).expect(400);
      expect(res.body.error.code).toBe('INVALID_WORKFLOW');
      expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
      expect(Object.keys(res.body.error.details.nodes).sort()).toEqual(['mystery', 'out']);
      expect(res.body.error.details.nodes.mystery).toEqual([expect.objectContaining({ code: 'UNKNOWN_NODE_TYPE' })]);
      expect(res.body.error.details.nodes.out).toEqual([expect.objectContaining({ code: 'UNRESOLVED_BINDING' })]);
      expect(res.body.error.details.graph).toEqual([]);
      expect(await listAll(auth)).toEqual(before);
    });

    it('reports a graph-level problem (no trigger) in details.graph', async () => {
      const body = { name: 'no trigger', nodes: [{ id: 'step', type: 'transform', settings: { value: 1 } }], edges: [] };
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).send(body).expect(400);
      expect(res.body.error.code).toBe('INVALID_WORKFLOW');
      expect(res.body.error.details.nodes).toEqual({});
      expect(res.body.error.details.graph).toEqual([expect.objectContaining({ code: 'TRIGGER_COUNT' })]);
    });
  });

  describe('GET /v1/workflows', () => {
    it('lists only the summary fields id, name, createdAt and updatedAt', async () => {
      const as = await freshWorkspaceAuth();
      const created = await create(example('hello'), as);
      const res = await t.http.get('/v1/workflows').set('Authorization', as).expect(200);
      expect(res.body).toEqual({
        workflows: [{ id: created.id, name: created.name, createdAt: created.createdAt, updatedAt: created.updatedAt }],
        nextCursor: null,
      });
      expect(res.body.workflows[0].createdAt).toMatch(ISO_UTC);
    });

    it('returns an empty list for a workspace without workflows', async () => {
      const as = await freshWorkspaceAuth();
      const res = await t.http.get('/v1/workflows').set('Authorization', as).expect(200);
      expect(res.body).toEqual({ workflows: [], nextCursor: null });
    });

    it('orders workflows newest first', async () => {
      const as = await freshWorkspaceAuth();
      const ids: string[] = [];
      for (const name of ['first', 'second', 'third']) {
        ids.push((await create(workflowBody(name), as)).id);
        t.clock.advance(1000);
      }
      const res = await t.http.get('/v1/workflows').set('Authorization', as).expect(200);
      expect(res.body.workflows.map((w: { id: string }) => w.id)).toEqual([...ids].reverse());
      expect(res.body.workflows.map((w: { name: string }) => w.name)).toEqual(['third', 'second', 'first']);
    });

    it.each([
      ['created a second apart', 1000],
      ['created in the same millisecond', 0],
    ])('pages through 7 workflows %s as 3 + 3 + 1 with no repeats or gaps', async (_label, stepMs) => {
      const as = await freshWorkspaceAuth();
      const created: string[] = [];
      for (let i = 0; i < 7; i++) {
        created.push((await create(workflowBody(`page ${i}`), as)).id);
        t.clock.advance(stepMs);
      }
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor === null ? '?limit=3' : `?limit=3&cursor=${encodeURIComponent(cursor)}`;
        const res = await t.http.get(`/v1/workflows${query}`).set('Authorization', as).expect(200);
        pages.push(res.body.workflows.map((w: { id: string }) => w.id));
        cursor = res.body.nextCursor;
        expect(pages.length).toBeLessThanOrEqual(3);
      } while (cursor !== null);

      expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
      const seen = pages.flat();
      expect(new Set(seen).size).toBe(7);
      expect([...seen].sort()).toEqual([...created].sort());
      const all = (await t.http.get('/v1/workflows').set('Authorization', as).expect(200)).body.workflows.map((w: { id: string }) => w.id);
      expect(seen).toEqual(all);
    });

    it('returns nextCursor null when the last page is exactly full', async () => {
      const as = await freshWorkspaceAuth();
      for (let i = 0; i < 3; i++) await create(workflowBody(`exact ${i}`), as);
      const res = await t.http.get('/v1/workflows?limit=3').set('Authorization', as).expect(200);
      expect(res.body.workflows).toHaveLength(3);
      expect(res.body.nextCursor).toBeNull();
    });

    it.each(['201', '0', '-1', 'abc', '2.5'])('refuses limit=%s with 400 VALIDATION_ERROR naming limit', async (limit) => {
      const res = await t.http.get(`/v1/workflows?limit=${limit}`).set('Authorization', auth).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.fields).toHaveProperty('limit');
    });

    it('accepts limit=200', async () => {
      await t.http.get('/v1/workflows?limit=200').set('Authorization', auth).expect(200);
    });

    it.each([
      ['garbage text', 'not-a-cursor'],
      ['base64 of a non-array', Buffer.from('"hello"').toString('base64url')],
      ['base64 of the wrong tuple', Buffer.from('["x", 5]').toString('base64url')],
      ['a time beyond the range of dates', Buffer.from('[9000000000000000, "wf_0000000000000000"]').toString('base64url')],
      ['a time before the range of dates', Buffer.from('[-9000000000000000, "wf_0000000000000000"]').toString('base64url')],
    ])('refuses a cursor that is %s with 400 VALIDATION_ERROR', async (_label, cursor) => {
      const res = await t.http
        .get(`/v1/workflows?cursor=${encodeURIComponent(cursor)}`)
        .set('Authorization', auth)
        .expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.fields).toHaveProperty('cursor');
    });

    it('refuses an unknown query parameter with 400 VALIDATION_ERROR', async () => {
      const res = await t.http.get('/v1/workflows?sort=name').set('Authorization', auth).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    });
  });

  describe('GET /v1/workflows/:id', () => {
    it('returns the full workflow with its ETag', async () => {
      const created = await create(example('code-branch'));
      const res = await t.http.get(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(200);
      expect(res.body).toEqual(created);
      expect(res.headers.etag).toBe('"1"');
    });

    it.each([
      ['an unknown well-formed id', UNKNOWN_ID],
      ['an id without the wf_ prefix', 'abc'],
      ['an id of another type', 'ws_0000000000000000'],
      ['an id with punctuation', 'wf_abc-def!'],
      ['an overlong id', `wf_${'a'.repeat(300)}`],
    ])('answers 404 WORKFLOW_NOT_FOUND for %s', async (_label, id) => {
      const res = await t.http
        .get(`/v1/workflows/${encodeURIComponent(id)}`)
        .set('Authorization', auth)
        .expect(404);
      expect(res.body.error.code).toBe('WORKFLOW_NOT_FOUND');
      expect(res.body.error.message).toBe(`Workflow ${id} not found`);
      expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
    });
  });

  describe('PUT /v1/workflows/:id', () => {
    it('replaces the workflow and increments its version', async () => {
      const created = await create(workflowBody('before', 'old'));
      t.clock.advance(5000);
      const replacement = { ...example('hello'), name: 'after' };
      const res = await t.http.put(`/v1/workflows/${created.id}`).set('Authorization', auth).send(replacement).expect(200);
      expect(res.body).toEqual({
        id: created.id,
        name: 'after',
        description: replacement.description,
        version: 2,
        nodes: replacement.nodes,
        edges: replacement.edges,
        createdAt: created.createdAt,
        updatedAt: new Date(t.clock.now()).toISOString(),
      });
      expect(res.headers.etag).toBe('"2"');
      const fetched = await t.http.get(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(200);
      expect(fetched.body).toEqual(res.body);
    });

    it('clears a description that the replacement leaves out', async () => {
      const created = await create({ ...workflowBody('described'), description: 'to be dropped' });
      const res = await t.http.put(`/v1/workflows/${created.id}`).set('Authorization', auth).send(workflowBody('described')).expect(200);
      expect(res.body.description).toBe('');
    });

    it('replaces when If-Match names the current version', async () => {
      const created = await create(workflowBody('if-match'));
      const res = await t.http.put(`/v1/workflows/${created.id}`).set('Authorization', auth).set('If-Match', '1').send(workflowBody('if-match v2')).expect(200);
      expect(res.body.version).toBe(2);
    });

    it.each(['"2"', 'W/"2"'])('accepts the ETag form If-Match: %s', async (ifMatch) => {
      const created = await create(workflowBody('quoted'));
      await t.http.put(`/v1/workflows/${created.id}`).set('Authorization', auth).send(workflowBody('quoted v2')).expect(200);
      const res = await t.http
        .put(`/v1/workflows/${created.id}`)
        .set('Authorization', auth)
        .set('If-Match', ifMatch)
        .send(workflowBody('quoted v3'))
        .expect(200);
      expect(res.body.version).toBe(3);
    });

    it('refuses a stale If-Match with 409 CONFLICT naming the current version, and changes nothing', async () => {
      const created = await create(workflowBody('stale'));
      const v2 = await t.http.put(`/v1/workflows/${created.id}`).set('Authorization', auth).send(workflowBody('stale v2')).expect(200);
      const res = await t.http.put(`/v1/workflows/${created.id}`).set('Authorization', auth).set('If-Match', '1').send(workflowBody('stale v3')).expect(409);
      expect(res.body.error.code).toBe('CONFLICT');
      expect(res.body.error.details).toEqual(expect.objectContaining({ currentVersion: 2, expectedVersion: 1 }));
      const fetched = await t.http.get(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(200);
      expect(fetched.body).toEqual(v2.body);
    });

    it('applies every one of several concurrent replaces without If-Match', async () => {
      const created = await create(workflowBody('concurrent'));
      const replies = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          t.http
            .put(`/v1/workflows/${created.id}`)
            .set('Authorization', auth)
            .send(workflowBody(`concurrent ${i}`)),
        ),
      );
      expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200]);
      const fetched = await t.http.get(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(200);
      expect(fetched.body.version).toBe(6);
    });

    it('lets exactly one of several concurrent replaces with the same If-Match win', async () => {
      const created = await create(workflowBody('race'));
      const replies = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          t.http
            .put(`/v1/workflows/${created.id}`)
            .set('Authorization', auth)
            .set('If-Match', '1')
            .send(workflowBody(`race ${i}`)),
        ),
      );
      expect(replies.map((reply) => reply.status).sort()).toEqual([200, 409, 409, 409, 409]);
      const winner = replies.find((reply) => reply.status === 200)!;
      const fetched = await t.http.get(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(200);
      expect(fetched.body).toEqual(winner.body);
      expect(fetched.body.version).toBe(2);
    });

    it('refuses an If-Match from the future with 409 CONFLICT', async () => {
      const created = await create(workflowBody('future'));
      const res = await t.http.put(`/v1/workflows/${created.id}`).set('Authorization', auth).set('If-Match', '7').send(workflowBody('future v2')).expect(409);
      expect(res.body.error.details.currentVersion).toBe(1);
    });

    it.each(['abc', '1.5', '-1', '"v2"'])('refuses the malformed If-Match %s with 400 VALIDATION_ERROR', async (ifMatch) => {
      const created = await create(workflowBody('garbage if-match'));
      const res = await t.http
        .put(`/v1/workflows/${created.id}`)
        .set('Authorization', auth)
        .set('If-Match', ifMatch)
        .send(workflowBody('garbage v2'))
        .expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      const fetched = await t.http.get(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(200);
      expect(fetched.body.version).toBe(1);
    });

    it('refuses an invalid graph with 400 INVALID_WORKFLOW and keeps the stored workflow unchanged', async () => {
      const created = await create(example('hello'));
      const broken = { ...example('hello'), nodes: [...example('hello').nodes, { id: 'extra', type: 'manual', settings: {} }] };
      const res = await t.http.put(`/v1/workflows/${created.id}`).set('Authorization', auth).send(broken).expect(400);
      expect(res.body.error.code).toBe('INVALID_WORKFLOW');
      expect(res.body.error.details.graph).toEqual([expect.objectContaining({ code: 'TRIGGER_COUNT' })]);
      const fetched = await t.http.get(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(200);
      expect(fetched.body).toEqual(created);
    });

    it('answers 404 WORKFLOW_NOT_FOUND for an unknown id', async () => {
      const res = await t.http.put(`/v1/workflows/${UNKNOWN_ID}`).set('Authorization', auth).send(workflowBody('ghost')).expect(404);
      expect(res.body.error.code).toBe('WORKFLOW_NOT_FOUND');
    });
  });

  describe('DELETE /v1/workflows/:id', () => {
    it('deletes with 204 and an empty body, after which the workflow is 404', async () => {
      const created = await create(workflowBody('doomed'));
      const res = await t.http.delete(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(204);
      expect(res.text).toBe('');
      const fetched = await t.http.get(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(404);
      expect(fetched.body.error.code).toBe('WORKFLOW_NOT_FOUND');
    });

    it('removes the workflow from the list', async () => {
      const as = await freshWorkspaceAuth();
      const keep = await create(workflowBody('keep'), as);
      const drop = await create(workflowBody('drop'), as);
      await t.http.delete(`/v1/workflows/${drop.id}`).set('Authorization', as).expect(204);
      expect((await listAll(as)).map((w) => w.id)).toEqual([keep.id]);
    });

    it('answers 404 WORKFLOW_NOT_FOUND to a second delete', async () => {
      const created = await create(workflowBody('twice'));
      await t.http.delete(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(204);
      const res = await t.http.delete(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(404);
      expect(res.body.error.code).toBe('WORKFLOW_NOT_FOUND');
    });

    it('deletes once when several deletes race: one 204, the rest 404', async () => {
      const created = await create(workflowBody('raced delete'));
      const replies = await Promise.all(Array.from({ length: 4 }, () => t.http.delete(`/v1/workflows/${created.id}`).set('Authorization', auth)));
      expect(replies.map((reply) => reply.status).sort()).toEqual([204, 404, 404, 404]);
    });

    it('answers 404 WORKFLOW_NOT_FOUND to a replace after delete', async () => {
      const created = await create(workflowBody('gone'));
      await t.http.delete(`/v1/workflows/${created.id}`).set('Authorization', auth).expect(204);
      const res = await t.http.put(`/v1/workflows/${created.id}`).set('Authorization', auth).send(workflowBody('gone v2')).expect(404);
      expect(res.body.error.code).toBe('WORKFLOW_NOT_FOUND');
    });
  });

  describe('POST /v1/workflows/validate', () => {
    /** Every kind of graph problem at once, each on a node of its own. */
    const BROKEN = {
      nodes: [
        { id: 'trigger', type: 'manual', settings: {} },
        { id: 'second_trigger', type: 'manual', settings: {} },
        { id: 'mystery', type: 'no-such-type', settings: {} },
        { id: 'bad_settings', type: 'transform', settings: { value: 1, colour: 'red' } },
        { id: 'Bad-Id', type: 'transform', settings: { value: 1 } },
        { id: 'twin', type: 'transform', settings: { value: 1 } },
        { id: 'twin', type: 'transform', settings: { value: 2 } },
        { id: 'dangling', type: 'transform', settings: { value: 1 } },
        { id: 'branch', type: 'if', settings: { condition: 'true' } },
        { id: 'after_branch', type: 'return', settings: {} },
        { id: 'loop_a', type: 'transform', settings: { value: 1 } },
        { id: 'loop_b', type: 'transform', settings: { value: 1 } },
        { id: 'unbound', type: 'return', settings: { value: '{{ nowhere.field }}' } },
      ],
      edges: [
        { id: 'to_missing', source: 'dangling', target: 'missing_node' },
        { id: 'no_handle', source: 'branch', target: 'after_branch' },
        { id: 'loop_1', source: 'loop_a', target: 'loop_b' },
        { id: 'loop_2', source: 'loop_b', target: 'loop_a' },
      ],
    };

    const codesOf = (problems: { code: string }[] | undefined) => (problems ?? []).map((problem) => problem.code);

    it('reports a valid graph as valid with no problems', async () => {
      const res = await t.http.post('/v1/workflows/validate').set('Authorization', auth).send(example('hello')).expect(200);
      expect(res.body).toEqual({ valid: true, errors: { nodes: {}, graph: [] } });
    });

    it('validates a graph without a name or description', async () => {
      const { nodes, edges } = example('code-branch');
      const res = await t.http.post('/v1/workflows/validate').set('Authorization', auth).send({ nodes, edges }).expect(200);
      expect(res.body.valid).toBe(true);
    });

    describe('with a graph that has every kind of problem', () => {
      let report: { valid: boolean; errors: { nodes: Record<string, { code: string; message: string }[]>; graph: { code: string }[] } };
      let countBefore: number;

      beforeAll(async () => {
        countBefore = (await listAll(auth)).length;
        report = (await t.http.post('/v1/workflows/validate').set('Authorization', auth).send(BROKEN).expect(200)).body;
      });

      it('answers valid: false', () => {
        expect(report.valid).toBe(false);
      });

      it.each([
        ['an unknown type', 'mystery', 'UNKNOWN_NODE_TYPE'],
        ['settings that fail the schema', 'bad_settings', 'INVALID_SETTINGS'],
        ['a malformed node id', 'Bad-Id', 'INVALID_NODE_ID'],
        ['a duplicate node id', 'twin', 'DUPLICATE_NODE_ID'],
        ['an edge to a missing node', 'dangling', 'UNKNOWN_EDGE_TARGET'],
        ['an edge without the handle a branching node needs', 'branch', 'AMBIGUOUS_HANDLE'],
        ['a cycle (first node)', 'loop_a', 'CYCLE'],
        ['a cycle (second node)', 'loop_b', 'CYCLE'],
        ['an unresolved binding', 'unbound', 'UNRESOLVED_BINDING'],
      ])('reports %s on node %s as %s', (_label, nodeId, code) => {
        expect(codesOf(report.errors.nodes[nodeId])).toContain(code);
      });

      it('reports two triggers at graph level', () => {
        expect(codesOf(report.errors.graph)).toEqual(['TRIGGER_COUNT']);
      });

      it('reports nothing on the nodes that are fine', () => {
        expect(report.errors.nodes).not.toHaveProperty('trigger');
        expect(report.errors.nodes).not.toHaveProperty('second_trigger');
        expect(report.errors.nodes).not.toHaveProperty('after_branch');
      });

      it('gives every problem a message naming what is wrong', () => {
        const problems = [...Object.values(report.errors.nodes).flat(), ...report.errors.graph] as { code: string; message: string }[];
        for (const problem of problems) expect(problem.message).toEqual(expect.any(String));
        expect(report.errors.nodes.mystery[0].message).toContain('no-such-type');
        expect(report.errors.nodes.dangling[0].message).toContain('missing_node');
      });

      it('stores nothing', async () => {
        expect((await listAll(auth)).length).toBe(countBefore);
      });
    });

    it('refuses the same graph on create with the same report as INVALID_WORKFLOW details', async () => {
      const validated = await t.http.post('/v1/workflows/validate').set('Authorization', auth).send(BROKEN).expect(200);
      const created = await t.http
        .post('/v1/workflows')
        .set('Authorization', auth)
        .send({ name: 'broken', ...BROKEN })
        .expect(400);
      expect(created.body.error.code).toBe('INVALID_WORKFLOW');
      expect(created.body.error.details).toEqual(validated.body.errors);
    });

    it('refuses a body that is not a graph with 400 VALIDATION_ERROR', async () => {
      const res = await t.http.post('/v1/workflows/validate').set('Authorization', auth).send({ nodes: 'x' }).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.fields).toHaveProperty('nodes');
      expect(res.body.error.details.fields).toHaveProperty('edges');
    });
  });

  describe('GET /v1/nodes', () => {
    const FIVE_TYPES = ['code', 'if', 'manual', 'return', 'transform'];
    let nodes: {
      type: string;
      version: string;
      trigger: boolean;
      settingsSchema: { type: string; properties: object };
      inputs: { id: string }[];
      outputs: { id: string }[];
    }[];

    beforeAll(async () => {
      nodes = (await t.http.get('/v1/nodes').set('Authorization', auth).expect(200)).body.nodes;
    });

    it('lists the five built-in node types', () => {
      expect(nodes.map((node) => node.type)).toEqual(expect.arrayContaining(FIVE_TYPES));
    });

    it.each(FIVE_TYPES)('describes %s with a version, an object settings schema, inputs and outputs', (type) => {
      const node = nodes.find((candidate) => candidate.type === type)!;
      expect(node.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(node.settingsSchema).toEqual(expect.objectContaining({ type: 'object', properties: expect.any(Object) }));
      expect(Array.isArray(node.inputs)).toBe(true);
      expect(Array.isArray(node.outputs)).toBe(true);
    });

    it('gives if the outputs true and false', () => {
      expect(nodes.find((node) => node.type === 'if')!.outputs.map((port) => port.id)).toEqual(['true', 'false']);
    });

    it('marks manual as the trigger, with no inputs', () => {
      const manual = nodes.find((node) => node.type === 'manual')!;
      expect(manual.trigger).toBe(true);
      expect(manual.inputs).toEqual([]);
    });

    it('gives return no outputs', () => {
      expect(nodes.find((node) => node.type === 'return')!.outputs).toEqual([]);
    });
  });
});
