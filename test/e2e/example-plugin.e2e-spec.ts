/**
 * The example third-party plugin (plugins/examples/interpreter-executor) installed the way an
 * operator installs one: built, packed with npm pack, installed from its tarball into a folder of
 * its own (with the SDK, also from its packed tarball: no registry, no link into this repository),
 * then named by path in TENSORIFY_EXECUTOR_PLUGINS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT, runCli } from '../support/server-process';
import { startTestApp, TestApp } from '../support/test-app';

const EXAMPLE = join(PACKAGE_ROOT, 'plugins', 'examples', 'interpreter-executor');
const SDK = join(PACKAGE_ROOT, 'plugins', 'executor-sdk');
const SDK_VERSION = (JSON.parse(readFileSync(join(SDK, 'package.json'), 'utf8')) as { version: string }).version;
const EXAMPLES = join(PACKAGE_ROOT, '..', 'shared', 'examples');
const CONFIG = { interpreter: '/usr/bin/python3', args: ['-X', 'dev'] };

function run(command: string, args: string[], cwd = PACKAGE_ROOT): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

describe('The example interpreter plugin, installed from its packed tarball', () => {
  let scratch: string;
  let tarball: string;
  let installed: string;
  let t: TestApp;
  let auth: string;

  beforeAll(async () => {
    if (!existsSync(join(SDK, 'dist', 'index.js'))) throw new Error('plugins/executor-sdk is not built: run npm run build first');
    scratch = mkdtempSync(join(tmpdir(), 'tensorify-example-plugin-'));
    run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(EXAMPLE, 'tsconfig.json')]);
    // Absolute paths: npm reads a bare "plugins/executor-sdk" as a GitHub repository.
    run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', scratch, SDK, EXAMPLE]);
    tarball = join(scratch, 'tensorify-executor-interpreter-1.0.0.tgz');
    const prefix = join(scratch, 'plugins');
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
      join(scratch, `tensorify-executor-sdk-${SDK_VERSION}.tgz`),
      tarball,
    ]);
    installed = join(prefix, 'node_modules', 'tensorify-executor-interpreter');

    t = await startTestApp({ TENSORIFY_EXECUTOR_PLUGINS: installed, TENSORIFY_EXECUTORS: JSON.stringify({ interpreter: CONFIG }) });
    auth = t.bearer(t.adminKey);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('is installed as a third party package: its own copy of the SDK, nothing linked into the repository', () => {
    expect(readFileSync(join(installed, 'dist', 'index.js'), 'utf8')).toContain('@tensorify/executor-sdk');
    const sdk = realpathSync(join(installed, '..', '@tensorify', 'executor-sdk'));
    expect(sdk.startsWith(realpathSync(scratch))).toBe(true);
  });

  it('is listed by GET /v1/executors, healthy, with the configured interpreter', async () => {
    const { executors } = (await t.http.get('/v1/executors').set('Authorization', auth).expect(200)).body;
    expect(executors.find((executor: { id: string }) => executor.id === 'interpreter')).toEqual({
      id: 'interpreter',
      displayName: 'Interpreter (a configured Python, processes on the server machine)',
      version: '1.0.0',
      gpu: false,
      gpus: [],
      healthy: true,
      detail: expect.stringMatching(/^\/usr\/bin\/python3 -X dev: Python 3\./),
      warm: [],
    });
  });

  it('runs the hello example to completed with its expected output', async () => {
    const hello = JSON.parse(readFileSync(join(EXAMPLES, 'hello.json'), 'utf8'));
    const inputs = JSON.parse(readFileSync(join(EXAMPLES, 'hello.inputs.json'), 'utf8'));
    const expected = JSON.parse(readFileSync(join(EXAMPLES, 'hello.expected-output.json'), 'utf8'));
    const workflowId = (await t.http.post('/v1/workflows').set('Authorization', auth).send(hello).expect(201)).body.id;
    const { executionId } = (
      await t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).send({ executor: 'interpreter', inputs }).expect(202)
    ).body;
    let execution: Record<string, unknown> = {};
    for (let polls = 0; polls < 500 && ['queued', 'running', undefined].includes(execution.status as string); polls++) {
      await new Promise((done) => setTimeout(done, 20));
      execution = (await t.http.get(`/v1/executions/${executionId}`).set('Authorization', auth).expect(200)).body;
    }
    expect(execution).toMatchObject({ status: 'completed', executor: 'interpreter', output: expected });
  });

  it('passes tensorify-server plugins verify --run where it is installed', () => {
    // Where a team installs it: beside the server, its SDK resolved from the server's node_modules.
    const result = runCli(['plugins', 'verify', installed, '--run', '--json', '--config', JSON.stringify(CONFIG)], {});

    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ ok: true, packageName: 'tensorify-executor-interpreter', counts: { fail: 0 } });
    expect(report.checks.find((check: { rule: string }) => check.rule === 'run')).toMatchObject({ executor: 'interpreter', status: 'pass' });
  });
});
