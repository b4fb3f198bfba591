import {
  EXECUTOR_API_VERSION,
  MANIFEST_FIELD,
  type Executor,
  type ExecutorDefinition,
  type PluginLogger,
  type PluginManifest,
} from '@tensorify/executor-sdk';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** Where a plugin package was found: the server's `plugins/` folder, an installed package, or `executorPlugins` in the config. */
export type PluginSource = 'first-party' | 'installed' | 'configured';

/** One executor of a plugin package as the loader left it: `executor` when it loaded, `loadError` when it did not. */
export interface LoadedPlugin {
  /** The executor id; null only for a package so broken that no id could be read from it. */
  id: string | null;
  /** The definition's display name; the package name when the definition was not reached. */
  displayName: string;
  /** The definition's version; the package's version when the definition was not reached. */
  version: string;
  packageName: string;
  /** The package's real directory; null when a configured package was not found. */
  packagePath: string | null;
  source: PluginSource;
  executor?: Executor;
  loadError?: string;
}

export interface PluginLoaderOptions {
  /** The server's `plugins/` folder: each child folder whose package.json carries the manifest field is loaded. */
  firstPartyDir: string;
  /** `node_modules` folders scanned for installed plugin packages (top level and `@scope/*`), and where configured names are looked up. */
  nodeModulesDirs: readonly string[];
  /** `config.executorPlugins`: package names, or paths to a package directory (absolute, or starting with `.`, from the working directory). */
  extra: readonly string[];
  /** `config.executors`: each executor's configuration by id, validated against its `configSchema`. */
  configs: Readonly<Record<string, unknown>>;
  /** The server's data dir; each executor gets `<dataDir>/executors/<id>`. */
  dataDir: string;
  logger: PluginLogger;
  /** How long `create()` may take. */
  createTimeoutMs?: number;
}

export const CREATE_TIMEOUT_MS = 10_000;
export const EXECUTOR_ID_PATTERN = '^[a-z][a-z0-9-]{0,31}$';
const EXECUTOR_ID = new RegExp(EXECUTOR_ID_PATTERN);
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

const manifestSchema = {
  type: 'object',
  required: ['executorApiVersion', 'executors'],
  properties: {
    executorApiVersion: { type: 'integer' },
    executors: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['id', 'entry'],
        properties: { id: { type: 'string', pattern: EXECUTOR_ID_PATTERN }, entry: { type: 'string', minLength: 1 } },
      },
    },
  },
};
const checkManifest = new Ajv({ allErrors: true }).compile<PluginManifest>(manifestSchema);

