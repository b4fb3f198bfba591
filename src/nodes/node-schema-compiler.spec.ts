import path from 'node:path';
import { PACKAGE_ROOT } from '../common/package-info';
import { defaultTemplatesDir, NodeCatalog } from './node-catalog';
import { loadNodePacks } from './node-pack-loader';
import { type PrecompiledSchemas, precompiledSchemasOf, precompiledSchemasSource, schemasToPrecompile } from './node-schema-compiler';
import type { JsonSchema } from './node-type';

const EXAMPLE_PACK = path.join(PACKAGE_ROOT, 'plugins', 'examples', 'sklearn-nodes');

/** What the build writes for `schemas`, run as a CommonJS module with this file's require (which finds ajv's runtime). */
function precompile(schemas: JsonSchema[]): PrecompiledSchemas {
  const exported: Record<string, unknown> = {};
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the module's code, as Node would wrap it
  new Function('require', 'exports', precompiledSchemasSource(schemas))(require, exported);
  return precompiledSchemasOf(exported);
}

/** Settings that break each setting of a type in the ways a client gets wrong: wrong kinds, out of range, unknown, missing. */
function wrongSettings(schema: JsonSchema): Record<string, unknown>[] {
  const names = Object.keys(schema.properties as Record<string, unknown>);
  const values: unknown[] = ['text', '{{ trigger.value }}', -1, 0.5, 1e9, true, null, [1], { nested: 1 }, ''];
  return [{}, { notASetting: 1 }, ...names.flatMap((name) => values.map((value) => ({ [name]: value })))];
}

describe('node schemas precompiled at build', () => {
  const builtinDir = defaultTemplatesDir();
  let precompiled: PrecompiledSchemas;
  beforeAll(() => {
    precompiled = precompile(schemasToPrecompile(builtinDir));
  });

  it("gives each built-in type its precompiled validator, and a pack's type of another schema one that ajv compiles", async () => {
    const { types } = await loadNodePacks({ builtinDir, builtinVersion: '0.0.0', nodeModulesDirs: [], extra: [EXAMPLE_PACK], precompiled });
    const validators = new Set(precompiled.values());
    const builtin = types.filter((type) => !type.definition.type.includes('/'));
    expect(builtin.length).toBeGreaterThan(20);
    expect(builtin.filter((type) => !validators.has(type.validateSettings)).map((type) => type.definition.type)).toEqual([]);
    // A pack's type whose settings schema is, to the letter, a built-in one's may well share its validator.
    const packTypes = types.filter((type) => type.definition.type.startsWith('sklearn/') && !precompiled.has(JSON.stringify(type.definition.settingsSchema)));
    expect(packTypes.length).toBeGreaterThan(0);
    expect(packTypes.some((type) => validators.has(type.validateSettings))).toBe(false);
  });

  it('compiles a built-in schema that changed since the build, rather than take the old one', async () => {
    const [manifestSchema, ...settingsSchemas] = schemasToPrecompile(builtinDir);
    const stale = settingsSchemas.map((schema) => ({ ...schema, description: 'as it was at the build' }));
    const old = precompile([manifestSchema, ...stale]);
    const { types } = await loadNodePacks({ builtinDir, builtinVersion: '0.0.0', nodeModulesDirs: [], extra: [], precompiled: old });
    const validators = new Set(old.values());
    expect(types.length).toBeGreaterThan(20);
    expect(types.some((type) => validators.has(type.validateSettings))).toBe(false);
  });

  it('refuses the same settings with the same problems as the validators ajv compiles at boot', async () => {
    const fromBuild = await NodeCatalog.loadPacks(builtinDir, { precompiled });
    const fromAjv = await NodeCatalog.loadPacks(builtinDir, { precompiled: new Map() });
    let refused = 0;
    for (const definition of fromAjv.list()) {
      for (const settings of wrongSettings(definition.settingsSchema)) {
        const problems = fromAjv.validateSettings(definition, settings);
        expect(fromBuild.validateSettings(definition, settings)).toEqual(problems);
        if (problems.length > 0) refused++;
      }
    }
    expect(refused).toBeGreaterThan(200);
  });
});
