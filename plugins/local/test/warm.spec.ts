/**
 * Warm mode of the local executor: isolation between forked runs, the cold fallback, the switch,
 * and the lifeline (a server killed with SIGKILL leaves no zygote and no run behind). Real
 * python3 processes throughout.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestContext, type ExecutionJob, readProgram, silentLogger, testJob } from '@tensorify/executor-sdk';
import { resolveConfig } from '../src/config';
import local from '../src/index';
import type { LocalExecutor } from '../src/executor';
import { programModules, ZygotePool } from '../src/warm';

const ROOT = path.join(__dirname, '..', '..', '..');
const HELLO = readProgram(path.join(ROOT, 'test', 'fixtures', 'golden', 'hello'));

const tempDirs: string[] = [];
const executors: LocalExecutor[] = [];
afterAll(async () => {
  await Promise.all(executors.map((executor) => executor.close()));
  tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tensorify-warm-test-'));
  tempDirs.push(dir);
  return dir;
}

async function warmExecutor(prewarm: Readonly<Record<string, string>> = { 'main.py': 'import json\nimport os\n' }): Promise<LocalExecutor> {
  const executor = (await local.create({ python: 'python3', killGraceSeconds: 1 }, { dataDir: tempDir(), logger: silentLogger })) as LocalExecutor;
  executors.push(executor);
  await executor.prewarm(prewarm);
  return executor;
}

const forks = (executor: LocalExecutor): number => executor.zygotes().reduce((sum, zygote) => sum + zygote.runs, 0);

async function run(executor: LocalExecutor, files: Partial<ExecutionJob['files']>, extra: Partial<ExecutionJob> = {}) {
  const context = createTestContext();
  const before = forks(executor);
  const result = await executor.run(testJob(files, extra), context);
  return { result, context, warm: forks(executor) === before + 1 };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntil(probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('local executor, warm mode: isolation', () => {
  it('a second run sees nothing of the first: module globals, files, environment, random state', async () => {
    const executor = await warmExecutor();
    const first = [
      'import json, os, random, sys',
      'json.LEFT_BY_FIRST = 1',
      'sys.modules["json"].__dict__["also"] = 2',
      'os.environ["LEFT_BY_FIRST"] = "1"',
      'os.putenv("PUT_BY_FIRST", "1")',
      'open("left-by-first.txt", "w").write("x")',
      'open(os.path.join(os.environ["HOME"], "home-file"), "w").write("x")',
      'print(random.random())',
      'print(os.getcwd())',
    ].join('\n');
    const second = [
      'import json, os, random',
      'print(hasattr(json, "LEFT_BY_FIRST"), hasattr(json, "also"))',
      'print(os.environ.get("LEFT_BY_FIRST"), os.environ.get("PUT_BY_FIRST"))',
      'print(sorted(os.listdir(".")))',
      'print(random.random())',
      'print(os.getcwd())',
    ].join('\n');
    const a = await run(executor, { 'main.py': first });
    const b = await run(executor, { 'main.py': second });
    expect([a.warm, b.warm]).toEqual([true, true]);
    expect(a.result.exitCode).toBe(0);
    expect(b.result.exitCode).toBe(0);
    const [, , files, randomB, cwdB] = b.context.of('stdout');
    expect(b.context.of('stdout').slice(0, 2)).toEqual(['False False', 'None None']);
    expect(files).toBe("['main.py', 'requirements.txt', 'utils.py']");
    expect(randomB).not.toBe(a.context.of('stdout')[0]);
    expect(cwdB).not.toBe(a.context.of('stdout')[1]);
  });

  it("a fork's environment is the run's alone: nothing of the zygote's or the server's", async () => {
    process.env.TENSORIFY_WARM_TEST_SECRET = 'server-secret';
    try {
      const executor = await warmExecutor();
      const { result, context, warm } = await run(
        executor,
        { 'main.py': 'import os, sys\nfor k in sorted(os.environ): print(k)\nprint("argv", sys.argv)\nprint("path0", sys.path[0] == os.getcwd())' },
        { env: { FROM_JOB: 'yes' } },
      );
      expect(warm).toBe(true);
      expect(result.exitCode).toBe(0);
      const names = context.of('stdout').filter((line) => !line.startsWith('argv') && !line.startsWith('path0'));
      expect(names).toEqual(
        [
          'FROM_JOB',
          'HOME',
          'LANG',
          'PATH',
          'PYTHONDONTWRITEBYTECODE',
          'PYTHONUNBUFFERED',
          'TENSORIFY_DEVICE',
          'TENSORIFY_EXECUTION_ID',
          'TENSORIFY_INPUTS',
          'TENSORIFY_OUTPUT',
          'TENSORIFY_WORKFLOW_ID',
        ].sort(),
      );
      expect(context.of('stdout')).toContain("argv ['main.py']");
      expect(context.of('stdout')).toContain('path0 True');
    } finally {
      delete process.env.TENSORIFY_WARM_TEST_SECRET;
    }
  });

  it("a failing program's traceback and exit code are a cold run's", async () => {
    const failing = { 'main.py': 'import json\n\ndef boom():\n    raise ValueError("bad")\n\nboom()\n' };
    const executor = await warmExecutor();
    const warm = await run(executor, failing);
    const coldExecutor = (await local.create({ python: 'python3', warm: { enabled: false } }, { dataDir: tempDir(), logger: silentLogger })) as LocalExecutor;
    const cold = await run(coldExecutor, failing);
    expect(warm.warm).toBe(true);
    expect(warm.result.exitCode).toBe(1);
    expect(cold.result.exitCode).toBe(1);
    const strip = (lines: string[]): string[] => lines.map((line) => line.replace(/\/[^"]*\/main\.py/, 'main.py'));
    expect(strip(warm.context.of('stderr'))).toEqual(strip(cold.context.of('stderr')));
    const exit = await run(executor, { 'main.py': 'import sys\nsys.exit(7)' });
    expect(exit.result.exitCode).toBe(7);
  });

  it("ends as a cold run ends: threads joined, atexit callbacks and the program's finalizers run, a file left open flushed, sys.exit's status and message", async () => {
    const program = [
      'import atexit, os, sys, threading, time, weakref',
      'log = open(os.environ["LEFT_OPEN"], "w")',
      'log.write("unflushed")',
      'class Resource: pass',
      'resource = Resource()',
      'weakref.finalize(resource, print, "finalizer ran", flush=True)',
      'atexit.register(lambda: print("atexit ran", flush=True))',
      'threading.Thread(target=lambda: (time.sleep(0.2), print("thread done", flush=True))).start()',
      'sys.exit(sys.argv[0] and "bye")',
    ].join('\n');
    const executor = await warmExecutor();
    const cold = (await local.create({ python: 'python3', warm: { enabled: false } }, { dataDir: tempDir(), logger: silentLogger })) as LocalExecutor;
    for (const [which, runner] of [
      ['warm', executor],
      ['cold', cold],
    ] as const) {
      const keep = tempDir();
      const job = { env: { LEFT_OPEN: path.join(keep, 'left-open.txt') } };
      const { result, context, warm } = await run(runner, { 'main.py': program }, job);
      expect([which, warm]).toEqual([which, which === 'warm']);
      expect(result.exitCode).toBe(1);
      expect(context.of('stdout')).toEqual(['thread done', 'atexit ran', 'finalizer ran']);
      expect(context.of('stderr')).toEqual(['bye']);
      expect(readFileSync(path.join(keep, 'left-open.txt'), 'utf8')).toBe('unflushed');
    }
    const interrupted = await run(executor, { 'main.py': 'raise KeyboardInterrupt' });
    expect(interrupted.result.exitCode).toBe(130);
    expect(interrupted.context.of('stderr').pop()).toBe('KeyboardInterrupt');
  });

  it("a fork does not run the finalizers the zygote's imports made: they are the zygote's (a cold run's own import runs its own)", async () => {
    const modules = tempDir();
    writeFileSync(
      path.join(modules, 'import_time_resource.py'),
      ['import os, weakref', 'class Resource: pass', 'resource = Resource()', 'weakref.finalize(resource, os.write, 1, b"import finalizer ran\\n")'].join('\n'),
    );
    const program = { 'main.py': 'import import_time_resource\nprint("ran")' };
    const config = { python: 'python3', env: { PYTHONPATH: modules } };
    const executor = (await local.create(config, { dataDir: tempDir(), logger: silentLogger })) as LocalExecutor;
    executors.push(executor);
    await executor.prewarm(program);
    for (let i = 0; i < 2; i += 1) {
      const forked = await run(executor, program);
      expect([forked.warm, forked.context.of('stdout')]).toEqual([true, ['ran']]);
    }
    const cold = (await local.create({ ...config, warm: { enabled: false } }, { dataDir: tempDir(), logger: silentLogger })) as LocalExecutor;
    expect((await run(cold, program)).context.of('stdout')).toEqual(['ran', 'import finalizer ran']);
  });

  it('imports the modules of the program (not its own files) in the zygote, and never runs its code there', async () => {
    expect(programModules(HELLO, ['main.py', 'utils.py', 'requirements.txt'])).toEqual([
      'argparse',
      'dataclasses',
      'functools',
      'json',
      'math',
      'os',
      'sys',
      'time',
      'traceback',
      'typing',
    ]);
    expect(
      programModules(
        { 'main.py': 'import torch\nfrom torch import nn\nfrom torch.utils.data import DataLoader\nimport utils, numpy as np\n  import hidden\n' },
        ['utils.py'],
      ),
    ).toEqual(['numpy', 'torch', 'torch.utils.data']);
    const executor = await warmExecutor(HELLO);
    const { result, warm } = await run(executor, HELLO, { inputs: { name: 'Ada' } });
    expect(warm).toBe(true);
    expect(result.output).toEqual({ result: 'Hello, Ada!' });
    // The zygote holds the stdlib modules, not `utils` (the run's own file).
    expect(executor.zygotes()[0].modules).toContain('argparse');
    expect(executor.zygotes()[0].modules).not.toContain('utils');
    // A module the zygote lacks is imported there before the fork: the run is still warm.
    const more = await run(executor, { 'main.py': 'import decimal\nprint(decimal.Decimal("1.5") * 2)' });
    expect([more.warm, more.context.of('stdout')]).toEqual([true, ['3.0']]);
    expect(executor.zygotes()[0].modules).toContain('decimal');
  });
});

describe('local executor, warm mode: the cold fallback', () => {
  it('the first run of an interpreter starts cold and starts its zygote; the next ones fork', async () => {
    const executor = (await local.create({ python: 'python3' }, { dataDir: tempDir(), logger: silentLogger })) as LocalExecutor;
    executors.push(executor);
    const first = await run(executor, HELLO, { inputs: { name: 'A' } });
    expect(first.result.output).toEqual({ result: 'Hello, A!' });
    expect(executor.zygotes()).toHaveLength(1);
    await waitUntil(() => executor.zygotes()[0]?.state === 'ready', 30_000);
    const second = await run(executor, HELLO, { inputs: { name: 'B' } });
    expect(second.warm).toBe(true);
    expect(second.result.output).toEqual({ result: 'Hello, B!' });
  });

  it('a dead zygote: the run starts cold and a new zygote comes up', async () => {
    const executor = await warmExecutor();
    const pid = executor.zygotes()[0].pid!;
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => !isAlive(pid));
    await waitUntil(() => executor.zygotes().length === 0);
    const { result, warm } = await run(executor, { 'main.py': 'print("cold")' });
    expect(warm).toBe(false);
    expect(result.exitCode).toBe(0);
    await waitUntil(() => executor.zygotes()[0]?.state === 'ready', 30_000);
    expect(executor.zygotes()[0].pid).not.toBe(pid);
  });

  it('a zygote dying during a run: the run is stopped, ends without an exit code, and says why', async () => {
    const executor = await warmExecutor();
    const zygote = executor.zygotes()[0].pid!;
    const context = createTestContext();
    const running = executor.run(testJob({ 'main.py': 'import os, time\nprint("pid", os.getpid(), flush=True)\ntime.sleep(60)' }), context);
    await waitUntil(() => context.of('stdout').some((line) => line.startsWith('pid ')));
    const child = Number(context.of('stdout')[0].split(' ')[1]);
    process.kill(zygote, 'SIGKILL');
    const result = await running;
    expect(result.exitCode).toBeNull();
    expect(context.of('system').join('\n')).toMatch(/zygote died during the run/);
    expect(isAlive(child)).toBe(false);
  });

  it('a run setting a variable Python reads at startup starts cold', async () => {
    const executor = await warmExecutor();
    const { result, warm, context } = await run(executor, { 'main.py': 'import sys\nprint(sys.flags.optimize)' }, { env: { PYTHONOPTIMIZE: '1' } });
    expect(warm).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(context.of('stdout')).toEqual(['1']);
  });
});

describe('local executor, warm mode: the switch', () => {
  it('TENSORIFY_LOCAL_WARM=false or warm.enabled=false turns it off; anything but a boolean is refused', () => {
    expect(resolveConfig({}, '/data', {}).warm.enabled).toBe(true);
    expect(resolveConfig({}, '/data', { TENSORIFY_LOCAL_WARM: 'false' }).warm.enabled).toBe(false);
    expect(resolveConfig({ warm: { enabled: true } }, '/data', { TENSORIFY_LOCAL_WARM: '0' }).warm.enabled).toBe(false);
    expect(resolveConfig({ warm: { enabled: false } }, '/data', { TENSORIFY_LOCAL_WARM: 'true' }).warm.enabled).toBe(false);
    expect(() => resolveConfig({}, '/data', { TENSORIFY_LOCAL_WARM: 'maybe' })).toThrow(/TENSORIFY_LOCAL_WARM/);
  });

  it('off: runs start cold and no zygote is made', async () => {
    const executor = (await local.create({ python: 'python3', warm: { enabled: false } }, { dataDir: tempDir(), logger: silentLogger })) as LocalExecutor;
    for (let i = 0; i < 2; i += 1) expect((await run(executor, { 'main.py': 'print(1)' })).result.exitCode).toBe(0);
    expect(executor.zygotes()).toEqual([]);
    await expect(executor.prewarm({ 'main.py': '' })).rejects.toThrow(/warm mode is off/);
  });
});

describe('local executor, warm mode: bounds', () => {
  it('at most maxZygotes: the least recently used idle one makes room for another interpreter', async () => {
    const other = ['/usr/bin/python3', '/usr/local/bin/python3'].find((file) => existsSync(file));
    const pool = new ZygotePool({ maxZygotes: 1, idleMs: 600_000, maxMemoryBytes: 2 ** 30, homeDir: tempDir(), logger: silentLogger });
    try {
      const env = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' };
      const first = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
      expect(other).toBeDefined();
      await pool.prewarm(first, null, env, ['json']);
      const firstPid = pool.list()[0].pid!;
      await pool.prewarm(other!, null, env, ['json']);
      expect(pool.list().map((zygote) => zygote.python)).toEqual([other]);
      await waitUntil(() => !isAlive(firstPid));
    } finally {
      await pool.close();
    }
  });

  it('an idle zygote is stopped after idleSeconds', async () => {
    const executor = (await local.create(
      { python: 'python3', warm: { maxZygotes: 1, idleSeconds: 1 } },
      { dataDir: tempDir(), logger: silentLogger },
    )) as LocalExecutor;
    executors.push(executor);
    await executor.prewarm({ 'main.py': 'import json' });
    const pid = executor.zygotes()[0].pid!;
    await waitUntil(() => executor.zygotes().length === 0, 10_000);
    // The pool forgets it as it sends SIGKILL; until the kernel has delivered it and Node reaped the
    // child, kill(pid, 0) still finds it: wait for that, bounded, rather than look once.
    await waitUntil(() => !isAlive(pid), 10_000);
  });

  it('a zygote over maxMemoryMb is stopped and its runs start cold', async () => {
    const executor = (await local.create({ python: 'python3', warm: { maxMemoryMb: 1 } }, { dataDir: tempDir(), logger: silentLogger })) as LocalExecutor;
    executors.push(executor);
    // Any Python process holds more than 1 MiB resident.
    await executor.prewarm({ 'main.py': 'import json' }).catch(() => undefined);
    await waitUntil(() => executor.zygotes().length === 0, 10_000);
    const { warm, result } = await run(executor, { 'main.py': 'print(1)' });
    expect(warm).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(executor.zygotes()).toEqual([]);
  });
});

describe('local executor: the memory limit (memoryLimitMb)', () => {
  /** The program: its own RLIMIT_DATA (soft, hard), then fills `mb` MiB. */
  const limits = (mb: number): string =>
    ['import resource', 'print(*resource.getrlimit(resource.RLIMIT_DATA))', `chunks = [b"x" * (8 << 20) for _ in range(${mb} // 8)]`, 'print("filled")'].join(
      '\n',
    );
  const LIMIT = 128 * 2 ** 20;

  it('TENSORIFY_LOCAL_MEMORY_LIMIT_MB overrides memoryLimitMb (0: none); anything but a whole number of MiB, at least 32, is refused', () => {
    expect(resolveConfig({}, '/data', {}).memoryLimitMb).toBeNull();
    expect(resolveConfig({ memoryLimitMb: 512 }, '/data', {}).memoryLimitMb).toBe(512);
    expect(resolveConfig({ memoryLimitMb: 512 }, '/data', { TENSORIFY_LOCAL_MEMORY_LIMIT_MB: '1024' }).memoryLimitMb).toBe(1024);
    expect(resolveConfig({ memoryLimitMb: 512 }, '/data', { TENSORIFY_LOCAL_MEMORY_LIMIT_MB: '0' }).memoryLimitMb).toBeNull();
    expect(resolveConfig({ memoryLimitMb: 512 }, '/data', { TENSORIFY_LOCAL_MEMORY_LIMIT_MB: ' ' }).memoryLimitMb).toBe(512);
    for (const bad of ['1g', '-5', '16', '1.5', 'lots']) {
      expect(() => resolveConfig({}, '/data', { TENSORIFY_LOCAL_MEMORY_LIMIT_MB: bad })).toThrow(/TENSORIFY_LOCAL_MEMORY_LIMIT_MB/);
    }
  });

  it('a warm run has the limit, the zygote does not; a run past it fails saying so, and the zygote forks the next run', async () => {
    const executor = (await local.create(
      { python: 'python3', killGraceSeconds: 1, memoryLimitMb: 128 },
      { dataDir: tempDir(), logger: silentLogger },
    )) as LocalExecutor;
    executors.push(executor);
    await executor.prewarm({ 'main.py': 'import resource\n' });
    const zygote = executor.zygotes()[0].pid!;

    const under = await run(executor, { 'main.py': limits(16) });
    expect(under.warm).toBe(true);
    expect(under.result.exitCode).toBe(0);
    expect(under.context.of('stdout')).toEqual([`${LIMIT} ${LIMIT}`, 'filled']);

    const over = await run(executor, { 'main.py': limits(256) });
    expect(over.warm).toBe(true);
    expect(over.result.exitCode).toBe(1);
    expect(over.context.of('stderr').at(-1)).toBe('MemoryError');
    expect(over.context.lines.at(-1)).toEqual({
      stream: 'system',
      line: "the program ran out of memory: each run may use at most 128 MiB (the local executor's memoryLimitMb)",
    });

    // The zygote itself has the server's limit, not the runs', and lives on.
    const dataLimit = (pid: number | 'self'): string | undefined => /^Max data size.*$/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[0];
    expect(dataLimit(zygote)).toBe(dataLimit('self'));
    const next = await run(executor, { 'main.py': limits(16) });
    expect(next.warm).toBe(true);
    expect(next.result.exitCode).toBe(0);
    expect(executor.zygotes()[0].pid).toBe(zygote);
  });

  it('a cold run has the limit too (set by its leader shell, for the program alone); a run past it fails saying so', async () => {
    const executor = (await local.create(
      { python: 'python3', killGraceSeconds: 1, memoryLimitMb: 128, warm: { enabled: false } },
      { dataDir: tempDir(), logger: silentLogger },
    )) as LocalExecutor;
    executors.push(executor);
    const under = await run(executor, { 'main.py': limits(16) });
    expect(under.result.exitCode).toBe(0);
    expect(under.context.of('stdout')).toEqual([`${LIMIT} ${LIMIT}`, 'filled']);

    const over = await run(executor, { 'main.py': limits(256) });
    expect(over.result.exitCode).toBe(1);
    expect(over.context.of('stderr').at(-1)).toBe('MemoryError');
    expect(over.context.lines.at(-1)?.line).toMatch(/ran out of memory: each run may use at most 128 MiB/);
  });

  it('no limit configured: the run has none, and a failure says nothing of memory', async () => {
    const executor = (await local.create({ python: 'python3', warm: { enabled: false } }, { dataDir: tempDir(), logger: silentLogger })) as LocalExecutor;
    executors.push(executor);
    const { result, context } = await run(executor, { 'main.py': 'import resource, sys\nprint(*resource.getrlimit(resource.RLIMIT_DATA))\nraise MemoryError' });
    expect(result.exitCode).toBe(1);
    const own = spawnSync('python3', ['-c', 'import resource; print(*resource.getrlimit(resource.RLIMIT_DATA))'], { encoding: 'utf8' }).stdout.trim();
    expect(context.of('stdout')).toEqual([own]);
    expect(context.of('system')).toEqual([]);
  });
});

