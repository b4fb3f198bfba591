/**
 * The local executor against real python3 processes and real virtualenvs.
 *
 * Packages come from the index pip is configured with; TENSORIFY_TEST_PIP_ARGS (a JSON array)
 * adds arguments, by default `--index-url file:///opt/pypi/simple` when that local mirror exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import {
  type AbortReason,
  createTestContext,
  cutMarker,
  type Executor,
  ExecutorUnavailableError,
  LineSplitter,
  normaliseRequirements,
  readProgram,
  type TestContext,
  testJob,
} from '@tensorify/executor-sdk';
import { requirementsHash } from '../src/venvs';
import { makeExecutor, PIP_ARGS, tempDir } from './helpers';

const HELLO = readProgram(path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'golden', 'hello'));

/** A process is gone once kill(pid, 0) fails, or it is a zombie: dead, waiting to be reaped by a PID 1 that may never do it. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** Live processes whose command line mentions `text` (e.g. a test's data dir). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) && isAlive(pid);
      } catch {
        return false;
      }
    });
}

function listing(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe('local executor: running programs', () => {
  it('runs the hello program: output, progress lines in order, external id, no work dir left', async () => {
    const { executor, dataDir } = await makeExecutor();
    const context = createTestContext();
    const result = await executor.run(testJob(HELLO, { inputs: { name: 'Ada' } }), context);

    expect(result.exitCode).toBe(0);
    expect(result.output).toEqual({ result: 'Hello, Ada!' });
    expect(context.of('stdout').map((line) => line.replace(/ in [\d.]+ ms$/, ''))).toEqual([
      '[node trigger] started',
      '[node trigger] finished',
      '[node greeting] started',
      '[node greeting] finished',
      '[node out] started',
      '[node out] finished',
    ]);
    expect(context.of('stderr')).toEqual([]);
    expect(result.externalId).toMatch(/^\d+$/);
    expect(context.externalIds).toEqual([result.externalId]);
    expect(listing(path.join(dataDir, 'runs'))).toEqual([]);
    expect(listing(path.join(dataDir, 'venvs'))).toEqual([]); // no requirements: no venv
  });

  it('reports a failing program: exit code 1, its traceback on stderr, no output', async () => {
    const { executor, dataDir } = await makeExecutor();
    const context = createTestContext();
    const result = await executor.run(testJob(HELLO, { inputs: { nom: 'Ada' } }), context);

    expect(result.exitCode).toBe(1);
    expect(result.output).toBeUndefined();
    const stderr = context.of('stderr');
    expect(stderr[0]).toBe('Traceback (most recent call last):');
    expect(stderr).toContain("KeyError: 'name'");
    expect(stderr[stderr.length - 1]).toBe(`Node "greeting" failed: KeyError: 'name'`);
    expect(context.of('stdout')).toEqual(['[node trigger] started', expect.stringMatching(/^\[node trigger\] finished/), '[node greeting] started']);
    expect(listing(path.join(dataDir, 'runs'))).toEqual([]);
  });

  it("gives the program a clean environment: none of the server's variables but passEnv's, config.env and job.env", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      TENSORIFY_BOOTSTRAP_API_KEY: 'tfy_bootstrap_secret',
      TENSORIFY_DATABASE_URL: 'postgres://user:password@db/tensorify',
      SECRET_X: 'x-secret',
      ALLOWED_Y: 'y-allowed',
    });
    try {
      const { executor } = await makeExecutor({ passEnv: ['ALLOWED_Y', 'NOT_SET_Z'], env: { FIXED: 'from-config', BOTH: 'config' } });
      const program = [
        'import json, os, stat',
        'for name, value in sorted(os.environ.items()):',
        '    print(f"{name}={value}")',
        'mode = stat.S_IMODE(os.stat(".").st_mode)',
        'files = {name: stat.S_IMODE(os.stat(name).st_mode) for name in ("main.py", "utils.py", "requirements.txt")}',
        'json.dump({"cwd": os.getcwd(), "mode": mode, "files": files}, open(os.environ["TENSORIFY_OUTPUT"], "w"))',
      ].join('\n');
      const context = createTestContext();
      const theJob = testJob({ 'main.py': program }, { inputs: { a: [1, 'two'] }, env: { FROM_JOB: 'job', BOTH: 'job' }, gpu: true });
      const result = await executor.run(theJob, context);
      expect(result.exitCode).toBe(0);

      const env = Object.fromEntries(context.of('stdout').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      const output = result.output as { cwd: string; mode: number; files: Record<string, number> };
      expect(Object.keys(env).sort()).toEqual(
        [
          'PATH',
          'HOME',
          'LANG',
          'PYTHONUNBUFFERED',
          'PYTHONDONTWRITEBYTECODE',
          'TENSORIFY_EXECUTION_ID',
          'TENSORIFY_WORKFLOW_ID',
          'TENSORIFY_INPUTS',
          'TENSORIFY_OUTPUT',
          'TENSORIFY_DEVICE',
          'FIXED',
          'BOTH',
          'ALLOWED_Y',
          'FROM_JOB',
        ].sort(),
      );
      expect(env).toMatchObject({
        HOME: output.cwd,
        LANG: 'C.UTF-8',
        PYTHONUNBUFFERED: '1',
        PYTHONDONTWRITEBYTECODE: '1',
        TENSORIFY_EXECUTION_ID: theJob.executionId,
        TENSORIFY_WORKFLOW_ID: 'wf_test',
        TENSORIFY_DEVICE: 'cuda',
        FIXED: 'from-config',
        BOTH: 'job',
        ALLOWED_Y: 'y-allowed',
        FROM_JOB: 'job',
      });
      expect(JSON.parse(env.TENSORIFY_INPUTS)).toEqual({ a: [1, 'two'] });
      expect(env.PATH.endsWith('/usr/local/bin:/usr/bin:/bin')).toBe(true);
      expect(path.dirname(env.TENSORIFY_OUTPUT)).toBe(output.cwd);
      const all = context.lines.map((entry) => entry.line).join('\n');
      for (const secret of ['tfy_bootstrap_secret', 'password', 'x-secret']) expect(all).not.toContain(secret);

      // A fresh 0700 directory per run under <dataDir>/runs, named after the execution, gone afterwards.
      expect(path.basename(output.cwd)).toMatch(new RegExp(`^${theJob.executionId}-.+`));
      expect(output.mode).toBe(0o700);
      expect(Object.values(output.files)).toEqual([0o600, 0o600, 0o600]);
      expect(existsSync(output.cwd)).toBe(false);
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  it('cuts lines longer than logLineMaxBytes with a marker; handles CRLF, invalid UTF-8 and a last line without newline', async () => {
    const { executor } = await makeExecutor({ logLineMaxBytes: 100 });
    const program = [
      'import sys',
      'out = sys.stdout.buffer',
      'out.write(b"x" * 5000 + b"\\n")',
      'out.write(b"short\\n")',
      'out.write("é".encode() * 80 + b"\\n")',
      'out.write(b"y" * 100 + b"\\r\\n")',
      'out.write(b"crlf\\r\\n")',
      'out.write(b"bad \\xff\\xfe end\\n")',
      'out.flush()',
      'sys.stderr.write("err line\\n")',
      'sys.stderr.flush()',
      'out.write(b"tail without newline")',
    ].join('\n');
    const context = createTestContext();
    const result = await executor.run(testJob({ 'main.py': program }), context);

    expect(result.exitCode).toBe(0);
    expect(context.of('stdout')).toEqual([
      'x'.repeat(100) + cutMarker(100),
      'short',
      'é'.repeat(50) + cutMarker(100),
      'y'.repeat(100),
      'crlf',
      'bad \uFFFD\uFFFD end',
      'tail without newline',
    ]);
    expect(context.of('stderr')).toEqual(['err line']);
  });

  it('leaves the output undefined when the program writes no output file, or one that is not JSON', async () => {
    const { executor } = await makeExecutor();
    const none = createTestContext();
    const missing = await executor.run(testJob({ 'main.py': 'print("no output")' }), none);
    expect(missing).toEqual({ exitCode: 0, output: undefined, externalId: expect.stringMatching(/^\d+$/) });
    expect(none.of('system')).toEqual([]);

    const broken = createTestContext();
    const notJson = await executor.run(testJob({ 'main.py': 'import os\nopen(os.environ["TENSORIFY_OUTPUT"], "w").write("{not json")' }), broken);
    expect(notJson.exitCode).toBe(0);
    expect(notJson.output).toBeUndefined();
    expect(broken.of('system')).toEqual([expect.stringContaining('is not valid JSON')]);
  });

  it('keeps the work dir when keepWorkDir is set', async () => {
    const { executor, dataDir } = await makeExecutor({ keepWorkDir: true });
    const context = createTestContext();
    await executor.run(testJob(HELLO, { inputs: { name: 'Ada' } }), context);
    const [kept] = listing(path.join(dataDir, 'runs'));
    expect(listing(path.join(dataDir, 'runs', kept))).toEqual(['.tensorify-output.json', 'main.py', 'requirements.txt', 'utils.py']);
    expect(context.of('system')).toEqual([`work dir kept: ${path.join(dataDir, 'runs', kept)}`]);
  });

  it('passes inputs too large for one environment variable as --inputs FILE', async () => {
    const { executor } = await makeExecutor();
    const big = 'z'.repeat(200 * 1024);
    const result = await executor.run(testJob(HELLO, { inputs: { name: big } }), createTestContext());
    expect(result.exitCode).toBe(0);
    expect(result.output).toEqual({ result: `Hello, ${big}!` });
  });
});

describe('local executor: cancel and timeout', () => {
  // Starts a grandchild, prints both pids, sleeps; with `ignoreTerm` both ignore SIGTERM, so only SIGKILL stops them.
  function sleeper(ignoreTerm: boolean): string {
    return [
      'import os, signal, subprocess, time',
      ignoreTerm ? 'signal.signal(signal.SIGTERM, signal.SIG_IGN)' : '',
      ignoreTerm ? 'child = subprocess.Popen(["sh", "-c", "trap \'\' TERM; exec sleep 60"])' : 'child = subprocess.Popen(["sleep", "60"])',
      'print(f"pids {os.getpid()} {child.pid}", flush=True)',
      'time.sleep(60)',
    ].join('\n');
  }

  async function startAndAbort(executor: Executor, program: string, reason: AbortReason) {
    const context = createTestContext();
    const running = executor.run(testJob({ 'main.py': program }), context);
    const pids = await waitFor(() => {
      const line = context.of('stdout').find((text) => text.startsWith('pids '));
      return line?.split(' ').slice(1).map(Number);
    });
    expect(pids.every(isAlive)).toBe(true);
    const abortedAt = Date.now();
    context.abort(reason);
    const result = await running;
    return { result, pids, elapsedMs: Date.now() - abortedAt, context };
  }

  it('cancel stops the program and its grandchild within the grace period', async () => {
    const { executor, dataDir } = await makeExecutor();
    const { result, pids, elapsedMs, context } = await startAndAbort(executor, sleeper(false), 'cancelled');

    expect(elapsedMs).toBeLessThan(3_000);
    expect(result.exitCode).toBeNull();
    // The group's leader is the lifeline shell around the program: the id names the group.
    expect(result.externalId).toMatch(/^\d+$/);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(context.of('system')[0]).toMatch(/^stopping process group \d+ \(the run was cancelled\): SIGTERM$/);
    expect(listing(path.join(dataDir, 'runs'))).toEqual([]);
  });

  it('timeout stops a program that ignores SIGTERM with SIGKILL after killGraceSeconds', async () => {
    const { executor, dataDir } = await makeExecutor();
    const { result, pids, elapsedMs, context } = await startAndAbort(executor, sleeper(true), 'timed_out');

    expect(elapsedMs).toBeGreaterThanOrEqual(1_900);
    expect(elapsedMs).toBeLessThan(3_500);
    expect(result.exitCode).toBeNull();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(context.of('system')).toEqual([expect.stringMatching(/\(the run timed out\): SIGTERM$/), expect.stringMatching(/still alive after 2 s: SIGKILL$/)]);
    expect(listing(path.join(dataDir, 'runs'))).toEqual([]);
  });

  it('a configurable grace period', async () => {
    const { executor } = await makeExecutor({ killGraceSeconds: 0.3 });
    const { pids, elapsedMs } = await startAndAbort(executor, sleeper(true), 'cancelled');
    expect(elapsedMs).toBeLessThan(1_500);
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it('stops what a program left running in its group when it exits', async () => {
    const { executor } = await makeExecutor();
    const context = createTestContext();
    const started = Date.now();
    const program = 'import subprocess\nchild = subprocess.Popen(["sleep", "60"])\nprint(child.pid, flush=True)';
    const result = await executor.run(testJob({ 'main.py': program }), context);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.exitCode).toBe(0);
    expect(isAlive(Number(context.of('stdout')[0]))).toBe(false);
    expect(context.of('system')[0]).toMatch(/exited and left processes behind/);
  });

  it('starts nothing when the signal is already aborted', async () => {
    const { executor, dataDir } = await makeExecutor();
    const context = createTestContext();
    context.abort('cancelled');
    const result = await executor.run(testJob(HELLO), context);
    expect(result.exitCode).toBeNull();
    expect(context.externalIds).toEqual([]);
    expect(context.lines).toEqual([]);
    expect(existsSync(path.join(dataDir, 'runs'))).toBe(false);
  });
});

describe('local executor: requirements and virtualenvs', () => {
  const SIX_PROGRAM = 'import sys, six\nprint(sys.prefix)\nprint("six", six.__version__)';
  const installs = (contexts: TestContext[]) =>
    contexts.flatMap((context) => context.of('system')).filter((line) => line.startsWith('creating the virtualenv')).length;
  const pipRuns = (contexts: TestContext[]) =>
    contexts.flatMap((context) => context.of('system')).filter((line) => line.startsWith('Successfully installed six')).length;

  /** The venv dir holds `<hash>` (a symlink) and the directory it points to, nothing else. */
  async function expectOneVenv(venvDir: string): Promise<string> {
    const entries = (await readdir(venvDir)).sort();
    expect(entries).toHaveLength(2);
    const [link, dir] = entries;
    expect(link).toMatch(/^[0-9a-f]{32}$/);
    expect(dir).toMatch(new RegExp(`^${link}-[0-9a-f]{8}$`));
    expect((await lstat(path.join(venvDir, link))).isSymbolicLink()).toBe(true);
    return path.join(venvDir, dir);
  }

  it('installs the requirements into a venv once, and reuses it for the same normalised requirements', async () => {
    const { executor, dataDir } = await makeExecutor({ pipArgs: PIP_ARGS });
    const first = createTestContext();
    const one = await executor.run(testJob({ 'main.py': SIX_PROGRAM, 'requirements.txt': '# Python packages\nsix\n' }), first);
    expect(first.of('stderr')).toEqual([]);
    expect(one.exitCode).toBe(0);
    const venv = await expectOneVenv(path.join(dataDir, 'venvs'));
    expect(first.of('stdout')).toEqual([venv, expect.stringMatching(/^six \d+\.\d+/)]);
    expect(installs([first])).toBe(1);
    expect(pipRuns([first])).toBe(1);

    const second = createTestContext();
    const two = await executor.run(testJob({ 'main.py': SIX_PROGRAM, 'requirements.txt': '\nsix   # the same\n\n' }), second);
    expect(two.exitCode).toBe(0);
    expect(second.of('stdout')[0]).toBe(venv);
    expect(second.of('system')).toEqual([]); // no pip this time
    expect(await expectOneVenv(path.join(dataDir, 'venvs'))).toBe(venv);
    expect(listing(path.join(dataDir, 'runs'))).toEqual([]);
  });

  it('two concurrent runs with the same requirements install once', async () => {
    const { executor, dataDir } = await makeExecutor({ pipArgs: PIP_ARGS });
    const contexts = [createTestContext(), createTestContext()];
    const results = await Promise.all(contexts.map((context) => executor.run(testJob({ 'main.py': SIX_PROGRAM, 'requirements.txt': 'six\n' }), context)));
    expect(results.map((result) => result.exitCode)).toEqual([0, 0]);
    // One build: the second run waits for the first's and sees pip's lines too.
    const systems = contexts.map((context) => context.of('system'));
    expect(systems.filter((lines) => lines[0].startsWith('waiting for the virtualenv'))).toHaveLength(1);
    expect(systems.map((lines) => lines.filter((line) => line.startsWith('creating the virtualenv')).length)).toEqual([1, 1]);
    expect(pipRuns(contexts)).toBe(2);
    const venv = await expectOneVenv(path.join(dataDir, 'venvs'));
    expect(contexts.map((context) => context.of('stdout')[0])).toEqual([venv, venv]);
  });

  it('two executors sharing a venv dir (as two worker processes would) install once, through the lock file', async () => {
    const venvDir = path.join(tempDir(), 'venvs');
    const executors = await Promise.all([makeExecutor({ venvDir, pipArgs: PIP_ARGS }), makeExecutor({ venvDir, pipArgs: PIP_ARGS })]);
    const contexts = [createTestContext(), createTestContext()];
    const results = await Promise.all(
      executors.map(({ executor }, i) => executor.run(testJob({ 'main.py': SIX_PROGRAM, 'requirements.txt': 'six' }), contexts[i])),
    );
    expect(results.map((result) => result.exitCode)).toEqual([0, 0]);
    expect(installs(contexts)).toBe(1);
    expect(contexts.flatMap((context) => context.of('system')).some((line) => line.startsWith('waiting for another process'))).toBe(true);
    await expectOneVenv(venvDir);
  });

  it('cancel during the install stops it, leaves no venv behind and starts nothing', async () => {
    const { executor, dataDir } = await makeExecutor({ pipArgs: PIP_ARGS });
    const context = createTestContext();
    const running = executor.run(testJob({ 'main.py': SIX_PROGRAM, 'requirements.txt': 'six' }), context);
    await waitFor(() => (context.of('system').some((line) => line.startsWith('creating the virtualenv')) ? true : undefined));
    await new Promise((done) => setTimeout(done, 300)); // python -m venv is under way
    const abortedAt = Date.now();
    context.abort('cancelled');
    const result = await running;
    expect(Date.now() - abortedAt).toBeLessThan(3_000);
    expect(result.exitCode).toBeNull();
    expect(context.externalIds).toEqual([]);
    expect(context.of('system')[context.of('system').length - 1]).toBe('stopped while preparing the virtualenv: the program did not start');
    expect(processesMentioning(dataDir)).toEqual([]);
    expect(listing(path.join(dataDir, 'venvs'))).toEqual([]);
    expect(listing(path.join(dataDir, 'runs'))).toEqual([]);
  });

  it('cancelling one of two runs waiting for the same install does not stop it for the other', async () => {
    const { executor, dataDir } = await makeExecutor({ pipArgs: PIP_ARGS });
    const [first, second] = [createTestContext(), createTestContext()];
    const runs = [first, second].map((context) => executor.run(testJob({ 'main.py': SIX_PROGRAM, 'requirements.txt': 'six' }), context));
    await waitFor(() => (first.of('system').length > 0 && second.of('system').length > 0 ? true : undefined));
    first.abort('cancelled');
    expect((await runs[0]).exitCode).toBeNull();
    const other = await runs[1];
    expect(other.exitCode).toBe(0);
    expect(second.of('stdout')[0]).toBe(await expectOneVenv(path.join(dataDir, 'venvs')));
  });

  it("a requirement pip cannot install fails the run with pip's message and leaves no venv behind", async () => {
    const { executor, dataDir } = await makeExecutor({ pipArgs: PIP_ARGS });
    const context = createTestContext();
    const failure = executor.run(testJob({ 'main.py': SIX_PROGRAM, 'requirements.txt': 'this-package-does-not-exist-xyz==1.0\n' }), context);
    await expect(failure).rejects.toThrow(/pip install exited with code 1:[^]*No matching distribution found for this-package-does-not-exist-xyz==1\.0/);
    await expect(failure).rejects.not.toBeInstanceOf(ExecutorUnavailableError);
    expect(context.of('system')).toContainEqual(expect.stringContaining('No matching distribution found'));
    expect(context.externalIds).toEqual([]);
    expect(listing(path.join(dataDir, 'venvs'))).toEqual([]);
    expect(listing(path.join(dataDir, 'runs'))).toEqual([]);
  });

  it('normalises requirements before hashing them', () => {
    expect(normaliseRequirements('# header\n\ntorch>=2.0  # cpu\nnumpy\r\nnumpy\n  pandas \\\n==2.2\n')).toEqual(['numpy', 'pandas ==2.2', 'torch>=2.0']);
    expect(normaliseRequirements('# only a comment\n\n')).toEqual([]);
    const python = { executable: '/usr/bin/python3', version: '3.11.7' };
    expect(requirementsHash(['a', 'b'], python)).toBe(requirementsHash(normaliseRequirements('b\n# x\na\n'), python));
    expect(requirementsHash(['a', 'b'], python)).not.toBe(requirementsHash(['a', 'b'], { ...python, version: '3.12.1' }));
  });
});

