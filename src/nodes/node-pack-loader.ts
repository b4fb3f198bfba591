import { execFile } from 'node:child_process';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Handlebars from 'handlebars';
import { findNodeAtLocation, parse as parseJsonc, parseTree, type ParseError, type Node as JsonNode } from 'jsonc-parser';
import { installedPackagesWithField, packagesWithField, readPackageJson, type ScannedPackage } from '../common/package-scan';
import { compileNodeType, type CatalogEntry, checkManifest, type CompileSchema, type ManifestCheck } from './node-manifest';
import { nodeSchemaCompiler, type PrecompiledSchemas } from './node-schema-compiler';
import type { NodeTypeDefinition } from './node-type';
import { type PythonFragment, splitFragment } from './python-fragment';
import { NODE_HELPERS, templateProblems } from './template-safety';

/** The field of package.json a node pack's manifest sits in (the same field executor plugins use). */
export const NODE_PACK_FIELD = 'tensorify';
/** The node API this server speaks; a pack declaring another `nodeApiVersion` is refused before anything else is read. */
export const NODE_API_VERSION = 1;
export const NAMESPACE_PATTERN = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$';
const NAMESPACE = new RegExp(NAMESPACE_PATTERN);

/** Where a pack was found: the server's own node types, the `plugins/` folder, `nodePacks` in the config, or an installed package. */
export type NodePackSource = 'builtin' | 'first-party' | 'configured' | 'installed';

/** One type of a pack as the loader left it: its full name, and its version when it loaded or its loadError when it did not. */
export interface NodePackType {
  type: string;
  version?: string;
  loadError?: string;
}

/** A node pack as `GET /v1/node-packs` lists it. */
export interface NodePackInfo {
  /** The package name (`tensorify-server` for the built-in types). */
  name: string;
  version: string;
  /** The prefix of its types' names (`acme` in `acme/random-forest`); null for the built-in types, which keep bare names. */
  namespace: string | null;
  source: NodePackSource;
  /** The package's real directory; null when a configured pack was not found. */
  path: string | null;
  types: NodePackType[];
  /** Why the whole pack was refused; its types are then not loaded. */
  loadError?: string;
}

/** A node type that passed every check, with where its files are. */
export interface LoadedNodeType extends CatalogEntry {
  /** Its `<type>.py.hbs`. */
  templateFile: string;
  /** Its `helpers.py`, when it has one, and what it defines. */
  helpersFile?: string;
  helpers?: PythonFragment;
  pack: { name: string; version: string };
}

export interface NodePackLoaderOptions {
  /** The built-in node types (`codegen-templates/nodes`): the first pack, bare names. */
  builtinDir: string;
  /** Version shown for the built-in pack. */
  builtinVersion: string;
  /** The server's `plugins/` folder: each child folder whose package.json carries a node-pack manifest is loaded. */
  firstPartyDir?: string;
  /** `node_modules` folders scanned for installed packs (top level and `@scope/*`), and where configured names are looked up. */
  nodeModulesDirs: readonly string[];
  /** `config.nodePacks`: package names, or paths to a package directory. */
  extra: readonly string[];
  /** The Python that checks each helpers.py compiles; default `python3`. */
  python?: string;
  logger?: { info(message: string): void; warn(message: string): void };
  /** Validators compiled by the build, by their schema's JSON; default those of the build beside this module (none from src/). */
  precompiled?: PrecompiledSchemas;
}

export interface NodePackLoad {
  packs: NodePackInfo[];
  types: LoadedNodeType[];
}

interface Candidate {
  source: NodePackSource;
  name: string;
  path: string | null;
  packageJson?: Record<string, unknown>;
  problem?: string;
}

/** A type that passed the checks done in Node, waiting for its helpers.py to be compiled by Python. */
interface Pending {
  info: NodePackInfo;
  status: NodePackType;
  loaded: LoadedNodeType;
  packRoot: string;
}

