import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultTemplatesDir, NodeCatalog, parseTypeRef } from './node-catalog';
import type { NodeTypeDefinition } from './node-type';

function manifest(type: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type,
    version: '2.1.0',
    category: 'automation',
    displayName: 'Example',
    description: 'An example node type.',
    trigger: false,
    inputs: [{ id: 'in', dataType: 'any', description: 'Input.' }],
    outputs: [{ id: 'out', dataType: 'any', description: 'Output.' }],
    settingsSchema: {
      type: 'object',
      properties: {
        mode: { description: 'How to run.', enum: ['fast', 'exact'] },
        temperature: { description: 'Sampling temperature.', type: 'number', minimum: 0, maximum: 2 },
      },
      required: ['mode'],
      additionalProperties: false,
    },
    defaults: { temperature: 1 },
    requirements: [],
    imports: [],
    ...overrides,
  };
}

describe(NodeCatalog.name, () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'node-catalog-'));
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  /** A fresh catalogue directory holding one folder per entry; a string entry is written as the raw file text. */
  async function catalogDir(manifests: Record<string, unknown>): Promise<string> {
    const dir = await mkdtemp(path.join(scratch, 'catalog-'));
    for (const [folder, content] of Object.entries(manifests)) {
      await mkdir(path.join(dir, folder));
      await writeFile(path.join(dir, folder, 'node.json'), typeof content === 'string' ? content : JSON.stringify(content));
      await writeFile(path.join(dir, folder, `${folder}.py.hbs`), '    return None\n');
    }
    return dir;
  }

  async function loadError(manifests: Record<string, unknown>): Promise<string> {
    const error = await NodeCatalog.load(await catalogDir(manifests)).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    if (!(error instanceof Error)) throw new Error('expected NodeCatalog.load to throw');
    return error.message;
  }

  describe('the shipped templates', () => {
    let catalog: NodeCatalog;

    beforeAll(async () => {
      catalog = await NodeCatalog.load(defaultTemplatesDir());
    });

    it('lists the built-in node types, sorted by type', () => {
      expect(catalog.list().map((definition) => definition.type)).toEqual([
        'batchnorm1d',
        'code',
        'conv2d',
        'dataloader',
        'dataset-csv',
        'dataset-mnist',
        'dataset-synthetic',
        'dropout',
        'evaluate',
        'flatten',
        'http-request',
        'if',
        'linear',
        'load-model',
        'loss-cross-entropy',
        'loss-mse',
        'manual',
        'maxpool2d',
        'openai-chat',
        'optimizer-adam',
        'optimizer-sgd',
        'predict',
        'relu',
        'return',
        'save-model',
        'schedule',
        'sequential',
        'sigmoid',
        'tanh',
        'train',
        'transform',
        'webhook',
      ]);
    });

    it('has three triggers: manual, schedule and webhook', () => {
      expect(
        catalog
          .list()
          .filter((definition) => definition.trigger)
          .map((definition) => definition.type),
      ).toEqual(['manual', 'schedule', 'webhook']);
    });

    it('gives the manual trigger no inputs and one output', () => {
      const manual = catalog.resolve('manual')!;
      expect(manual.inputs).toEqual([]);
      expect(manual.outputs.map((port) => port.id)).toEqual(['out']);
    });

    it('gives if the outputs true and false', () => {
      expect(catalog.resolve('if')!.outputs.map((port) => port.id)).toEqual(['true', 'false']);
    });

    it('gives return no outputs', () => {
      expect(catalog.resolve('return')!.outputs).toEqual([]);
    });

    it('requires the code of a code node', () => {
      expect(catalog.validateSettings(catalog.resolve('code')!, {})).toEqual([{ path: '/code', message: 'Setting "/code" is required.' }]);
    });

    it('rejects code longer than 100000 characters', () => {
      const problems = catalog.validateSettings(catalog.resolve('code')!, { code: 'x'.repeat(100_001) });
      expect(problems.map((problem) => problem.path)).toEqual(['/code']);
    });

    it('requires the condition of an if node', () => {
      expect(catalog.validateSettings(catalog.resolve('if')!, {}).map((problem) => problem.path)).toEqual(['/condition']);
    });

    it('accepts any JSON as the value of a transform', () => {
      expect(catalog.validateSettings(catalog.resolve('transform')!, { value: [1, 'two', { three: null }] })).toEqual([]);
    });

    it('defaults the value of a return node', () => {
      expect(catalog.validateSettings(catalog.resolve('return')!, {})).toEqual([]);
    });

    it('accepts a JSON Schema as the inputSchema of the manual trigger', () => {
      const inputSchema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
      expect(catalog.validateSettings(catalog.resolve('manual')!, { inputSchema })).toEqual([]);
    });

    it('rejects an inputSchema that is not a JSON Schema', () => {
      const problems = catalog.validateSettings(catalog.resolve('manual')!, { inputSchema: { type: 'text' } });
      expect(problems.map((problem) => problem.path)).toContain('/inputSchema/type');
    });
  });

  describe('load', () => {
    it('ignores files beside the type folders', async () => {
      const dir = await catalogDir({ example: manifest('example') });
      await writeFile(path.join(dir, 'README.md'), '# node types');
      expect((await NodeCatalog.load(dir)).list().map((definition) => definition.type)).toEqual(['example']);
    });

    it('throws naming the file when a manifest is not valid JSON', async () => {
      expect(await loadError({ broken: '{ "type": ' })).toMatch(/broken[/\\]node\.json is not valid JSON/);
    });

    it('throws naming the folder when a type folder has no node.json', async () => {
      const dir = await catalogDir({});
      await mkdir(path.join(dir, 'empty'));
      await expect(NodeCatalog.load(dir)).rejects.toThrow(/empty[/\\]node\.json cannot be read/);
    });

    it('throws naming the missing field', async () => {
      const { imports: _imports, ...withoutImports } = manifest('example');
      expect(await loadError({ example: withoutImports })).toMatch(/example[/\\]node\.json: .*must have required property 'imports'/);
    });

    it('throws when the type differs from its folder name', async () => {
      expect(await loadError({ example: manifest('other') })).toContain('/type "other" must equal its folder name "example"');
    });

    it('throws when the version is not a semantic version', async () => {
      expect(await loadError({ example: manifest('example', { version: '1.0' }) })).toContain('/version must match pattern');
    });

    it('throws when a settings property has no description', async () => {
      const settingsSchema = { type: 'object', properties: { mode: { type: 'string' } }, additionalProperties: false };
      expect(await loadError({ example: manifest('example', { settingsSchema, defaults: {} }) })).toContain(
        "/settingsSchema/properties/mode must have required property 'description'",
      );
    });

    it('throws when the settings schema allows additional properties', async () => {
      const settingsSchema = { type: 'object', properties: {}, additionalProperties: true };
      expect(await loadError({ example: manifest('example', { settingsSchema, defaults: {} }) })).toContain(
        '/settingsSchema/additionalProperties must be equal to constant',
      );
    });

    it('throws when the settings schema is not a valid JSON Schema', async () => {
      const settingsSchema = { type: 'object', properties: { mode: { description: 'Mode.', type: 'text' } }, additionalProperties: false };
      expect(await loadError({ example: manifest('example', { settingsSchema, defaults: {} }) })).toContain('/settingsSchema is not a valid JSON Schema');
    });

    it('throws when a default does not match the settings schema', async () => {
      expect(await loadError({ example: manifest('example', { defaults: { temperature: 'hot' } }) })).toContain('/defaults/temperature must be number');
    });

    it('throws when two inputs share an id', async () => {
      const inputs = [
        { id: 'in', dataType: 'any', description: 'First.' },
        { id: 'in', dataType: 'any', description: 'Second.' },
      ];
      expect(await loadError({ example: manifest('example', { inputs }) })).toContain('/inputs has the id "in" more than once');
    });

    it('throws when a verbatim setting is not a setting of the type', async () => {
      expect(await loadError({ example: manifest('example', { verbatimSettings: ['source'] }) })).toContain(
        '/verbatimSettings names "source", which is not a setting',
      );
    });

    it('throws when python.parameters names neither input, ctx nor an input port', async () => {
      expect(await loadError({ example: manifest('example', { python: { parameters: ['model'] } }) })).toContain(
        '/python/parameters names "model", which is neither "input", "ctx" nor one of its inputs',
      );
    });

    it('throws when a layer or a sequence does not chain through layer handles', async () => {
      const layerless = await loadError({ example: manifest('example', { python: { role: 'layer' } }) });
      expect(layerless).toContain('/python/role "layer" needs exactly one input and one output, both of dataType "layer"');
      const sequence = await loadError({ example: manifest('example', { python: { role: 'sequence' } }) });
      expect(sequence).toContain('/python/role "sequence" needs exactly one input, of dataType "layer"');
    });

    it('throws when a shape rule is unknown or an input port carries a field', async () => {
      const unknownRule = await loadError({ example: manifest('example', { shape: 'conv3d' }) });
      expect(unknownRule).toContain('/shape must be equal to one of the allowed values');
      const inputs = [{ id: 'in', dataType: 'any', description: 'Input.', field: 'model' }];
      expect(await loadError({ example: manifest('example', { inputs }) })).toContain('/inputs/0 must NOT have additional properties');
    });

    it('accepts a layer type, a sequence type and a port parameter with a field output', async () => {
      const layer = { id: 'in', dataType: 'layer', description: 'Previous layer.' };
      const catalog = await NodeCatalog.load(
        await catalogDir({
          block: manifest('block', { inputs: [layer], outputs: [{ ...layer, id: 'out' }], python: { role: 'layer' }, shape: 'same' }),
          stack: manifest('stack', { inputs: [layer], outputs: [{ id: 'model', dataType: 'module', description: 'Model.' }], python: { role: 'sequence' } }),
          fit: manifest('fit', {
            inputs: [{ id: 'model', dataType: 'module', description: 'Model.' }],
            outputs: [{ id: 'model', dataType: 'module', description: 'Trained.', field: 'model' }],
            python: { parameters: ['model', 'ctx'] },
          }),
        }),
      );
      expect(catalog.list().map((definition) => definition.type)).toEqual(['block', 'fit', 'stack']);
    });

    it('reports every problem of a manifest in one error', async () => {
      const message = await loadError({ example: manifest('example', { version: 'one', trigger: 'yes', extra: 1 }) });
      expect(message).toContain('/version must match pattern');
      expect(message).toContain('/trigger must be boolean');
      expect(message).toContain('must NOT have additional properties');
    });
  });

  describe('resolve', () => {
    let catalog: NodeCatalog;

    beforeAll(async () => {
      catalog = await NodeCatalog.load(await catalogDir({ example: manifest('example') }));
    });

    it('finds a type by its name', () => {
      expect(catalog.resolve('example')?.version).toBe('2.1.0');
    });

    it('finds a type pinned to its major version', () => {
      expect(catalog.resolve('example@2')?.type).toBe('example');
    });

    it('finds nothing when the pin is another major version', () => {
      expect(catalog.resolve('example@1')).toBeUndefined();
    });

    it.each(['example@', 'example@2.1', 'example@02', 'example@latest'])('finds nothing for the malformed pin %s', (typeRef) => {
      expect(catalog.resolve(typeRef)).toBeUndefined();
    });

    it('finds nothing for an unknown type', () => {
      expect(catalog.resolve('missing')).toBeUndefined();
    });
  });

  describe('validateSettings', () => {
    let catalog: NodeCatalog;
    let example: NodeTypeDefinition;

    beforeAll(async () => {
      catalog = await NodeCatalog.load(await catalogDir({ example: manifest('example') }));
      example = catalog.resolve('example')!;
    });

    it('accepts settings that match the schema', () => {
      expect(catalog.validateSettings(example, { mode: 'fast', temperature: 0.2 })).toEqual([]);
    });

    it('merges the defaults under the settings', () => {
      expect(catalog.validateSettings(example, { mode: 'fast' })).toEqual([]);
    });

    it('lets a setting override its default', () => {
      expect(catalog.validateSettings(example, { mode: 'fast', temperature: 5 })).toEqual([
        { path: '/temperature', message: 'Setting "/temperature" must be <= 2.' },
      ]);
    });

    it('names a missing required setting', () => {
      expect(catalog.validateSettings(example, {})).toEqual([{ path: '/mode', message: 'Setting "/mode" is required.' }]);
    });

    it('names an unknown setting and lists the known ones', () => {
      expect(catalog.validateSettings(example, { mode: 'fast', speed: 3 })).toEqual([
        { path: '/speed', message: 'Setting "/speed" is not a setting of node type "example" (known settings: "mode", "temperature").' },
      ]);
    });

    it('lists the allowed values of an enum', () => {
      expect(catalog.validateSettings(example, { mode: 'slow' })).toEqual([{ path: '/mode', message: 'Setting "/mode" must be one of "fast", "exact".' }]);
    });

    it('reports every problem at once', () => {
      expect(
        catalog
          .validateSettings(example, { temperature: 'hot', speed: 3 })
          .map((problem) => problem.path)
          .sort(),
      ).toEqual(['/mode', '/speed', '/temperature']);
    });

    it('refuses a definition of another catalogue', () => {
      expect(() => catalog.validateSettings({ ...example, type: 'stranger' }, {})).toThrow('Node type "stranger" is not in this catalogue');
    });
  });

  describe(parseTypeRef.name, () => {
    it('splits a pinned type reference', () => {
      expect(parseTypeRef('openai-chat@1')).toEqual({ name: 'openai-chat', major: '1' });
    });

    it('leaves the major out of an unpinned reference', () => {
      expect(parseTypeRef('openai-chat')).toEqual({ name: 'openai-chat' });
    });
  });

  describe(defaultTemplatesDir.name, () => {
    it('is the codegen-templates/nodes folder at the package root', () => {
      const packageRoot = path.resolve(defaultTemplatesDir(), '..', '..');
      expect(existsSync(path.join(packageRoot, 'package.json'))).toBe(true);
      expect(path.relative(packageRoot, defaultTemplatesDir())).toBe(path.join('codegen-templates', 'nodes'));
    });
  });
});
