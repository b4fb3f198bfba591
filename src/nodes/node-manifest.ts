import type { ValidateFunction } from 'ajv';
import { type JsonSchema, type NodePort, type NodeTypeDefinition, SHAPE_RULES } from './node-type';

/*
 * What every node.json must be — a built-in type's or a pack's: the JSON Schema of the manifest,
 * and the checks that need more than a schema. The pack loader (node-pack-loader.ts) runs them.
 */

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
/** The JSON Schema of a node.json. */
export const nodeManifestSchema = {
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
    example: { type: 'object' },
  },
  additionalProperties: false,
};

/** A node type that passed the manifest checks, with its compiled settings validator. */
export interface CatalogEntry {
  definition: NodeTypeDefinition;
  major: string;
  validateSettings: ValidateFunction;
}

/** The major part of a semantic version: `"1"` for `"1.4.2"`; what a `type@<major>` pin must equal. */
export function majorVersion(version: string): string {
  return version.split('.')[0];
}

/** A schema's validator; throws (as ajv.compile does) when the schema is not a valid JSON Schema (node-schema-compiler.ts makes it). */
export type CompileSchema = (schema: JsonSchema) => ValidateFunction;

export type ManifestCheck = (manifest: unknown, options: { requireExample: boolean }) => { definition: NodeTypeDefinition } | { problems: string[] };

/** The manifest schema compiled once with `compile`: each problem starts with its JSON pointer. */
export function checkManifest(compile: CompileSchema): ManifestCheck {
  const validate = compile(nodeManifestSchema);
  return (manifest) => {
    if (validate(manifest)) return { definition: manifest as NodeTypeDefinition };
    return { problems: (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}`) };
  };
}

/**
 * The checks of a manifest beyond its schema (the type equals its folder, ports, the python
 * section, the settings schema compiles, the defaults and a pack type's `example` pass it), and
 * its compiled settings validator; `problems` each start with the JSON pointer they are about.
 */
export function compileNodeType(
  compile: CompileSchema,
  folder: string,
  definition: NodeTypeDefinition,
  options: { requireExample: boolean },
): { entry: CatalogEntry } | { problems: string[] } {
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
    validateSettings = compile(definition.settingsSchema);
  } catch (error) {
    return { problems: [...problems, `/settingsSchema is not a valid JSON Schema (${(error as Error).message})`] };
  }
  if (!validateSettings(definition.defaults)) {
    const defaultsProblems = (validateSettings.errors ?? []).filter((error) => error.keyword !== 'required' || error.instancePath !== '');
    problems.push(...defaultsProblems.map((error) => `/defaults${error.instancePath} ${error.message}`));
  }
  if (definition.example !== undefined && !validateSettings({ ...definition.defaults, ...definition.example })) {
    problems.push(...(validateSettings.errors ?? []).map((error) => `/example${error.instancePath} ${error.message}`));
  }
  if (options.requireExample && definition.example === undefined) {
    problems.push("/ must have required property 'example' (the settings a pack's type is checked and shown with)");
  }
  if (problems.length > 0) return { problems };
  return { entry: { definition, major: majorVersion(definition.version), validateSettings } };
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