/**
 * Loads the built-in node types and every node pack: the built-in pack first, then the packs of
 * `firstPartyDir`, the configured ones, then the installed ones (a package seen twice, by real
 * path, counts once). Each pack's `nodeApiVersion` is checked before anything else of it is read;
 * each type then goes through the manifest schema, its settings JSON Schema, the template safety
 * gate, and its helpers.py must compile. Never throws for a pack's fault: a broken pack or type is
 * returned with a `loadError` naming its file and line.
 */
export async function loadNodePacks(options: NodePackLoaderOptions): Promise<NodePackLoad> {
  const compile = nodeSchemaCompiler(options.precompiled);
  const check = checkManifest(compile);
  const builtinRoot = path.dirname(path.resolve(options.builtinDir));
  const builtin: NodePackInfo = {
    name: 'tensorify-server',
    version: options.builtinVersion,
    namespace: null,
    source: 'builtin',
    path: builtinRoot,
    types: [],
  };
  const pending: Pending[] = await loadTypes(builtin, builtinRoot, path.resolve(options.builtinDir), check, compile);
  const builtinCount = pending.length;
  const packs = [builtin];
  const namespaces = new Map<string, NodePackInfo>();
  for (const candidate of await discover(options)) {
    const { info, nodesDir } = openPack(candidate, namespaces);
    packs.push(info);
    if (nodesDir !== undefined) pending.push(...(await loadTypes(info, candidate.path!, nodesDir, check, compile)));
  }
  // The built-in pack's helpers.py files ship with the server and its tests compile them: only
  // third parties' are compiled here, so a server with no pack starts no Python at boot.
  const compiled = await compileHelpers(
    pending.slice(builtinCount).flatMap((entry) => (entry.loaded.helpersFile === undefined ? [] : [entry.loaded.helpersFile])),
    options,
  );
  const types: LoadedNodeType[] = [];
  const helperOwners = new Map<string, Pending>();
  for (const entry of pending) {
    const helpersFile = entry.loaded.helpersFile;
    const relative = (file: string) => path.relative(entry.packRoot, file);
    const failure = helpersFile === undefined ? undefined : compiled.get(helpersFile);
    const clash = helpersFile === undefined || failure !== undefined ? undefined : helperClash(entry, helperOwners);
    if (failure !== undefined) entry.status.loadError = `${relative(helpersFile!)} does not compile: ${failure}`;
    else if (clash !== undefined) entry.status.loadError = clash;
    else {
      entry.status.version = entry.loaded.definition.version;
      types.push(entry.loaded);
    }
  }
  for (const info of packs) logPack(info, options.logger);
  return { packs, types };
}

function logPack(info: NodePackInfo, logger: NodePackLoaderOptions['logger']): void {
  if (logger === undefined) return;
  if (info.loadError !== undefined) logger.warn(`Node pack ${info.name} not loaded: ${info.loadError}`);
  for (const type of info.types) if (type.loadError !== undefined) logger.warn(`Node type "${type.type}" of ${info.name} not loaded: ${type.loadError}`);
  if (info.source !== 'builtin' && info.loadError === undefined) {
    const loaded = info.types.filter((type) => type.loadError === undefined).length;
    logger.info(`Node pack ${info.name} ${info.version} loaded: ${loaded} of ${info.types.length} types`);
  }
}

/** A helper function of another pack's type with the same name would replace it in utils.py: the later type is refused. */
function helperClash(entry: Pending, owners: Map<string, Pending>): string | undefined {
  const defines = entry.loaded.helpers?.defines ?? [];
  for (const name of defines) {
    const owner = owners.get(name);
    if (owner !== undefined && owner.info !== entry.info) {
      return (
        `${path.relative(entry.packRoot, entry.loaded.helpersFile!)} defines "${name}", which type "${owner.loaded.definition.type}" of ` +
        `${owner.info.name} already defines: both would land in utils.py; rename it (prefix it with the namespace)`
      );
    }
  }
  for (const name of defines) if (!owners.has(name)) owners.set(name, entry);
  return undefined;
}

// ---- discovery ---------------------------------------------------------------------------------

/** Whether a package.json carries a node-pack manifest. */
export function isNodePackManifest(packageJson: Record<string, unknown>): boolean {
  const field = packageJson[NODE_PACK_FIELD];
  return typeof field === 'object' && field !== null && 'nodeApiVersion' in field;
}

