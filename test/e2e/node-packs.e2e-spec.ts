/**
 * The example node pack (plugins/examples/sklearn-nodes) installed the way an operator installs
 * one: packed with npm pack, installed from its tarball into a folder of its own, named by path in
 * TENSORIFY_NODE_PACKS. A workflow using its types validates, exports and runs through the local
 * executor with a real scikit-learn from the machine's package source; without the pack, the stored
 * workflow still reads but no longer exports or runs. A broken pack beside it is listed, not fatal.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../support/server-process';
import { startTestApp, type TestApp } from '../support/test-app';

const EXAMPLE = join(PACKAGE_ROOT, 'plugins', 'examples', 'sklearn-nodes');
const EXECUTOR_VENVS = join(PACKAGE_ROOT, '.cache', 'executor-venvs');
const PIP_ARGS = ['--retries', '0', '--timeout', '15'];

function run(command: string, args: string[], cwd = PACKAGE_ROOT): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** manual → dataset split → random forest → metrics → return, the split feeding both typed inputs of metrics. */
const WORKFLOW = {
  name: 'Wine classifier',
  description: 'A random forest on the wine dataset, measured on a held-out part.',
  nodes: [
    { id: 'trigger', type: 'manual', settings: {} },
    { id: 'split', type: 'sklearn/dataset-split', settings: { dataset: 'wine', testSize: 0.3, seed: 7 } },
    { id: 'forest', type: 'sklearn/random-forest@1', settings: { trees: 50, seed: 1 } },
    { id: 'metrics', type: 'sklearn/metrics', settings: {} },
    { id: 'out', type: 'return', settings: { value: { accuracy: '{{ metrics.accuracy }}', f1: '{{ metrics.f1 }}', classes: '{{ metrics.classes }}' } } },
  ],
  edges: [
    { source: 'trigger', target: 'split' },
    { source: 'split', target: 'forest', sourceHandle: 'split', targetHandle: 'split' },
    { source: 'forest', target: 'metrics', sourceHandle: 'model', targetHandle: 'model' },
    { source: 'split', target: 'metrics', sourceHandle: 'split', targetHandle: 'split' },
    { source: 'metrics', target: 'out' },
  ],
};

