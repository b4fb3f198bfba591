import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyNodePack } from '../../src/executors/verify';
import { PACKAGE_ROOT } from '../../src/common/package-info';
import { ensureVenv, PYTHON_TOOLS, usePythonTools } from '../support/python';

const EXAMPLE_PACK = path.join(PACKAGE_ROOT, 'plugins', 'examples', 'sklearn-nodes');

describe('plugins verify on a node pack', () => {
  usePythonTools();
  let scratch: string;
  let python: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'verify-node-pack-'));
    const venv = ensureVenv([...PYTHON_TOOLS]);
    if ('missing' in venv) throw new Error(venv.missing);
    python = venv.python;
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it('passes the example pack: each type loads, its helpers.py passes pyflakes, its example exports into a clean program', async () => {
    const report = await verifyNodePack(EXAMPLE_PACK, { python });
    expect(report).toMatchObject({ kind: 'node-pack', packageName: 'tensorify-nodes-sklearn', packageVersion: '1.0.0', ok: true });
    expect(report.checks.map((check) => [check.rule, check.type, check.status].filter(Boolean).join(' '))).toEqual([
      'pack pass',
      'load sklearn/dataset-split pass',
      'helpers sklearn/dataset-split pass',
      'example sklearn/dataset-split pass',
      'load sklearn/metrics pass',
      'helpers sklearn/metrics pass',
      'example sklearn/metrics pass',
      'load sklearn/random-forest pass',
      'helpers sklearn/random-forest pass',
      'example sklearn/random-forest pass',
    ]);
  });

  it('fails a helpers.py that pyflakes rejects (an undefined name), naming its file and line', async () => {
    const dir = path.join(scratch, 'flaky');
    await cp(EXAMPLE_PACK, dir, { recursive: true });
    const file = path.join(dir, 'nodes', 'metrics', 'helpers.py');
    await writeFile(file, (await readFile(file, 'utf8')).replace('predicted = model.predict', 'predicted = modle.predict'));
    const report = await verifyNodePack(dir, { python });
    expect(report.ok).toBe(false);
    const failed = report.checks.filter((check) => check.status === 'fail');
    expect(failed).toEqual([
      { rule: 'helpers', type: 'sklearn/metrics', status: 'fail', message: expect.stringMatching(/helpers\.py:8:\d+:? undefined name 'modle'/) as string },
      {
        rule: 'example',
        type: 'sklearn/metrics',
        status: 'fail',
        message: expect.stringMatching(/^the exported example fails pyflakes: .*utils\.py:\d+:\d+:? undefined name 'modle'/) as string,
      },
    ]);
  });

  it('fails a pack of another node API before reading its types', async () => {
    const dir = path.join(scratch, 'future');
    await cp(EXAMPLE_PACK, dir, { recursive: true });
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'future', version: '2.0.0', tensorify: { nodeApiVersion: 2 } }));
    const report = await verifyNodePack(dir, { python });
    expect(report.ok).toBe(false);
    expect(report.checks).toEqual([
      { rule: 'pack', status: 'fail', message: expect.stringContaining('nodeApiVersion 2, but this server speaks nodeApiVersion 1') as string },
    ]);
  });
});
