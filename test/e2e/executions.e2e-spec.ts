import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startTestApp, TestApp } from '../support/test-app';

const EXAMPLES_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'examples');
const read = (file: string) => JSON.parse(readFileSync(resolve(EXAMPLES_DIR, file), 'utf8'));

describe('Executions', () => {
  let t: TestApp;
  let auth: string;

  beforeAll(async () => {
    t = await startTestApp();
    auth = t.bearer(t.adminKey);
  });
  afterAll(() => t.close());

  async function create(body: object): Promise<string> {
    return (await t.http.post('/v1/workflows').set('Authorization', auth).send(body).expect(201)).body.id;
  }

  /** Polls until the execution leaves queued/running. */
  async function settled(id: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await t.http.get(`/v1/executions/${id}`).set('Authorization', auth).expect(200);
      if (!['queued', 'running'].includes(res.body.status)) return res.body;
      if (Date.now() > deadline) throw new Error(`execution ${id} still ${res.body.status}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  it.each(['hello', 'code-branch'])('runs the %s example to completed with its expected output', async (name) => {
    const workflowId = await create(read(`${name}.json`));
    const res = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).send({ inputs: read(`${name}.inputs.json`) });
    if (res.status !== 202) throw new Error(JSON.stringify(res.body));
    expect(res.body).toEqual({ executionId: expect.stringMatching(/^exec_[A-Za-z0-9]{16}$/), status: 'queued' });
    const execution = await settled(res.body.executionId);
    expect(execution).toMatchObject({ status: 'completed', output: read(`${name}.expected-output.json`), error: null, exitCode: 0, executor: 'local', workflowId });
    expect(execution.logs).toEqual(expect.arrayContaining(['[node trigger] started']));
  });
});