async function discover(options: NodePackLoaderOptions): Promise<Candidate[]> {
  const firstParty = options.firstPartyDir === undefined ? [] : await packsIn(options.firstPartyDir, 'first-party');
  const configured = await Promise.all(options.extra.map((entry) => findConfigured(entry, options.nodeModulesDirs)));
  const installed = await Promise.all(options.nodeModulesDirs.map(async (dir) => packsOf('installed', await installedPackagesWithField(dir, NODE_PACK_FIELD))));
  const seen = new Set<string>();
  return [...firstParty, ...configured, ...installed.flat()].filter((candidate) => {
    if (candidate.path === null) return true;
    if (seen.has(candidate.path)) return false;
    seen.add(candidate.path);
    return true;
  });
}

async function packsIn(dir: string, source: NodePackSource): Promise<Candidate[]> {
  return packsOf(source, await packagesWithField(dir, NODE_PACK_FIELD));
}

async function packsOf(source: NodePackSource, packages: ScannedPackage[]): Promise<Candidate[]> {
  const packs = packages.filter(({ packageJson }) => isNodePackManifest(packageJson));
  return Promise.all(packs.map(async ({ folder, packageJson }) => candidateOf(source, await realpath(folder).catch(() => folder), packageJson)));
}

const isDirectory = (dir: string) =>
  stat(dir).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
const isFile = (file: string) =>
  stat(file).then(
    (stats) => stats.isFile(),
    () => false,
  );

/** The pack a `nodePacks` entry names: a path (absolute, or starting with `.`), else a package name looked up in `nodeModulesDirs`. */
async function findConfigured(entry: string, nodeModulesDirs: readonly string[]): Promise<Candidate> {
  const isPath = path.isAbsolute(entry) || entry.startsWith('.');
  const places = isPath ? [path.resolve(entry)] : nodeModulesDirs.map((dir) => path.join(dir, entry));
  for (const place of places) {
    if (!(await isDirectory(place))) continue;
    const packagePath = await realpath(place);
    try {
      const packageJson = await readPackageJson(packagePath);
      const candidate = candidateOf('configured', packagePath, packageJson);
      if (!isNodePackManifest(packageJson)) candidate.problem = `package.json has no "${NODE_PACK_FIELD}.nodeApiVersion": this package is not a node pack`;
      return candidate;
    } catch (error) {
      return { source: 'configured', name: entry, path: packagePath, problem: `cannot read its package.json: ${(error as Error).message}` };
    }
  }
  const problem = isPath
    ? `configured node pack path ${places[0]} is not a directory`
    : `configured node pack "${entry}" is not installed (looked in ${nodeModulesDirs.join(', ') || 'no node_modules folder'})`;
  return { source: 'configured', name: entry, path: null, problem };
}

function candidateOf(source: NodePackSource, packagePath: string, packageJson: Record<string, unknown>): Candidate {
  const name = typeof packageJson.name === 'string' && packageJson.name ? packageJson.name : path.basename(packagePath);
  return { source, name, path: packagePath, packageJson };
}

// ---- one pack ------------------------------------------------------------------------------------

/** The problem of a pack manifest, the API version first: nothing else of a manifest from another version is read. */
export function packManifestProblem(manifest: unknown): string | undefined {
  const field = manifest as { nodeApiVersion?: unknown; nodes?: unknown; namespace?: unknown };
  if (field.nodeApiVersion !== NODE_API_VERSION) {
    return (
      `package.json declares ${NODE_PACK_FIELD}.nodeApiVersion ${JSON.stringify(field.nodeApiVersion)}, but this server speaks nodeApiVersion ` +
      `${NODE_API_VERSION}: install a release of the pack made for node API ${NODE_API_VERSION}`
    );
  }
  if (typeof field.nodes !== 'string' || field.nodes === '')
    return `package.json: ${NODE_PACK_FIELD}.nodes must name the folder of the node types, e.g. "nodes"`;
  if (path.isAbsolute(field.nodes) || path.normalize(field.nodes).split(/[\\/]/)[0] === '..') {
    return `package.json: ${NODE_PACK_FIELD}.nodes "${field.nodes}" must be a relative path inside the package`;
  }
  if (typeof field.namespace !== 'string' || !NAMESPACE.test(field.namespace)) {
    return (
      `package.json: ${NODE_PACK_FIELD}.namespace must be lowercase words joined by "-" (the prefix of the pack's type names, "acme" in ` +
      `"acme/random-forest"), got ${JSON.stringify(field.namespace)}`
    );
  }
  return undefined;
}

