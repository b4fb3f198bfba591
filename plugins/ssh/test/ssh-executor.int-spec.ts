/**
 * The ssh executor against real sshd instances on 127.0.0.1 (scripts/ci/ssh/start-sshd.sh, started
 * here when not running): "cpu" on $TENSORIFY_SSHD_PORT (2222) and "gpu" on
 * $TENSORIFY_SSHD_GPU_PORT (2223), whose sessions find a stand-in `nvidia-smi` (there is no GPU
 * here). Both are this machine, so the tests also look at the "remote" processes and directories
 * directly, besides over SSH. The remote Python is /usr/bin/python3.
 *
 * The virtualenv tests need no network: requirements.txt names a tiny wheel built here, and pip
 * gets `--no-index --find-links <its dir>` (the executor's `pipArgs`).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestContext, ExecutorUnavailableError, type Executor, type ProgramFiles, readProgram, testJob, type TestContext } from '@tensorify/executor-sdk';
import ssh, { type SshExecutorConfig, type SshHostConfig } from '../src/index';
import { fingerprint, hostMatches, parseKnownHosts, matchKnownHosts } from '@tensorify/executor-sdk/ssh';
import { buildWheel, CPU_PORT, freePort, GPU_PORT, KEY, keyFingerprint, KNOWN_HOSTS, PYTHON, remoteState, ROOT, SSHD_DIR, startSshd, USER } from './test-hosts';

jest.setTimeout(60_000);

const GPU_MODEL = 'NVIDIA Stand-in GPU (no real GPU here)';

function golden(name: string): ProgramFiles {
  return readProgram(path.join(ROOT, 'test', 'fixtures', 'golden', name));
}

function example(name: string): { inputs: Record<string, unknown>; expected: unknown } {
  const dir = path.join(ROOT, '..', 'shared', 'examples');
  return {
    inputs: JSON.parse(readFileSync(path.join(dir, `${name}.inputs.json`), 'utf8')) as Record<string, unknown>,
    expected: JSON.parse(readFileSync(path.join(dir, `${name}.expected-output.json`), 'utf8')) as unknown,
  };
}

let workRoot: string;
let wheelDir: string;
const executors: Executor[] = [];
const logger = { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };

function host(name: 'cpu' | 'gpu', extra: Partial<SshHostConfig> = {}): SshHostConfig {
  return {
    name,
    host: '127.0.0.1',
    port: name === 'cpu' ? CPU_PORT : GPU_PORT,
    user: USER,
    privateKeyPath: KEY,
    python: PYTHON,
    workDir: workRoot,
    ...extra,
  };
}

async function makeExecutor(config: Partial<SshExecutorConfig> = {}): Promise<Executor> {
  const executor = await ssh.create({ hosts: [host('cpu')], knownHostsPath: KNOWN_HOSTS, killGraceSeconds: 1, ...config }, { dataDir: workRoot, logger });
  executors.push(executor);
  return executor;
}

/** Prints its pid, its parent's (the supervisor), its directory and a child's pid, then sleeps; `ignoreTerm` ignores SIGTERM. */
function sleeper(ignoreTerm = false): string {
  return [
    'import os, signal, subprocess, sys, time',
    ignoreTerm ? 'signal.signal(signal.SIGTERM, signal.SIG_IGN)' : '',
    'child = subprocess.Popen(["sleep", "120"])',
    'print("pid", os.getpid(), os.getppid(), child.pid, os.getcwd(), os.environ["TENSORIFY_DEVICE"], flush=True)',
    'time.sleep(120)',
  ].join('\n');
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** The "pid …" line of a sleeper: its pid, the supervisor's, the child's, its directory, its TENSORIFY_DEVICE. */
async function started(context: TestContext): Promise<{ pid: number; supervisor: number; child: number; dir: string; device: string }> {
  await until(() => context.of('stdout').some((line) => line.startsWith('pid ')));
  const [, pid, supervisor, child, dir, device] = context
    .of('stdout')
    .find((line) => line.startsWith('pid '))!
    .split(' ');
  return { pid: Number(pid), supervisor: Number(supervisor), child: Number(child), dir, device };
}

beforeAll(() => {
  // Idempotent: leaves running instances alone (CI starts them first).
  startSshd();
  workRoot = mkdtempSync(path.join(os.tmpdir(), 'tensorify-ssh-test-'));
  wheelDir = path.join(workRoot, 'wheels');
  mkdirSync(wheelDir);
  buildWheel(wheelDir);
});

afterEach(async () => {
  await Promise.all(executors.splice(0).map((executor) => executor.close?.() ?? Promise.resolve()));
});

afterAll(() => {
  rmSync(workRoot, { recursive: true, force: true });
});

describe('running programs', () => {
  it('runs the hello golden program with live lines, its output and host:pid as external id', async () => {
    const executor = await makeExecutor();
    const { inputs, expected } = example('hello');
    const context = createTestContext();
    const result = await executor.run(testJob(golden('hello'), { inputs }), context);
    expect(result.exitCode).toBe(0);
    expect(result.output).toEqual(expected);
    expect(context.of('stdout')).toEqual(expect.arrayContaining(['[node greeting] started', '[node out] started']));
    expect(result.externalId).toMatch(/^cpu:\d+$/);
    expect(context.externalIds).toEqual([result.externalId]);
    expect(readdirSync(path.join(workRoot, 'runs'))).toEqual([]); // the run directory is gone
  });

  it('runs the code-branch golden program to its expected output, several times on one connection', async () => {
    const executor = await makeExecutor();
    const { inputs, expected } = example('code-branch');
    for (let i = 0; i < 3; i++) {
      const context = createTestContext();
      const result = await executor.run(testJob(golden('code-branch'), { inputs }), context);
      expect(result.exitCode).toBe(0);
      expect(result.output).toEqual(expected);
    }
  });

  it('streams lines while the program runs, with a clean environment', async () => {
    const executor = await makeExecutor({ env: { FROM_CONFIG: 'yes' } });
    const context = createTestContext();
    const program = [
      'import json, os, sys, time',
      'print("first", flush=True)',
      'print("on stderr", file=sys.stderr, flush=True)',
      'while not os.path.exists("go"):',
      '    time.sleep(0.02)',
      'names = sorted(name for name in os.environ if name not in ("PWD", "SHLVL", "_", "LC_CTYPE"))',
      'json.dump({"names": names, "home": os.environ["HOME"], "cwd": os.getcwd(), "inputs": json.loads(os.environ["TENSORIFY_INPUTS"])}, open(os.environ["TENSORIFY_OUTPUT"], "w"))',
      'sys.exit(3)',
    ].join('\n');
    const running = executor.run(testJob({ 'main.py': program }, { inputs: { a: 1 }, env: { FROM_JOB: '1' } }), context);
    await until(() => context.of('stdout').includes('first') && context.of('stderr').includes('on stderr'));
    // The program is still waiting: the lines came live. Let it finish.
    const dir = readdirSync(path.join(workRoot, 'runs'))[0];
    writeFileSync(path.join(workRoot, 'runs', dir, 'go'), '');
    const result = await running;
    expect(result.exitCode).toBe(3);
    const output = result.output as { names: string[]; home: string; cwd: string; inputs: unknown };
    expect(output.inputs).toEqual({ a: 1 });
    expect(output.home).toBe(output.cwd);
    expect(output.names).toEqual(
      [
        'FROM_CONFIG',
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
  });
});

describe('interpreter and inputs', () => {
  it('a missing interpreter on the host: EXECUTOR_UNAVAILABLE naming it, and capabilities say why', async () => {
    const executor = await makeExecutor({ hosts: [host('cpu', { python: '/nonexistent/python3' })] });
    const error = await executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext()).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ExecutorUnavailableError);
    expect((error as Error).message).toMatch(
      /^ssh executor: host cpu \(127\.0\.0\.1:\d+\): the Python interpreter \/nonexistent\/python3 cannot run the supervisor: .*No such file or directory/,
    );
    const capabilities = await executor.capabilities();
    expect(capabilities.healthy).toBe(false);
    expect(capabilities.detail).toMatch(/DOWN, the Python interpreter \/nonexistent\/python3 cannot run: .*No such file/);
    expect(readdirSync(path.join(workRoot, 'runs'))).toEqual([]); // the uploaded program was removed
  });
  // Inputs too large for TENSORIFY_INPUTS: the conformance suite (conformance.int-spec.ts).
});

describe('cancel and timeout', () => {
  it('cancel kills the remote process group, confirms it is gone, and removes the run directory', async () => {
    const executor = await makeExecutor();
    const context = createTestContext();
    const running = executor.run(testJob({ 'main.py': sleeper() }), context);
    const { pid, child, dir } = await started(context);
    expect(context.externalIds).toEqual([`cpu:${pid}`]);
    expect(remoteState([pid, child], dir)).toEqual({ alive: [pid, child], dirExists: true });
    const before = Date.now();
    context.abort('cancelled');
    const result = await running;
    expect(Date.now() - before).toBeLessThan(5_000);
    expect(result.exitCode).toBeNull();
    // Gone by the time run() resolved, checked over a separate SSH login.
    expect(remoteState([pid, child], dir)).toEqual({ alive: [], dirExists: false });
    expect(context.of('system').join('\n')).toMatch(new RegExp(`stopped on cpu: process group\\(s\\) ${pid} gone, run directory removed`));
  });

  it('timeout: a program ignoring SIGTERM gets SIGKILL after the grace period', async () => {
    const executor = await makeExecutor({ killGraceSeconds: 1 });
    const context = createTestContext();
    const running = executor.run(testJob({ 'main.py': sleeper(true) }), context);
    const { pid, child, dir } = await started(context);
    const before = Date.now();
    context.abort('timed_out');
    const result = await running;
    const took = Date.now() - before;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(6_000);
    expect(result.exitCode).toBeNull();
    expect(remoteState([pid, child], dir)).toEqual({ alive: [], dirExists: false });
    expect(context.of('system').join('\n')).toContain(`process group ${pid} still alive after 1 s: SIGKILL`);
  });

  it('an already aborted signal starts nothing; an abort while waiting for a host starts nothing', async () => {
    const executor = await makeExecutor({ hosts: [host('cpu', { maxConcurrent: 1 })] });
    const aborted = createTestContext();
    aborted.abort('cancelled');
    expect(await executor.run(testJob({ 'main.py': 'print(1)' }), aborted)).toEqual({ exitCode: null });

    const first = createTestContext();
    const running = executor.run(testJob({ 'main.py': sleeper() }), first);
    await started(first);
    const second = createTestContext();
    const waiting = executor.run(testJob({ 'main.py': 'print("never")' }), second);
    await until(() => second.of('system').some((line) => line.includes('waiting for a free one')));
    second.abort('cancelled');
    expect(await waiting).toEqual({ exitCode: null });
    expect(second.of('stdout')).toEqual([]);
    first.abort('cancelled');
    expect((await running).exitCode).toBeNull();
  });
});

describe('host keys and authentication', () => {
  it('refuses a host whose key does not match the pinned fingerprint (pins win over known_hosts), naming both', async () => {
    const offered = keyFingerprint(path.join(SSHD_DIR, 'host_cpu_ed25519.pub'));
    const other = keyFingerprint(path.join(SSHD_DIR, 'host_gpu_ed25519.pub'));
    const executor = await makeExecutor({ hosts: [host('cpu', { fingerprints: [other] })] });
    const error = await executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext()).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ExecutorUnavailableError);
    expect((error as Error).message).toContain(`ssh executor: host cpu (127.0.0.1:${CPU_PORT}): HOST KEY MISMATCH`);
    expect((error as Error).message).toContain(offered);
    expect((error as Error).message).toContain(other);
  });

  it('a mismatch against known_hosts is refused even with acceptUnknownHostKeys', async () => {
    const wrong = path.join(workRoot, 'known_hosts_wrong');
    const gpuKey = readFileSync(path.join(SSHD_DIR, 'host_gpu_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(wrong, `[127.0.0.1]:${CPU_PORT} ${gpuKey}\n`);
    const executor = await makeExecutor({ knownHostsPath: wrong, acceptUnknownHostKeys: true });
    await expect(executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toThrow(
      `HOST KEY MISMATCH: the host offered ssh-ed25519 ${keyFingerprint(path.join(SSHD_DIR, 'host_cpu_ed25519.pub'))}, which is not the key ${wrong} lists for it (ssh-ed25519 ${keyFingerprint(path.join(SSHD_DIR, 'host_gpu_ed25519.pub'))})`,
    );
  });

  it('accepts the right pinned fingerprint, and hashed known_hosts entries', async () => {
    const pinned = await makeExecutor({
      hosts: [host('cpu', { fingerprints: [keyFingerprint(path.join(SSHD_DIR, 'host_cpu_ed25519.pub'))] })],
      knownHostsPath: path.join(workRoot, 'none'),
    });
    expect((await pinned.run(testJob({ 'main.py': 'print("pinned")' }), createTestContext())).exitCode).toBe(0);
    const hashed = await makeExecutor({ knownHostsPath: path.join(SSHD_DIR, 'known_hosts_hashed') });
    expect((await hashed.run(testJob({ 'main.py': 'print("hashed")' }), createTestContext())).exitCode).toBe(0);
  });

  it('refuses an unknown host key by default, and accepts it loudly with acceptUnknownHostKeys', async () => {
    const empty = path.join(workRoot, 'known_hosts_empty');
    writeFileSync(empty, '# nothing\n');
    const offered = keyFingerprint(path.join(SSHD_DIR, 'host_cpu_ed25519.pub'));
    const strict = await makeExecutor({ knownHostsPath: empty });
    const error = await strict.run(testJob({ 'main.py': 'print(1)' }), createTestContext()).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ExecutorUnavailableError);
    expect((error as Error).message).toContain(`host cpu (127.0.0.1:${CPU_PORT}): unknown host key ssh-ed25519 ${offered}`);

    logger.warn.mockClear();
    const lax = await makeExecutor({ knownHostsPath: empty, acceptUnknownHostKeys: true, keepConnectionsSeconds: 0 });
    for (let i = 0; i < 2; i++) expect((await lax.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).exitCode).toBe(0);
    const warnings = logger.warn.mock.calls.map(([message]) => String(message)).filter((message) => message.includes('ACCEPTING AN UNKNOWN HOST KEY'));
    expect(warnings).toHaveLength(2); // every connect, not once
    expect(warnings[0]).toContain(offered);
  });

  it('reports an authentication failure naming the host and user', async () => {
    const executor = await makeExecutor({ hosts: [host('cpu', { privateKeyPath: path.join(SSHD_DIR, 'stranger_ed25519') })] });
    const error = await executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext()).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ExecutorUnavailableError);
    expect((error as Error).message).toBe(
      `ssh executor: host cpu (127.0.0.1:${CPU_PORT}): authentication failed: user "${USER}" was refused with the key ${path.join(SSHD_DIR, 'stranger_ed25519')}`,
    );
  });

  it('logs in with a passphrase-protected key, the passphrase taken from passphraseEnv', async () => {
    const passKey = path.join(SSHD_DIR, 'client_pass_ed25519');
    const missing = await makeExecutor({ hosts: [host('cpu', { privateKeyPath: passKey, passphraseEnv: 'TENSORIFY_TEST_UNSET_PASSPHRASE' })] });
    await expect(missing.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toThrow(
      "the private key's passphrase variable TENSORIFY_TEST_UNSET_PASSPHRASE is not set in the server's environment",
    );
    const noEnv = await makeExecutor({ hosts: [host('cpu', { privateKeyPath: passKey })] });
    await expect(noEnv.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toThrow(
      /cannot be used: .*passphrase.*\(an encrypted key needs "passphraseEnv"\)/,
    );

    process.env.TENSORIFY_TEST_SSH_PASSPHRASE = readFileSync(path.join(SSHD_DIR, 'client_pass.passphrase'), 'utf8').trim();
    try {
      const executor = await makeExecutor({ hosts: [host('cpu', { privateKeyPath: passKey, passphraseEnv: 'TENSORIFY_TEST_SSH_PASSPHRASE' })] });
      const result = await executor.run(testJob(golden('hello'), { inputs: { name: 'Key' } }), createTestContext());
      expect(result.output).toEqual({ result: 'Hello, Key!' });
    } finally {
      delete process.env.TENSORIFY_TEST_SSH_PASSPHRASE;
    }
  });

  it('goes through a jump host (ProxyJump), checking both host keys', async () => {
    const executor = await makeExecutor({
      hosts: [host('gpu', { jump: { host: '127.0.0.1', port: CPU_PORT, user: USER, privateKeyPath: KEY } })],
    });
    const context = createTestContext();
    const result = await executor.run(testJob(golden('hello'), { inputs: { name: 'Jump' } }), context);
    expect(result.output).toEqual({ result: 'Hello, Jump!' });
    expect(result.externalId).toMatch(/^gpu:/);
    const bad = await makeExecutor({
      hosts: [
        host('gpu', {
          jump: {
            host: '127.0.0.1',
            port: CPU_PORT,
            user: USER,
            privateKeyPath: KEY,
            fingerprints: [keyFingerprint(path.join(SSHD_DIR, 'host_gpu_ed25519.pub'))],
          },
        }),
      ],
    });
    await expect(bad.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toThrow(
      `host gpu (127.0.0.1:${GPU_PORT}): its jump host 127.0.0.1:${CPU_PORT}: HOST KEY MISMATCH`,
    );
  });
});

describe('unreachable hosts and dropped connections', () => {
  it('a port nothing listens on: EXECUTOR_UNAVAILABLE at once, naming the host', async () => {
    const port = await freePort();
    const executor = await makeExecutor({ hosts: [host('cpu', { name: 'stopped', port })] });
    const before = Date.now();
    const error = await executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext()).catch((caught: Error) => caught);
    expect(Date.now() - before).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(ExecutorUnavailableError);
    expect((error as Error).message).toBe(
      `ssh executor: host stopped (127.0.0.1:${port}): connection refused (nothing listens on port ${port}: is sshd running?)`,
    );
    const capabilities = await executor.capabilities();
    expect(capabilities.healthy).toBe(false);
    expect(capabilities.detail).toContain('stopped (');
    expect(capabilities.detail).toContain('DOWN, connection refused');
  });

  it('a server that accepts TCP but never speaks SSH: EXECUTOR_UNAVAILABLE within the connect timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const executor = await makeExecutor({ hosts: [host('cpu', { name: 'silent', port })], connectTimeoutSeconds: 1 });
      const before = Date.now();
      const error = await executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext()).catch((caught: Error) => caught);
      const took = Date.now() - before;
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(1_800);
      expect(error).toBeInstanceOf(ExecutorUnavailableError);
      expect((error as Error).message).toBe(`ssh executor: host silent (127.0.0.1:${port}): no SSH answer within 1 s (connect timeout)`);
      const capabilitiesStarted = Date.now();
      const capabilities = await executor.capabilities();
      expect(Date.now() - capabilitiesStarted).toBeLessThan(3_000);
      expect(capabilities.healthy).toBe(false);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((done) => silent.close(done));
    }
  });

  it('fails over to another host when one cannot be reached', async () => {
    const port = await freePort();
    const executor = await makeExecutor({ hosts: [host('cpu', { name: 'dead', port }), host('gpu')] });
    const result = await executor.run(testJob(golden('hello'), { inputs: { name: 'B' } }), createTestContext());
    expect(result.externalId).toMatch(/^gpu:/);
  });

  it('a connection dropped mid-run fails the run naming the host, and the remote program dies by its lifeline', async () => {
    const executor = await makeExecutor();
    const context = createTestContext();
    const running = executor.run(testJob({ 'main.py': sleeper() }), context);
    const { pid, supervisor, child, dir } = await started(context);
    // The supervisor's parent is the sshd process serving this connection: killing it drops the connection.
    const stat = readFileSync(`/proc/${supervisor}/stat`, 'utf8');
    const sshdPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    expect(readFileSync(`/proc/${sshdPid}/comm`, 'utf8').trim()).toBe('sshd');
    process.kill(sshdPid, 'SIGKILL');
    const error = await running.catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ExecutorUnavailableError); // EXECUTION_FAILED
    expect((error as Error).message).toContain(`ssh executor: the connection to host cpu (127.0.0.1:${CPU_PORT}) dropped while the program ran (pid ${pid})`);
    expect((error as Error).message).toContain(`checked over a new connection: process group(s) ${pid} gone, run directory removed`);
    expect(remoteState([pid, child, supervisor], dir)).toEqual({ alive: [], dirExists: false });
    // The executor recovers: the next run gets a new connection.
    expect((await executor.run(testJob({ 'main.py': 'print("again")' }), createTestContext())).exitCode).toBe(0);
  });
  it('the server dying (SIGKILL) kills the remote run by its lifeline', async () => {
    // A separate Node process plays the server: it runs a sleeper through the executor (its
    // TypeScript compiled on the fly) and prints the program's lines; then it is SIGKILLed.
    const server = [
      "const fs = require('fs'); const ts = require('typescript');",
      "require.extensions['.ts'] = (module, file) => module._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, file);",
      `const ssh = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'index.ts'))}).default;`,
      'const [config, main] = JSON.parse(process.argv[1]);',
      'const logger = { debug() {}, info() {}, warn() {}, error() {} };',
      'Promise.resolve(ssh.create(config, { dataDir: config.hosts[0].workDir, logger })).then((executor) => executor.run(',
      "  { executionId: 'exec_lifeline', workflowId: 'wf', workflowVersion: 1, files: { 'main.py': main, 'utils.py': '', 'requirements.txt': '' }, inputs: {}, env: {}, gpu: false, timeoutMs: 60000 },",
      '  { signal: new AbortController().signal, log: (stream, line) => console.log(line), setExternalId() {} }));',
    ].join('\n');
    const config = { hosts: [host('cpu')], knownHostsPath: KNOWN_HOSTS };
    const child = spawn(process.execPath, ['-e', server, JSON.stringify([config, sleeper()])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await until(() => /^pid /m.test(text), 30_000);
    const [, pid, supervisor, childPid, dir] = /^pid (\d+) (\d+) (\d+) (\S+)/m.exec(text)!;
    const pids = [Number(pid), Number(supervisor), Number(childPid)];
    expect(remoteState(pids, dir).alive).toEqual(pids);
    child.kill('SIGKILL');
    await new Promise((done) => child.once('close', done));
    const deadline = Date.now() + 10_000;
    let state = remoteState(pids, dir);
    while ((state.alive.length > 0 || state.dirExists) && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 200));
      state = remoteState(pids, dir);
    }
    expect(state).toEqual({ alive: [], dirExists: false });
  });
});

