import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PYTHON } from '../support/python';
import { PACKAGE_ROOT, runCli } from '../support/server-process';

const FIXTURES = resolve(__dirname, '..', 'fixtures', 'plugins');
const SDK_VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'plugins', 'executor-sdk', 'package.json'), 'utf8')) as { version: string }).version;
const fixture = (name: string) => resolve(FIXTURES, name);

interface JsonReport {
  ok: boolean;
  kind: string;
  packageName: string;
  counts: Record<string, number>;
  packagePath: string;
  checks: { rule: string; executor?: string; status: string; message: string; details?: Record<string, unknown> }[];
}

/** npm pack of a directory into `destination` (absolute paths: npm reads a bare "a/b" as a GitHub repository); returns the tarball's path. */
function npmPack(dir: string, destination: string): string {
  const pack = spawnSync('npm', ['pack', '--pack-destination', destination, '--ignore-scripts', '--json', dir], { cwd: destination, encoding: 'utf8' });
  if (pack.status !== 0) throw new Error(`npm pack ${dir} failed (${pack.status}):\n${pack.stderr}`);
  return join(destination, (JSON.parse(pack.stdout) as { filename: string }[])[0].filename);
}

/**
 * The uses-dependency fixture packed with npm pack, its library dependency named by `spec`: a
 * copy of the fixture gets the spec, because a relative file: spec inside a tarball is resolved
 * against the project that installs it, not against the tarball.
 */
function packGreeter(scratch: string, name: string, spec: string): string {
  const copy = join(scratch, name);
  cpSync(fixture('uses-dependency'), copy, { recursive: true });
  const packageJson = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8'));
  packageJson.dependencies['tensorify-fixture-greeting'] = spec;
  writeFileSync(join(copy, 'package.json'), JSON.stringify(packageJson, null, 2));
  const destination = join(scratch, `${name}-packed`);
  mkdirSync(destination);
  return npmPack(copy, destination);
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
    expect(lines.at(-2)).toBe('19 passed, 0 warnings, 0 failed, 1 skipped: the server would load this plugin.');
  });

  it("fails a broken fixture with exit code 1, naming the rule and the server's reason", () => {
    const result = runCli(['plugins', 'verify', fixture('lacks-run')], {});

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      '  FAIL  create()              create() returned an executor without run(): an executor needs capabilities() and run(), and may have close()\n',
    );
    expect(result.stdout).toContain('16 passed, 0 warnings, 1 failed, 3 skipped: the server would not load this plugin.');
  });

  it('reports with --json, and takes the configuration with --config', () => {
    const broken = runCli(['plugins', 'verify', fixture('bad-config'), '--json'], {});
    const configured = runCli(['plugins', 'verify', fixture('bad-config'), '--json', '--config', '{"host": "gpu-1"}'], {});

    expect(broken.code).toBe(1);
    const report = JSON.parse(broken.stdout) as JsonReport;
    expect(report).toMatchObject({ ok: false, kind: 'directory', packageName: 'tensorify-executor-bad-config', counts: { fail: 1 } });
    expect(report.checks.filter((check) => check.status === 'fail')).toEqual([
      {
        rule: 'config',
        executor: 'strict-config',
        status: 'fail',
        message: 'invalid configuration: executors.strict-config/host is required',
        details: { given: {} },
      },
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

  it("installs the dependencies of a tarball with npm, the SDK the server's own copy, and passes it with exit code 0", () => {
    const library = npmPack(fixture('greeting-lib'), scratch);
    const tarball = packGreeter(scratch, 'greeter', `file:${library}`);

    const result = runCli(['plugins', 'verify', tarball, '--json', '--run'], {});

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report).toMatchObject({ ok: true, kind: 'tarball', packageName: 'tensorify-executor-greeter', counts: { fail: 0, warn: 0, skip: 0 } });
    const dependencies = report.checks.find((check) => check.rule === 'dependencies');
    expect(dependencies).toMatchObject({
      status: 'pass',
      message: `installed with npm: tensorify-fixture-greeting@1.0.0; @tensorify/executor-sdk is the server's own copy (${SDK_VERSION})`,
      details: { installer: 'npm', sdk: { dir: realpathSync(join(PACKAGE_ROOT, 'node_modules', '@tensorify', 'executor-sdk')), version: SDK_VERSION } },
    });
    expect(report.checks.find((check) => check.rule === 'capabilities')).toMatchObject({ status: 'pass', message: 'healthy, gpu false: Hello, Ada!' });
    // The temporary install is gone.
    expect(() => readdirSync(report.packagePath)).toThrow(/ENOENT/);
  });

  it('fails a tarball whose dependency cannot be installed with exit code 1, quoting npm', () => {
    const missing = join(scratch, 'nowhere', 'tensorify-fixture-greeting-1.0.0.tgz');
    const tarball = packGreeter(scratch, 'broken-greeter', `file:${missing}`);

    const json = runCli(['plugins', 'verify', tarball, '--json'], {});
    const text = runCli(['plugins', 'verify', tarball], {});

    expect(json.stderr).toBe('');
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as JsonReport;
    expect(report).toMatchObject({ ok: false, kind: 'tarball', counts: { fail: 1 } });
    const message = `cannot install its dependencies (@tensorify/executor-sdk, tensorify-fixture-greeting) with npm: ENOENT: no such file or directory, open '${missing}'`;
    expect(report.checks.filter((check) => check.status === 'fail')).toEqual([{ rule: 'dependencies', status: 'fail', message }]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`  FAIL  dependencies          ${message}\n`);
    expect(text.stdout).toContain('  skip  entry loads           not checked: its dependencies could not be installed\n');
    expect(text.stdout).not.toMatch(/\n\s+at /);
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
    expect(missing.stderr).toBe(
      `error: ${join(scratch, 'no-such-plugin')} does not exist: give a plugin directory, a .tgz made by npm pack, or an installed package's name\n`,
    );
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/^error: --config is no valid JSON: /);
    expect(noArgument.code).toBe(2);
    expect(noArgument.stderr).toContain("error: missing required argument 'path-or-package'");
  });
});
