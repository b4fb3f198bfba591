import type { ExecutionContext, ExecutionJob, LogStream, PluginLogger } from '@tensorify/executor-sdk';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type LoadedPlugin, loadExecutorPlugins, type PluginLoaderOptions } from './plugin-loader';

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'plugins');
const fixture = (name: string) => path.join(FIXTURES, name);

interface LogEntry {
  level: keyof PluginLogger;
  message: string;
  details?: Record<string, unknown>;
}

function recordingLogger(entries: LogEntry[]): PluginLogger {
  const record = (level: keyof PluginLogger) => (message: string, details?: Record<string, unknown>) => entries.push({ level, message, details });
  return { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

function fakeJob(inputs: Record<string, unknown>): ExecutionJob {
  return {
    executionId: 'exec_test',
    workflowId: 'wf_test',
    workflowVersion: 1,
    files: { 'main.py': 'print(1)\n', 'utils.py': '', 'requirements.txt': '' },
    inputs,
    env: {},
    gpu: false,
    timeoutMs: 60_000,
  };
}

function fakeContext(lines: { stream: LogStream; line: string }[]): ExecutionContext {
  return { signal: new AbortController().signal, log: (stream, line) => lines.push({ stream, line }), setExternalId: () => undefined };
}

/** Writes a small plugin package: `package.json` with the manifest field and `index.js` with the given source. */
function writePlugin(dir: string, manifest: unknown, source: string, name = path.basename(dir)): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '0.0.1', keywords: ['tensorify-executor'], tensorify: manifest }));
  writeFileSync(path.join(dir, 'index.js'), source);
  return dir;
}

const definitionSource = (id: string, create: string) =>
  `exports.default = { id: '${id}', displayName: '${id}', version: '1.0.0', configSchema: { type: 'object' }, create: ${create} };`;