describe('GPU facts and host choice', () => {
  it('reports the GPUs nvidia-smi lists on each host, and sends gpu runs to a GPU host with TENSORIFY_DEVICE=cuda', async () => {
    const executor = await makeExecutor({ hosts: [host('cpu'), host('gpu')] });
    const before = Date.now();
    const capabilities = await executor.capabilities();
    expect(Date.now() - before).toBeLessThan(3_000);
    expect(capabilities).toMatchObject({ gpu: true, healthy: true, gpus: [{ model: GPU_MODEL, vendor: 'NVIDIA', vramMb: 24576 }] });
    expect(capabilities.detail).toContain(`cpu (${USER}@127.0.0.1:${CPU_PORT}): up, Python 3.`);
    expect(capabilities.detail).toContain(`gpu (${USER}@127.0.0.1:${GPU_PORT}): up, Python 3.`);
    expect(capabilities.detail).toContain(`GPU ${GPU_MODEL} 24576 MiB`);

    for (let i = 0; i < 2; i++) {
      const context = createTestContext();
      const running = executor.run(testJob({ 'main.py': sleeper() }, { gpu: true }), context);
      const { device } = await started(context);
      expect(device).toBe('cuda');
      expect(context.externalIds[0]).toMatch(/^gpu:/);
      context.abort('cancelled');
      await running;
    }
    const cpuRun = createTestContext();
    const running = executor.run(testJob({ 'main.py': sleeper() }), cpuRun);
    expect((await started(cpuRun)).device).toBe('cpu');
    cpuRun.abort('cancelled');
    await running;
  });

  it('refuses a gpu run when no host has a GPU', async () => {
    const executor = await makeExecutor({ hosts: [host('cpu')] });
    const capabilities = await executor.capabilities();
    expect(capabilities).toMatchObject({ gpu: false, gpus: [], healthy: true });
    await expect(executor.run(testJob({ 'main.py': 'print(1)' }, { gpu: true }), createTestContext())).rejects.toThrow(
      /^ssh executor: no host has a GPU for this gpu run: cpu \(/,
    );
  });

  it('sends each run to the least busy host, and waits when all are full', async () => {
    const executor = await makeExecutor({ hosts: [host('cpu', { maxConcurrent: 2 }), host('gpu', { maxConcurrent: 2 })] });
    await executor.capabilities(); // GPU facts: on a tie a non-GPU run prefers the host without GPUs
    const contexts: TestContext[] = [];
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      const context = createTestContext();
      contexts.push(context);
      runs.push(executor.run(testJob({ 'main.py': sleeper() }), context));
      await started(context);
    }
    expect(contexts.map((context) => context.externalIds[0].split(':')[0])).toEqual(['cpu', 'gpu', 'cpu', 'gpu']);
    const fifth = createTestContext();
    const waiting = executor.run(testJob({ 'main.py': sleeper() }), fifth);
    await until(() => fifth.of('system').some((line) => line.includes('every host that fits this run is busy (cpu 2/2, gpu 2/2)')));
    contexts[1].abort('cancelled'); // frees a gpu slot
    await runs[1];
    await started(fifth);
    expect(fifth.externalIds[0]).toMatch(/^gpu:/);
    for (const context of [...contexts, fifth]) context.abort('cancelled');
    await Promise.all([...runs, waiting]);
  });
});