/** Rejected by {@link withTimeout} when the work did not settle in time. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Settles as `work` does, or rejects with a {@link TimeoutError} carrying `message` after `ms`. */
export function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** `10 s`, `250 ms`: a duration as an operator reads it. */
export function formatDuration(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** An error's message, for errors thrown by plugin code (which may come from another realm or not be an Error at all). */
export function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

interface Candidate {
  source: PluginSource;
  packageName: string;
  packagePath: string | null;
  packageJson?: Record<string, unknown>;
  problem?: string;
}

/**
 * Finds and loads every executor plugin: the first-party packages of `firstPartyDir`, the
 * configured `extra` packages, then the packages installed in `nodeModulesDirs` (a package seen
 * twice, by real path, counts once; the first package to claim an executor id keeps it). For each
 * package it checks the manifest, refuses another `executorApiVersion` before loading any code,
 * requires the entry, checks the definition's shape, validates the executor's configuration (with
 * the schema's defaults filled in), and awaits `create()`.
 *
 * Never throws for a plugin's fault: a plugin that cannot load is returned with its `loadError`
 * and logged as a warning, so one broken plugin never stops the boot.
 */
export async function loadExecutorPlugins(options: PluginLoaderOptions): Promise<LoadedPlugin[]> {
  const candidates = await discover(options);
  const owners = new Map<string, Candidate>();
  const results: LoadedPlugin[] = [];
  for (const candidate of candidates) {
    const plugins = await loadPackage(candidate, owners, options).catch((error: unknown): LoadedPlugin[] => [
      { id: null, ...packageFacts(candidate), loadError: `unexpected failure while loading: ${errorMessage(error)}` },
    ]);
    for (const plugin of plugins) {
      results.push(plugin);
      const where = { package: plugin.packageName, path: plugin.packagePath, source: plugin.source };
      if (plugin.executor) options.logger.info(`Executor "${plugin.id}" loaded (${plugin.displayName} ${plugin.version})`, where);
      else options.logger.warn(`Executor plugin ${plugin.packageName}${plugin.id ? ` ("${plugin.id}")` : ''} not loaded: ${plugin.loadError}`, where);
    }
  }
  for (const id of Object.keys(options.configs).filter((id) => !owners.has(id))) {
    options.logger.warn(`The configuration has settings for executor "${id}", but no executor plugin provides it`);
  }
  return results;
}

async function discover(options: PluginLoaderOptions): Promise<Candidate[]> {
  const firstParty = await packagesIn(options.firstPartyDir, 'first-party');
  const configured = await Promise.all(options.extra.map((entry) => findConfigured(entry, options.nodeModulesDirs)));
  const installed = await Promise.all(options.nodeModulesDirs.map((dir) => installedPackages(dir)));
  const seen = new Set<string>();
  return [...firstParty, ...configured, ...installed.flat()].filter((candidate) => {
    if (candidate.packagePath === null) return true;
    if (seen.has(candidate.packagePath)) return false;
    seen.add(candidate.packagePath);
    return true;
  });
}

async function installedPackages(nodeModulesDir: string): Promise<Candidate[]> {
  const scopes = (await childFolders(nodeModulesDir)).filter((dir) => path.basename(dir).startsWith('@'));
  const scoped = await Promise.all(scopes.map((scope) => packagesIn(scope, 'installed')));
  return [...(await packagesIn(nodeModulesDir, 'installed')), ...scoped.flat()];
}

/** The plugin packages among the child folders of `dir`: those whose package.json reads and carries the manifest field. */
async function packagesIn(dir: string, source: PluginSource): Promise<Candidate[]> {
  const found = await Promise.all(
    (await childFolders(dir)).map(async (folder) => {
      const packageJson = await readPackageJson(folder).catch(() => undefined);
      if (packageJson === undefined || !(MANIFEST_FIELD in packageJson)) return undefined;
      return candidateOf(source, await realpath(folder).catch(() => folder), packageJson);
    }),
  );
  return found.filter((candidate) => candidate !== undefined);
}

async function childFolders(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => (entry.isDirectory() || entry.isSymbolicLink()) && !entry.name.startsWith('.'))
    .map((entry) => path.join(dir, entry.name))
    .sort();
}

async function findConfigured(entry: string, nodeModulesDirs: readonly string[]): Promise<Candidate> {
  const isPath = path.isAbsolute(entry) || entry.startsWith('.');
  const places = isPath ? [path.resolve(entry)] : nodeModulesDirs.map((dir) => path.join(dir, entry));
  for (const place of places) {
    if (!(await isDirectory(place))) continue;
    const packagePath = await realpath(place);
    try {
      return candidateOf('configured', packagePath, await readPackageJson(packagePath));
    } catch (error) {
      return { source: 'configured', packageName: entry, packagePath, problem: `cannot read its package.json: ${errorMessage(error)}` };
    }
  }
  const problem = isPath
    ? `configured plugin path ${places[0]} is not a directory`
    : `configured plugin package "${entry}" is not installed (looked in ${nodeModulesDirs.join(', ') || 'no node_modules folder'})`;
  return { source: 'configured', packageName: entry, packagePath: null, problem };
}

const isFile = (file: string) => stat(file).then((stats) => stats.isFile(), () => false);
const isDirectory = (dir: string) => stat(dir).then((stats) => stats.isDirectory(), () => false);

function candidateOf(source: PluginSource, packagePath: string, packageJson: Record<string, unknown>): Candidate {
  const packageName = typeof packageJson.name === 'string' && packageJson.name ? packageJson.name : path.basename(packagePath);
  return { source, packageName, packagePath, packageJson };
}

async function readPackageJson(dir: string): Promise<Record<string, unknown>> {
  const parsed: unknown = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('package.json is not a JSON object');
  return parsed as Record<string, unknown>;
}

