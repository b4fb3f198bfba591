import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../common/package-info';
import { defaultTemplatesDir, NodeCatalog } from './node-catalog';

const EXAMPLE_PACK = path.join(PACKAGE_ROOT, 'plugins', 'examples', 'sklearn-nodes');
const SKLEARN_TYPES = ['sklearn/dataset-split', 'sklearn/metrics', 'sklearn/random-forest'];

describe('node packs', () => {
  let scratch: string;
  let builtinCount: number;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'node-packs-'));
    builtinCount = (await NodeCatalog.load(defaultTemplatesDir())).list().length;
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  /**
   * A copy of the example pack, renamed to `name` with namespace `namespace` (its helper functions
   * too, unless `sameHelpers`), changed by `edit`.
   */
  async function pack(name: string, namespace: string, edit: (dir: string) => Promise<void> = () => Promise.resolve(), sameHelpers = false): Promise<string> {
    const dir = await mkdtemp(path.join(scratch, `${name.replace(/[^A-Za-z0-9-]/g, '_')}-`));
    await cp(EXAMPLE_PACK, dir, { recursive: true });
    for (const type of ['dataset-split', 'random-forest', 'metrics']) {
      for (const file of ['node.json', `${type}.py.hbs`, 'helpers.py']) {
        const where = path.join(dir, 'nodes', type, file);
        if (!sameHelpers) await writeFile(where, (await readFile(where, 'utf8')).replace(/\bsklearn_/g, `${namespace}_`));
      }
    }
    const packageJson = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ ...packageJson, name, tensorify: { ...packageJson.tensorify, namespace } }, null, 2));
    await edit(dir);
    return dir;
  }

  async function load(...extra: string[]): Promise<NodeCatalog> {
    return NodeCatalog.loadPacks(defaultTemplatesDir(), { extra });
  }

  /** Loads a broken pack beside the example pack: the example and the built-ins still load; returns the broken pack. */
  async function loadBeside(broken: string) {
    const catalog = await load(await pack('good-pack', 'good'), broken);
    const types = catalog.list().map((definition) => definition.type);
    expect(types.filter((type) => type.startsWith('good/'))).toEqual(['good/dataset-split', 'good/metrics', 'good/random-forest']);
    expect(types.filter((type) => !type.includes('/'))).toHaveLength(builtinCount);
    return { catalog, broken: catalog.packs().find((info) => info.path === broken)! };
  }

  it('loads the built-in types as the first pack, with bare names, then a pack with namespaced names', async () => {
    const catalog = await load(EXAMPLE_PACK);
    const [builtin, sklearn] = catalog.packs();
    expect(builtin).toMatchObject({ name: 'tensorify-server', namespace: null, source: 'builtin' });
    expect(builtin.types.every((type) => type.loadError === undefined && !type.type.includes('/'))).toBe(true);
    expect(sklearn).toMatchObject({ name: 'tensorify-nodes-sklearn', version: '1.0.0', namespace: 'sklearn', source: 'configured' });
    expect(sklearn.loadError).toBeUndefined();
    expect(sklearn.types).toEqual(SKLEARN_TYPES.map((type) => ({ type, version: '1.0.0' })));
    expect(catalog.resolve('sklearn/random-forest@1')?.displayName).toBe('Random forest');
    expect(catalog.packOf('sklearn/metrics')).toEqual({ name: 'tensorify-nodes-sklearn', version: '1.0.0' });
    expect(catalog.packOf('linear').name).toBe('tensorify-server');
    expect(catalog.resolve('random-forest')).toBeUndefined();
  });

  it('refuses a template that prints a raw value, naming the file and line', async () => {
    const broken = await pack('raw-pack', 'raw', (dir) =>
      writeFile(path.join(dir, 'nodes', 'metrics', 'metrics.py.hbs'), '    x = 1\n    return "{{settings.name}}"\n'),
    );
    const { catalog, broken: info } = await loadBeside(broken);
    expect(info.types.find((type) => type.type === 'raw/metrics')?.loadError).toBe(
      'Template nodes/metrics/metrics.py.hbs is refused: line 2: write values as {{py value}} or {{body setting}}, not {{settings.name…}}',
    );
    expect(catalog.resolve('raw/metrics')).toBeUndefined();
    expect(catalog.resolve('raw/random-forest')).toBeDefined();
  });

  it('refuses a settings schema that is not a JSON Schema, naming the file and line', async () => {
    const broken = await pack('schema-pack', 'schema', async (dir) => {
      const file = path.join(dir, 'nodes', 'random-forest', 'node.json');
      const text = (await readFile(file, 'utf8')).replace('"type": "integer", "minimum": 1, "maximum": 1000', '"type": "integer", "minimum": "one"');
      await writeFile(file, text);
    });
    const { broken: info } = await loadBeside(broken);
    const loadError = info.types.find((type) => type.type === 'schema/random-forest')?.loadError;
    expect(loadError).toMatch(/^Invalid node manifest nodes\/random-forest\/node\.json: line 1[0-9]: \/settingsSchema is not a valid JSON Schema \(/);
  });

  it('refuses a pack whose namespace another pack has taken: its types would shadow that pack’s', async () => {
    const first = await pack('first-pack', 'acme');
    const second = await pack('second-pack', 'acme');
    const catalog = await load(first, second);
    const info = catalog.packs().find((entry) => entry.name === 'second-pack')!;
    expect(info.loadError).toMatch(
      /^namespace "acme" is already taken by first-pack \(.*\); its types would shadow that pack's: give this pack another namespace/,
    );
    expect(info.types).toEqual([]);
    expect(catalog.packOf('acme/metrics').name).toBe('first-pack');
  });

  it('refuses a type whose node.json names a bare built-in type it would shadow', async () => {
    const broken = await pack('shadow-pack', 'shadow', async (dir) => {
      const file = path.join(dir, 'nodes', 'metrics', 'node.json');
      await writeFile(file, (await readFile(file, 'utf8')).replace('"type": "metrics"', '"type": "linear"'));
    });
    const { catalog, broken: info } = await loadBeside(broken);
    expect(info.types.find((type) => type.type === 'shadow/metrics')?.loadError).toBe(
      'Invalid node manifest nodes/metrics/node.json: line 2: /type "linear" must equal its folder name "metrics"',
    );
    expect(catalog.packOf('linear').name).toBe('tensorify-server');
  });

  it('refuses a helpers.py that does not compile, with Python’s line', async () => {
    const broken = await pack('syntax-pack', 'syntax', async (dir) => {
      const file = path.join(dir, 'nodes', 'dataset-split', 'helpers.py');
      await writeFile(file, (await readFile(file, 'utf8')).replace('    loaders = {', '    loaders = {{'));
    });
    const { broken: info } = await loadBeside(broken);
    expect(info.types.find((type) => type.type === 'syntax/dataset-split')?.loadError).toMatch(
      /^nodes\/dataset-split\/helpers\.py does not compile: line 9: SyntaxError: '\{' was never closed$/,
    );
  });

  it('refuses a helper function another pack already defines (both would land in utils.py)', async () => {
    const catalog = await load(await pack('one-pack', 'one', undefined, true), await pack('two-pack', 'two', undefined, true));
    const two = catalog.packs().find((entry) => entry.name === 'two-pack')!;
    expect(two.types.every((type) => type.loadError?.includes('which type "one/'))).toBe(true);
  });

  it('checks the API version before reading anything else of the pack', async () => {
    const broken = await pack('future-pack', 'future', async (dir) => {
      const file = path.join(dir, 'package.json');
      const packageJson = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, unknown>>;
      await writeFile(file, JSON.stringify({ ...packageJson, tensorify: { nodeApiVersion: 2, nodes: 42 } }));
    });
    const { broken: info } = await loadBeside(broken);
    expect(info.loadError).toBe(
      'package.json declares tensorify.nodeApiVersion 2, but this server speaks nodeApiVersion 1: install a release of the pack made for node API 1',
    );
    expect(info.types).toEqual([]);
  });

  it('requires example settings of a pack type, valid against its schema', async () => {
    const broken = await pack('example-pack', 'example', async (dir) => {
      const file = path.join(dir, 'nodes', 'dataset-split', 'node.json');
      await writeFile(file, (await readFile(file, 'utf8')).replace('"dataset": "wine"', '"dataset": "mnist"'));
    });
    const { broken: info } = await loadBeside(broken);
    expect(info.types.find((type) => type.type === 'example/dataset-split')?.loadError).toMatch(
      /^Invalid node manifest nodes\/dataset-split\/node\.json: line 30: \/example\/dataset must be equal to one of the allowed values/,
    );
  });

  it('finds packs in the plugins/ folder and installed in node_modules (and @scope/), each real package once', async () => {
    const plugins = await mkdtemp(path.join(scratch, 'plugins-'));
    const nodeModules = await mkdtemp(path.join(scratch, 'node_modules-'));
    await cp(await pack('first-party', 'first'), path.join(plugins, 'first-party'), { recursive: true });
    await cp(await pack('installed', 'second'), path.join(nodeModules, 'installed'), { recursive: true });
    await mkdir(path.join(nodeModules, '@acme'));
    await cp(await pack('@acme/scoped', 'third'), path.join(nodeModules, '@acme', 'scoped'), { recursive: true });
    await mkdir(path.join(nodeModules, 'plain'));
    await writeFile(path.join(nodeModules, 'plain', 'package.json'), '{"name": "plain", "tensorify": {"executorApiVersion": 1}}');
    const catalog = await NodeCatalog.loadPacks(defaultTemplatesDir(), {
      firstPartyDir: plugins,
      nodeModulesDirs: [nodeModules],
      extra: [path.join(nodeModules, 'installed')],
    });
    expect(catalog.packs().map(({ name, source, namespace, loadError }) => ({ name, source, namespace, loadError }))).toEqual([
      { name: 'tensorify-server', source: 'builtin', namespace: null, loadError: undefined },
      { name: 'first-party', source: 'first-party', namespace: 'first', loadError: undefined },
      { name: 'installed', source: 'configured', namespace: 'second', loadError: undefined },
      { name: '@acme/scoped', source: 'installed', namespace: 'third', loadError: undefined },
    ]);
    expect(catalog.resolve('third/metrics')).toBeDefined();
  });

  it('lists a configured pack that is not installed, and boots', async () => {
    const catalog = await load('no-such-pack');
    expect(catalog.packs()[1]).toMatchObject({
      name: 'no-such-pack',
      path: null,
      loadError: expect.stringContaining('"no-such-pack" is not installed') as string,
    });
  });
});