describe(loadExecutorPlugins.name, () => {
  let root: string;
  let nodeModules: string;
  let logs: LogEntry[];

  beforeEach(() => {
    root = realpathSync(mkdtempSync(path.join(tmpdir(), 'tensorify-plugins-')));
    nodeModules = path.join(root, 'node_modules');
    mkdirSync(nodeModules);
    logs = [];
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const load = (options: Partial<PluginLoaderOptions> = {}) =>
    loadExecutorPlugins({
      firstPartyDir: path.join(root, 'no-first-party'),
      nodeModulesDirs: [nodeModules],
      extra: [],
      configs: {},
      dataDir: path.join(root, 'data'),
      logger: recordingLogger(logs),
      ...options,
    });
  const install = (name: string, from = fixture('good-executor')) => {
    cpSync(from, path.join(nodeModules, name), { recursive: true });
    return path.join(nodeModules, name);
  };
  const summary = ({ id, packageName, source, loadError }: LoadedPlugin) => ({ id, packageName, source, loadError });
  const loadedIds = (plugins: LoadedPlugin[]) => plugins.filter((plugin) => plugin.executor).map((plugin) => plugin.id);

  describe('an installed third-party plugin', () => {
    it('is found in node_modules, described from its definition and package', async () => {
      const packagePath = install('tensorify-executor-echo');

      const [echo, ...others] = await load();

      expect(others).toEqual([]);
      expect(echo).toEqual({
        id: 'echo',
        displayName: 'Echo (prints the inputs)',
        version: '1.2.0',
        packageName: 'tensorify-executor-echo',
        packagePath,
        source: 'installed',
        executor: expect.objectContaining({ run: expect.any(Function), capabilities: expect.any(Function) }),
      });
      expect(logs).toContainEqual(expect.objectContaining({ level: 'info', message: 'Executor "echo" loaded (Echo (prints the inputs) 1.2.0)' }));
    });

    it('runs a job: logs the inputs with the default greeting and returns them as its output', async () => {
      install('tensorify-executor-echo');
      const [{ executor }] = await load();
      const lines: { stream: LogStream; line: string }[] = [];

      const result = await executor!.run(fakeJob({ n: 1, text: 'hi' }), fakeContext(lines));

      expect(lines).toEqual([{ stream: 'stdout', line: 'hello {"n":1,"text":"hi"}' }]);
      expect(result).toEqual({ exitCode: 0, output: { n: 1, text: 'hi' } });
    });

    it('is found under an @scope folder and through a symlink, once per real package', async () => {
      const packagePath = install('tensorify-executor-echo');
      mkdirSync(path.join(nodeModules, '@acme'));
      symlinkSync(packagePath, path.join(nodeModules, '@acme', 'echo-link'), 'dir');
      const scoped = path.join(root, 'other-node-modules');
      mkdirSync(path.join(scoped, '@acme'), { recursive: true });
      symlinkSync(packagePath, path.join(scoped, '@acme', 'echo'), 'dir');

      const plugins = await load({ nodeModulesDirs: [scoped, nodeModules] });

      expect(plugins.map(summary)).toEqual([{ id: 'echo', packageName: 'tensorify-executor-echo', source: 'installed', loadError: undefined }]);
    });

    it('gets its own data dir and a logger that names it', async () => {
      install('tensorify-executor-echo');

      await load();

      const dataDir = path.join(root, 'data', 'executors', 'echo');
      expect(existsSync(dataDir)).toBe(true);
      expect(logs).toContainEqual({ level: 'info', message: 'echo executor ready', details: { dataDir, executor: 'echo' } });
    });

    it('ignores installed packages without the manifest field', async () => {
      writeFileSync(path.join(install('plain-library'), 'package.json'), JSON.stringify({ name: 'plain-library', version: '1.0.0' }));

      expect(await load()).toEqual([]);
    });

    it('leaves node packs (nodeApiVersion and no executorApiVersion) to the node-pack loader', async () => {
      writeFileSync(
        path.join(install('node-pack'), 'package.json'),
        JSON.stringify({ name: 'node-pack', version: '1.0.0', tensorify: { nodeApiVersion: 1, nodes: 'nodes', namespace: 'acme' } }),
      );
      writePlugin(
        path.join(nodeModules, 'both'),
        { executorApiVersion: 1, nodeApiVersion: 1, executors: [{ id: 'both', entry: 'index.js' }] },
        definitionSource('both', '() => ({ capabilities: () => ({}), run: async () => ({}) })'),
      );

      expect((await load()).map(summary)).toEqual([{ id: 'both', packageName: 'both', source: 'installed', loadError: undefined }]);
    });
  });

  describe('broken plugins', () => {
    it('each get a precise loadError while the good plugin of the same load still loads', async () => {
      install('tensorify-executor-echo');
      const broken = ['throws-on-import', 'future-api', 'lacks-run', 'bad-manifest', 'bad-config'].map(fixture);

      const plugins = await load({ extra: broken, configs: { 'strict-config': { host: 'gpu-box', port: 'twenty-two' } } });

      expect(plugins.map(summary)).toEqual([
        {
          id: 'throws-on-import',
          packageName: 'tensorify-executor-throws-on-import',
          source: 'configured',
          loadError: 'entry index.js threw while loading: cannot find the native docker binding',
        },
        {
          id: 'future',
          packageName: 'tensorify-executor-future-api',
          source: 'configured',
          loadError: 'declares executorApiVersion 2, but this server speaks executorApiVersion 1: install a release of the plugin made for executor API 1',
        },
        {
          id: 'lacks-run',
          packageName: 'tensorify-executor-lacks-run',
          source: 'configured',
          loadError: 'create() returned an executor without run(): an executor needs capabilities() and run(), and may have close()',
        },
        {
          id: null,
          packageName: 'tensorify-executor-bad-manifest',
          source: 'configured',
          loadError: 'invalid manifest ("tensorify" in package.json): tensorify/executors is required',
        },
        {
          id: 'strict-config',
          packageName: 'tensorify-executor-bad-config',
          source: 'configured',
          loadError: 'invalid configuration: executors.strict-config/port must be integer',
        },
        { id: 'echo', packageName: 'tensorify-executor-echo', source: 'installed', loadError: undefined },
      ]);
      expect(loadedIds(plugins)).toEqual(['echo']);
      expect(logs.filter((entry) => entry.level === 'warn').map((entry) => entry.message)).toContain(
        'Executor plugin tensorify-executor-lacks-run ("lacks-run") not loaded: ' +
          'create() returned an executor without run(): an executor needs capabilities() and run(), and may have close()',
      );
    });

    it('refuses another executorApiVersion from the manifest, before requiring the entry (which would throw)', async () => {
      const [future] = await load({ extra: [fixture('future-api')] });

      expect(future.loadError).toMatch(/^declares executorApiVersion 2, but this server speaks executorApiVersion 1/);
      expect(future.loadError).not.toContain('required');
      expect(future).toMatchObject({ displayName: 'tensorify-executor-future-api', version: '3.0.0' });
    });

    it('keeps the display name and version of a definition that failed later', async () => {
      const [strict] = await load({ extra: [fixture('bad-config')], configs: { 'strict-config': {} } });

      expect(strict).toMatchObject({
        displayName: 'Strict config',
        version: '0.1.0',
        loadError: 'invalid configuration: executors.strict-config/host is required',
      });
      expect(strict.executor).toBeUndefined();
    });

    it('reports an entry that does not exist as unbuilt', async () => {
      const dir = writePlugin(path.join(root, 'unbuilt'), { executorApiVersion: 1, executors: [{ id: 'unbuilt', entry: 'dist/index.js' }] }, '');

      const [unbuilt] = await load({ extra: [dir] });

      expect(unbuilt.loadError).toBe('entry dist/index.js does not exist (is the plugin built?)');
    });

    it('refuses an entry outside its package without loading it', async () => {
      writeFileSync(path.join(root, 'outside.js'), 'throw new Error("must not load");');
      const dir = writePlugin(path.join(root, 'escapes'), { executorApiVersion: 1, executors: [{ id: 'escapes', entry: '../outside.js' }] }, '');

      const [escapes] = await load({ extra: [dir] });

      expect(escapes.loadError).toBe(
        'invalid manifest ("tensorify" in package.json): entry "../outside.js" of "escapes" must be a relative path inside the package',
      );
    });

    it('lists every problem of a manifest with its pointer', async () => {
      const dir = writePlugin(path.join(root, 'sloppy'), { executorApiVersion: '1', executors: [{ id: 'Bad_Id', entry: 'index.js' }, {}] }, '');

      const [sloppy] = await load({ extra: [dir] });

      expect(sloppy).toMatchObject({ id: null, packageName: 'sloppy' });
      expect(sloppy.loadError).toBe(
        'invalid manifest ("tensorify" in package.json): tensorify/executorApiVersion must be integer; ' +
          'tensorify/executors/0/id must match pattern "^[a-z][a-z0-9-]{0,31}$"; ' +
          'tensorify/executors/1/id is required; tensorify/executors/1/entry is required',
      );
    });

    it('reports an entry that exports no definition', async () => {
      const dir = writePlugin(path.join(root, 'empty'), { executorApiVersion: 1, executors: [{ id: 'empty', entry: 'index.js' }] }, 'exports.other = 1;');

      const [empty] = await load({ extra: [dir] });

      expect(empty.loadError).toBe(
        'entry index.js exports no executor definition (expected a default export or an export named "executor", made with defineExecutor)',
      );
    });

    it('lists every problem of a malformed definition', async () => {
      const source = `exports.executor = { id: 'other', displayName: '', version: 'latest', configSchema: { type: 'no-such-type' } };`;
      const dir = writePlugin(path.join(root, 'malformed'), { executorApiVersion: 1, executors: [{ id: 'malformed', entry: 'index.js' }] }, source);

      const [malformed] = await load({ extra: [dir] });

      expect(malformed.loadError).toBe(
        'entry index.js exports an invalid executor definition: ' +
          'id "other" must equal the manifest\'s id "malformed"; ' +
          'displayName must be a non-empty string; ' +
          'version "latest" must be a semantic version such as "1.0.0"; ' +
          'create must be a function; ' +
          'configSchema is not a valid JSON Schema (schema is invalid: data/type must be equal to one of the allowed values, ' +
          'data/type must be array, data/type must match a schema in anyOf)',
      );
    });

    it('reports create() throwing', async () => {
      const source = definitionSource('fails', `() => { throw new Error('docker socket not reachable'); }`);
      const dir = writePlugin(path.join(root, 'fails'), { executorApiVersion: 1, executors: [{ id: 'fails', entry: 'index.js' }] }, source);

      const [fails] = await load({ extra: [dir] });

      expect(fails.loadError).toBe('create() failed: docker socket not reachable');
    });

    it('reports create() returning something other than an executor', async () => {
      const source = definitionSource('nothing', `async () => undefined`);
      const dir = writePlugin(path.join(root, 'nothing'), { executorApiVersion: 1, executors: [{ id: 'nothing', entry: 'index.js' }] }, source);

      const [nothing] = await load({ extra: [dir] });

      expect(nothing.loadError).toBe('create() returned undefined instead of an executor');
    });

    it('refuses a manifest that lists one id twice', async () => {
      const manifest = {
        executorApiVersion: 1,
        executors: [
          { id: 'twice', entry: 'index.js' },
          { id: 'twice', entry: 'other.js' },
        ],
      };
      const dir = writePlugin(path.join(root, 'twice'), manifest, '');

      const plugins = await load({ extra: [dir] });

      expect(plugins.map(summary)).toEqual([
        {
          id: 'twice',
          packageName: 'twice',
          source: 'configured',
          loadError: 'invalid manifest ("tensorify" in package.json): executor id "twice" is listed more than once',
        },
      ]);
    });

    it('gives up on a create() that does not finish in time', async () => {
      const source = definitionSource('hangs', `() => new Promise(() => {})`);
      const dir = writePlugin(path.join(root, 'hangs'), { executorApiVersion: 1, executors: [{ id: 'hangs', entry: 'index.js' }] }, source);

      const [hangs] = await load({ extra: [dir], createTimeoutMs: 50 });

      expect(hangs.loadError).toBe('create() did not finish within 50 ms');
    });
  });

  describe('configuration', () => {
    it('fills in the schema defaults without changing the configuration given', async () => {
      install('tensorify-executor-echo');
      const configs = { echo: {} };

      const [{ executor }] = await load({ configs });

      expect(await executor!.capabilities()).toEqual({ gpu: false, healthy: true, detail: 'greets with "hello"' });
      expect(configs).toEqual({ echo: {} });
    });

    it('passes the configured values', async () => {
      install('tensorify-executor-echo');
      const [{ executor }] = await load({ configs: { echo: { greeting: 'bonjour' } } });
      const lines: { stream: LogStream; line: string }[] = [];

      await executor!.run(fakeJob({ a: 1 }), fakeContext(lines));

      expect(lines).toEqual([{ stream: 'stdout', line: 'bonjour {"a":1}' }]);
    });

    it('reports every problem with its pointer under executors.<id>', async () => {
      const configs = { 'strict-config': { port: 0, mode: 'slow', colour: 'red' } };

      const [strict] = await load({ extra: [fixture('bad-config')], configs });

      expect(strict.loadError).toBe(
        'invalid configuration: executors.strict-config/host is required; executors.strict-config/colour is not allowed; ' +
          'executors.strict-config/port must be >= 1; executors.strict-config/mode must be one of "fast", "safe"',
      );
    });

    it('warns about settings for an executor that no plugin provides', async () => {
      await load({ configs: { lcoal: { python: '/usr/bin/python3' } } });

      expect(logs).toEqual([
        { level: 'warn', message: 'The configuration has settings for executor "lcoal", but no executor plugin provides it', details: undefined },
      ]);
    });

    it('reports a value of the wrong type', async () => {
      install('tensorify-executor-echo');

      const [echo] = await load({ configs: { echo: { greeting: 42 } } });

      expect(echo.loadError).toBe('invalid configuration: executors.echo/greeting must be string');
    });

    it('validates each plugin against its own schema when two configSchemas share an $id', async () => {
      const withSchema = (id: string, schema: object) =>
        `exports.default = { id: '${id}', displayName: '${id}', version: '1.0.0', configSchema: ${JSON.stringify(schema)}, create: () => ({ capabilities: async () => ({ gpu: false, healthy: true }), run: async () => ({ exitCode: 0 }) }) };`;
      const manifest = (id: string) => ({ executorApiVersion: 1, executors: [{ id, entry: 'index.js' }] });
      writePlugin(
        path.join(nodeModules, 'first'),
        manifest('first'),
        withSchema('first', { $id: 'https://example.com/config.json', type: 'object', required: ['host'] }),
      );
      writePlugin(
        path.join(nodeModules, 'second'),
        manifest('second'),
        withSchema('second', { $id: 'https://example.com/config.json', type: 'object', properties: { port: { type: 'integer' } } }),
      );

      const plugins = await load({ configs: { first: {}, second: { port: 8080 } } });

      expect(plugins.map(summary)).toEqual([
        { id: 'first', packageName: 'first', source: 'installed', loadError: 'invalid configuration: executors.first/host is required' },
        { id: 'second', packageName: 'second', source: 'installed', loadError: undefined },
      ]);
    });
  });

  describe('duplicate executor ids', () => {
    it('keeps the first package and names both in the later one', async () => {
      const firstPartyDir = path.join(root, 'plugins');
      const first = install('first-echo');
      cpSync(fixture('good-executor'), path.join(firstPartyDir, 'echo'), { recursive: true });

      const plugins = await load({ firstPartyDir });

      expect(plugins.map(summary)).toEqual([
        { id: 'echo', packageName: 'tensorify-executor-echo', source: 'first-party', loadError: undefined },
        {
          id: 'echo',
          packageName: 'tensorify-executor-echo',
          source: 'installed',
          loadError:
            `executor id "echo" is provided by both tensorify-executor-echo (${path.join(firstPartyDir, 'echo')}) and ` +
            `tensorify-executor-echo (${first}); the first one found, tensorify-executor-echo, is used`,
        },
      ]);
      expect(plugins[0].packagePath).toBe(path.join(firstPartyDir, 'echo'));
    });
  });

  describe('configured plugins (executorPlugins)', () => {
    it('loads a package by name from node_modules', async () => {
      const elsewhere = path.join(root, 'elsewhere', 'node_modules');
      mkdirSync(elsewhere, { recursive: true });
      cpSync(fixture('good-executor'), path.join(elsewhere, '@acme', 'echo'), { recursive: true });

      const plugins = await load({ nodeModulesDirs: [path.join(root, 'empty'), elsewhere], extra: ['@acme/echo'] });

      expect(plugins.map(summary)).toEqual([{ id: 'echo', packageName: 'tensorify-executor-echo', source: 'configured', loadError: undefined }]);
    });

    it('loads a package by path relative to the working directory', async () => {
      const relative = path.relative(process.cwd(), fixture('good-executor'));

      const [echo] = await load({ extra: [`.${path.sep}${relative}`] });

      expect(echo).toMatchObject({ id: 'echo', source: 'configured', packagePath: fixture('good-executor') });
      expect(echo.executor).toBeDefined();
    });

    it('reports a path that does not exist, and goes on', async () => {
      install('tensorify-executor-echo');
      const missing = path.join(root, 'no-such-plugin');

      const plugins = await load({ extra: [missing] });

      expect(plugins.map(summary)).toEqual([
        { id: null, packageName: missing, source: 'configured', loadError: `configured plugin path ${missing} is not a directory` },
        { id: 'echo', packageName: 'tensorify-executor-echo', source: 'installed', loadError: undefined },
      ]);
      expect(plugins[0].packagePath).toBeNull();
    });

    it('reports a package name that is not installed', async () => {
      const [missing] = await load({ extra: ['@acme/not-installed'] });

      expect(missing).toMatchObject({ id: null, packageName: '@acme/not-installed', packagePath: null });
      expect(missing.loadError).toBe(`configured plugin package "@acme/not-installed" is not installed (looked in ${nodeModules})`);
    });

    it('reports a configured package without the manifest field', async () => {
      const dir = path.join(root, 'library');
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'just-a-library', version: '2.0.0' }));

      const [library] = await load({ extra: [dir] });

      expect(library).toMatchObject({ id: null, packageName: 'just-a-library', version: '2.0.0' });
      expect(library.loadError).toBe('package.json has no "tensorify" field: this package is not an executor plugin');
    });
  });

  describe('the first-party plugins folder', () => {
    it('loads each child folder with the manifest field and skips the others', async () => {
      const firstPartyDir = path.join(root, 'plugins');
      cpSync(fixture('good-executor'), path.join(firstPartyDir, 'echo'), { recursive: true });
      mkdirSync(path.join(firstPartyDir, 'executor-sdk'));
      writeFileSync(path.join(firstPartyDir, 'executor-sdk', 'package.json'), JSON.stringify({ name: '@tensorify/executor-sdk' }));
      writeFileSync(path.join(firstPartyDir, 'README.md'), '# plugins\n');

      const plugins = await load({ firstPartyDir });

      expect(plugins.map(summary)).toEqual([{ id: 'echo', packageName: 'tensorify-executor-echo', source: 'first-party', loadError: undefined }]);
    });

    it('wins over the same package linked into node_modules (a workspace)', async () => {
      const firstPartyDir = path.join(root, 'plugins');
      cpSync(fixture('good-executor'), path.join(firstPartyDir, 'echo'), { recursive: true });
      mkdirSync(path.join(nodeModules, '@tensorify'));
      symlinkSync(path.join(firstPartyDir, 'echo'), path.join(nodeModules, '@tensorify', 'executor-echo'), 'dir');

      const plugins = await load({ firstPartyDir });

      expect(plugins.map(summary)).toEqual([{ id: 'echo', packageName: 'tensorify-executor-echo', source: 'first-party', loadError: undefined }]);
    });
  });
});
