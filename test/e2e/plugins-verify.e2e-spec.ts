import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PYTHON } from '../support/python';
import { PACKAGE_ROOT, runCli } from '../support/server-process';

const FIXTURES = resolve(__dirname, '..', 'fixtures', 'plugins');
const fixture = (name: string) => resolve(FIXTURES, name);

interface JsonReport {
  ok: boolean;
  kind: string;
  packageName: string;
  counts: Record<string, number>;
  checks: { rule: string; executor?: string; status: string; message: string }[];
}

describe('tensorify-server plugins verify (the built CLI)', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'tensorify-verify-e2e-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('passes the good fixture with exit code 0 and prints a checklist', () => {
    const result = runCli(['plugins', 'verify', fixture('good-executor')], {});

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`Plugin tensorify-executor-echo 1.2.0 at ${fixture('good-executor')}, against executor API 1`);
    expect(lines).toContain('Executor "echo"');
    expect(lines).toContain('  pass  configuration         {} is valid; with its defaults: {"greeting":"hello"}');
    expect(lines).toContain('  pass  capabilities()        healthy, gpu false: greets with "hello"');
    expect(lines.at(-2)).toBe('18 passed, 0 warnings, 0 failed, 1 skipped: the server would load this plugin.');
  });

  it('fails a broken fixture with exit code 1, naming the rule and the server\'s reason', () => {
    const result = runCli(['plugins', 'verify', fixture('lacks-run')], {});

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      '  FAIL  create()              create() returned an executor without run(): an executor needs capabilities() and run(), and may have close()\n',
    );
    expect(result.stdout).toContain('15 passed, 0 warnings, 1 failed, 3 skipped: the server would not load this plugin.');
  });

  it('reports with --json, and takes the configuration with --config', () => {
    const broken = runCli(['plugins', 'verify', fixture('bad-config'), '--json'], {});
    const configured = runCli(['plugins', 'verify', fixture('bad-config'), '--json', '--config', '{"host": "gpu-1"}'], {});

    expect(broken.code).toBe(1);
    const report = JSON.parse(broken.stdout) as JsonReport;
    expect(report).toMatchObject({ ok: false, kind: 'directory', packageName: 'tensorify-executor-bad-config', counts: { fail: 1 } });
    expect(report.checks.filter((check) => check.status === 'fail')).toEqual([
      { rule: 'config', executor: 'strict-config', status: 'fail', message: 'invalid configuration: executors.strict-config/host is required', details: { given: {} } },
    ]);
    expect(configured.code).toBe(0);
    expect((JSON.parse(configured.stdout) as JsonReport).ok).toBe(true);
  });

  it('verifies a tarball made with npm pack', () => {
    const pack = spawnSync('npm', ['pack', '--pack-destination', scratch, '--ignore-scripts', '--silent'], { cwd: fixture('good-executor'), encoding: 'utf8' });
    expect(pack.status).toBe(0);
    const [tarball] = readdirSync(scratch).filter((name) => name.endsWith('.tgz'));
    expect(tarball).toBe('tensorify-executor-echo-1.2.0.tgz');

    const result = runCli(['plugins', 'verify', join(scratch, tarball), '--json'], {});

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, kind: 'tarball', packageName: 'tensorify-executor-echo', counts: { fail: 0 } });
  });

  it('passes the first-party local executor, the hello program run through it with --run', () => {
    const result = runCli(['plugins', 'verify', join(PACKAGE_ROOT, 'plugins', 'local'), '--run', '--json', '--config', JSON.stringify({ python: PYTHON })], {});

    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report).toMatchObject({ ok: true, packageName: '@tensorify/executor-local', counts: { fail: 0, skip: 0 } });
    expect(report.checks.find((check) => check.rule === 'run')).toMatchObject({
      executor: 'local',
      status: 'pass',
      message: 'the golden hello program exited with 0 and output {"result":"Hello, Ada!"}',
    });
  });

  it('exits with 2 for usage errors', () => {
    const missing = runCli(['plugins', 'verify', join(scratch, 'no-such-plugin')], {});
    const badConfig = runCli(['plugins', 'verify', fixture('good-executor'), '--config', '{not json'], {});
    const noArgument = runCli(['plugins', 'verify'], {});

    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toBe(`error: ${join(scratch, 'no-such-plugin')} does not exist: give a plugin directory, a .tgz made by npm pack, or an installed package's name\n`);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/^error: --config is no valid JSON: /);
    expect(noArgument.code).toBe(2);
    expect(noArgument.stderr).toContain("error: missing required argument 'path-or-package'");
  });
});