describe('virtualenvs', () => {
  const program =
    'import json, os, sys, tensorify_tiny\nprint("value", tensorify_tiny.VALUE, sys.prefix)\njson.dump({"value": tensorify_tiny.VALUE}, open(os.environ["TENSORIFY_OUTPUT"], "w"))';

  it('builds a venv per requirements once (two runs at once share the build) and reuses it', async () => {
    const executor = await makeExecutor({ pipArgs: ['--no-index', '--find-links', wheelDir], hosts: [host('cpu'), host('gpu')] });
    const files = { 'main.py': program, 'requirements.txt': '# needs\ntensorify-tiny==0.1\n' };
    const contexts = [createTestContext(), createTestContext()];
    const results = await Promise.all(contexts.map((context) => executor.run(testJob(files), context)));
    for (const result of results) expect(result).toMatchObject({ exitCode: 0, output: { value: 42 } });
    const systemLines = contexts.flatMap((context) => context.of('system'));
    expect(systemLines.filter((line) => line.startsWith('creating the virtualenv '))).toHaveLength(1);
    expect(systemLines.some((line) => /^waiting for another run installing the same virtualenv/.test(line))).toBe(true);
    expect(systemLines.some((line) => /Successfully installed tensorify-tiny-0.1/.test(line))).toBe(true);

    const again = createTestContext();
    expect(await executor.run(testJob(files), again)).toMatchObject({ exitCode: 0, output: { value: 42 } });
    expect(again.of('system').some((line) => line.startsWith('using the virtualenv '))).toBe(true);
    expect(again.of('system').some((line) => line.startsWith('creating'))).toBe(false);
    const venvPrefix = again.of('stdout')[0].split(' ')[2];
    expect(venvPrefix.startsWith(path.join(workRoot, 'venvs'))).toBe(true);

    // A failed build is not cached and leaves nothing behind.
    const before = readdirSync(path.join(workRoot, 'venvs')).sort();
    const failing = createTestContext();
    const error = await executor.run(testJob({ 'main.py': program, 'requirements.txt': 'tensorify-missing==9.9\n' }), failing).catch((caught: Error) => caught);
    expect(error).not.toBeInstanceOf(ExecutorUnavailableError);
    expect((error as Error).message).toMatch(/^ssh executor: host \w+ \(127\.0\.0\.1:\d+\): pip install exited with code 1:\n/);
    expect((error as Error).message).toContain('No matching distribution found for tensorify-missing==9.9');
    expect(readdirSync(path.join(workRoot, 'venvs')).sort()).toEqual(before);
    expect(existsSync(path.join(workRoot, 'runs')) ? readdirSync(path.join(workRoot, 'runs')) : []).toEqual([]);
  });
  it('a cancel while the venv is being built stops the build and leaves nothing behind', async () => {
    const executor = await makeExecutor({ pipArgs: ['--no-index', '--find-links', wheelDir] });
    const venvs = path.join(workRoot, 'venvs');
    const before = existsSync(venvs) ? readdirSync(venvs).sort() : [];
    const context = createTestContext();
    const running = executor.run(testJob({ 'main.py': program, 'requirements.txt': 'tensorify-tiny\n' }), context);
    await until(() => context.of('system').some((line) => line.startsWith('creating the virtualenv ')));
    context.abort('cancelled');
    const result = await running;
    expect(result.exitCode).toBeNull();
    const lines = context.of('system').join('\n');
    expect(lines).toContain('stopped while preparing the virtualenv: the program did not start');
    expect(lines).toMatch(/stopped on cpu: process group\(s\) \d+ gone, run directory removed/);
    expect(readdirSync(venvs).sort()).toEqual(before); // no half-built venv, no lock
    expect(readdirSync(path.join(workRoot, 'runs'))).toEqual([]);
  });
});

