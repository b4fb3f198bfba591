import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { Response } from 'supertest';
import { ADMIN_AUTH, TEST_ADMIN_KEY, useTestApp } from '../support/test-app';

/** `count` transform nodes chained after one manual trigger: a valid graph of `count + 1` nodes. */
function chain(count: number, extra: (index: number) => object = () => ({})) {
  const nodes: object[] = [{ id: 'trigger', type: 'manual', settings: {} }];
  const edges: object[] = [];
  let previous = 'trigger';
  for (let i = 0; i < count; i++) {
    const id = `n${i}`;
    nodes.push({ id, type: 'transform', settings: { value: i }, ...extra(i) });
    edges.push({ source: previous, target: id });
    previous = id;
  }
  return { name: `chain of ${count + 1}`, nodes, edges };
}

function withSetting(value: unknown) {
  return {
    name: 'setting',
    nodes: [
      { id: 'trigger', type: 'manual', settings: {} },
      { id: 'step', type: 'transform', settings: { value } },
    ],
    edges: [{ source: 'trigger', target: 'step' }],
  };
}

function nested(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('Bad input', () => {
  const t = useTestApp();
  const auth = ADMIN_AUTH;

  async function countWorkflows(): Promise<number> {
    let count = 0;
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const res = await t.http.get(`/v1/workflows?limit=200${query}`).set('Authorization', auth).expect(200);
      count += res.body.workflows.length;
      cursor = res.body.nextCursor;
    } while (cursor !== null);
    return count;
  }

  /**
   * Sends a request that must be refused, and checks what every refusal guarantees: the status and
   * code in the error envelope, the request id of the header in the body, a server still up, and
   * no workflow stored or removed.
   */
  async function expectRefused(send: () => PromiseLike<Response>, status: number, code: string): Promise<Response> {
    const before = await countWorkflows();
    const res = await send();
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.error).toEqual(expect.objectContaining({ code, message: expect.any(String), requestId: res.headers['x-request-id'] }));
    expect(res.body.error.message).not.toBe('');
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    await t.http.get('/health').expect(200);
    expect(await countWorkflows()).toBe(before);
    return res;
  }

  const postJson = (body: unknown) => () =>
    t.http
      .post('/v1/workflows')
      .set('Authorization', auth)
      .send(body as object);
  const postRaw =
    (text: string, contentType = 'application/json') =>
    () =>
      t.http.post('/v1/workflows').set('Authorization', auth).set('Content-Type', contentType).send(text);

  describe('malformed bodies', () => {
    it.each([
      ['a truncated object', '{"name": "x", "nodes": ['],
      ['a trailing comma', '{"name": "x",}'],
      ['single quotes', "{'name': 'x'}"],
      ['plain words', 'hello world'],
    ])('refuses %s with 400 INVALID_JSON', async (_label, text) => {
      await expectRefused(postRaw(text), 400, 'INVALID_JSON');
    });

    it.each([
      ['text/plain', 'hello'],
      ['application/x-www-form-urlencoded', 'name=x&nodes=y'],
      ['application/xml', '<workflow name="x"/>'],
    ])('refuses a %s body with 415 UNSUPPORTED_MEDIA_TYPE', async (contentType, text) => {
      await expectRefused(postRaw(text, contentType), 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it.each(['gzip', 'deflate', 'br'])('refuses a %s body that does not decompress with 400 VALIDATION_ERROR', async (encoding) => {
      const send = () =>
        t.http
          .post('/v1/workflows')
          .set('Authorization', auth)
          .set('Content-Type', 'application/json')
          .set('Content-Encoding', encoding)
          .serialize((data) => data)
          .send(Buffer.from('this is not compressed'));
      await expectRefused(send, 400, 'VALIDATION_ERROR');
    });

    it.each([
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
    ])('accepts a %s-compressed JSON body', async (encoding, compress) => {
      const res = await t.http
        .post('/v1/workflows')
        .set('Authorization', auth)
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .serialize((data) => data)
        .send(compress(JSON.stringify({ ...chain(1), name: `compressed ${encoding}` })))
        .expect(201);
      expect(res.body.name).toBe(`compressed ${encoding}`);
    });

    it.each([
      ['a JSON array', '[]'],
      ['a JSON number', '5'],
      ['a JSON string', '"workflow"'],
      ['JSON null', 'null'],
    ])('refuses a body that is %s with 400 VALIDATION_ERROR', async (_label, text) => {
      await expectRefused(postRaw(text), 400, 'VALIDATION_ERROR');
    });
  });

  describe('wrong fields', () => {
    const valid = chain(1);

    it.each([
      ['name is a number', { ...valid, name: 5 }, 'name'],
      ['nodes is a string', { ...valid, nodes: 'x' }, 'nodes'],
      ['nodes holds a number', { ...valid, nodes: [5] }, 'nodes.0'],
      ['edges is an object', { ...valid, edges: {} }, 'edges'],
      ['a node id is a number', { ...valid, nodes: [{ id: 1, type: 'manual' }] }, 'nodes.0.id'],
      ['a node type is missing', { ...valid, nodes: [{ id: 'trigger' }] }, 'nodes.0.type'],
      ['settings is an array', { ...valid, nodes: [{ id: 'trigger', type: 'manual', settings: [] }] }, 'nodes.0.settings'],
      ['an edge source is missing', { ...valid, edges: [{ target: 'n0' }] }, 'edges.0.source'],
      ['description is a number', { ...valid, description: 7 }, 'description'],
      ['a node is an empty array', { ...valid, nodes: [[]] }, 'nodes'],
      ['a node is an array of objects', { ...valid, nodes: [valid.nodes[0], [{}]] }, 'nodes'],
      ['an edge is an empty array', { ...valid, edges: [[]] }, 'edges'],
      ['a node position is null', { ...valid, nodes: [{ id: 'trigger', type: 'manual', position: null }] }, 'nodes.0.position'],
      ['an edge id is null', { ...valid, edges: [{ ...valid.edges[0], id: null }] }, 'edges.0.id'],
    ])('refuses a body where %s with 400 VALIDATION_ERROR naming the field', async (_label, body, field) => {
      const res = await expectRefused(postJson(body), 400, 'VALIDATION_ERROR');
      expect(Object.keys(res.body.error.details.fields)).toContain(field);
    });

    it('names the index and the kind of a node or edge that is not an object, on create, replace and validate', async () => {
      const id = (await t.http.post('/v1/workflows').set('Authorization', auth).send(valid).expect(201)).body.id as string;
      const sends = [
        (body: object) => t.http.post('/v1/workflows').set('Authorization', auth).send(body),
        (body: object) => t.http.put(`/v1/workflows/${id}`).set('Authorization', auth).send(body),
        (body: object) => t.http.post('/v1/workflows/validate').set('Authorization', auth).send(body),
      ];
      for (const send of sends) {
        const node = await expectRefused(() => send({ ...valid, nodes: [valid.nodes[0], []] }), 400, 'VALIDATION_ERROR');
        expect(node.body.error.details.fields.nodes).toEqual(['nodes[1] must be an object, not an array']);
        const edge = await expectRefused(() => send({ ...valid, edges: [[]] }), 400, 'VALIDATION_ERROR');
        expect(edge.body.error.details.fields.edges).toEqual(['edges[0] must be an object, not an array']);
      }
    });

    it('gives only the type of a field of the wrong type, not the checks of its length', async () => {
      const res = await expectRefused(postJson({ ...valid, nodes: [{ id: 1, type: 'manual' }] }), 400, 'VALIDATION_ERROR');
      expect(res.body.error.details.fields['nodes.0.id']).toEqual(['id must be a string']);
    });

    it('names every missing required field at once', async () => {
      const res = await expectRefused(postJson({}), 400, 'VALIDATION_ERROR');
      expect(Object.keys(res.body.error.details.fields).sort()).toEqual(['edges', 'name', 'nodes']);
    });

    it('refuses an unknown top-level field', async () => {
      const res = await expectRefused(postJson({ ...valid, owner: 'someone' }), 400, 'VALIDATION_ERROR');
      expect(Object.keys(res.body.error.details.fields)).toContain('owner');
    });

    it('refuses an unknown field in a node', async () => {
      const body = { ...valid, nodes: [{ id: 'trigger', type: 'manual', settings: {}, colour: 'red' }, valid.nodes[1]] };
      const res = await expectRefused(postJson(body), 400, 'VALIDATION_ERROR');
      expect(Object.keys(res.body.error.details.fields)).toContain('nodes.0.colour');
    });

    it('refuses unknown node types with INVALID_WORKFLOW', async () => {
      const body = { ...valid, nodes: [valid.nodes[0], { id: 'n0', type: 'rm-rf', settings: {} }] };
      const res = await expectRefused(postJson(body), 400, 'INVALID_WORKFLOW');
      expect(res.body.error.details.nodes.n0).toEqual([expect.objectContaining({ code: 'UNKNOWN_NODE_TYPE' })]);
    });
  });

  describe('size limits', () => {
    it('refuses a 10,000-node graph over the 1 MB body limit with 413 PAYLOAD_TOO_LARGE', async () => {
      const body = chain(9_999, (i) => ({ position: { x: i * 240, y: 0 }, ui: { label: `Step number ${i}` } }));
      expect(Buffer.byteLength(JSON.stringify(body))).toBeGreaterThan(1024 * 1024);
      await expectRefused(postJson(body), 413, 'PAYLOAD_TOO_LARGE');
    });

    it('refuses a 10,000-node graph under the body limit with 400 VALIDATION_ERROR naming nodes', async () => {
      const body = chain(9_999);
      expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThan(1024 * 1024);
      const res = await expectRefused(postJson(body), 400, 'VALIDATION_ERROR');
      expect(Object.keys(res.body.error.details.fields)).toContain('nodes');
    });

    it('refuses a 1,001-node graph with 400 VALIDATION_ERROR naming nodes and the limit', async () => {
      const res = await expectRefused(postJson(chain(1_000)), 400, 'VALIDATION_ERROR');
      expect(res.body.error.details.fields.nodes.join(' ')).toContain('1000');
    });

    it('refuses a 1,001-node graph on validate too', async () => {
      const send = () => t.http.post('/v1/workflows/validate').set('Authorization', auth).send(chain(1_000));
      const res = await expectRefused(send, 400, 'VALIDATION_ERROR');
      expect(Object.keys(res.body.error.details.fields)).toContain('nodes');
    });

    it('accepts a 1,000-node graph', async () => {
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).send(chain(999)).expect(201);
      expect(res.body.nodes).toHaveLength(1000);
    });

    it('refuses settings nested 200 levels deep with 400 VALIDATION_ERROR', async () => {
      const res = await expectRefused(postJson(withSetting(nested(200))), 400, 'VALIDATION_ERROR');
      expect(res.body.error.message).toContain('64');
    });

    it('accepts settings nested 30 levels deep and returns them unchanged', async () => {
      const value = nested(30);
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).send(withSetting(value)).expect(201);
      expect(res.body.nodes[1].settings.value).toEqual(value);
    });

    it('refuses a 2 MB name with 413 PAYLOAD_TOO_LARGE', async () => {
      await expectRefused(postJson({ ...chain(1), name: 'x'.repeat(2 * 1024 * 1024) }), 413, 'PAYLOAD_TOO_LARGE');
    });

    it('refuses a 300-character name with 400 VALIDATION_ERROR naming name', async () => {
      const res = await expectRefused(postJson({ ...chain(1), name: 'x'.repeat(300) }), 400, 'VALIDATION_ERROR');
      expect(Object.keys(res.body.error.details.fields)).toEqual(['name']);
    });

    it('accepts a 200-character name', async () => {
      await t.http
        .post('/v1/workflows')
        .set('Authorization', auth)
        .send({ ...chain(1), name: 'x'.repeat(200) })
        .expect(201);
    });
  });

  describe('text', () => {
    it.each([
      ['emoji', '🚀 Launch 👩‍🚀 pipeline 🧪'],
      ['CJK', '数据处理流程 ワークフロー 워크플로'],
      ['right-to-left scripts', 'سير العمل שלום עולם'],
      ['combining marks', 'Cafe\u0301 Zoe\u0308'],
    ])('keeps a name in %s exactly, through create, get and list', async (_label, name) => {
      const created = await t.http
        .post('/v1/workflows')
        .set('Authorization', auth)
        .send({ ...chain(1), name })
        .expect(201);
      expect(created.body.name).toBe(name);
      const fetched = await t.http.get(`/v1/workflows/${created.body.id}`).set('Authorization', auth).expect(200);
      expect(fetched.body.name).toBe(name);
      const listed = await t.http.get('/v1/workflows?limit=200').set('Authorization', auth).expect(200);
      expect(listed.body.workflows.find((w: { id: string }) => w.id === created.body.id).name).toBe(name);
    });

    it('keeps unicode settings exactly', async () => {
      const value = { greeting: 'Grüße, 世界! 🎉', rtl: 'مرحبا', astral: '𝒳𝒴𝒵' };
      const created = await t.http.post('/v1/workflows').set('Authorization', auth).send(withSetting(value)).expect(201);
      const fetched = await t.http.get(`/v1/workflows/${created.body.id}`).set('Authorization', auth).expect(200);
      expect(fetched.body.nodes[1].settings.value).toEqual(value);
    });

    it.each([
      ['a newline', 'line one\nline two'],
      ['a bell', 'ding\u0007'],
      ['an escape sequence', '\u001b[31mred\u001b[0m'],
      ['a tab', 'tab\there'],
      ['a C1 control', 'next\u0085line'],
      ['a right-to-left override', 'invoice\u202Etxt.exe'],
      ['a bidirectional isolate', 'a\u2066b\u2069'],
    ])('refuses a name with %s with 400 VALIDATION_ERROR naming name', async (_label, name) => {
      const res = await expectRefused(postJson({ ...chain(1), name }), 400, 'VALIDATION_ERROR');
      expect(Object.keys(res.body.error.details.fields)).toEqual(['name']);
    });

    it.each([' ', '   ', '', '\u200B', '\u200B\u200D'])('refuses the blank or invisible name %j', async (name) => {
      await expectRefused(postJson({ ...chain(1), name }), 400, 'VALIDATION_ERROR');
    });

    it.each([
      ['a setting value', withSetting('before\u0000after')],
      ['a nested setting value', withSetting({ deep: ['ok', { inner: '\u0000' }] })],
      ['a setting key', withSetting({ 'key\u0000': 1 })],
      ['the name', { ...chain(1), name: 'nul\u0000name' }],
    ])('refuses a NUL character in %s with 400 VALIDATION_ERROR', async (_label, body) => {
      await expectRefused(postJson(body), 400, 'VALIDATION_ERROR');
    });

    it('refuses a lone surrogate (sent as the raw escape \\ud800) in a setting with 400 VALIDATION_ERROR', async () => {
      const text = JSON.stringify(withSetting('PLACEHOLDER')).replace('PLACEHOLDER', '\\ud800');
      expect(text).toContain('"\\ud800"');
      const res = await expectRefused(postRaw(text), 400, 'VALIDATION_ERROR');
      expect(res.body.error.message).toContain('surrogate');
    });

    it('accepts a correctly paired surrogate escape (\\ud83d\\ude80) as the emoji it encodes', async () => {
      const text = JSON.stringify(withSetting('PLACEHOLDER')).replace('PLACEHOLDER', '\\ud83d\\ude80');
      const res = await t.http.post('/v1/workflows').set('Authorization', auth).set('Content-Type', 'application/json').send(text).expect(201);
      expect(res.body.nodes[1].settings.value).toBe('🚀');
    });
  });

  describe('credentials', () => {
    const listWith = (authorization: string) => () => t.http.get('/v1/workflows').set('Authorization', authorization);
    const createWith = (authorization: string) => () => t.http.post('/v1/workflows').set('Authorization', authorization).send(chain(1));

    it('refuses a revoked key with 401 UNAUTHORIZED', async () => {
      const workspaceId = await t.createWorkspace('enterprise');
      const { key, id } = await t.createKey(workspaceId);
      await t.http.get('/v1/workflows').set('Authorization', t.bearer(key)).expect(200);
      await t.http.delete(`/v1/api-keys/${id}`).set('Authorization', auth).expect(204);
      const res = await expectRefused(createWith(t.bearer(key)), 401, 'UNAUTHORIZED');
      expect(res.body.error.message).toContain('revoked');
    });

    it('refuses an expired key with 401 UNAUTHORIZED', async () => {
      const workspaceId = await t.createWorkspace('enterprise');
      const expiresAt = new Date(t.clock.now() + 60 * 60 * 1000).toISOString();
      const created = await t.http
        .post('/v1/api-keys')
        .set('Authorization', auth)
        .send({ name: 'short-lived', workspaceId, scopes: ['workflows:read', 'workflows:write'], expiresAt })
        .expect(201);
      const key: string = created.body.key;
      await t.http.get('/v1/workflows').set('Authorization', t.bearer(key)).expect(200);
      t.clock.advance(60 * 60 * 1000 + 1000);
      const res = await expectRefused(createWith(t.bearer(key)), 401, 'UNAUTHORIZED');
      expect(res.body.error.message).toContain('expired');
    });

    it.each([
      ['a wrong prefix', `tfx_${'A1b2C3d4'.repeat(5)}`],
      ['no prefix', 'A1b2C3d4'.repeat(5)],
      ['a too-short secret', 'tfy_abc'],
      ['non-base62 characters', `tfy_${'abcdefgh'.repeat(4)}-_+/=`],
      ['an unknown but well-formed key', `tfy_${'Zz9Yy8Xx7'.repeat(5)}`],
      ['the admin key with its last character changed', `${TEST_ADMIN_KEY.slice(0, -1)}${TEST_ADMIN_KEY.endsWith('a') ? 'b' : 'a'}`],
    ])('refuses %s with 401 UNAUTHORIZED', async (_label, key) => {
      await expectRefused(createWith(`Bearer ${key}`), 401, 'UNAUTHORIZED');
    });

    it('refuses a request without an Authorization header with 401 UNAUTHORIZED', async () => {
      await expectRefused(() => t.http.get('/v1/workflows'), 401, 'UNAUTHORIZED');
    });

    it('refuses a valid key sent as ?access_token= with 401 UNAUTHORIZED', async () => {
      await expectRefused(() => t.http.get(`/v1/workflows?access_token=${t.adminKey}`), 401, 'UNAUTHORIZED');
    });

    it('refuses a valid key in ?access_token= even next to a valid Authorization header', async () => {
      await expectRefused(() => t.http.get(`/v1/workflows?access_token=${t.adminKey}`).set('Authorization', auth), 401, 'UNAUTHORIZED');
    });

    it('refuses Basic authentication with 401 UNAUTHORIZED', async () => {
      const basic = `Basic ${Buffer.from(`user:${t.adminKey}`).toString('base64')}`;
      await expectRefused(listWith(basic), 401, 'UNAUTHORIZED');
    });

    it('refuses a bare key without the Bearer scheme with 401 UNAUTHORIZED', async () => {
      await expectRefused(listWith(t.adminKey), 401, 'UNAUTHORIZED');
    });
  });
});