describe('local executor, warm mode: the lifeline', () => {
  const dist = path.join(__dirname, '..', 'dist', 'index.js');
  beforeAll(() => {
    // The server side runs as its own Node process, from the built plugin.
    const built = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(__dirname, '..', 'tsconfig.json')], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`cannot build the plugin: ${built.stdout}${built.stderr}`);
  }, 120_000);

  it('a server killed with SIGKILL leaves no zygote and no run (nor its grandchild) behind', async () => {
    expect(existsSync(dist)).toBe(true);
    const dataDir = tempDir();
    const script = `
      const local = require(${JSON.stringify(dist)}).default;
      const sdk = require('@tensorify/executor-sdk');
      (async () => {
        const executor = await local.create({ python: 'python3' }, { dataDir: ${JSON.stringify(dataDir)}, logger: sdk.silentLogger });
        await executor.prewarm({ 'main.py': 'import subprocess' });
        const context = sdk.createTestContext();
        executor.run(sdk.testJob({ 'main.py': 'import os, subprocess, time\\nchild = subprocess.Popen(["sleep", "60"])\\nprint("pids", os.getpid(), child.pid, flush=True)\\ntime.sleep(60)' }), context);
        const timer = setInterval(() => {
          const line = context.of('stdout').find((text) => text.startsWith('pids '));
          if (line) { clearInterval(timer); console.log(line, executor.zygotes()[0].pid, executor.zygotes()[0].runs); }
        }, 20);
      })();
    `;
    const server = spawn(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitUntil(() => out.includes('\n'), 60_000);
    const [, program, grandchild, zygote, runs] = out.trim().split(' ').map(Number);
    expect(runs).toBe(1); // the run was forked, not started cold
    expect([program, grandchild, zygote].every(isAlive)).toBe(true);
    server.kill('SIGKILL');
    await waitUntil(() => ![program, grandchild, zygote].some(isAlive), 5_000);
  }, 90_000);
});