/** The executors of one package, each loaded or with its loadError; `owners` records which package claimed each id. */
async function loadPackage(candidate: Candidate, owners: Map<string, Candidate>, options: PluginLoaderOptions): Promise<LoadedPlugin[]> {
  const base = packageFacts(candidate);
  const broken = (ids: string[], loadError: string): LoadedPlugin[] =>
    ids.length === 0 ? [{ id: null, ...base, loadError }] : ids.map((id) => ({ id, ...base, loadError: claim(id, candidate, owners) ?? loadError }));

  if (candidate.problem !== undefined) return broken([], candidate.problem);
  if (!(MANIFEST_FIELD in candidate.packageJson!)) {
    return broken([], `package.json has no "${MANIFEST_FIELD}" field: this package is not an executor plugin`);
  }
  const manifest = candidate.packageJson![MANIFEST_FIELD];
  const declaredIds = readableIds(manifest);
  const problem = manifestProblem(manifest);
  if (problem !== undefined) return broken(declaredIds, problem);

  const results: LoadedPlugin[] = [];
  for (const { id, entry } of (manifest as PluginManifest).executors) {
    const loadError = claim(id, candidate, owners);
    results.push(loadError ? { id, ...base, loadError } : await loadExecutor(id, entry, candidate.packagePath!, base, options));
  }
  return results;
}

/** The problem with a package's manifest, the API version first: nothing else of a manifest from another version is trusted. */
function manifestProblem(manifest: unknown): string | undefined {
  const declared = (manifest as { executorApiVersion?: unknown } | null)?.executorApiVersion;
  if (typeof declared === 'number' && declared !== EXECUTOR_API_VERSION) {
    return (
      `declares executorApiVersion ${declared}, but this server speaks executorApiVersion ${EXECUTOR_API_VERSION}: ` +
      `install a release of the plugin made for executor API ${EXECUTOR_API_VERSION}`
    );
  }
  const invalid = `invalid manifest ("${MANIFEST_FIELD}" in package.json)`;
  if (!checkManifest(manifest)) {
    return `${invalid}: ${(checkManifest.errors ?? []).map((error) => describeSchemaError(MANIFEST_FIELD, error)).join('; ')}`;
  }
  const outside = manifest.executors.find(({ entry }) => path.isAbsolute(entry) || path.normalize(entry).split(/[\\/]/)[0] === '..');
  if (outside) return `${invalid}: entry "${outside.entry}" of "${outside.id}" must be a relative path inside the package`;
  const twice = manifest.executors.find(({ id }, index) => manifest.executors.findIndex((other) => other.id === id) !== index);
  if (twice) return `${invalid}: executor id "${twice.id}" is listed more than once`;
  return undefined;
}

function readableIds(manifest: unknown): string[] {
  const executors = (manifest as { executors?: unknown } | null)?.executors;
  if (!Array.isArray(executors)) return [];
  const ids = executors.map((executor) => (executor as { id?: unknown } | null)?.id);
  return [...new Set(ids.filter((id): id is string => typeof id === 'string' && EXECUTOR_ID.test(id)))];
}

/** Records `candidate` as the owner of `id`, or returns the loadError of an id another package already claimed. */
function claim(id: string, candidate: Candidate, owners: Map<string, Candidate>): string | undefined {
  const owner = owners.get(id);
  if (owner === undefined || owner === candidate) {
    owners.set(id, candidate);
    return undefined;
  }
  return (
    `executor id "${id}" is provided by both ${owner.packageName} (${owner.packagePath}) and ${candidate.packageName} ` +
    `(${candidate.packagePath}); the first one found, ${owner.packageName}, is used`
  );
}

type PackageFacts = Omit<LoadedPlugin, 'id' | 'executor' | 'loadError'>;

/** What is known of a package before its definition is reached. */
function packageFacts({ packageName, packagePath, source, packageJson }: Candidate): PackageFacts {
  const version = typeof packageJson?.version === 'string' ? packageJson.version : '';
  return { displayName: packageName, version, packageName, packagePath, source };
}

