import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The interpreter generated programs run with in tests: `TENSORIFY_TEST_PYTHON`, else python3 on PATH. */
export const PYTHON = process.env.TENSORIFY_TEST_PYTHON ?? 'python3';

/** Debian's packages the code checks need; .ci/run installs them. */
const TOOLS = {
  black: { command: 'black', package: 'black' },
  pyflakes: { command: 'pyflakes3', package: 'pyflakes3' },
} as const;

/**
 * Runs a Python code check (black, pyflakes) and returns its result. A missing tool fails the test
 * with the package to install: these checks never pass by being skipped.
 */
export function runTool(tool: keyof typeof TOOLS, args: string[], cwd?: string): SpawnSyncReturns<string> {
  const { command, package: debianPackage } = TOOLS[tool];
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${command} (Debian package \`${debianPackage}\`) is required for this test: apt-get install -y ${debianPackage}`);
  }
  return result;
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
export async function testVenv(packages: string[]): Promise<string> {
  const venv = ensureVenv(packages);
  if ('missing' in venv) throw new Error(venv.missing);
  return venv.python;
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
  const create = spawnSync('/usr/bin/python3', ['-m', 'venv', '--clear', dir], { encoding: 'utf8' });
  if (create.status !== 0) return { missing: `python3 -m venv failed: ${create.stderr}` };
  const install = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--retries', '0', '--timeout', '15', ...packages], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (install.status !== 0) {
    return { missing: `This machine has no package source for ${packages.join(', ')} (pip install failed), so this test cannot run:\n${install.stderr}` };
  }
  writeFileSync(path.join(dir, '.complete'), `${packages.join('\n')}\n`);
  return { python };
}
