import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../common/package-info';
import { loadExecutorPlugins } from '../plugin-loader';
import { type Check, formatReport, HELLO_OUTPUT, type RuleId, serverSdk, verifyPlugin, type VerifyReport, VerifyUsageError } from '.';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'plugins');
const fixture = (name: string) => path.join(FIXTURES, name);

const EXECUTOR_RULES: RuleId[] = [
  'entry-exists',
  'entry-loads',
  'exports-definition',
  'id',
  'display-name',
  'version',
  'create-function',
  'config-schema',
  'config',
  'create',
  'capabilities',
  'run',
  'close',
];

/** `{ rule: status }` of one executor's checks (or the package's, for `executor` undefined). */
function statuses(report: VerifyReport, executor?: string): Partial<Record<RuleId, string>> {
  return Object.fromEntries(report.checks.filter((check) => check.executor === executor).map((check) => [check.rule, check.status]));
}
const failures = (report: VerifyReport) =>
  report.checks.filter((check) => check.status === 'fail').map(({ rule, executor, message }) => ({ rule, executor, message }));
const check = (report: VerifyReport, rule: RuleId, executor?: string): Check | undefined =>
  report.checks.find((entry) => entry.rule === rule && (executor === undefined || entry.executor === executor));

describe(verifyPlugin.name, () => {
  let root: string;

  beforeEach(() => {
    root = realpathSync(mkdtempSync(path.join(tmpdir(), 'tensorify-verify-spec-')));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Writes a plugin package: package.json (with `packageJson` merged in) and index.js. */
  function writePlugin(name: string, source: string, packageJson: Record<string, unknown> = {}, id = name): string {
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    const manifest = { executorApiVersion: 1, executors: [{ id, entry: 'index.js' }] };
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name, version: '1.0.0', main: 'index.js', keywords: ['tensorify-executor'], tensorify: manifest, ...packageJson }),
    );
    writeFileSync(path.join(dir, 'index.js'), source);
    return dir;
  }
  /** A definition whose `create` is the given source. */
  const definition = (id: string, create: string, extra = '') =>
    `exports.default = { id: '${id}', displayName: '${id}', version: '1.0.0', configSchema: { type: 'object' }, create: ${create} ${extra} };`;
  const executorSource = (capabilities: string, run = 'async () => ({ exitCode: 0 })') => `() => ({ capabilities: ${capabilities}, run: ${run} })`;

  describe('the SDK version a plugin declares', () => {
    const serverVersion = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'plugins', 'executor-sdk', 'package.json'), 'utf8')) as { version: string }).version;
    const good = definition('sdkv', executorSource('async () => ({ gpu: false })'));

    it("passes a range the server's SDK satisfies", async () => {
      const report = await verifyPlugin(
        writePlugin('sdk-in-range', good, { dependencies: { '@tensorify/executor-sdk': `^${serverVersion.split('.')[0]}.0.0` } }, 'sdkv'),
      );
      expect(check(report, 'sdk-version')).toMatchObject({
        status: 'pass',
        message: expect.stringContaining(`which this server's copy (${serverVersion}) satisfies`),
      });
    });

    it('warns when it needs a newer SDK than the server has and bundles none, naming both versions and the fix', async () => {
      const report = await verifyPlugin(writePlugin('sdk-too-new', good, { peerDependencies: { '@tensorify/executor-sdk': '^99.0.0' } }, 'sdkv'));
      expect(check(report, 'sdk-version')).toMatchObject({
        status: 'warn',
        message: expect.stringMatching(
          new RegExp(`\\^99\\.0\\.0 \\(in "peerDependencies"\\), but this server's copy is ${serverVersion.replace(/\./g, '\\.')} .*"bundleDependencies"`),
        ),
      });
      expect(failures(report)).toEqual([]);
    });

    it('passes a bundled copy, whatever its version, and a spec that is not a range', async () => {
      const bundled = writePlugin('sdk-bundled', good, { dependencies: { '@tensorify/executor-sdk': '^99.0.0' } }, 'sdkv');
      mkdirSync(path.join(bundled, 'node_modules', '@tensorify', 'executor-sdk'), { recursive: true });
      writeFileSync(
        path.join(bundled, 'node_modules', '@tensorify', 'executor-sdk', 'package.json'),
        JSON.stringify({ name: '@tensorify/executor-sdk', version: '99.1.0' }),
      );
      expect(check(await verifyPlugin(bundled), 'sdk-version')).toMatchObject({ status: 'pass', message: expect.stringContaining('(99.1.0) is bundled') });

      const linked = writePlugin('sdk-file', good, { dependencies: { '@tensorify/executor-sdk': 'file:../tensorify-server/plugins/executor-sdk' } }, 'sdkv');
      expect(check(await verifyPlugin(linked), 'sdk-version')).toMatchObject({ status: 'pass', message: expect.stringContaining('is not a version range') });
    });

    it('passes a plugin that does not declare it', async () => {
      const report = await verifyPlugin(writePlugin('sdk-undeclared', good, {}, 'sdkv'));
      expect(check(report, 'sdk-version')).toMatchObject({ status: 'pass', message: expect.stringContaining('is not declared') });
    });
  });

  describe('the good fixture', () => {
    it('passes every rule, the hello run skipped without --run', async () => {
      const report = await verifyPlugin(fixture('good-executor'));

      expect(report).toMatchObject({
        target: fixture('good-executor'),
        kind: 'directory',
        packagePath: fixture('good-executor'),
        packageName: 'tensorify-executor-echo',
        packageVersion: '1.2.0',
        executorApiVersion: 1,
        ok: true,
        counts: { pass: 19, warn: 0, fail: 0, skip: 1 },
      });
      expect(statuses(report)).toEqual({
        'package-json': 'pass',
        'manifest-field': 'pass',
        'executor-api-version': 'pass',
        manifest: 'pass',
        keyword: 'pass',
        main: 'pass',
        'sdk-version': 'pass',
      });
      expect(statuses(report, 'echo')).toEqual({ ...Object.fromEntries(EXECUTOR_RULES.map((rule) => [rule, 'pass'])), run: 'skip' });
      expect(check(report, 'config')).toMatchObject({
        message: '{} is valid; with its defaults: {"greeting":"hello"}',
        details: { given: {}, config: { greeting: 'hello' } },
      });
      expect(check(report, 'capabilities')).toMatchObject({ message: 'healthy, gpu false: greets with "hello"' });
      expect(report.logs).toContainEqual({ executor: 'echo', level: 'info', message: 'echo executor ready' });
    });

    it('lists the rules in order, the package first', async () => {
      const report = await verifyPlugin(fixture('good-executor'));

      expect(report.checks.map((entry) => entry.rule)).toEqual([
        'package-json',
        'manifest-field',
        'executor-api-version',
        'manifest',
        'keyword',
        'main',
        'sdk-version',
        ...EXECUTOR_RULES,
      ]);
    });

    it('resolves a relative path from cwd', async () => {
      const report = await verifyPlugin(path.join('plugins', 'good-executor'), { cwd: path.dirname(FIXTURES) });

      expect(report).toMatchObject({ ok: true, packagePath: fixture('good-executor') });
    });

    it("passes the configuration given, and fails one of the wrong type with the server's message", async () => {
      const greeted = await verifyPlugin(fixture('good-executor'), { config: { greeting: 'bonjour' } });
      const wrong = await verifyPlugin(fixture('good-executor'), { config: { greeting: 42 } });

      expect(check(greeted, 'capabilities')?.message).toBe('healthy, gpu false: greets with "bonjour"');
      expect(failures(wrong)).toEqual([{ rule: 'config', executor: 'echo', message: 'invalid configuration: executors.echo/greeting must be string' }]);
      expect(statuses(wrong, 'echo')).toMatchObject({ create: 'skip', capabilities: 'skip', run: 'skip', close: 'skip' });
    });

    it('fails the hello run with --run: it echoes the inputs instead of running the program', async () => {
      const report = await verifyPlugin(fixture('good-executor'), { run: true });

      expect(failures(report)).toEqual([
        { rule: 'run', executor: 'echo', message: 'the golden hello program exited with 0 but output {"name":"Ada"}, not {"result":"Hello, Ada!"}' },
      ]);
    });
  });

  describe('each broken fixture fails its rule, with the message the server gives as its loadError', () => {
    it.each([
      [
        'throws-on-import',
        undefined,
        [{ rule: 'entry-loads', executor: 'throws-on-import', message: 'entry index.js threw while loading: cannot find the native docker binding' }],
      ],
      [
        'future-api',
        undefined,
        [
          {
            rule: 'executor-api-version',
            executor: undefined,
            message: 'declares executorApiVersion 2, but this server speaks executorApiVersion 1: install a release of the plugin made for executor API 1',
          },
        ],
      ],
      [
        'lacks-run',
        undefined,
        [
          {
            rule: 'create',
            executor: 'lacks-run',
            message: 'create() returned an executor without run(): an executor needs capabilities() and run(), and may have close()',
          },
        ],
      ],
      [
        'bad-manifest',
        undefined,
        [{ rule: 'manifest', executor: undefined, message: 'invalid manifest ("tensorify" in package.json): tensorify/executors is required' }],
      ],
      ['bad-config', undefined, [{ rule: 'config', executor: 'strict-config', message: 'invalid configuration: executors.strict-config/host is required' }]],
      [
        'bad-config',
        { host: 'gpu-1', port: 'twenty-two' },
        [{ rule: 'config', executor: 'strict-config', message: 'invalid configuration: executors.strict-config/port must be integer' }],
      ],
    ])('%s (config %j)', async (name, config, expected) => {
      const report = await verifyPlugin(fixture(name), { config });
      const [plugin] = await loadExecutorPlugins({
        firstPartyDir: path.join(root, 'none'),
        nodeModulesDirs: [],
        extra: [fixture(name)],
        configs: config === undefined ? {} : { [plugin0Id(name)]: config },
        dataDir: path.join(root, 'data'),
        logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      });

      expect(report.ok).toBe(false);
      expect(failures(report)).toEqual(expected);
      // The server and verify never disagree: the server's loadError is the failed rule's message.
      expect(plugin.loadError).toBe(expected[0].message);
    });

    it('future-api: nothing of the package is loaded, every executor rule is skipped', async () => {
      const report = await verifyPlugin(fixture('future-api'));

      expect(statuses(report)).toMatchObject({ 'executor-api-version': 'fail', manifest: 'skip', keyword: 'pass', main: 'pass' });
      expect(statuses(report, 'future')).toEqual(Object.fromEntries(EXECUTOR_RULES.map((rule) => [rule, 'skip'])));
      expect(check(report, 'entry-loads', 'future')?.message).toBe('not checked: the manifest is for executor API 2: no code of it is loaded');
    });

    it('bad-config passes with a configuration that has its required host, the defaults filled in', async () => {
      const report = await verifyPlugin(fixture('bad-config'), { config: { host: 'gpu-1' } });

      expect(report.ok).toBe(true);
      expect(check(report, 'config')?.details).toEqual({ given: { host: 'gpu-1' }, config: { host: 'gpu-1', port: 22, mode: 'safe' } });
      expect(check(report, 'capabilities')?.message).toBe('healthy, gpu false: gpu-1:22 (safe)');
    });
  });

  describe('every rule of a definition', () => {
    it("fails each broken field on its own, with the loader's words, and does not call create()", async () => {
      const source = `exports.executor = { id: 'other', displayName: '', version: 'latest', configSchema: { type: 'no-such-type' } };`;
      const report = await verifyPlugin(writePlugin('malformed', source));

      expect(failures(report)).toEqual([
        { rule: 'id', executor: 'malformed', message: 'id "other" must equal the manifest\'s id "malformed"' },
        { rule: 'display-name', executor: 'malformed', message: 'displayName must be a non-empty string' },
        { rule: 'version', executor: 'malformed', message: 'version "latest" must be a semantic version such as "1.0.0"' },
        { rule: 'create-function', executor: 'malformed', message: 'create must be a function' },
        {
          rule: 'config-schema',
          executor: 'malformed',
          message:
            'configSchema is not a valid JSON Schema (schema is invalid: data/type must be equal to one of the allowed values, ' +
            'data/type must be array, data/type must match a schema in anyOf)',
        },
      ]);
      expect(statuses(report, 'malformed')).toMatchObject({ 'exports-definition': 'pass', config: 'skip', create: 'skip' });
    });

    it('fails an entry that exports no definition, and an entry that is not built', async () => {
      const empty = await verifyPlugin(writePlugin('empty', 'exports.other = 1;'));
      const unbuilt = writePlugin('unbuilt', '');
      rmSync(path.join(unbuilt, 'index.js'));

      expect(failures(empty)).toEqual([
        {
          rule: 'exports-definition',
          executor: 'empty',
          message: 'entry index.js exports no executor definition (expected a default export or an export named "executor", made with defineExecutor)',
        },
      ]);
      const report = await verifyPlugin(unbuilt);
      expect(failures(report)).toEqual([{ rule: 'entry-exists', executor: 'unbuilt', message: 'entry index.js does not exist (is the plugin built?)' }]);
      expect(check(report, 'main')).toMatchObject({ status: 'warn' });
    });

    it('fails a create() that throws or does not finish in time', async () => {
      const throws = await verifyPlugin(writePlugin('fails', definition('fails', `() => { throw new Error('docker socket not reachable'); }`)));
      const hangs = await verifyPlugin(writePlugin('hangs', definition('hangs', '() => new Promise(() => {})')), { createTimeoutMs: 50 });

      expect(failures(throws)).toEqual([{ rule: 'create', executor: 'fails', message: 'create() failed: docker socket not reachable' }]);
      expect(failures(hangs)).toEqual([{ rule: 'create', executor: 'hangs', message: 'create() did not finish within 50 ms' }]);
    });

    it('fails capabilities() that hang, throw or answer the wrong shape, and warns of an unhealthy answer', async () => {
      const verify = (name: string, capabilities: string) =>
        verifyPlugin(writePlugin(name, definition(name, executorSource(capabilities))), { capabilitiesTimeoutMs: 50 });

      const hangs = await verify('hangs', '() => new Promise(() => {})');
      const throws = await verify('throws', 'async () => { throw new Error("engine down"); }');
      const noGpu = await verify('no-gpu', 'async () => ({ healthy: true })');
      const badGpus = await verify('bad-gpus', 'async () => ({ gpu: true, gpus: [{ vendor: "nvidia" }] })');
      const unhealthy = await verify('unhealthy', 'async () => ({ gpu: false, healthy: false, detail: "docker engine not reachable" })');

      expect(failures(hangs)).toEqual([{ rule: 'capabilities', executor: 'hangs', message: 'capabilities did not answer within 50 ms' }]);
      expect(failures(throws)).toEqual([{ rule: 'capabilities', executor: 'throws', message: 'capabilities failed: engine down' }]);
      expect(failures(noGpu)).toEqual([{ rule: 'capabilities', executor: 'no-gpu', message: 'capabilities answered without a boolean "gpu"' }]);
      expect(failures(badGpus)[0].message).toBe('capabilities answered "gpus[0]" {"vendor":"nvidia"}, not { model: string, vendor?: string, vramMb?: number }');
      expect(unhealthy.ok).toBe(true);
      expect(check(unhealthy, 'capabilities')).toMatchObject({ status: 'warn', message: 'answered unhealthy: docker engine not reachable' });
    });

    it('runs the hello program with --run: passes the expected output, fails another exit code with its last stderr line', async () => {
      const passes = `async (job, context) => { context.log('stdout', job.files['main.py'].length > 0 ? 'ran' : 'empty'); return { exitCode: 0, output: ${JSON.stringify(HELLO_OUTPUT)} }; }`;
      const crashes = `async (job, context) => { context.log('stderr', 'ModuleNotFoundError: No module named utils'); return { exitCode: 1 }; }`;
      const good = await verifyPlugin(writePlugin('runs', definition('runs', executorSource('async () => ({ gpu: false })', passes))), { run: true });
      const bad = await verifyPlugin(writePlugin('crashes', definition('crashes', executorSource('async () => ({ gpu: false })', crashes))), { run: true });

      expect(check(good, 'run')).toMatchObject({
        status: 'pass',
        message: 'the golden hello program exited with 0 and output {"result":"Hello, Ada!"}',
        details: { inputs: { name: 'Ada' }, exitCode: 0, lines: [{ stream: 'stdout', line: 'ran' }] },
      });
      expect(failures(bad)).toEqual([
        { rule: 'run', executor: 'crashes', message: 'the golden hello program exited with 1; last line: ModuleNotFoundError: No module named utils' },
      ]);
    });

    it('aborts a hello run that outlives its time limit, and fails it', async () => {
      const stops = `(job, context) => new Promise((resolve) => context.signal.addEventListener('abort', () => resolve({ exitCode: null })))`;
      const report = await verifyPlugin(writePlugin('slow', definition('slow', executorSource('async () => ({ gpu: false })', stops))), {
        run: true,
        runTimeoutMs: 50,
      });

      expect(failures(report)).toEqual([{ rule: 'run', executor: 'slow', message: 'the golden hello program did not finish within 50 ms (exit code null)' }]);
    });

    it('warns of a close() that fails, of a missing keyword and main, and of a version out of step with package.json', async () => {
      const source = definition(
        'sloppy',
        `() => ({ capabilities: async () => ({ gpu: false }), run: async () => ({ exitCode: 0 }), close: async () => { throw new Error('busy'); } })`,
      );
      const dir = writePlugin('sloppy', source, { keywords: ['tensorify'], main: 'dist/index.js', version: '2.0.0' });

      const report = await verifyPlugin(dir);

      expect(report.ok).toBe(true);
      expect(report.checks.filter((entry) => entry.status === 'warn').map(({ rule, message }) => ({ rule, message }))).toEqual([
        { rule: 'keyword', message: '"keywords" lacks "tensorify-executor": the server loads it, but npm search will not list it as an executor plugin' },
        {
          rule: 'main',
          message: '"main" dist/index.js does not exist (is the package built?): the server loads the manifest\'s entries, but require() of the package fails',
        },
        { rule: 'version', message: "1.0.0, but package.json says 2.0.0: keep them in step (GET /v1/executors shows the definition's)" },
        { rule: 'close', message: 'close() failed: busy' },
      ]);
    });
  });

  describe('packages', () => {
    it('fails a package without the manifest field, and one whose package.json is not JSON', async () => {
      const library = path.join(root, 'library');
      mkdirSync(library);
      writeFileSync(path.join(library, 'package.json'), JSON.stringify({ name: 'just-a-library', version: '2.0.0' }));
      const broken = path.join(root, 'broken');
      mkdirSync(broken);
      writeFileSync(path.join(broken, 'package.json'), '{ "name": ');

      const notPlugin = await verifyPlugin(library);
      const unreadable = await verifyPlugin(broken);

      expect(failures(notPlugin)).toEqual([
        { rule: 'manifest-field', executor: undefined, message: 'package.json has no "tensorify" field: this package is not an executor plugin' },
      ]);
      expect(failures(unreadable)).toEqual([{ rule: 'package-json', executor: undefined, message: expect.stringMatching(/^cannot read its package\.json: /) }]);
      expect(unreadable.checks.filter((entry) => entry.status !== 'fail').every((entry) => entry.status === 'skip')).toBe(true);
    });

    it('checks every executor of a package, each with its configuration keyed by id', async () => {
      const dir = writePlugin('pair', '');
      writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify({
          name: 'pair',
          version: '1.0.0',
          keywords: ['tensorify-executor'],
          tensorify: {
            executorApiVersion: 1,
            executors: [
              { id: 'one', entry: 'one.js' },
              { id: 'two', entry: 'two.js' },
            ],
          },
        }),
      );
      const strict = (id: string) =>
        `exports.default = { id: '${id}', displayName: '${id}', version: '1.0.0', configSchema: { type: 'object', required: ['host'] }, create: ${executorSource('async () => ({ gpu: false })')} };`;
      writeFileSync(path.join(dir, 'one.js'), strict('one'));
      writeFileSync(path.join(dir, 'two.js'), strict('two'));

      const report = await verifyPlugin(dir, { config: { one: { host: 'a' } } });

      expect(failures(report)).toEqual([{ rule: 'config', executor: 'two', message: 'invalid configuration: executors.two/host is required' }]);
      expect(statuses(report, 'one').create).toBe('pass');
    });

    it("finds an installed package by name from cwd's node_modules (or a parent's)", async () => {
      cpSync(fixture('good-executor'), path.join(root, 'node_modules', '@acme', 'echo'), { recursive: true });
      const cwd = path.join(root, 'project', 'src');
      mkdirSync(cwd, { recursive: true });

      const report = await verifyPlugin('@acme/echo', { cwd });

      expect(report).toMatchObject({ kind: 'package', ok: true, packagePath: path.join(root, 'node_modules', '@acme', 'echo') });
    });

    it('extracts a packed tarball to a temporary directory, checks it, and removes it', async () => {
      cpSync(fixture('good-executor'), path.join(root, 'pack', 'package'), { recursive: true });
      const tarball = path.join(root, 'tensorify-executor-echo-1.2.0.tgz');
      execFileSync('tar', ['-czf', tarball, '-C', path.join(root, 'pack'), 'package']);

      const report = await verifyPlugin(tarball);

      expect(report).toMatchObject({ kind: 'tarball', ok: true, packageName: 'tensorify-executor-echo' });
      expect(check(report, 'dependencies')).toMatchObject({ status: 'pass', message: 'none declared: checked as extracted, without npm' });
      expect(path.basename(report.packagePath)).toBe('package');
      expect(existsSync(report.packagePath)).toBe(false);
    });

    it('names a module the tarball requires without declaring it', async () => {
      const report = await verifyPlugin(pack(fixture('lacks-run'), 'lacks-run'));

      expect(failures(report)).toEqual([
        {
          rule: 'entry-loads',
          executor: 'lacks-run',
          message: expect.stringMatching(
            /^entry index\.js threw while loading: Cannot find module '@tensorify\/executor-sdk'.*\(@tensorify\/executor-sdk is not in the "dependencies" of package\.json: a tarball is verified as npm installs it, with only the dependencies it declares\)$/s,
          ),
        },
      ]);
      expect(check(report, 'dependencies')?.status).toBe('pass');
    });

    it('names a file of its own that the tarball lacks', async () => {
      const dir = writePlugin('unpacked-file', "require('./lib/helper');");

      const report = await verifyPlugin(pack(dir, 'unpacked-file'));

      expect(check(report, 'entry-loads')?.message).toMatch(
        /^entry index\.js threw while loading: Cannot find module '\.\/lib\/helper'.*\(the tarball lacks that file: is it in "files" of package\.json, and was the plugin built before npm pack\?\)$/s,
      );
    });
  });

  /** Packs `dir` as npm pack does (everything under package/), with `edit` applied to its package.json; returns the .tgz. */
  function pack(dir: string, name: string, edit: (packageJson: Record<string, unknown>) => void = () => undefined, extra: Record<string, string> = {}): string {
    const staging = path.join(root, `pack-${name}`);
    cpSync(dir, path.join(staging, 'package'), { recursive: true });
    const file = path.join(staging, 'package', 'package.json');
    const packageJson = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(packageJson);
    writeFileSync(file, JSON.stringify(packageJson));
    for (const [from, to] of Object.entries(extra)) cpSync(from, path.join(staging, 'package', to), { recursive: true });
    const tarball = path.join(root, `${name}.tgz`);
    execFileSync('tar', ['-czf', tarball, '-C', staging, 'package']);
    return tarball;
  }
  /** The uses-dependency fixture, its library dependency packed and named by absolute path (a relative file: spec would be resolved against the installing project). */
  function greeterTarball(
    name: string,
    edit: (dependencies: Record<string, string>, packageJson: Record<string, unknown>) => void = () => undefined,
    extra?: Record<string, string>,
  ): string {
    const library = pack(fixture('greeting-lib'), `${name}-lib`);
    return pack(
      fixture('uses-dependency'),
      name,
      (packageJson) => {
        const dependencies = packageJson.dependencies as Record<string, string>;
        dependencies['tensorify-fixture-greeting'] = `file:${library}`;
        edit(dependencies, packageJson);
      },
      extra,
    );
  }
  const pluginTemps = () => readdirSync(tmpdir()).filter((name) => name.startsWith('tensorify-verify-pkg-')).length;

  describe('a tarball with dependencies', () => {
    it("is installed with npm into a temporary directory, the SDK the server's own copy, and passes", async () => {
      const before = pluginTemps();
      const sdk = await serverSdk();

      const report = await verifyPlugin(greeterTarball('greeter'));

      expect(report).toMatchObject({ kind: 'tarball', ok: true, packageName: 'tensorify-executor-greeter', counts: { fail: 0, warn: 0 } });
      expect(report.packagePath).toMatch(/tensorify-verify-pkg-[^/]+\/npm\/node_modules\/tensorify-executor-greeter$/);
      expect(check(report, 'dependencies')).toEqual({
        rule: 'dependencies',
        status: 'pass',
        message: `installed with npm: tensorify-fixture-greeting@1.0.0; @tensorify/executor-sdk is the server's own copy (${sdk.version})`,
        details: {
          installer: 'npm',
          declared: ['@tensorify/executor-sdk', 'tensorify-fixture-greeting'],
          installed: ['tensorify-fixture-greeting@1.0.0'],
          skippedScripts: [],
          sdk,
        },
      });
      expect(check(report, 'capabilities')?.message).toBe('healthy, gpu false: Hello, Ada!');
      expect(formatReport(report).split('\n')[0]).toMatch(
        /^Plugin tensorify-executor-greeter 1\.0\.0 at .* \(installed with npm from .*greeter\.tgz\), against executor API 1$/,
      );
      expect(existsSync(report.packagePath)).toBe(false);
      expect(pluginTemps()).toBe(before);
    });

    it("resolves the SDK to the server's copy as a peer dependency, and for a range the server's SDK is not in", async () => {
      const peer = await verifyPlugin(
        greeterTarball('peer', (dependencies, packageJson) => {
          delete dependencies['@tensorify/executor-sdk'];
          packageJson.peerDependencies = { '@tensorify/executor-sdk': '^1.0.0' };
        }),
      );
      const future = await verifyPlugin(greeterTarball('future-sdk', (dependencies) => (dependencies['@tensorify/executor-sdk'] = '^9.0.0')));

      expect(peer).toMatchObject({ ok: true, counts: { fail: 0 } });
      expect(check(peer, 'dependencies')?.message).toMatch(/@tensorify\/executor-sdk is the server's own copy/);
      expect(future).toMatchObject({ ok: true, counts: { fail: 0 } });
    });

    it('needs no npm when the SDK is its only dependency not bundled in the tarball', async () => {
      const greeting = fixture('greeting-lib');
      const report = await verifyPlugin(
        pack(fixture('uses-dependency'), 'bundled', (packageJson) => (packageJson.bundleDependencies = ['tensorify-fixture-greeting']), {
          [greeting]: 'node_modules/tensorify-fixture-greeting',
        }),
      );

      expect(report).toMatchObject({ ok: true, counts: { fail: 0 } });
      expect(path.basename(report.packagePath)).toBe('package');
      expect(check(report, 'dependencies')).toMatchObject({
        status: 'pass',
        message: `@tensorify/executor-sdk is the server's own copy (${(await serverSdk()).version}), linked without npm; bundled in the tarball: tensorify-fixture-greeting`,
        details: { installer: 'none' },
      });
    });

    it("fails the dependencies rule with npm's error when a dependency cannot be installed, and checks no executor", async () => {
      const before = pluginTemps();
      const missing = path.join(root, 'nowhere', 'tensorify-fixture-greeting-1.0.0.tgz');

      const report = await verifyPlugin(
        greeterTarball('broken-dependency', (dependencies) => (dependencies['tensorify-fixture-greeting'] = `file:${missing}`)),
      );

      expect(report.ok).toBe(false);
      expect(failures(report)).toEqual([
        {
          rule: 'dependencies',
          executor: undefined,
          message: `cannot install its dependencies (@tensorify/executor-sdk, tensorify-fixture-greeting) with npm: ENOENT: no such file or directory, open '${missing}'`,
        },
      ]);
      expect(statuses(report, 'greeter')).toEqual(Object.fromEntries(EXECUTOR_RULES.map((rule) => [rule, 'skip'])));
      expect(check(report, 'entry-loads')?.message).toBe('not checked: its dependencies could not be installed');
      expect(pluginTemps()).toBe(before);
    });

    it('fails quickly, quoting npm, when the registry cannot be reached', async () => {
      const registry = process.env.npm_config_registry;
      process.env.npm_config_registry = 'http://127.0.0.1:9/'; // nothing listens there: connection refused
      try {
        const started = Date.now();
        const report = await verifyPlugin(greeterTarball('offline', (dependencies) => (dependencies['tensorify-verify-no-such-package'] = '^1.0.0')));

        expect(failures(report)).toEqual([
          {
            rule: 'dependencies',
            executor: undefined,
            message: expect.stringMatching(
              /^cannot install its dependencies \(@tensorify\/executor-sdk, tensorify-fixture-greeting, tensorify-verify-no-such-package\) with npm: .*request to http:\/\/127\.0\.0\.1:9\/tensorify-verify-no-such-package failed, reason: connect ECONNREFUSED 127\.0\.0\.1:9$/,
            ),
          },
        ]);
        expect(Date.now() - started).toBeLessThan(20_000);
      } finally {
        if (registry === undefined) delete process.env.npm_config_registry;
        else process.env.npm_config_registry = registry;
      }
    });

    it('gives up on an npm install that outlives its time limit', async () => {
      const report = await verifyPlugin(greeterTarball('slow'), { installTimeoutMs: 1 });

      expect(failures(report)).toEqual([
        {
          rule: 'dependencies',
          executor: undefined,
          message:
            'cannot install its dependencies (@tensorify/executor-sdk, tensorify-fixture-greeting) with npm: npm install did not finish within 1 ms (is the registry slow or unreachable?)',
        },
      ]);
    });

    it('runs no install script, and warns of those it skipped', async () => {
      const scripted = path.join(root, 'scripted');
      mkdirSync(scripted);
      writeFileSync(
        path.join(scripted, 'package.json'),
        JSON.stringify({ name: 'scripted-dependency', version: '2.0.0', scripts: { postinstall: "node -e \"require('fs').writeFileSync('ran', '')\"" } }),
      );
      writeFileSync(path.join(scripted, 'index.js'), '');
      const scriptedTarball = pack(scripted, 'scripted-dependency');

      const report = await verifyPlugin(greeterTarball('with-script', (dependencies) => (dependencies['scripted-dependency'] = `file:${scriptedTarball}`)));

      expect(report.ok).toBe(true);
      expect(check(report, 'dependencies')).toMatchObject({
        status: 'warn',
        message: expect.stringMatching(
          /^installed with npm: scripted-dependency@2\.0\.0, tensorify-fixture-greeting@1\.0\.0; .*; install scripts not run \(verify runs none\): scripted-dependency$/,
        ),
      });
    });

    it('skips the dependencies of a tarball the server would not load code of', async () => {
      const report = await verifyPlugin(pack(fixture('future-api'), 'future', (packageJson) => (packageJson.dependencies = { 'left-pad': '^1.0.0' })));

      expect(check(report, 'dependencies')).toMatchObject({
        status: 'skip',
        message: 'not checked: the manifest is for executor API 2: no code of it is loaded',
      });
    });

    it('leaves no temporary directory behind', async () => {
      const before = readdirSync(tmpdir()).filter((name) => name.startsWith('tensorify-verify-')).length;
      await verifyPlugin(fixture('good-executor'));
      expect(readdirSync(tmpdir()).filter((name) => name.startsWith('tensorify-verify-'))).toHaveLength(before);
    });
  });

  describe('usage errors', () => {
    it('refuses a path that does not exist, a package that is not installed, and a file that is no plugin', async () => {
      writeFileSync(path.join(root, 'notes.txt'), 'hi');

      await expect(verifyPlugin('./no-such-dir', { cwd: root })).rejects.toThrow(
        new VerifyUsageError(
          `${path.join(root, 'no-such-dir')} does not exist: give a plugin directory, a .tgz made by npm pack, or an installed package's name`,
        ),
      );
      await expect(verifyPlugin('tensorify-executor-nothing', { cwd: root })).rejects.toThrow(
        /^"tensorify-executor-nothing" is neither a directory, a \.tgz file, nor a package installed in /,
      );
      await expect(verifyPlugin('notes.txt', { cwd: root })).rejects.toThrow(
        'notes.txt is a file, but neither a packed plugin (.tgz, made by npm pack) nor a package.json',
      );
    });

    it('refuses a tarball tar cannot read', async () => {
      writeFileSync(path.join(root, 'broken.tgz'), 'not gzip');

      await expect(verifyPlugin(path.join(root, 'broken.tgz'))).rejects.toThrow(/^cannot extract .*broken\.tgz with tar: /);
    });
  });
});

/** The executor id of a fixture, for its configuration. */
function plugin0Id(name: string): string {
  return ({ 'bad-config': 'strict-config' } as Record<string, string>)[name] ?? name;
}
