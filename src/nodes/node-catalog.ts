import type { ErrorObject } from 'ajv';
import path from 'node:path';
import { PACKAGE_VERSION } from '../common/package-info';
import { BINDING_PATTERN } from './node-manifest';
import { type LoadedNodeType, loadNodePacks, type NodePackInfo, type NodePackLoaderOptions } from './node-pack-loader';
import type { NodeTypeDefinition, SettingsProblem } from './node-type';

/** `codegen-templates/nodes` of this package; the same from `src/nodes` (ts-jest) and `dist/nodes` (build). */
export function defaultTemplatesDir(): string {
  return path.resolve(__dirname, '..', '..', 'codegen-templates', 'nodes');
}

/** Splits `name` or `name@<major>` into its parts; `major` is the pin as written. */
export function parseTypeRef(typeRef: string): { name: string; major?: string } {
  const at = typeRef.indexOf('@');
  return at === -1 ? { name: typeRef } : { name: typeRef.slice(0, at), major: typeRef.slice(at + 1) };
}

export { BINDING_PATTERN, LAYER_DATA_TYPE, majorVersion } from './node-manifest';

/** Where the catalogue's node types come from besides the built-in folder. */
export interface NodePackSources {
  /** The server's `plugins/` folder. */
  firstPartyDir?: string;
  /** `node_modules` folders scanned for installed packs. */
  nodeModulesDirs?: readonly string[];
  /** `config.nodePacks`: package names or paths. */
  extra?: readonly string[];
  python?: string;
  logger?: NodePackLoaderOptions['logger'];
  precompiled?: NodePackLoaderOptions['precompiled'];
}

/**
 * The node types a workflow may use: the built-in pack (`codegen-templates/nodes/<type>/`, bare
 * names) and every node pack (`<namespace>/<type>`), each loaded by node-pack-loader.ts, with
 * their compiled settings schemas and the packs as they loaded (or not).
 */
export class NodeCatalog {
  private readonly entries: ReadonlyMap<string, LoadedNodeType>;

  private constructor(
    types: readonly LoadedNodeType[],
    private readonly nodePacks: readonly NodePackInfo[],
  ) {
    this.entries = new Map([...types].sort((a, b) => compare(a.definition.type, b.definition.type)).map((entry) => [entry.definition.type, entry]));
  }

  /**
   * The built-in node types of `dir` alone; a built-in type that does not load throws an Error
   * naming its file and line (the server's own types are never left out quietly).
   */
  static async load(dir: string): Promise<NodeCatalog> {
    return NodeCatalog.loadPacks(dir, {});
  }

  /**
   * The built-in types of `builtinDir`, then every node pack of `sources`. A built-in type that does
   * not load throws; a pack or pack type that does not load is kept out and listed with its loadError.
   */
  static async loadPacks(builtinDir: string, sources: NodePackSources): Promise<NodeCatalog> {
    const { packs, types } = await loadNodePacks({
      builtinDir,
      builtinVersion: PACKAGE_VERSION,
      firstPartyDir: sources.firstPartyDir,
      nodeModulesDirs: sources.nodeModulesDirs ?? [],
      extra: sources.extra ?? [],
      python: sources.python,
      logger: sources.logger,
      precompiled: sources.precompiled,
    });
    const builtinErrors = packs[0].types.flatMap((type) => (type.loadError === undefined ? [] : [type.loadError]));
    if (packs[0].loadError !== undefined) builtinErrors.unshift(packs[0].loadError);
    if (builtinErrors.length > 0) throw new Error(builtinErrors.join('\n'));
    return new NodeCatalog(types, packs);
  }

  /** The packs, the built-in one first, each with its types and loadError. */
  packs(): readonly NodePackInfo[] {
    return this.nodePacks;
  }

  /** The pack a loaded type comes from. */
  packOf(type: string): { name: string; version: string } {
    const entry = this.entries.get(type);
    if (entry === undefined) throw new Error(`Node type "${type}" is not in this catalogue`);
    return entry.pack;
  }

  /** The files of a loaded type: its template and, when it has one, its helpers.py. */
  filesOf(type: string): { templateFile: string; helpersFile?: string } {
    const entry = this.entries.get(type);
    if (entry === undefined) throw new Error(`Node type "${type}" is not in this catalogue`);
    return { templateFile: entry.templateFile, helpersFile: entry.helpersFile };
  }

  /** The pack whose namespace is the prefix of `type` (`acme` of `acme/random-forest`), whether it loaded or not. */
  packOfNamespace(type: string): NodePackInfo | undefined {
    const slash = type.indexOf('/');
    if (slash === -1) return undefined;
    const namespace = type.slice(0, slash);
    return this.nodePacks.find((pack) => pack.namespace === namespace);
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

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
