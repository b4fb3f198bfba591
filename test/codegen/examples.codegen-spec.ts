import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GENERATED_FILE_NAMES, type GeneratedFiles, type WorkflowCompiler } from '../../src/codegen/workflow-compiler';
import { example, shippedCompiler } from '../support/compiler';
import { PYTHON, runProgram, runTool, writeProgram } from '../support/python';

/** Golden files: the exact export of each example. Regenerate on purpose with UPDATE_GOLDEN=1. */
const GOLDEN_DIR = path.resolve(__dirname, '..', 'fixtures', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const EXAMPLES = ['hello', 'code-branch', 'summarize', 'classifier'];

describe('Exports of the example workflows', () => {
  let compiler: WorkflowCompiler;
  const exported = new Map<string, { files: GeneratedFiles; dir: string }>();

  beforeAll(async () => {
    compiler = await shippedCompiler();
    for (const name of EXAMPLES) {
      const files = compiler.compile(example(name).workflow);
      exported.set(name, { files, dir: await writeProgram(files, `tensorify-${name}-`) });
    }
  });

  describe.each(EXAMPLES)('%s', (name) => {
    it('matches its golden files byte for byte', async () => {
      const { files } = exported.get(name)!;
      const goldenDir = path.join(GOLDEN_DIR, name);
      if (UPDATE) {
        await mkdir(goldenDir, { recursive: true });
        await Promise.all(GENERATED_FILE_NAMES.map((file) => writeFile(path.join(goldenDir, file), files[file])));
      }
      for (const file of GENERATED_FILE_NAMES) {
        expect(files[file]).toBe(await readFile(path.join(goldenDir, file), 'utf8'));
      }
    });

    it('compiles the same bytes every time', () => {
      expect(compiler.compile(example(name).workflow)).toEqual(exported.get(name)!.files);
    });

    it('passes py_compile, pyflakes and black --check', () => {
      const { dir } = exported.get(name)!;
      const compiled = spawnSync(PYTHON, ['-m', 'py_compile', 'main.py', 'utils.py'], { cwd: dir, encoding: 'utf8' });
      expect(compiled.stderr).toBe('');
      expect(compiled.status).toBe(0);
      const flakes = runTool('pyflakes', ['main.py', 'utils.py'], dir);
      expect(flakes.stdout + flakes.stderr).toBe('');
      const black = runTool('black', ['--check', '--diff', '--quiet', 'main.py', 'utils.py'], dir);
      expect(black.stdout + black.stderr).toBe('');
      expect(black.status).toBe(0);
    });
  });

  describe.each(['hello', 'code-branch'])('%s, run with python main.py --inputs', (name) => {
    it('prints its expected output last, after a started and a finished line per node it ran', async () => {
      const { inputs, expectedOutput } = example(name);
      const run = await runProgram(exported.get(name)!.dir, { inputs });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.output).toEqual(expectedOutput);
      const progress = run.stdout.trimEnd().split('\n').slice(0, -1);
      expect(progress.every((line) => /^\[node [a-z_][a-z0-9_]*\] (started|finished in \d+\.\d ms)$/.test(line))).toBe(true);
    });
  });

  describe('hello', () => {
    it('reads its inputs from TENSORIFY_INPUTS and writes its output to TENSORIFY_OUTPUT', async () => {
      const { dir } = exported.get('hello')!;
      const outputFile = path.join(dir, 'output.json');
      const run = await runProgram(dir, { env: { TENSORIFY_INPUTS: '{"name": "Grace"}', TENSORIFY_OUTPUT: outputFile } });
      expect(run.status).toBe(0);
      expect(JSON.parse(await readFile(outputFile, 'utf8'))).toEqual({ result: 'Hello, Grace!' });
      expect(run.stdout).not.toContain('Hello, Grace!');
    });

    it('prints the progress of each node in order', async () => {
      const run = await runProgram(exported.get('hello')!.dir, { inputs: { name: 'Ada' } });
      const events = run.stdout
        .split('\n')
        .filter((line) => line.startsWith('[node '))
        .map((line) => line.replace(/ in .*$/, ''));
      expect(events).toEqual([
        '[node trigger] started',
        '[node trigger] finished',
        '[node greeting] started',
        '[node greeting] finished',
        '[node out] started',
        '[node out] finished',
      ]);
    });

    it('exits 1 naming the failed node on stderr when a binding reads a missing field', async () => {
      const run = await runProgram(exported.get('hello')!.dir, { inputs: { nom: 'Ada' } });
      expect(run.status).toBe(1);
      expect(run.stderr.trimEnd().split('\n').pop()).toBe(`Node "greeting" failed: KeyError: 'name'`);
      expect(run.stdout).toContain('[node greeting] started');
      expect(run.stdout).not.toContain('[node greeting] finished');
    });

    it('exits 2 with a clear message when the inputs are not a JSON object', async () => {
      const run = await runProgram(exported.get('hello')!.dir, { inputs: ['Ada'] });
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(/^error: the inputs file .*inputs\.json must hold a JSON object, not a list\n$/);
    });

    it('exits 2 when the inputs file does not exist, and runs with {} without any inputs', async () => {
      const { dir } = exported.get('hello')!;
      const missing = spawnSync(PYTHON, ['main.py', '--inputs', 'nowhere.json'], { cwd: dir, encoding: 'utf8' });
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain('nowhere.json cannot be read: No such file or directory');
      const none = await runProgram(dir);
      expect(none.status).toBe(1);
      expect(none.stderr).toContain(`Node "greeting" failed: KeyError: 'name'`);
    });
  });

  describe('code-branch', () => {
    it('takes the false branch: only the "small" return runs', async () => {
      const run = await runProgram(exported.get('code-branch')!.dir, { inputs: { numbers: [1, 2] } });
      expect(run.status).toBe(0);
      expect(run.output).toEqual({ verdict: 'small', total: 3 });
      expect(run.stdout).toContain('[node small] started');
      expect(run.stdout).not.toContain('[node big]');
    });

    it('fails naming the code node when its Python raises', async () => {
      const run = await runProgram(exported.get('code-branch')!.dir, { inputs: { numbers: [1, 'two'] } });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('Traceback');
      expect(run.stderr.trimEnd().split('\n').pop()).toBe(`Node "score" failed: TypeError: unsupported operand type(s) for +: 'int' and 'str'`);
    });
  });
});
