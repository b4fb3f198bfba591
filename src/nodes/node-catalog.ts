import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { NodePort, NodeTypeDefinition, SettingsProblem } from './node-type';

const MANIFEST_FILE = 'node.json';
const NODE_TYPE_NAME = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$';
const SEMVER = '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$';
const PORT_ID = '^[A-Za-z_][A-Za-z0-9_-]*$';

const nonEmptyString = { type: 'string', minLength: 1 };
const portSchema = {
  type: 'object',
  required: ['id', 'dataType', 'description'],
  properties: { id: { type: 'string', pattern: PORT_ID }, dataType: nonEmptyString, description: nonEmptyString },
  additionalProperties: false,
};
const manifestSchema = {
  type: 'object',
  required: [
    'type', 'version', 'category', 'displayName', 'description', 'trigger', 'inputs', 'outputs',
    'settingsSchema', 'defaults', 'requirements', 'imports',
  ],
  properties: {
    type: { type: 'string', pattern: NODE_TYPE_NAME },
    version: { type: 'string', pattern: SEMVER },
    category: nonEmptyString,
    displayName: nonEmptyString,
    description: nonEmptyString,
    trigger: { type: 'boolean' },
    inputs: { type: 'array', items: portSchema },
    outputs: { type: 'array', items: portSchema },
    settingsSchema: {
      type: 'object',
      required: ['type', 'properties', 'additionalProperties'],
      properties: {
        type: { const: 'object' },
        properties: {
          type: 'object',
          additionalProperties: { type: 'object', required: ['description'], properties: { description: nonEmptyString } },
        },
        additionalProperties: { const: false },
      },
    },
    defaults: { type: 'object' },
    requirements: { type: 'array', items: nonEmptyString },
    imports: { type: 'array', items: { type: 'string', pattern: '^(import|from) \\S' } },
    verbatimSettings: { type: 'array', items: nonEmptyString },
    expressionSettings: { type: 'array', items: nonEmptyString },
    python: {
      type: 'object',
      properties: {
        parameters: { type: 'array', items: { enum: ['input', 'ctx'] }, uniqueItems: true },
        returns: nonEmptyString,
        resultType: { enum: ['dict', 'list', 'str', 'int', 'float', 'bool'] },
        role: { enum: ['step', 'branch', 'return'] },
        helpers: { type: 'array', items: { type: 'string', pattern: '^[a-z_][a-z0-9_]*$' }, uniqueItems: true },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
};

/** `codegen-templates/nodes` of this package; the same from `src/nodes` (ts-jest) and `dist/nodes` (build). */
export function defaultTemplatesDir(): string {
  return path.resolve(__dirname, '..', '..', 'codegen-templates', 'nodes');
}

/** Splits `name` or `name@<major>` into its parts; `major` is the pin as written. */
export function parseTypeRef(typeRef: string): { name: string; major?: string } {
  const at = typeRef.indexOf('@');
  return at === -1 ? { name: typeRef } : { name: typeRef.slice(0, at), major: typeRef.slice(at + 1) };
}

/** The major part of a semantic version: `"1"` for `"1.4.2"`; what a `type@<major>` pin must equal. */
export function majorVersion(version: string): string {
  return version.split('.')[0];
}

interface CatalogEntry {
  definition: NodeTypeDefinition;
  major: string;
  validateSettings: ValidateFunction;
}

/** The node types of `codegen-templates/nodes/<type>/node.json`, with their compiled settings schemas. */
export class NodeCatalog {
  private constructor(private readonly entries: ReadonlyMap<string, CatalogEntry>) {}

  /** Reads every `dir/<type>/node.json`; a malformed manifest throws an Error naming its file and its problems. */
  static async load(dir: string): Promise<NodeCatalog> {
    const ajv = new Ajv({ allErrors: true, useDefaults: false, strict: true, strictTypes: false, strictTuples: false });
    addFormats(ajv);
    const checkManifest = ajv.compile<NodeTypeDefinition>(manifestSchema);
    const folders = (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    const entries = await Promise.all(
      folders.map(async (folder) => {
        const file = path.join(dir, folder, MANIFEST_FILE);
        const manifest = await readManifest(file);
        if (!checkManifest(manifest)) {
          throw manifestError(file, (checkManifest.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}`));
        }
        return compileEntry(ajv, file, folder, manifest);
      }),
    );
    return new NodeCatalog(new Map(entries.map((entry) => [entry.definition.type, entry])));
  }

  /** Every node type, sorted by type. */
  list(): NodeTypeDefinition[] {
    return [...this.entries.values()].map((entry) => entry.definition);
  }

  /** The node type named by `name` or `name@<major>`; undefined when unknown or when the pin is not its major. */
  resolve(typeRef: string): NodeTypeDefinition | undefined {
    const { name, major } = parseTypeRef(typeRef);
    const entry = this.entries.get(name);
    if (entry === undefined || (major !== undefined && major !== entry.major)) return undefined;
    return entry.definition;
  }

  /** Checks `settings`, with the type's defaults merged under them, against the type's settings schema. */
  validateSettings(definition: NodeTypeDefinition, settings: Record<string, unknown>): SettingsProblem[] {
    const entry = this.entries.get(definition.type);
    if (entry === undefined) throw new Error(`Node type "${definition.type}" is not in this catalogue`);
    if (entry.validateSettings({ ...definition.defaults, ...settings })) return [];
    return (entry.validateSettings.errors ?? []).map((error) => describeSettingsError(definition, error));
  }
}

async function readManifest(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`Node manifest ${file} cannot be read (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`Node manifest ${file} is not valid JSON (${(error as Error).message})`);
  }
}

function compileEntry(ajv: Ajv, file: string, folder: string, definition: NodeTypeDefinition): CatalogEntry {
  const problems: string[] = [];
  if (definition.type !== folder) problems.push(`/type "${definition.type}" must equal its folder name "${folder}"`);
  problems.push(...duplicatePortIds('inputs', definition.inputs), ...duplicatePortIds('outputs', definition.outputs));
  for (const list of ['verbatimSettings', 'expressionSettings'] as const) {
    for (const name of definition[list] ?? []) {
      if (!(name in definition.settingsSchema.properties)) problems.push(`/${list} names "${name}", which is not a setting`);
    }
  }
  if (definition.python?.role === 'branch' && definition.outputs.map((port) => port.id).join() !== 'true,false') {
    problems.push('/python/role "branch" needs exactly the outputs "true" and "false"');
  }
  let validateSettings: ValidateFunction;
  try {
    validateSettings = ajv.compile(definition.settingsSchema);
  } catch (error) {
    throw manifestError(file, [...problems, `/settingsSchema is not a valid JSON Schema (${(error as Error).message})`]);
  }
  if (!validateSettings(definition.defaults)) {
    const defaultsProblems = (validateSettings.errors ?? []).filter((error) => error.keyword !== 'required' || error.instancePath !== '');
    problems.push(...defaultsProblems.map((error) => `/defaults${error.instancePath} ${error.message}`));
  }
  if (problems.length > 0) throw manifestError(file, problems);
  return { definition, major: majorVersion(definition.version), validateSettings };
}

function duplicatePortIds(list: 'inputs' | 'outputs', ports: NodePort[]): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const { id } of ports) {
    if (seen.has(id)) problems.push(`/${list} has the id "${id}" more than once`);
    seen.add(id);
  }
  return problems;
}

function manifestError(file: string, problems: string[]): Error {
  return new Error(`Invalid node manifest ${file}: ${problems.join('; ')}`);
}

function describeSettingsError(definition: NodeTypeDefinition, error: ErrorObject): SettingsProblem {
  switch (error.keyword) {
    case 'required': {
      const path = `${error.instancePath}/${escapePointer(String(error.params.missingProperty))}`;
      return { path, message: `Setting "${path}" is required.` };
    }
    case 'additionalProperties': {
      const path = `${error.instancePath}/${escapePointer(String(error.params.additionalProperty))}`;
      const known = error.instancePath === '' ? Object.keys(definition.settingsSchema.properties) : [];
      const hint = known.length > 0 ? ` (known settings: ${known.map((name) => `"${name}"`).join(', ')})` : '';
      return { path, message: `Setting "${path}" is not a setting of node type "${definition.type}"${hint}.` };
    }
    case 'enum': {
      const allowed = (error.params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ');
      return { path: error.instancePath, message: `${settingLabel(error.instancePath)} must be one of ${allowed}.` };
    }
    default:
      return { path: error.instancePath, message: `${settingLabel(error.instancePath)} ${error.message}.` };
  }
}

function settingLabel(path: string): string {
  return path === '' ? 'Settings' : `Setting "${path}"`;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
