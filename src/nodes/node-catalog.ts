import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type NodePort, type NodeTypeDefinition, SHAPE_RULES, type SettingsProblem } from './node-type';

const MANIFEST_FILE = 'node.json';
const NODE_TYPE_NAME = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$';
const SEMVER = '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$';
const PORT_ID = '^[A-Za-z_][A-Za-z0-9_-]*$';

const nonEmptyString = { type: 'string', minLength: 1 };
const DATA_TYPE = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$';
/**
 * What a numeric setting that may also be a binding uses as its string branch:
 * `"anyOf": [{"type": "number", …}, {"type": "string", "pattern": BINDING_PATTERN}]`.
 */
export const BINDING_PATTERN = '^\\s*\\{\\{[^]*\\}\\}\\s*$';
const inputPortSchema = {
  type: 'object',
  required: ['id', 'dataType', 'description'],
  properties: { id: { type: 'string', pattern: PORT_ID }, dataType: { type: 'string', pattern: DATA_TYPE }, description: nonEmptyString },
  additionalProperties: false,
};
const outputPortSchema = {
  ...inputPortSchema,
  properties: { ...inputPortSchema.properties, field: nonEmptyString },
};
const manifestSchema = {
  type: 'object',
  required: [
    'type',
    'version',
    'category',
    'displayName',
    'description',
    'trigger',
    'inputs',
    'outputs',
    'settingsSchema',
    'defaults',
    'requirements',
    'imports',
  ],
  properties: {
    type: { type: 'string', pattern: NODE_TYPE_NAME },
    version: { type: 'string', pattern: SEMVER },
    category: nonEmptyString,
    displayName: nonEmptyString,
    description: nonEmptyString,
    trigger: { type: 'boolean' },
    inputs: { type: 'array', items: inputPortSchema },
    outputs: { type: 'array', items: outputPortSchema },
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
        parameters: { type: 'array', items: { type: 'string', pattern: '^[a-z_][a-z0-9_]*$' }, uniqueItems: true },
        returns: nonEmptyString,
        resultType: { enum: ['dict', 'list', 'str', 'int', 'float', 'bool'] },
        role: { enum: ['step', 'branch', 'return', 'layer', 'sequence'] },
        helpers: { type: 'array', items: { type: 'string', pattern: '^[a-z_][a-z0-9_]*$' }, uniqueItems: true },
      },
      additionalProperties: false,
    },
    shape: { enum: SHAPE_RULES },
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
    const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: false, strict: true, strictTypes: false, strictTuples: false });
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
          throw manifestError(
            file,
            (checkManifest.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}`),
          );
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
    return describeSettingsErrors(definition, entry.validateSettings.errors ?? []);
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
  problems.push(...pythonProblems(definition));
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

/** What the `python` section asks that the rest of the manifest does not give. */
function pythonProblems(definition: NodeTypeDefinition): string[] {
  const problems: string[] = [];
  const { role = 'step', parameters = [] } = definition.python ?? {};
  const inputIds = definition.inputs.map((port) => port.id);
  for (const parameter of parameters) {
    if (parameter !== 'input' && parameter !== 'ctx' && !inputIds.includes(parameter)) {
      problems.push(`/python/parameters names "${parameter}", which is neither "input", "ctx" nor one of its inputs`);
    }
  }
  if (role === 'branch' && definition.outputs.map((port) => port.id).join() !== 'true,false') {
    problems.push('/python/role "branch" needs exactly the outputs "true" and "false"');
  }
  const chained = (ports: NodePort[]) => ports.length === 1 && ports[0].dataType === LAYER_DATA_TYPE;
  if (role === 'layer' && !(chained(definition.inputs) && chained(definition.outputs))) {
    problems.push(`/python/role "layer" needs exactly one input and one output, both of dataType "${LAYER_DATA_TYPE}"`);
  }
  if (role === 'sequence' && !chained(definition.inputs)) {
    problems.push(`/python/role "sequence" needs exactly one input, of dataType "${LAYER_DATA_TYPE}"`);
  }
  if ((role === 'layer' || role === 'sequence') && parameters.length > 0) {
    problems.push(`/python/parameters: a node of role "${role}" takes none`);
  }
  return problems;
}

/** The dataType of the handles that chain layer nodes into a sequence. */
export const LAYER_DATA_TYPE = 'layer';

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

/**
 * One problem per failed keyword; an `anyOf` (a number or a binding, say) is described once, by
 * what its branches ask: the branch whose type the value has says what is wrong with it.
 */
function describeSettingsErrors(definition: NodeTypeDefinition, errors: ErrorObject[]): SettingsProblem[] {
  const alternatives = errors.filter((error) => error.keyword === 'anyOf');
  const within = (error: ErrorObject, anyOf: ErrorObject) => error !== anyOf && error.schemaPath.startsWith(`${anyOf.schemaPath}/`);
  return errors
    .filter((error) => !alternatives.some((anyOf) => within(error, anyOf)))
    .map((error) =>
      error.keyword === 'anyOf'
        ? describeAlternatives(
            error,
            errors.filter((other) => within(other, error)),
          )
        : describeSettingsError(definition, error),
    );
}

function describeAlternatives(anyOf: ErrorObject, branchErrors: ErrorObject[]): SettingsProblem {
  const path = anyOf.instancePath;
  // The settings validators are compiled with `verbose`, so the error carries the branches.
  const branches = (Array.isArray(anyOf.schema) ? anyOf.schema : []) as { type?: string; pattern?: string }[];
  const bindable = branches.some((branch) => branch.type === 'string' && branch.pattern === BINDING_PATTERN);
  const kinds = branches.filter((branch) => branch.type !== undefined && !(bindable && branch.type === 'string')).map((branch) => String(branch.type));
  const specific = branchErrors.find((error) => error.keyword !== 'type' && !isBindingPattern(error));
  if (specific !== undefined) return { path, message: `${settingLabel(path)} ${specific.message}${bindable ? ' (or be a binding)' : ''}.` };
  const expected = [...kinds.map((type) => `a${/^[aeiou]/.test(type) ? 'n' : ''} ${type}`), ...(bindable ? ['a binding such as "{{ trigger.value }}"'] : [])];
  return { path, message: `${settingLabel(path)} must be ${expected.join(' or ') || 'one of the allowed kinds of value'}.` };
}

function isBindingPattern(error: ErrorObject): boolean {
  return error.keyword === 'pattern' && error.params.pattern === BINDING_PATTERN;
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