describe('local executor: the interpreter', () => {
  it("reports itself healthy with the interpreter's path and version", async () => {
    const { executor } = await makeExecutor();
    const capabilities = await executor.capabilities();
    expect(capabilities).toEqual({ gpu: false, gpus: [], healthy: true, detail: expect.stringMatching(/^\/\S+ \(Python 3\.\d+\.\d+\)$/), warm: [] });
  });

  it("reports the machine's NVIDIA/AMD GPUs (none here), and takes the config's word when told", async () => {
    const graphics = await (await import('systeminformation')).graphics();
    console.log(
      `local executor: systeminformation sees ${graphics.controllers.length} graphics controller(s): ${JSON.stringify(graphics.controllers.map((c) => `${c.vendor} ${c.model}`))}`,
    );
    const hasGpu = graphics.controllers.some((controller) => /nvidia|amd|advanced micro devices/i.test(`${controller.vendor} ${controller.model}`));
    expect((await (await makeExecutor()).executor.capabilities()).gpu).toBe(hasGpu);
    const declared = await (await makeExecutor({ gpu: true })).executor.capabilities();
    expect(declared).toMatchObject({ gpu: true, healthy: true, detail: expect.stringMatching(/; GPU: declared in the config$/) });
    expect((await (await makeExecutor({ gpu: false })).executor.capabilities()).gpu).toBe(false);
  });

  it('a missing interpreter: capabilities unhealthy, run throws ExecutorUnavailableError and starts nothing', async () => {
    const { executor, dataDir } = await makeExecutor({ python: '/nonexistent/bin/python3' });
    expect(await executor.capabilities()).toEqual({
      gpu: false,
      gpus: [],
      healthy: false,
      detail: 'the Python interpreter "/nonexistent/bin/python3" cannot run: not found',
    });
    const context = createTestContext();
    const failure = executor.run(testJob(HELLO), context);
    await expect(failure).rejects.toBeInstanceOf(ExecutorUnavailableError);
    await expect(failure).rejects.toThrow('local executor: the Python interpreter "/nonexistent/bin/python3" cannot run: not found');
    expect(context.externalIds).toEqual([]);
    expect(existsSync(path.join(dataDir, 'runs'))).toBe(false);
  });
});

describe('LineSplitter', () => {
  it('joins lines and characters split across chunks', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter(1000, (line) => lines.push(line));
    const bytes = Buffer.from('ab€c\r\nde\n\nfinal €');
    for (let i = 0; i < bytes.length; i++) splitter.push(bytes.subarray(i, i + 1));
    splitter.end();
    expect(lines).toEqual(['ab€c', 'de', '', 'final €']);
  });

  it('cuts on a character boundary, drops the rest of the line, and replaces NUL', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter(64, (line) => lines.push(line));
    splitter.push(Buffer.from('a' + '€'.repeat(40) + '\n'));
    splitter.push(Buffer.from('b\0c\n'));
    splitter.end();
    expect(lines).toEqual(['a' + '€'.repeat(21) + cutMarker(64), 'b\uFFFDc']);
  });
});