async function loadExecutor(
  id: string,
  entry: string,
  packagePath: string,
  base: PackageFacts,
  options: PluginLoaderOptions,
): Promise<LoadedPlugin> {
  const failed = (loadError: string, definition?: Partial<ExecutorDefinition>): LoadedPlugin => ({
    id,
    ...base,
    ...(typeof definition?.displayName === 'string' && definition.displayName ? { displayName: definition.displayName } : {}),
    ...(typeof definition?.version === 'string' ? { version: definition.version } : {}),
    loadError,
  });

  const entryPath = path.resolve(packagePath, entry);
  if (!(await isFile(entryPath))) return failed(`entry ${entry} does not exist (is the plugin built?)`);
  let exported: unknown;
  try {
    const module = require(entryPath) as { default?: unknown; executor?: unknown };
    exported = module.default ?? module.executor;
  } catch (error) {
    return failed(`entry ${entry} threw while loading: ${errorMessage(error)}`);
  }
  if (typeof exported !== 'object' || exported === null) {
    return failed(`entry ${entry} exports no executor definition (expected a default export or an export named "executor", made with defineExecutor)`);
  }
  const definition = exported as Partial<ExecutorDefinition>;
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  addFormats(ajv);
  const { problems, validateConfig } = definitionProblems(definition, id, ajv);
  if (problems.length > 0) return failed(`entry ${entry} exports an invalid executor definition: ${problems.join('; ')}`, definition);

  const config = structuredClone(options.configs[id] ?? {});
  if (!validateConfig!(config)) {
    const problems = (validateConfig!.errors ?? []).map((error) => describeSchemaError(`executors.${id}`, error));
    return failed(`invalid configuration: ${problems.join('; ')}`, definition);
  }

  const dataDir = path.join(options.dataDir, 'executors', id);
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    return failed(`cannot create its data directory ${dataDir}: ${errorMessage(error)}`, definition);
  }
  const timeoutMs = options.createTimeoutMs ?? CREATE_TIMEOUT_MS;
  let executor: unknown;
  const creating = Promise.resolve().then(() => definition.create!(config, { dataDir, logger: executorLogger(options.logger, id) }));
  try {
    executor = await withTimeout(creating, timeoutMs, `create() did not finish within ${formatDuration(timeoutMs)}`);
  } catch (error) {
    // An executor that arrives after its deadline is not used: let it release what it holds.
    if (error instanceof TimeoutError) void creating.then((late) => (late as Partial<Executor> | undefined)?.close?.()).catch(() => undefined);
    return failed(error instanceof TimeoutError ? error.message : `create() failed: ${errorMessage(error)}`, definition);
  }
  const shapeProblem = executorShapeProblem(executor);
  if (shapeProblem !== undefined) return failed(`create() returned ${shapeProblem}`, definition);
  return { id, ...base, displayName: definition.displayName!, version: definition.version!, executor: executor as Executor };
}

function executorShapeProblem(executor: unknown): string | undefined {
  if (typeof executor !== 'object' || executor === null) return `${executor === null ? 'null' : typeof executor} instead of an executor`;
  const { capabilities, run, close } = executor as Partial<Executor>;
  const missing = Object.entries({ capabilities, run }).filter(([, method]) => typeof method !== 'function');
  if (missing.length > 0) {
    const names = missing.map(([name]) => `${name}()`).join(' and ');
    return `an executor without ${names}: an executor needs capabilities() and run(), and may have close()`;
  }
  return close !== undefined && typeof close !== 'function' ? 'an executor whose close is not a function' : undefined;
}

function definitionProblems(
  definition: Partial<ExecutorDefinition>,
  id: string,
  ajv: Ajv,
): { problems: string[]; validateConfig?: ValidateFunction } {
  const problems: string[] = [];
  if (definition.id !== id) problems.push(`id ${JSON.stringify(definition.id)} must equal the manifest's id "${id}"`);
  if (typeof definition.displayName !== 'string' || definition.displayName.trim() === '') problems.push('displayName must be a non-empty string');
  if (typeof definition.version !== 'string' || !SEMVER.test(definition.version)) {
    problems.push(`version ${JSON.stringify(definition.version)} must be a semantic version such as "1.0.0"`);
  }
  if (typeof definition.create !== 'function') problems.push('create must be a function');
  const schema = definition.configSchema;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    problems.push('configSchema must be a JSON Schema object');
    return { problems };
  }
  try {
    return { problems, validateConfig: ajv.compile(schema) };
  } catch (error) {
    problems.push(`configSchema is not a valid JSON Schema (${errorMessage(error)})`);
    return { problems };
  }
}

/** `executors.local/python must be string`: an ajv error with its JSON pointer under `prefix`. */
function describeSchemaError(prefix: string, error: ErrorObject): string {
  const at = `${prefix}${error.instancePath}`;
  switch (error.keyword) {
    case 'required':
      return `${at}/${escapePointer(String(error.params.missingProperty))} is required`;
    case 'additionalProperties':
      return `${at}/${escapePointer(String(error.params.additionalProperty))} is not allowed`;
    case 'enum':
      return `${at} must be one of ${(error.params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`;
    default:
      return `${at} ${error.message}`;
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The logger a plugin gets: the server's, with the executor id on every line. */
function executorLogger(logger: PluginLogger, id: string): PluginLogger {
  const withId = (level: keyof PluginLogger) => (message: string, details?: Record<string, unknown>) => logger[level](message, { ...details, executor: id });
  return { debug: withId('debug'), info: withId('info'), warn: withId('warn'), error: withId('error') };
}