describe('A node pack installed from its packed tarball', () => {
  let scratch: string;
  let installed: string;
  let broken: string;
  let t: TestApp;
  let auth: string;
  let workflowId: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'tensorify-node-pack-'));
    run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', scratch, EXAMPLE]);
    const prefix = join(scratch, 'packs');
    mkdirSync(prefix);
    run('npm', [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-package-lock',
      '--offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      join(scratch, 'tensorify-nodes-sklearn-1.0.0.tgz'),
    ]);
    installed = join(prefix, 'node_modules', 'tensorify-nodes-sklearn');
    // A second pack whose one template prints a raw value.
    broken = join(scratch, 'broken-pack');
    cpSync(EXAMPLE, broken, { recursive: true });
    writeFileSync(
      join(broken, 'package.json'),
      JSON.stringify({ name: 'broken-pack', version: '0.1.0', tensorify: { nodeApiVersion: 1, nodes: 'nodes', namespace: 'broken' } }),
    );
    for (const type of ['dataset-split', 'random-forest', 'metrics']) rmSync(join(broken, 'nodes', type, 'helpers.py'));
    rmSync(join(broken, 'nodes', 'dataset-split'), { recursive: true });
    rmSync(join(broken, 'nodes', 'random-forest'), { recursive: true });
    writeFileSync(join(broken, 'nodes', 'metrics', 'node.json'), JSON.stringify({ ...metricsManifest(), python: { returns: 'dict' } }, null, 2));
    writeFileSync(join(broken, 'nodes', 'metrics', 'metrics.py.hbs'), '    return {"model": "{{settings.name}}"}\n');

    t = await startTestApp({
      TENSORIFY_NODE_PACKS: `${installed},${broken}`,
      TENSORIFY_EXECUTORS: JSON.stringify({ local: { venvDir: EXECUTOR_VENVS, pipArgs: PIP_ARGS } }),
    });
    auth = t.bearer(t.adminKey);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  function metricsManifest(): Record<string, unknown> {
    return {
      type: 'metrics',
      version: '0.1.0',
      category: 'test',
      displayName: 'Broken',
      description: 'Prints a raw value.',
      trigger: false,
      inputs: [],
      outputs: [],
      settingsSchema: { type: 'object', properties: {}, additionalProperties: false },
      defaults: {},
      requirements: [],
      imports: [],
      example: {},
    };
  }

  it('lists the packs: the built-in one, the example with its namespaced types, the broken one with its loadError', async () => {
    const { packs } = (await t.http.get('/v1/node-packs').set('Authorization', auth).expect(200)).body;
    expect(packs[0]).toMatchObject({ name: 'tensorify-server', namespace: null, source: 'builtin' });
    expect(packs.find((pack: { name: string }) => pack.name === 'tensorify-nodes-sklearn')).toEqual({
      name: 'tensorify-nodes-sklearn',
      version: '1.0.0',
      namespace: 'sklearn',
      source: 'configured',
      path: expect.stringContaining('tensorify-nodes-sklearn') as string,
      types: [
        { type: 'sklearn/dataset-split', version: '1.0.0' },
        { type: 'sklearn/metrics', version: '1.0.0' },
        { type: 'sklearn/random-forest', version: '1.0.0' },
      ],
    });
    expect(packs.find((pack: { name: string }) => pack.name === 'broken-pack').types).toEqual([
      {
        type: 'broken/metrics',
        loadError: 'Template nodes/metrics/metrics.py.hbs is refused: line 1: write values as {{py value}} or {{body setting}}, not {{settings.name…}}',
      },
    ]);
  });

  it('serves the pack types in GET /v1/nodes with their pack and version', async () => {
    const { nodes } = (await t.http.get('/v1/nodes').set('Authorization', auth).expect(200)).body;
    expect(nodes.find((node: { type: string }) => node.type === 'sklearn/random-forest')).toMatchObject({
      version: '1.0.0',
      pack: { name: 'tensorify-nodes-sklearn', version: '1.0.0' },
      example: { trees: 20, maxDepth: 4, seed: 1 },
    });
    expect(nodes.find((node: { type: string }) => node.type === 'linear').pack.name).toBe('tensorify-server');
    expect(nodes.some((node: { type: string }) => node.type.startsWith('broken/'))).toBe(false);
  });

  it('validates a workflow using them, refuses bad settings per node, and exports it with the pack requirements merged', async () => {
    const bad = { ...WORKFLOW, nodes: WORKFLOW.nodes.map((node) => (node.id === 'split' ? { ...node, settings: { dataset: 'mnist' } } : node)) };
    const refused = await t.http.post('/v1/workflows').set('Authorization', auth).send(bad).expect(400);
    expect(refused.body.error.details.nodes.split[0]).toMatchObject({ code: 'INVALID_SETTINGS', path: '/nodes/1/settings/dataset' });

    workflowId = (await t.http.post('/v1/workflows').set('Authorization', auth).send(WORKFLOW).expect(201)).body.id;
    const { files } = (await t.http.post(`/v1/workflows/${workflowId}/export`).set('Authorization', auth).expect(200)).body;
    expect(files['requirements.txt']).toContain('scikit-learn>=1.3');
    expect(files['utils.py']).toContain('def sklearn_fit_random_forest(');
    expect(files['main.py']).toContain('sklearn_dataset_split(dataset="wine", test_size=0.3, seed=7)');
  });

  it('executes it through the local executor with a real scikit-learn', async () => {
    const started = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).send({ executor: 'local', timeoutSeconds: 600 });
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
    const output = execution.output as { accuracy: number; f1: number; classes: string[] };
    expect(output.classes).toEqual(['class_0', 'class_1', 'class_2']);
    expect(output.accuracy).toBeGreaterThan(0.8);
    expect(output.f1).toBeGreaterThan(0.8);
  }, 660_000);

  it('without the pack: the stored workflow still reads; export and execute answer INVALID_WORKFLOW naming the node and the missing pack', async () => {
    await t.restart({ TENSORIFY_NODE_PACKS: broken });
    auth = t.bearer(t.adminKey);
    await t.http.get(`/v1/workflows/${workflowId}`).set('Authorization', auth).expect(200);
    const exported = await t.http.post(`/v1/workflows/${workflowId}/export`).set('Authorization', auth).expect(400);
    expect(exported.body.error.code).toBe('INVALID_WORKFLOW');
    expect(exported.body.error.details.nodes.split[0]).toEqual({
      code: 'UNKNOWN_NODE_TYPE',
      message:
        'Node "split" has type "sklearn/dataset-split", which is not in the node catalogue: no installed node pack has the namespace "sklearn": ' +
        'install the pack that provides it (GET /v1/node-packs lists the packs).',
      path: '/nodes/1/type',
    });
    expect(Object.keys(exported.body.error.details.nodes).sort()).toEqual(['forest', 'metrics', 'split']);
    const executed = await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).send({}).expect(400);
    expect(executed.body.error.code).toBe('INVALID_WORKFLOW');
    expect(executed.body.error.details.nodes.forest[0].message).toContain('"sklearn/random-forest@1"');
  });
});
