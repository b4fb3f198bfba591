import { resolve } from 'node:path';
import { ADMIN_AUTH, useTestApp } from '../support/test-app';
import { MINIMAL_WORKFLOW } from '../support/workflows';

const FIXTURES = resolve(__dirname, '..', 'fixtures', 'plugins');
const fixture = (name: string) => resolve(FIXTURES, name);

describe('Executor plugins in a running server', () => {
  // Every fixture at once: the broken ones must not stop the boot or the good ones.
  const t = useTestApp({
    TENSORIFY_EXECUTOR_PLUGINS: ['good-executor', 'throws-on-import', 'future-api', 'lacks-run', 'bad-manifest', 'bad-config'].map(fixture).join(','),
    TENSORIFY_EXECUTORS: JSON.stringify({ echo: { greeting: 'hi' }, 'strict-config': { host: 'gpu-1', port: 'twenty-two' } }),
  });
  const auth = ADMIN_AUTH;

  it('lists every plugin: the loaded ones with their health, the broken ones with their loadError', async () => {
    const { executors } = (await t.http.get('/v1/executors').set('Authorization', auth).expect(200)).body;
    const byId = Object.fromEntries(executors.map((executor: { id: string }) => [executor.id, executor]));
    expect(byId.local).toMatchObject({ healthy: true, gpu: false });
    expect(byId.echo).toEqual({
      id: 'echo',
      displayName: 'Echo (prints the inputs)',
      version: '1.2.0',
      gpu: false,
      gpus: [],
      healthy: true,
      detail: 'greets with "hi"',
      warm: [],
    });
    const broken = executors.filter((executor: { loadError?: string }) => executor.loadError !== undefined);
    expect(broken).toHaveLength(5);
    for (const executor of broken) expect(executor).toMatchObject({ healthy: false, gpu: false, loadError: expect.any(String) });
    expect(broken.map((executor: { loadError: string }) => executor.loadError).join('\n')).toMatch(/executorApiVersion 2/);
  });

  it('runs a workflow on a third-party executor named in the request', async () => {
    const workflowId = (await t.http.post('/v1/workflows').set('Authorization', auth).send(MINIMAL_WORKFLOW).expect(201)).body.id;
    const { executionId } = (
      await t.http
        .post(`/v1/workflows/${workflowId}/execute`)
        .set('Authorization', auth)
        .send({ executor: 'echo', inputs: { name: 'Ada' } })
        .expect(202)
    ).body;
    let execution: Record<string, unknown> = {};
    for (let polls = 0; polls < 200 && ['queued', 'running', undefined].includes(execution.status as string); polls++) {
      execution = (await t.http.get(`/v1/executions/${executionId}`).set('Authorization', auth).expect(200)).body;
      await new Promise((done) => setTimeout(done, 20));
    }
    expect(execution).toMatchObject({ status: 'completed', executor: 'echo', output: { name: 'Ada' }, logs: ['hi {"name":"Ada"}'] });
  });

  it('refuses a run on a plugin that failed to load with 503 EXECUTOR_UNAVAILABLE and its reason', async () => {
    const workflowId = (await t.http.post('/v1/workflows').set('Authorization', auth).send(MINIMAL_WORKFLOW).expect(201)).body.id;
    const res = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).send({ executor: 'strict-config' }).expect(503);
    expect(res.body.error.code).toBe('EXECUTOR_UNAVAILABLE');
    expect(res.body.error.message).toMatch(/^Executor "strict-config" failed to load: .*port/);
  });
});