describe('pieces', () => {
  it('matches known_hosts names: plain patterns, negations, [host]:port and hashed entries', () => {
    expect(hostMatches('a.example.com,*.test', 'x.test')).toBe(true);
    expect(hostMatches('*.test,!bad.test', 'bad.test')).toBe(false);
    expect(hostMatches('[127.0.0.1]:2222', '[127.0.0.1]:2222')).toBe(true);
    expect(hostMatches('127.0.0.1', '[127.0.0.1]:2222')).toBe(false);
    const hashed = parseKnownHosts(readFileSync(path.join(SSHD_DIR, 'known_hosts_hashed'), 'utf8'));
    expect(matchKnownHosts(hashed, `[127.0.0.1]:${CPU_PORT}`).keys).toHaveLength(1);
    expect(matchKnownHosts(hashed, '[127.0.0.1]:1').keys).toHaveLength(0);
    const blob = Buffer.from(readFileSync(path.join(SSHD_DIR, 'host_cpu_ed25519.pub'), 'utf8').split(' ')[1], 'base64');
    expect(fingerprint(blob)).toBe(keyFingerprint(path.join(SSHD_DIR, 'host_cpu_ed25519.pub')));
  });

  it('the configuration schema compiles with ajv and fills in the defaults', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv = require('ajv') as typeof import('ajv').default;
    const ajv = new Ajv({ strict: false, useDefaults: true });
    const validate = ajv.compile(ssh.configSchema);
    const config: Record<string, unknown> = { hosts: [{ name: 'gpu1', host: '10.0.0.5', privateKeyPath: '~/.ssh/id_ed25519' }] };
    expect(validate(config)).toBe(true);
    expect(config).toMatchObject({
      acceptUnknownHostKeys: false,
      connectTimeoutSeconds: 10,
      hosts: [{ port: 22, python: '/usr/bin/python3', maxConcurrent: 2 }],
    });
    expect(validate({ hosts: [{ name: 'x', host: 'h' }] })).toBe(false); // neither a key nor an agent
    expect(validate({ hosts: [{ name: 'x', host: 'h', agent: true, fingerprints: ['MD5:aa'] }] })).toBe(false);
  });

  it('without hosts it loads (first-party plugins always do) but is unhealthy and refuses runs', async () => {
    const executor = await ssh.create({}, { dataDir: workRoot, logger });
    executors.push(executor);
    expect(await executor.capabilities()).toEqual({ gpu: false, gpus: [], healthy: false, detail: expect.stringContaining('no hosts are configured') });
    const error = await executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext()).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ExecutorUnavailableError);
    expect((error as Error).message).toMatch(/^ssh executor: no hosts are configured/);
  });
});