function openPack(candidate: Candidate, namespaces: Map<string, NodePackInfo>): { info: NodePackInfo; nodesDir?: string } {
  const version = typeof candidate.packageJson?.version === 'string' ? candidate.packageJson.version : '';
  const info: NodePackInfo = { name: candidate.name, version, namespace: null, source: candidate.source, path: candidate.path, types: [] };
  if (candidate.problem !== undefined) return { info: { ...info, loadError: candidate.problem } };
  const manifest = candidate.packageJson![NODE_PACK_FIELD] as { nodes: string; namespace: string };
  const problem = packManifestProblem(manifest);
  if (problem !== undefined) return { info: { ...info, loadError: problem } };
  info.namespace = manifest.namespace;
  const owner = namespaces.get(manifest.namespace);
  if (owner !== undefined) {
    info.loadError =
      `namespace "${manifest.namespace}" is already taken by ${owner.name} (${owner.path}); its types would shadow that pack's: ` +
      `give this pack another namespace (the first one found, ${owner.name}, is used)`;
    return { info };
  }
  namespaces.set(manifest.namespace, info);
  return { info, nodesDir: path.resolve(candidate.path!, manifest.nodes) };
}

/** Every type folder of a pack through the checks done in Node; the result's types still need their helpers.py compiled. */
async function loadTypes(info: NodePackInfo, packRoot: string, nodesDir: string, check: ManifestCheck, compile: CompileSchema): Promise<Pending[]> {
  let folders: string[];
  try {
    folders = (await readdir(nodesDir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    info.loadError = `its node types folder ${path.relative(packRoot, nodesDir) || '.'} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    return [];
  }
  const pending: Pending[] = [];
  for (const folder of folders) {
    const fullName = info.namespace === null ? folder : `${info.namespace}/${folder}`;
    const status: NodePackType = { type: fullName };
    info.types.push(status);
    const result = await loadType(packRoot, path.join(nodesDir, folder), folder, info, check, compile);
    if ('loadError' in result) status.loadError = result.loadError;
    else pending.push({ info, status, loaded: result, packRoot });
  }
  return pending;
}

async function loadType(
  packRoot: string,
  folderPath: string,
  folder: string,
  info: NodePackInfo,
  check: ManifestCheck,
  compile: CompileSchema,
): Promise<LoadedNodeType | { loadError: string }> {
  const relative = (file: string) => path.relative(packRoot, file);
  const manifestFile = path.join(folderPath, 'node.json');
  let text: string;
  try {
    text = await readFile(manifestFile, 'utf8');
  } catch (error) {
    return { loadError: `Node manifest ${relative(manifestFile)} cannot be read (${(error as Error).message})` };
  }
  const parseErrors: ParseError[] = [];
  const manifest: unknown = parseJsonc(text, parseErrors, { disallowComments: true, allowTrailingComma: false });
  if (parseErrors.length > 0) {
    return { loadError: `Node manifest ${relative(manifestFile)} is not valid JSON (line ${lineAt(text, parseErrors[0].offset)})` };
  }
  const tree = parseTree(text);
  const located = (problems: string[]) => problems.map((problem) => `line ${pointerLine(text, tree, problem)}: ${problem}`).join('; ');
  const invalid = (problems: string[]) => ({ loadError: `Invalid node manifest ${relative(manifestFile)}: ${located(problems)}` });
  const namespaced = info.namespace !== null;
  const checked = check(manifest, { requireExample: namespaced });
  if ('problems' in checked) return invalid(checked.problems);
  const compiled = compileNodeType(compile, folder, checked.definition, { requireExample: namespaced });
  if ('problems' in compiled) return invalid(compiled.problems);
  const definition: NodeTypeDefinition = namespaced ? { ...compiled.entry.definition, type: `${info.namespace}/${folder}` } : compiled.entry.definition;

  const templateFile = path.join(folderPath, `${folder}.py.hbs`);
  let source: string;
  try {
    source = await readFile(templateFile, 'utf8');
  } catch (error) {
    return { loadError: `Template ${relative(templateFile)} cannot be read (${(error as Error).message})` };
  }
  let problems: string[];
  try {
    problems = templateProblems(Handlebars.parse(source), NODE_HELPERS);
  } catch (error) {
    return { loadError: `Template ${relative(templateFile)} is refused: ${(error as Error).message.split('\n')[0]}` };
  }
  if (problems.length > 0) return { loadError: `Template ${relative(templateFile)} is refused: ${problems.join('; ')}` };

  const helpersFile = path.join(folderPath, 'helpers.py');
  const declared = definition.python?.helpers ?? [];
  const hasHelpers = await isFile(helpersFile);
  if (!hasHelpers && declared.length > 0) return { loadError: `${relative(helpersFile)} does not exist, but node.json lists python.helpers` };
  const loaded: LoadedNodeType = { ...compiled.entry, definition, templateFile, pack: { name: info.name, version: info.version } };
  if (!hasHelpers) return loaded;
  const helpers = splitFragment(await readFile(helpersFile, 'utf8'));
  const missing = declared.filter((name) => !helpers.defines.includes(name));
  if (missing.length > 0) return { loadError: `${relative(helpersFile)} does not define ${missing.join(', ')}, which node.json lists in python.helpers` };
  return { ...loaded, helpersFile, helpers };
}

/** The 1-based line of `offset` in `text`. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let index = 0; index < offset && index < text.length; index++) if (text.charCodeAt(index) === 10) line++;
  return line;
}

/** The line of the deepest value of the JSON pointer a problem starts with (`/settingsSchema/properties/x …`), else 1. */
function pointerLine(text: string, tree: JsonNode | undefined, problem: string): number {
  const pointer = /^(\/\S*)/.exec(problem)?.[1];
  if (tree === undefined || pointer === undefined) return 1;
  const segments: (string | number)[] = pointer
    .split('/')
    .slice(1)
    .filter((segment) => segment !== '')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
  for (let length = segments.length; length >= 0; length--) {
    const node = findNodeAtLocation(tree, segments.slice(0, length));
    if (node !== undefined) return lineAt(text, node.parent?.type === 'property' ? node.parent.offset : node.offset);
  }
  return 1;
}

// ---- helpers.py through Python --------------------------------------------------------------------

/*
 * Compiling is Python's to judge: one python3 process compiles every helpers.py (what py_compile
 * does, without writing a .pyc into the pack) and answers, per file that fails, its line.
 */
const COMPILE_SCRIPT = `
import json, sys
failures = {}
for name in sys.argv[1:]:
    try:
        with open(name, "rb") as handle:
            compile(handle.read(), name, "exec", dont_inherit=True)
    except SyntaxError as error:
        failures[name] = "line %s: %s: %s" % (error.lineno, type(error).__name__, error.msg)
    except Exception as error:
        failures[name] = "%s: %s" % (type(error).__name__, error)
print(json.dumps(failures))
`;

async function compileHelpers(files: string[], options: NodePackLoaderOptions): Promise<Map<string, string>> {
  if (files.length === 0) return new Map();
  const python = options.python ?? 'python3';
  try {
    const { stdout } = await promisify(execFile)(python, ['-c', COMPILE_SCRIPT, ...files], { timeout: 60_000, maxBuffer: 8 * 1024 * 1024 });
    return new Map(Object.entries(JSON.parse(stdout) as Record<string, string>));
  } catch (error) {
    options.logger?.warn(`helpers.py files were not compile-checked: ${python} could not run (${(error as Error).message.split('\n')[0]})`);
    return new Map();
  }
}
