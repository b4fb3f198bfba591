import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The interpreter generated programs run with in tests: `TENSORIFY_TEST_PYTHON`, else python3 on PATH. */
export const PYTHON = process.env.TENSORIFY_TEST_PYTHON ?? 'python3';

/**
 * The Python code checks, pinned: installed from the package index into a test venv (see
 * `ensureVenv`), so that a machine with python3 alone runs them, and every machine the same
 * versions. `layout.ts` follows this black's stable style.
 */
export const PYTHON_TOOLS = ['black==26.5.1', 'pyflakes==4.0.0'] as const;

/**
 * Runs a pinned Python code check (black, pyflakes) and returns its result. A machine that cannot
 * install it fails the test saying why: these checks never pass by being skipped.
 */
export function runTool(tool: 'black' | 'pyflakes', args: string[], cwd?: string): SpawnSyncReturns<string> {
  const venv = ensureVenv([...PYTHON_TOOLS]);
  if ('missing' in venv) throw new Error(`${tool} is required for this test. ${venv.missing}`);
  const result = spawnSync(venv.python, ['-m', tool, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  if (result.error) throw result.error;
  return result;
}

/** Expects pyflakes and black (`--check`) to pass on `paths` silently: the checks generated programs get, for the Python this project ships. */
export function expectPythonChecksPass(...paths: string[]): void {
  const flakes = runTool('pyflakes', paths);
  expect(flakes.stdout + flakes.stderr).toBe('');
  expect(flakes.status).toBe(0);
  const black = runTool('black', ['--check', '--diff', '--quiet', ...paths]);
  expect(black.stdout + black.stderr).toBe('');
  expect(black.status).toBe(0);
}

/**
 * Makes the pinned checks' venv before the tests of the calling `describe` (the first time, a pip
 * install: its own generous timeout, so a busy machine does not fail a test on it).
 */
export function usePythonTools(): void {
  beforeAll(() => {
    const venv = ensureVenv([...PYTHON_TOOLS]);
    if ('missing' in venv) throw new Error(`The Python code checks (${PYTHON_TOOLS.join(', ')}) are required. ${venv.missing}`);
  }, 900_000);
}

/** Writes `files` into a new temporary directory and returns its path. */
export async function writeProgram(files: Readonly<Record<string, string>>, prefix = 'tensorify-program-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(path.join(dir, name), text)));
  return dir;
}

export interface ProgramRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The parsed output: from TENSORIFY_OUTPUT when `outputFile` was asked for, else the last stdout line. */
  output: unknown;
}

/**
 * Runs `main.py` in `dir` with `python main.py --inputs <file>` (when `inputs` is given) and a
 * clean environment plus `env`, as a user would.
 */
export async function runProgram(
  dir: string,
  options: { inputs?: unknown; env?: Record<string, string>; python?: string; timeoutMs?: number } = {},
): Promise<ProgramRun> {
  const args = ['main.py'];
  if (options.inputs !== undefined) {
    const file = path.join(dir, 'inputs.json');
    await writeFile(file, JSON.stringify(options.inputs));
    args.push('--inputs', file);
  }
  const result = spawnSync(options.python ?? PYTHON, args, {
    cwd: dir,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8', ...options.env },
  });
  if (result.error) throw result.error;
  const lines = result.stdout.trimEnd().split('\n');
  let output: unknown;
  try {
    output = JSON.parse(lines[lines.length - 1]);
  } catch {
    output = undefined;
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, output };
}

/**
 * A virtual environment with `packages` installed from the machine's package source, made once
 * and kept under `.cache/test-venvs/` (keyed by the package list). Creating it takes a while; a
 * machine without a source for a package fails the test saying so.
 */
export function testVenv(packages: string[]): Promise<string> {
  const venv = ensureVenv(packages);
  if ('missing' in venv) return Promise.reject(new Error(venv.missing));
  return Promise.resolve(venv.python);
}

/**
 * The same venv, made synchronously (for a test file to decide, as it loads, whether it can run):
 * its python, or why it cannot be made.
 */
export function ensureVenv(packages: string[]): { python: string } | { missing: string } {
  const key = packages.join('+').replace(/[^A-Za-z0-9+.=<>-]/g, '_');
  const dir = path.resolve(__dirname, '..', '..', '.cache', 'test-venvs', key);
  const python = path.join(dir, 'bin', 'python');
  if (existsSync(path.join(dir, '.complete'))) return { python };
  mkdirSync(path.dirname(dir), { recursive: true });
  // Made aside and renamed into place whole, so that test files making it at once never share a
  // half-installed venv (its python finds its packages through pyvenv.cfg, wherever it lies).
  const building = `${dir}.${process.pid}`;
  const create = spawnSync('/usr/bin/python3', ['-m', 'venv', '--clear', building], { encoding: 'utf8' });
  if (create.status !== 0) return { missing: `python3 -m venv failed: ${create.stderr}` };
  const install = spawnSync(path.join(building, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--retries', '0', '--timeout', '15', ...packages], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (install.status !== 0) {
    rmSync(building, { recursive: true, force: true });
    return { missing: `This machine has no package source for ${packages.join(', ')} (pip install failed), so this test cannot run:\n${install.stderr}` };
  }
  writeFileSync(path.join(building, '.complete'), `${packages.join('\n')}\n`);
  try {
    renameSync(building, dir);
  } catch (error) {
    // Another test file finished first (or a stale, incomplete venv is in the way).
    if (existsSync(path.join(dir, '.complete'))) {
      rmSync(building, { recursive: true, force: true });
      return { python };
    }
    if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    rmSync(dir, { recursive: true, force: true });
    renameSync(building, dir);
  }
  return { python };
}
