/**
 * `tensorify-server plugins verify` on node packs: the example pack as a directory, as the tarball
 * npm pack makes of it, and installed in a node_modules; with `--run`, each type's example runs
 * through the local executor with a real scikit-learn from the machine's package source. Broken
 * packs give the exact report lines an author reads.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/common/package-info';
import { formatNodePackReport, type NodePackReport, verifyNodePack, VerifyUsageError } from '../../src/executors/verify';
import { ensureVenv, PYTHON_TOOLS, usePythonTools } from '../support/python';

const EXAMPLE_PACK = path.join(PACKAGE_ROOT, 'plugins', 'examples', 'sklearn-nodes');
/** The examples' virtualenvs, kept between runs (scikit-learn takes a while to install): the same cache as the e2e test's executor. */
const VENV_DIR = path.join(PACKAGE_ROOT, '.cache', 'executor-venvs');
const PIP_ARGS = ['--retries', '0', '--timeout', '15'];

function run(command: string, args: string[], cwd = PACKAGE_ROOT): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The checklist as printed, without its first line (which names a temporary directory). */
function checklist(report: NodePackReport): string[] {
  return formatNodePackReport(report).split('\n').slice(2);
}

/** A type folder of a test pack: node.json (a complete manifest, `overrides` merged in), the template and, when given, helpers.py. */
async function writeType(nodesDir: string, type: string, template: string, overrides: Record<string, unknown>, helpers?: string): Promise<void> {
  const dir = path.join(nodesDir, type);
  await mkdir(dir, { recursive: true });
  const manifest = {
    type,
    version: '1.0.0',
    category: 'test',
    displayName: type,
    description: `The ${type} test node.`,
    trigger: false,
    inputs: [{ id: 'in', dataType: 'any', description: 'Runs the node after its upstream node.' }],
    outputs: [{ id: 'out', dataType: 'object', description: 'What it computed.' }],
    settingsSchema: { type: 'object', properties: {}, additionalProperties: false },
    defaults: {},
    requirements: [],
    imports: [],
    python: { returns: 'dict' },
    example: {},
    ...overrides,
  };
  await writeFile(path.join(dir, 'node.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(path.join(dir, `${type}.py.hbs`), template);
  if (helpers !== undefined) await writeFile(path.join(dir, 'helpers.py'), helpers);
}

const DIVISOR = { divisor: { description: 'What 1 is divided by.', type: 'number' } };

describe('plugins verify on a node pack', () => {
  usePythonTools();
  let scratch: string;
  let python: string;
  let tarball: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'verify-node-pack-'));
    const venv = ensureVenv([...PYTHON_TOOLS]);
    if ('missing' in venv) throw new Error(venv.missing);
    python = venv.python;
    run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', scratch, EXAMPLE_PACK]);
    tarball = path.join(scratch, 'tensorify-nodes-sklearn-1.0.0.tgz');
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  const EXAMPLE_TYPE_LINES = ['dataset-split', 'metrics', 'random-forest'].flatMap((type) => [
    `  pass  load     sklearn/${type}: manifest, settings schema, template and helpers.py load`,
    `  pass  helpers  sklearn/${type}: pyflakes finds nothing`,
    `  pass  example  sklearn/${type}: the example settings export into a program that passes py_compile, pyflakes and black`,
  ]);

  it('passes the example pack directory: its name and version, the manifest, each type loads, its helpers.py passes pyflakes, its example exports into a clean program', async () => {
    const report = await verifyNodePack(EXAMPLE_PACK, { python });
    expect(report).toMatchObject({ kind: 'node-pack', from: 'directory', packageName: 'tensorify-nodes-sklearn', packageVersion: '1.0.0', ok: true });
    expect(checklist(report)).toEqual([
      '  pass  package  tensorify-nodes-sklearn@1.0.0',
      '  pass  pack     node API 1, namespace "sklearn", 3 types',
      ...EXAMPLE_TYPE_LINES,
      "  skip  run      not checked: add --run to run each type's example through the local executor",
      '',
      '11 passed, 0 failed, 1 skipped: the server would load every type of this pack.',
    ]);
  });

  it('verifies the example from the tarball npm pack made, extracted to a temporary directory that is removed afterwards', async () => {
    const report = await verifyNodePack(tarball, { python });
    expect(report).toMatchObject({ from: 'tarball', target: tarball, packageName: 'tensorify-nodes-sklearn', packageVersion: '1.0.0', ok: true });
    expect(formatNodePackReport(report).split('\n')[0]).toBe(
      `Node pack tensorify-nodes-sklearn 1.0.0 at ${report.packagePath} (extracted from ${tarball}), against node API 1`,
    );
    expect(checklist(report).slice(0, 2)).toEqual([
      '  pass  package  tensorify-nodes-sklearn@1.0.0',
      '  pass  pack     node API 1, namespace "sklearn", 3 types',
    ]);
    expect(report.checks.filter((check) => check.status === 'pass')).toHaveLength(11);
    expect(existsSync(report.packagePath)).toBe(false);
  });

  it('with --run, runs each type example of the tarball through the local executor with a real scikit-learn', async () => {
    const report = await verifyNodePack(tarball, { python, run: true, venvDir: VENV_DIR, pipArgs: PIP_ARGS });
    expect(checklist(report)).toEqual([
      '  pass  package       tensorify-nodes-sklearn@1.0.0',
      '  pass  pack          node API 1, namespace "sklearn", 3 types',
      '  pass  requirements  scikit-learn>=1.3: installed with pip --retries 0 --timeout 15',
      ...['dataset-split', 'metrics', 'random-forest'].flatMap((type) => [
        `  pass  load          sklearn/${type}: manifest, settings schema, template and helpers.py load`,
        `  pass  helpers       sklearn/${type}: pyflakes finds nothing`,
        `  pass  example       sklearn/${type}: the example settings export into a program that passes py_compile, pyflakes and black`,
        `  pass  run           sklearn/${type}: the example ran through the local executor and exited with 0`,
      ]),
      '',
      "15 passed, 0 failed, 0 skipped: the server would load every type of this pack, and each type's example runs.",
    ]);
    expect(report.ok).toBe(true);
    // metrics ran behind a dataset split and a random forest, the producers of its typed inputs.
    expect(report.checks.find((check) => check.rule === 'run' && check.type === 'sklearn/metrics')!.details).toMatchObject({ exitCode: 0, output: {} });
  }, 900_000);

  it('checks a pack installed in a node_modules, named by its package name', async () => {
    const project = path.join(scratch, 'project');
    await mkdir(project);
    run('npm', ['install', '--prefix', project, '--no-save', '--no-package-lock', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball]);
    const report = await verifyNodePack('tensorify-nodes-sklearn', { python, cwd: project });
    expect(report).toMatchObject({ from: 'package', packagePath: path.join(project, 'node_modules', 'tensorify-nodes-sklearn'), ok: true });
    await expect(verifyNodePack('tensorify-nodes-missing', { python, cwd: project })).rejects.toThrow(VerifyUsageError);
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
      { rule: 'package', status: 'pass', message: 'future@2.0.0' },
      { rule: 'pack', status: 'fail', message: expect.stringContaining('nodeApiVersion 2, but this server speaks nodeApiVersion 1') as string },
    ]);
  });

  it('is what the built CLI runs for a node pack tarball: the checklist, exit code 0; a broken pack exits with 1', () => {
    const cli = (target: string) =>
      spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'dist', 'cli.js'), 'plugins', 'verify', target, '--python', python], {
        encoding: 'utf8',
        timeout: 120_000,
      });
    const passed = cli(tarball);
    expect(passed.stderr).toBe('');
    expect(passed.status).toBe(0);
    expect(passed.stdout).toMatch(
      /^Node pack tensorify-nodes-sklearn 1\.0\.0 at .* \(extracted from .*tensorify-nodes-sklearn-1\.0\.0\.tgz\), against node API 1\n/,
    );
    expect(passed.stdout).toContain('\n11 passed, 0 failed, 1 skipped: the server would load every type of this pack.\n');
    const future = cli(path.join(scratch, 'future'));
    expect(future.status).toBe(1);
    expect(future.stdout).toContain('  FAIL  pack     package.json declares tensorify.nodeApiVersion 2');
  });

  it('fails a tarball whose package.json has no valid name or version, or whose "files" leave the nodes folder out', async () => {
    const dir = path.join(scratch, 'unpublishable');
    await cp(EXAMPLE_PACK, dir, { recursive: true });
    const packageJson = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ ...packageJson, name: 'Sklearn Nodes', version: '1.0', files: ['README.md'] }));
    run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', scratch, dir]);
    const report = await verifyNodePack(path.join(scratch, 'Sklearn Nodes-1.0.tgz'), { python });
    expect(report.ok).toBe(false);
    expect(checklist(report)).toEqual([
      '  FAIL  package  package.json: "name" "Sklearn Nodes" is not a valid npm package name; "version" "1.0" is not a semantic version such as 1.0.0',
      '  FAIL  pack     its node types folder nodes cannot be read (ENOENT) (is the folder in the "files" of package.json?)',
      '',
      '0 passed, 2 failed, 0 skipped: see the failed rules.',
    ]);
  });

  describe('a broken pack, with --run', () => {
    let dir: string;

    beforeAll(async () => {
      dir = path.join(scratch, 'broken-nodes');
      const nodes = path.join(dir, 'nodes');
      await mkdir(nodes, { recursive: true });
      await writeFile(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: 'tensorify-nodes-broken', version: '0.1.0', tensorify: { nodeApiVersion: 1, nodes: 'nodes', namespace: 'broken' } }),
      );
      // Its example divides by zero at run time; everything before the run passes.
      await writeType(
        nodes,
        'divide',
        '    return {{py (call "broken_divide" settings.divisor)}}\n',
        {
          settingsSchema: { type: 'object', properties: DIVISOR, additionalProperties: false },
          defaults: { divisor: 1 },
          python: { returns: 'dict', helpers: ['broken_divide'] },
          example: { divisor: 0 },
        },
        'def broken_divide(divisor: float) -> dict[str, float]:\n    """1 divided by `divisor`."""\n    return {"quotient": 1 / divisor}\n',
      );
      // Runs.
      await writeType(
        nodes,
        'half',
        '    return {{py (call "broken_half" settings.divisor)}}\n',
        {
          settingsSchema: { type: 'object', properties: DIVISOR, additionalProperties: false },
          defaults: { divisor: 1 },
          python: { returns: 'dict', helpers: ['broken_half'] },
          example: { divisor: 3 },
        },
        'def broken_half(divisor: float) -> dict[str, float]:\n    """Half of `divisor`."""\n    return {"half": divisor / 2}\n',
      );
      // Prints a raw value into Python.
      await writeType(nodes, 'raw', '    return {"name": "{{settings.name}}"}\n', {
        settingsSchema: { type: 'object', properties: { name: { description: 'A name.', type: 'string' } }, additionalProperties: false },
        defaults: { name: 'x' },
        example: { name: 'x' },
      });
      // A helpers.py that does not compile.
      await writeType(
        nodes,
        'syntax',
        '    return {{py (call "broken_syntax")}}\n',
        { python: { returns: 'dict', helpers: ['broken_syntax'] } },
        'def broken_syntax(:\n    return {}\n',
      );
    });

    it('reports each problem on its line: the example that fails at run time quoted, the raw template and the uncompilable helpers.py refused with file and line', async () => {
      const report = await verifyNodePack(dir, { python, run: true, venvDir: VENV_DIR, pipArgs: PIP_ARGS });
      expect(report.ok).toBe(false);
      expect(checklist(report)).toEqual([
        '  pass  package       tensorify-nodes-broken@0.1.0',
        '  pass  pack          node API 1, namespace "broken", 4 types',
        '  pass  requirements  none declared',
        '  pass  load          broken/divide: manifest, settings schema, template and helpers.py load',
        '  pass  helpers       broken/divide: pyflakes finds nothing',
        '  pass  example       broken/divide: the example settings export into a program that passes py_compile, pyflakes and black',
        expect.stringMatching(
          /^ {2}FAIL {2}run {11}broken\/divide: the example exited with 1: Node "example" failed: ZeroDivisionError: division by zero \(utils\.py:\d+, in broken_divide\)$/,
        ) as unknown as string,
        '  pass  load          broken/half: manifest, settings schema, template and helpers.py load',
        '  pass  helpers       broken/half: pyflakes finds nothing',
        '  pass  example       broken/half: the example settings export into a program that passes py_compile, pyflakes and black',
        '  pass  run           broken/half: the example ran through the local executor and exited with 0',
        '  FAIL  load          broken/raw: Template nodes/raw/raw.py.hbs is refused: line 1: write values as {{py value}} or {{body setting}}, not {{settings.name…}}',
        '  FAIL  load          broken/syntax: nodes/syntax/helpers.py does not compile: line 1: SyntaxError: invalid syntax',
        '',
        '10 passed, 3 failed, 0 skipped: see the failed rules.',
      ]);
    }, 300_000);

    it('says plainly that requirements which cannot be installed here do not pass, and runs none of the examples needing them', async () => {
      const needy = path.join(scratch, 'needy-nodes');
      await cp(dir, needy, { recursive: true });
      for (const type of ['raw', 'syntax']) await rm(path.join(needy, 'nodes', type), { recursive: true });
      for (const type of ['divide', 'half']) {
        const file = path.join(needy, 'nodes', type, 'node.json');
        const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
        await writeFile(file, JSON.stringify({ ...manifest, requirements: ['tensorify-verify-no-such-package==0.0.1'] }));
      }
      const report = await verifyNodePack(needy, { python, run: true, venvDir: VENV_DIR, pipArgs: PIP_ARGS });
      expect(report.ok).toBe(false);
      const problem =
        'pip install exited with code 1: ERROR: Could not find a version that satisfies the requirement tensorify-verify-no-such-package==0.0.1 (from versions: none)';
      expect(report.checks.filter((check) => check.status !== 'pass').map(({ rule, type, message }) => ({ rule, type, message }))).toEqual([
        { rule: 'requirements', type: undefined, message: `cannot be installed here: ${problem}` },
        {
          rule: 'run',
          type: 'broken/divide',
          message: `not run: its requirements (tensorify-verify-no-such-package==0.0.1) cannot be installed here: ${problem}`,
        },
        {
          rule: 'run',
          type: 'broken/half',
          message: `not run: its requirements (tensorify-verify-no-such-package==0.0.1) cannot be installed here: ${problem}`,
        },
      ]);
    }, 300_000);
  });
});
