import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bearerApi, commandFailure as failure, readExample, runHelloExample } from '../support/black-box';
import { PYTHON } from '../support/python';
import { childEnv } from '../support/server-process';

/**
 * The npm package as a user gets it: `npm pack` of the built tree (`npm run test:integration`
 * builds first), `npm install -g` of that tarball into a fresh prefix (its dependencies come from
 * the npm registry; sqlite3 is compiled from source), then the installed `tensorify-server` run
 * from an unrelated directory: --version, --help, and `start` with its data in `./data`, through
 * create → export → execute of ../shared/examples/hello.json on the first-party executors that
 * ship inside the package.
 *
 * It needs the npm registry: without it, it fails saying so.
 */
const REPO = path.resolve(__dirname, '..', '..');
const PACKAGE = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
const ADMIN_KEY = 'tfy_PackageTestKey0123456789abcdefghijklmnopqrst';
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const INSTALL_TIMEOUT_MS = 300_000;

/** The parent's environment without npm's per-script variables (npm_config_*, npm_package_*, …): the child npm reads only the user's own npm config. */
function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && !name.startsWith('TENSORIFY_')));
  return { ...clean, ...extra };
}

const timings: string[] = [];
function timed<T>(label: string, work: () => T): T {
  const started = Date.now();
  try {
    return work();
  } finally {
    timings.push(`${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): SpawnSyncReturns<string> {
  return spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? npmEnv(),
    encoding: 'utf8',
    timeout: options.timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
}

describe('The npm package: pack → install -g → start from any directory → create → export → execute', () => {
  let work: string;
  let prefix: string;
  let cwd: string;
  let bin: string;
  let installedRoot: string;
  let tarEntries: string[];
  let tarballBytes: number;
  let server: ChildProcess | undefined;
  let serverOut = '';
  let serverErr = '';
  let baseUrl: string;

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'tensorify-package-'));
    prefix = path.join(work, 'prefix');
    cwd = realpathSync(mkdtempSync(path.join(tmpdir(), 'tensorify-package-cwd-')));
    bin = path.join(prefix, 'bin', 'tensorify-server');
    installedRoot = path.join(prefix, 'lib', 'node_modules', PACKAGE.name);

    for (const built of [
      'dist/main.js',
      'plugins/local/dist/index.js',
      'plugins/docker/dist/index.js',
      'plugins/ssh/dist/index.js',
      'plugins/slurm/dist/index.js',
      'plugins/executor-sdk/dist/index.js',
    ]) {
      if (!existsSync(path.join(REPO, built))) throw new Error(`${built} is missing: run \`npm run build\` first (npm run test:integration does)`);
    }

    const ping = timed('npm ping', () => run(NPM, ['ping'], { cwd: work, timeoutMs: 60_000 }));
    if (ping.status !== 0)
      throw failure("The npm registry is not reachable from this machine: this test installs the package's dependencies from it, and `npm ping`", ping);

    const pack = timed('npm pack', () => run(NPM, ['pack', '--json', '--pack-destination', work], { cwd: REPO, timeoutMs: 120_000 }));
    if (pack.status !== 0) throw failure('npm pack', pack);
    const packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; size: number; entryCount: number }[];
    const tarball = path.join(work, packed[0].filename);
    tarballBytes = packed[0].size;
    const listing = run('tar', ['-tzf', tarball], { cwd: work, timeoutMs: 60_000 });
    if (listing.status !== 0) throw failure('tar -tzf', listing);
    tarEntries = listing.stdout
      .split('\n')
      .filter(Boolean)
      .map((entry) => entry.replace(/^package\//, ''));

    // sqlite3 is the one dependency whose install script the package needs (it compiles its native
    // addon); npm_config_build_from_source=sqlite3 skips its attempt to download a prebuilt binary
    // from outside the registry, SCARF_ANALYTICS=false the analytics call of @scarf/scarf.
    const install = timed('npm install -g (sqlite3 compiled from source)', () =>
      run(NPM, ['install', '-g', tarball, '--prefix', prefix, '--allow-scripts=sqlite3', '--no-audit', '--no-fund'], {
        cwd: work,
        env: npmEnv({ npm_config_build_from_source: 'sqlite3', SCARF_ANALYTICS: 'false' }),
        timeoutMs: INSTALL_TIMEOUT_MS,
      }),
    );
    if (install.status !== 0) {
      const offline = /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|network/i.test(install.stderr ?? '');
      throw failure(offline ? 'npm install -g (the npm registry could not be reached)' : 'npm install -g', install);
    }
  }, INSTALL_TIMEOUT_MS + 240_000);

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((done) => server!.once('exit', done));
      server.kill('SIGKILL');
      await exited;
    }
    process.stderr.write(`package test timings:\n  ${timings.join('\n  ')}\n`);
    if (work) rmSync(work, { recursive: true, force: true });
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('ships only what runs: the build, the templates and the first-party plugins, with the SDK bundled', () => {
    process.stderr.write(`package: ${(tarballBytes / 1024).toFixed(0)} KiB packed, ${tarEntries.length} files\n`);
    for (const needed of [
      'package.json',
      'README.md',
      'bin/tensorify-server.js',
      'dist/main.js',
      'dist/cli.js',
      'dist/nodes/node-schemas.precompiled.js',
      'codegen-templates/python/main.py.hbs',
      'codegen-templates/nodes/transform/node.json',
      ...['main.py', 'utils.py', 'requirements.txt'].map((file) => `assets/verify/hello/${file}`),
      ...['local', 'docker', 'ssh', 'slurm'].flatMap((plugin) => [
        `plugins/${plugin}/package.json`,
        `plugins/${plugin}/README.md`,
        `plugins/${plugin}/dist/index.js`,
      ]),
      'node_modules/@tensorify/executor-sdk/package.json',
      'node_modules/@tensorify/executor-sdk/dist/index.js',
      'node_modules/@tensorify/executor-sdk/conformance/hello.py',
      'plugins/ssh/python/supervisor.py',
      'plugins/ssh/python/protocol.json',
      'plugins/local/python/zygote.py',
    ]) {
      expect(tarEntries).toContain(needed);
    }
    const unwanted = tarEntries.filter(
      (entry) =>
        /(^|\/)(src|test|tests|coverage|bench|scripts|\.ci)\//.test(entry) ||
        (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) ||
        /\.(map|tsbuildinfo)$|(^|\/)tsconfig[^/]*\.json$|(^|\/)jest\.config\.js$|(^|\/)Dockerfile$/.test(entry) ||
        (entry.startsWith('node_modules/') && !entry.startsWith('node_modules/@tensorify/executor-sdk/')) ||
        entry.includes('/node_modules/'),
    );
    expect(unwanted).toEqual([]);
    expect(tarballBytes).toBeLessThan(1024 * 1024);
  });

  it('installs a working tensorify-server command: --version and --help', () => {
    expect(existsSync(bin)).toBe(true);
    const version = run(bin, ['--version'], { cwd, env: childEnv({}), timeoutMs: 30_000 });
    if (version.status !== 0) throw failure('tensorify-server --version', version);
    expect(version.stdout.trim()).toBe(PACKAGE.version);

    const help = run(bin, ['--help'], { cwd, env: childEnv({}), timeoutMs: 30_000 });
    if (help.status !== 0) throw failure('tensorify-server --help', help);
    expect(help.stdout).toContain('Usage: tensorify-server');
    for (const command of ['start', 'worker', 'keys', 'workspaces']) expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  it('verifies its own local executor from an unrelated directory, running the hello program the package ships (plugins verify --run)', () => {
    const local = path.join(installedRoot, 'plugins', 'local');
    const verify = run(bin, ['plugins', 'verify', local, '--run', '--json', '--config', JSON.stringify({ python: PYTHON })], {
      cwd,
      env: childEnv({}),
      timeoutMs: 180_000,
    });
    if (verify.status !== 0) throw failure('tensorify-server plugins verify --run', verify);
    const report = JSON.parse(verify.stdout) as {
      ok: boolean;
      packagePath: string;
      counts: Record<string, number>;
      checks: { rule: string; status: string; message: string }[];
    };
    expect(report).toMatchObject({ ok: true, packagePath: local, counts: { fail: 0, skip: 0 } });
    expect(report.checks.find((check) => check.rule === 'run')).toMatchObject({
      status: 'pass',
      message: 'the golden hello program exited with 0 and output {"result":"Hello, Ada!"}',
    });
  }, 200_000);

  it('starts from an unrelated directory, with its data in ./data and the first-party executors of the package', async () => {
    const started = Date.now();
    // No TENSORIFY_DATA_DIR (childEnv drops every TENSORIFY_* of this process): the data goes to ./data.
    server = spawn(bin, ['start'], { cwd, env: childEnv({ TENSORIFY_BOOTSTRAP_API_KEY: ADMIN_KEY }), stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (chunk) => (serverOut += chunk));
    server.stderr!.on('data', (chunk) => (serverErr += chunk));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the installed server did not start within 60 s:\n${serverErr}`)), 60_000);
      server!.stderr!.on('data', () => {
        const match = /listening on [^\s]+:(\d+)/.exec(serverErr);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      server!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the installed server exited with ${code} before listening:\n${serverErr}\n${serverOut.slice(-4000)}`));
      });
    });
    baseUrl = `http://127.0.0.1:${port}`;
    timings.push(`start until listening: ${((Date.now() - started) / 1000).toFixed(1)} s`);

    expect(serverErr).toContain(`SQLite ${path.join(cwd, 'data', 'tensorify.db')}`);
    expect(existsSync(path.join(cwd, 'data', 'tensorify.db'))).toBe(true);
    for (const id of ['local', 'docker', 'ssh', 'slurm']) {
      // Loaded from the installed package's plugins/ folder, not from the source tree.
      expect(serverOut).toContain(`"path":"${path.join(installedRoot, 'plugins', id)}","source":"first-party"`);
      expect(existsSync(path.join(cwd, 'data', 'executors', id))).toBe(true);
    }
  }, 90_000);

  it('creates, exports and executes hello.json to its expected output; lists local, docker and ssh loaded', async () => {
    if (!baseUrl) throw new Error('the installed server is not running (see the previous test)');
    const started = Date.now();
    const api = bearerApi(baseUrl, ADMIN_KEY);
    const { executionId, execution, files } = await runHelloExample(api);
    expect(execution).toMatchObject({ status: 'completed', executor: 'local', output: readExample('hello.expected-output.json'), error: null, exitCode: 0 });
    const ran = await api('GET', `/v1/executions/${executionId}/files`);
    expect(ran.body.files).toEqual(files);

    const { executors } = (await api('GET', '/v1/executors')).body as { executors: { id: string; loadError?: string }[] };
    const byId = Object.fromEntries(executors.map((executor) => [executor.id, executor]));
    for (const id of ['local', 'docker', 'ssh', 'slurm']) {
      expect(byId[id]).toBeDefined();
      expect(byId[id].loadError).toBeUndefined();
    }
    timings.push(`create → export → execute: ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const exited = new Promise<number | null>((done) => server!.once('exit', (code) => done(code)));
    server!.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);
});
