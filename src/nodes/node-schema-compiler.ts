import Ajv, { _, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import standaloneCode from 'ajv/dist/standalone';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type CompileSchema, nodeManifestSchema } from './node-manifest';
import type { JsonSchema } from './node-type';

/*
 * How the node loader compiles JSON Schemas (a node.json's, and each type's settings schema).
 * Compiling the built-in types' settings schemas with ajv cost every boot some 100-150 ms of CPU
 * (ajv's code generation, and the JSON Schema meta-schema compiled first to check them): the build
 * compiles them, and the manifest schema, once with ajv's standalone code generation into
 * PRECOMPILED_FILE, and the loader takes a schema's validator from there when the schema is the
 * same (compared as JSON). Any other schema, a pack's or a built-in one changed since the build, is
 * compiled by ajv as before, so a schema never gets a validator other than ajv's own for it.
 */

/** The options of the ajv that compiles node schemas; `verbose`: the settings' errors carry their schema (node-catalog.ts reads anyOf branches). */
const AJV_OPTIONS = { allErrors: true, verbose: true, useDefaults: false, strict: true, strictTypes: false, strictTuples: false } as const;

/** The validators the build compiled, beside this module in dist/ (none when running from src/). */
export const PRECOMPILED_FILE = path.join(__dirname, 'node-schemas.precompiled.js');

/** Precompiled validators by the JSON text of their schema. */
export type PrecompiledSchemas = ReadonlyMap<string, ValidateFunction>;

/** The loader's ajv; with `source`, one whose validators keep their code for standaloneCode (a `format` keyword's code requires addFormats' formats). */
function nodeSchemaAjv(source: boolean): Ajv {
  const ajv = new Ajv({ ...AJV_OPTIONS, code: source ? { source, formats: _`require("ajv-formats/dist/formats").fullFormats` } : {} });
  addFormats(ajv);
  return ajv;
}

/**
 * The compiler of one load: the precompiled validator of a schema when there is one, else ajv's
 * (one ajv for the load, made on the first schema that needs it).
 */
export function nodeSchemaCompiler(precompiled: PrecompiledSchemas = readPrecompiledSchemas()): CompileSchema {
  let ajv: Ajv | undefined;
  return (schema) => precompiled.get(JSON.stringify(schema)) ?? (ajv ??= nodeSchemaAjv(false)).compile(schema);
}

/** The validators of `file` (a module written by {@link precompiledSchemasSource}); none when it does not exist. */
export function readPrecompiledSchemas(file = PRECOMPILED_FILE): PrecompiledSchemas {
  if (!existsSync(file)) return new Map();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return precompiledSchemasOf(require(file) as Record<string, unknown>);
}

/** The validators exported by a module written by {@link precompiledSchemasSource}. */
export function precompiledSchemasOf(exported: Record<string, unknown>): PrecompiledSchemas {
  const schemas = exported.schemas as string[];
  return new Map(schemas.map((json, index) => [json, exported[`v${index}`] as ValidateFunction]));
}

/** The schemas the build precompiles: the manifest schema and the settings schema of each built-in type of `builtinDir`. */
export function schemasToPrecompile(builtinDir: string): JsonSchema[] {
  const settingsSchemas = readdirSync(builtinDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => (JSON.parse(readFileSync(path.join(builtinDir, entry.name, 'node.json'), 'utf8')) as { settingsSchema: JsonSchema }).settingsSchema);
  return [nodeManifestSchema, ...settingsSchemas];
}

/**
 * A CommonJS module exporting, for each distinct schema, its validator as `v<i>` and its JSON
 * text as `schemas[i]`, compiled with the options the loader's ajv uses.
 */
export function precompiledSchemasSource(schemas: readonly JsonSchema[]): string {
  const distinct = [...new Set(schemas.map((schema) => JSON.stringify(schema)))];
  const ajv = nodeSchemaAjv(true);
  distinct.forEach((json, index) => ajv.addSchema(JSON.parse(json) as JsonSchema, `s${index}`));
  const exportNames = Object.fromEntries(distinct.map((_json, index) => [`v${index}`, `s${index}`]));
  return `${standaloneCode(ajv, exportNames)}\nexports.schemas = ${JSON.stringify(distinct)};\n`;
}
