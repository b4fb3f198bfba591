/**
 * Warm executions through the API: the local executor's zygote appears in GET /v1/executors with
 * its venv and age once a run started it, and the next runs of the workflow are forked from it.
 */
import { codeWorkflow } from '../support/executions';
import { ADMIN_AUTH, useTestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

type TestApp = ReturnType<typeof useTestApp>;

/** Executes a workflow and waits for its end; resolves to the execution as GET shows it. */
async function executeAndWait(t: TestApp, workflowId: string, inputs: object): Promise<any> {
  const started = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', ADMIN_AUTH).send({ inputs }).expect(202);
  return waitFor(
    async () => (await t.http.get(`/v1/executions/${started.body.executionId}`).set('Authorization', ADMIN_AUTH)).body,
    (execution) => !['queued', 'running'].includes(execution.status),
    { timeoutMs: 60_000, intervalMs: 50, what: 'the execution' },
  );
}

describe('Warm executions (local executor)', () => {
  const t = useTestApp({ TENSORIFY_EXECUTORS: JSON.stringify({ local: { warm: { maxZygotes: 2, idleSeconds: 600 } } }) });

  async function localExecutor(): Promise<any> {
    const res = await t.http.get('/v1/executors').set('Authorization', ADMIN_AUTH).expect(200);
    return res.body.executors.find((executor: { id: string }) => executor.id === 'local');
  }

  it('lists no zygote before the first run, then the zygote of the bare interpreter, ready, which forks the next runs', async () => {
    expect((await localExecutor()).warm).toEqual([]);
    const workflow = await t.http
      .post('/v1/workflows')
      .set('Authorization', ADMIN_AUTH)
      .send(codeWorkflow('Warm', 'import json\nreturn {"doubled": input["n"] * 2}'))
      .expect(201);

    const first = await executeAndWait(t, workflow.body.id, { n: 1 });
    expect(first).toMatchObject({ status: 'completed', output: { doubled: 2 } });

    // The first run started cold and started the zygote; GET /v1/executors caches capabilities for 5 s.
    const ready = await waitFor(
      async () => (await localExecutor()).warm,
      (warm: any[]) => warm.length === 1 && warm[0].state === 'ready',
      { timeoutMs: 30_000, intervalMs: 250, what: 'a ready zygote' },
    );
    expect(ready[0]).toMatchObject({ environment: null, state: 'ready', runs: 0, running: 0, loaded: expect.arrayContaining(['json', 'argparse']) });
    expect(ready[0].ageSeconds).toBeGreaterThanOrEqual(0);
    expect(ready[0].pid).toEqual(expect.any(Number));

    for (const n of [2, 3]) expect(await executeAndWait(t, workflow.body.id, { n })).toMatchObject({ status: 'completed', output: { doubled: n * 2 } });
    const used = await waitFor(
      async () => (await localExecutor()).warm,
      (warm: any[]) => warm[0]?.runs === 2,
      { timeoutMs: 15_000, intervalMs: 250, what: 'the zygote to count its forks' },
    );
    expect(used[0].pid).toBe(ready[0].pid);
  });
});

describe('Memory limit (local executor, memoryLimitMb)', () => {
  const t = useTestApp({ TENSORIFY_EXECUTORS: JSON.stringify({ local: { memoryLimitMb: 128 } }) });

  it('a run past the limit fails, its error naming the limit; the runs before and after it complete', async () => {
    const workflow = await t.http
      .post('/v1/workflows')
      .set('Authorization', ADMIN_AUTH)
      .send(codeWorkflow('Fills memory', 'chunks = [b"x" * (8 << 20) for _ in range(input["mb"] // 8)]\nreturn {"mb": len(chunks) * 8}'))
      .expect(201);
    // Cold (it starts the zygote), then past the limit and under it again, warm or cold alike.
    expect(await executeAndWait(t, workflow.body.id, { mb: 16 })).toMatchObject({ status: 'completed', output: { mb: 16 } });
    const over = await executeAndWait(t, workflow.body.id, { mb: 256 });
    expect(over).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_FAILED' } });
    expect(over.error.message).toContain('MemoryError');
    expect(over.error.message).toMatch(/the program ran out of memory: each run may use at most 128 MiB \(the local executor's memoryLimitMb\)$/);
    expect(await executeAndWait(t, workflow.body.id, { mb: 16 })).toMatchObject({ status: 'completed', output: { mb: 16 } });
  });
});
