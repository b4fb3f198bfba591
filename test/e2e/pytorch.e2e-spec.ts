import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { example } from '../support/compiler';
import { ADMIN_AUTH, useTestApp } from '../support/test-app';

/**
 * The classifier example through the API and the local executor, which installs torch into its
 * cached venv from the machine's package source. Without a source for torch, the test is skipped
 * and says why.
 */
const EXECUTOR_VENVS = path.resolve(__dirname, '..', '..', '.cache', 'executor-venvs');
const PIP_ARGS = ['--retries', '0', '--timeout', '15'];
const probe = spawnSync('/usr/bin/python3', ['-m', 'pip', 'index', 'versions', 'torch', ...PIP_ARGS], { encoding: 'utf8', timeout: 60_000 });
const torchSource = probe.status === 0 && /^torch \(/m.test(probe.stdout);
if (!torchSource) {
  console.warn(
    `SKIPPED: the classifier run of pytorch.e2e-spec.ts did not run: this machine has no package source for torch (pip index versions torch: ${(probe.stderr || probe.stdout).trim().split('\n').pop()})`,
  );
}
const withTorch = torchSource ? it : it.skip;

describe('The classifier example through the local executor', () => {
  const t = useTestApp({ TENSORIFY_EXECUTORS: JSON.stringify({ local: { venvDir: EXECUTOR_VENVS, pipArgs: PIP_ARGS } }) });
  const auth = ADMIN_AUTH;

  withTorch(
    'completes with accuracy above 0.8 and one log line per epoch',
    async () => {
      const { workflow, inputs } = example('classifier');
      const created = await t.http
        .post('/v1/workflows')
        .set('Authorization', auth)
        .send({ name: workflow.name, description: workflow.description, nodes: workflow.nodes, edges: workflow.edges });
      expect(created.status).toBe(201);
      const started = await t.http.post(`/v1/workflows/${created.body.id}/execute`).set('Authorization', auth).send({ inputs, timeoutSeconds: 600 });
      expect(started.status).toBe(202);
      const deadline = Date.now() + 600_000;
      let execution: Record<string, unknown>;
      for (;;) {
        execution = (await t.http.get(`/v1/executions/${started.body.executionId}`).set('Authorization', auth).expect(200)).body;
        if (!['queued', 'running'].includes(execution.status as string) || Date.now() > deadline) break;
        await new Promise((done) => setTimeout(done, 200));
      }
      expect(execution.error).toBeNull();
      expect(execution.status).toBe('completed');
      const output = execution.output as { accuracy: number; finalLoss: number };
      expect(output.accuracy).toBeGreaterThan(0.8);
      const epochs = (execution.logs as string[]).filter((line) => /^epoch \d+\/5: loss \d+\.\d{4}$/.test(line));
      expect(epochs.map((line) => line.split(':')[0])).toEqual(['epoch 1/5', 'epoch 2/5', 'epoch 3/5', 'epoch 4/5', 'epoch 5/5']);
      // The pack's requirements carry numpy: torch prints no "UserWarning: Failed to initialize NumPy".
      expect((execution.logs as string[]).filter((line) => /UserWarning|Failed to initialize NumPy/.test(line))).toEqual([]);
      const ms = Date.parse(execution.completedAt as string) - Date.parse(execution.startedAt as string);
      console.log(`classifier via local executor: accuracy ${output.accuracy}, final loss ${output.finalLoss.toFixed(4)}, ${ms} ms from start to end`);
    },
    660_000,
  );
});
