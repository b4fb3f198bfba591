import { unzipSync } from 'fflate';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { runProgram, writeProgram } from '../support/python';
import { useTestApp } from '../support/test-app';

const EXAMPLES_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'examples');
const example = (name: string) => JSON.parse(readFileSync(resolve(EXAMPLES_DIR, `${name}.json`), 'utf8'));
const FILE_NAMES = ['main.py', 'utils.py', 'requirements.txt'];

/** supertest's parser for a binary body. */
function binary(res: Response, done: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

describe('POST /v1/workflows/:id/export', () => {
  const t = useTestApp();
  let auth: string;
  let hello: { id: string; version: number };

  beforeAll(async () => {
    auth = t.bearer(t.adminKey);
    hello = (await t.http.post('/v1/workflows').set('Authorization', auth).send(example('hello')).expect(201)).body;
  });

  const exportOf = (id: string, query = '', as = auth) => t.http.post(`/v1/workflows/${id}/export${query}`).set('Authorization', as);

  it('returns main.py, utils.py and requirements.txt, and the program runs to the expected output', async () => {
    const res = await exportOf(hello.id).expect(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Object.keys(res.body)).toEqual(['files']);
    expect(Object.keys(res.body.files)).toEqual(FILE_NAMES);
    expect(res.body.files['main.py']).toContain(`workflow ${hello.id}, version 1`);
    const run = await runProgram(await writeProgram(res.body.files), { inputs: { name: 'Ada' } });
    expect(run.status).toBe(0);
    expect(run.output).toEqual({ result: 'Hello, Ada!' });
  });

  it('gives the same bytes for the same version, and new ones after a replace', async () => {
    const first = await exportOf(hello.id).expect(200);
    const again = await exportOf(hello.id).expect(200);
    expect(again.text).toBe(first.text);
    const changed = { ...example('hello'), name: 'Hello again' };
    const put = await t.http.put(`/v1/workflows/${hello.id}`).set('Authorization', auth).send(changed).expect(200);
    const after = await exportOf(hello.id).expect(200);
    expect(after.body.files['main.py']).toContain(`Hello again: workflow ${hello.id}, version ${put.body.version}.`);
  });

  it('with ?format=zip returns the same three files as a zip archive, byte-identical on every export', async () => {
    const json = (await exportOf(hello.id).expect(200)).body.files;
    const res = await exportOf(hello.id, '?format=zip').buffer(true).parse(binary).expect(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toMatch(new RegExp(`^attachment; filename="${hello.id}-v\\d+\\.zip"$`));
    const entries = unzipSync(new Uint8Array(res.body as Buffer));
    expect(Object.keys(entries)).toEqual(FILE_NAMES);
    for (const name of FILE_NAMES) expect(Buffer.from(entries[name]).toString('utf8')).toBe(json[name]);
    const again = await exportOf(hello.id, '?format=zip').buffer(true).parse(binary).expect(200);
    expect(Buffer.compare(again.body as Buffer, res.body as Buffer)).toBe(0);
  });

  it('lists openai in the requirements of the summarize example', async () => {
    const summarize = (await t.http.post('/v1/workflows').set('Authorization', auth).send(example('summarize')).expect(201)).body;
    const res = await exportOf(summarize.id).expect(200);
    expect(res.body.files['requirements.txt']).toBe('# Python packages the workflow needs: pip install -r requirements.txt\nopenai>=1.0.0\n');
  });

  it('refuses an unknown format with VALIDATION_ERROR', async () => {
    const res = await exportOf(hello.id, '?format=tar').expect(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body.error.details.fields.format).toEqual([expect.stringContaining('json, zip')]);
  });

  it('answers 404 WORKFLOW_NOT_FOUND for an unknown id', async () => {
    const res = await exportOf('wf_0000000000000000').expect(404);
    expect(res.body.error).toMatchObject({ code: 'WORKFLOW_NOT_FOUND', message: 'Workflow wf_0000000000000000 not found' });
  });

  it('needs workflows:read: a key with only executions scopes gets 403, a read-only key exports', async () => {
    const workspace = await t.createWorkspace('enterprise');
    const writer = t.bearer((await t.createKey(workspace, ['workflows:write'])).key);
    const own = (await t.http.post('/v1/workflows').set('Authorization', writer).send(example('hello')).expect(201)).body;
    const runner = t.bearer((await t.createKey(workspace, ['executions:run'])).key);
    expect((await exportOf(own.id, '', runner).expect(403)).body.error.code).toBe('FORBIDDEN');
    const reader = t.bearer((await t.createKey(workspace, ['workflows:read'])).key);
    await exportOf(own.id, '', reader).expect(200);
  });

  it('refuses a stored version that no longer compiles with INVALID_WORKFLOW per node, never a 500', async () => {
    const stored = (await t.http.post('/v1/workflows').set('Authorization', auth).send(example('hello')).expect(201)).body;
    // As if a node type had left the catalogue since the workflow was saved.
    const nodes = stored.nodes.map((node: { id: string }) => (node.id === 'greeting' ? { ...node, type: 'retired-type' } : node));
    const db = t.app.get(DataSource);
    await db.query(`UPDATE workflows SET nodes = ${db.options.type === 'postgres' ? '$1' : '?'} WHERE id = ${db.options.type === 'postgres' ? '$2' : '?'}`, [
      JSON.stringify(nodes),
      stored.id,
    ]);
    await t.restart();
    auth = t.bearer(t.adminKey);
    const res = await exportOf(stored.id).expect(400);
    expect(res.body.error.code).toBe('INVALID_WORKFLOW');
    expect(res.body.error.details.nodes.greeting).toEqual([
      {
        code: 'UNKNOWN_NODE_TYPE',
        message: 'Node "greeting" has type "retired-type", which is not in the node catalogue (GET /v1/nodes lists the types).',
        path: '/nodes/1/type',
      },
    ]);
  });

  it('is refused at save time when an if condition is outside the expression language, naming the node', async () => {
    const body = example('code-branch');
    body.nodes.find((node: { id: string }) => node.id === 'check').settings.condition = '{{ score.total }} > 10 && true';
    const res = await t.http.post('/v1/workflows').set('Authorization', auth).send(body).expect(400);
    expect(res.body.error.code).toBe('INVALID_WORKFLOW');
    expect(res.body.error.details.nodes).toEqual({
      check: [
        {
          code: 'INVALID_EXPRESSION',
          message: 'Condition "{{ score.total }} > 10 && true" is not valid at character 24: unexpected "&&"; write "and".',
          path: '/nodes/2/settings/condition',
        },
      ],
    });
  });

  it('needs a key', async () => {
    const res = await t.http.post(`/v1/workflows/${hello.id}/export`).expect(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });
});
