import {
  EXECUTOR_API_VERSION,
  MANIFEST_FIELD,
  type Executor,
  type ExecutorDefinition,
  type ExecutorHost,
  type PluginLogger,
  type PluginManifest,
} from '@tensorify/executor-sdk';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { installedPackagesWithField, packagesWithField, readPackageJson, type ScannedPackage } from '../common/package-scan';
import { TimeoutError, withTimeout } from '../common/timeout';

// Still importable from here by the verifier's modules.
export { readPackageJson };

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
  /** The server's `plugins/` folder: each child folder whose package.json carries the manifest field is loaded (none when undefined). */
  firstPartyDir?: string;
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
// The schema is this file's own constant (its tests compile it): checking it against the JSON Schema
// meta-schema would only compile the meta-schema in one more ajv at every boot (some 20 ms of CPU).
const checkManifest = new Ajv({ allErrors: true, validateSchema: false }).compile<PluginManifest>(manifestSchema);

// The server's one timeout helper (common/timeout.ts), still importable from here by the other executor modules.

/** `10 s`, `250 ms`: a duration as an operator reads it. */
export function formatDuration(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** An error's message, for errors thrown by plugin code (which may come from another realm or not be an Error at all). */
export function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

/** A plugin package found on disk (or not found: `problem`), before any of its code is loaded. */
export interface Candidate {
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
  // One ajv for every configSchema of this load: each new instance compiles the JSON Schema
  // meta-schema again before its first schema (some 30 ms a plugin at boot).
  const ajv = configAjv();
  const results: LoadedPlugin[] = [];
  for (const candidate of candidates) {
    const plugins = await loadPackage(candidate, owners, ajv, options).catch((error: unknown): LoadedPlugin[] => [
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
  const firstParty = options.firstPartyDir === undefined ? [] : await packagesIn(options.firstPartyDir, 'first-party');
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

/** The plugin packages among the child folders of `dir`: those whose package.json reads and carries the manifest field. */
async function packagesIn(dir: string, source: PluginSource): Promise<Candidate[]> {
  return candidatesOf(source, await packagesWithField(dir, MANIFEST_FIELD));
}

async function installedPackages(nodeModulesDir: string): Promise<Candidate[]> {
  return candidatesOf('installed', await installedPackagesWithField(nodeModulesDir, MANIFEST_FIELD));
}

async function candidatesOf(source: PluginSource, packages: ScannedPackage[]): Promise<Candidate[]> {
  const plugins = packages.filter(({ packageJson }) => !isNodePackOnly(packageJson[MANIFEST_FIELD]));
  return Promise.all(plugins.map(async ({ folder, packageJson }) => candidateOf(source, await realpath(folder).catch(() => folder), packageJson)));
}

/** A manifest of a node pack that holds no executors (`nodeApiVersion` without `executorApiVersion`): the node-pack loader's, not ours. */
function isNodePackOnly(manifest: unknown): boolean {
  return typeof manifest === 'object' && manifest !== null && 'nodeApiVersion' in manifest && !('executorApiVersion' in manifest);
}

/** The package an `executorPlugins` entry names: a path (absolute, or starting with `.`), else a package name looked up in `nodeModulesDirs`. */
export async function findConfigured(entry: string, nodeModulesDirs: readonly string[]): Promise<Candidate> {
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

const isFile = (file: string) =>
  stat(file).then(
    (stats) => stats.isFile(),
    () => false,
  );
const isDirectory = (dir: string) =>
  stat(dir).then(
    (stats) => stats.isDirectory(),
    () => false,
  );

function candidateOf(source: PluginSource, packagePath: string, packageJson: Record<string, unknown>): Candidate {
  const packageName = typeof packageJson.name === 'string' && packageJson.name ? packageJson.name : path.basename(packagePath);
  return { source, packageName, packagePath, packageJson };
}

/** The executors of one package, each loaded or with its loadError; `owners` records which package claimed each id. */
async function loadPackage(candidate: Candidate, owners: Map<string, Candidate>, ajv: Ajv, options: PluginLoaderOptions): Promise<LoadedPlugin[]> {
  const base = packageFacts(candidate);
  const broken = (ids: string[], loadError: string): LoadedPlugin[] =>
    ids.length === 0 ? [{ id: null, ...base, loadError }] : ids.map((id) => ({ id, ...base, loadError: claim(id, candidate, owners) ?? loadError }));

  if (candidate.problem !== undefined) return broken([], candidate.problem);
  const notPlugin = notAPluginProblem(candidate.packageJson!);
  if (notPlugin !== undefined) return broken([], notPlugin);
  const manifest = candidate.packageJson![MANIFEST_FIELD];
  const declaredIds = readableIds(manifest);
  const problem = manifestProblem(manifest);
  if (problem !== undefined) return broken(declaredIds, problem);

  const results: LoadedPlugin[] = [];
  for (const { id, entry } of (manifest as PluginManifest).executors) {
    const loadError = claim(id, candidate, owners);
    results.push(loadError ? { id, ...base, loadError } : await loadExecutor(id, entry, candidate.packagePath!, base, ajv, options));
  }
  return results;
}

/*
 * The checks of the loader, one step at a time. `loadExecutorPlugins` stops at a package's or an
 * executor's first problem; `tensorify-server plugins verify` (plugin-verifier.ts) runs the same
 * functions to report every rule, so that the two never disagree.
 */

/** The problem of a package.json without the manifest field. */
export function notAPluginProblem(packageJson: Record<string, unknown>): string | undefined {
  return MANIFEST_FIELD in packageJson ? undefined : `package.json has no "${MANIFEST_FIELD}" field: this package is not an executor plugin`;
}

/** The problem with a package's manifest, the API version first: nothing else of a manifest from another version is trusted. */
export function manifestProblem(manifest: unknown): string | undefined {
  return apiVersionProblem(manifest) ?? manifestShapeProblem(manifest);
}

/** The problem of a manifest that declares another numeric `executorApiVersion` (a missing or non-integer one is {@link manifestShapeProblem}'s). */
export function apiVersionProblem(manifest: unknown): string | undefined {
  const declared = (manifest as { executorApiVersion?: unknown } | null)?.executorApiVersion;
  if (typeof declared === 'number' && declared !== EXECUTOR_API_VERSION) {
    return (
      `declares executorApiVersion ${declared}, but this server speaks executorApiVersion ${EXECUTOR_API_VERSION}: ` +
      `install a release of the plugin made for executor API ${EXECUTOR_API_VERSION}`
    );
  }
  return undefined;
}

/** The problem with the manifest's shape: its schema, entries inside the package, ids listed once. */
export function manifestShapeProblem(manifest: unknown): string | undefined {
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

/** The valid executor ids a manifest lists, even when the manifest is invalid. */
export function readableIds(manifest: unknown): string[] {
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

async function loadExecutor(id: string, entry: string, packagePath: string, base: PackageFacts, ajv: Ajv, options: PluginLoaderOptions): Promise<LoadedPlugin> {
  const failed = (loadError: string, definition?: Partial<ExecutorDefinition>): LoadedPlugin => ({
    id,
    ...base,
    ...(typeof definition?.displayName === 'string' && definition.displayName ? { displayName: definition.displayName } : {}),
    ...(typeof definition?.version === 'string' ? { version: definition.version } : {}),
    loadError,
  });

  const missing = await entryFileProblem(packagePath, entry);
  if (missing !== undefined) return failed(missing);
  const required = requireEntry(packagePath, entry);
  if ('problem' in required) return failed(required.problem);
  const exported = exportedDefinition(required.module, entry);
  if ('problem' in exported) return failed(exported.problem);
  const { definition } = exported;
  const checks = checkDefinition(definition, id, ajv);
  const problems = definitionProblems(checks);
  if (problems.length > 0) return failed(`entry ${entry} exports an invalid executor definition: ${problems.join('; ')}`, definition);

  const configured = validatedConfig(checks.validateConfig!, id, options.configs[id] ?? {});
  if ('problem' in configured) return failed(configured.problem, definition);

  const dataDir = path.join(options.dataDir, 'executors', id);
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    return failed(`cannot create its data directory ${dataDir}: ${errorMessage(error)}`, definition);
  }
  const host = { dataDir, logger: executorLogger(options.logger, id) };
  const created = await createExecutor(definition as ExecutorDefinition, configured.config, host, options.createTimeoutMs ?? CREATE_TIMEOUT_MS);
  if ('problem' in created) return failed(created.problem, definition);
  return { id, ...base, displayName: definition.displayName!, version: definition.version!, executor: created.executor };
}

/** The problem of an entry file that is not there. */
export async function entryFileProblem(packagePath: string, entry: string): Promise<string | undefined> {
  return (await isFile(path.resolve(packagePath, entry))) ? undefined : `entry ${entry} does not exist (is the plugin built?)`;
}

/** Requires an entry as the server does (into this process, with `require`): its exports, or why it threw. */
export function requireEntry(packagePath: string, entry: string): { module: unknown } | { problem: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS entry found at run time, loaded synchronously into the server's module cache
    return { module: require(path.resolve(packagePath, entry)) as unknown };
  } catch (error) {
    return { problem: `entry ${entry} threw while loading: ${errorMessage(error)}` };
  }
}

/** The definition an entry's exports hold (`default`, else `executor`), or the problem of exports that hold none. */
export function exportedDefinition(
  module: unknown,
  entry: string,
): { definition: Partial<ExecutorDefinition>; exportName: 'default' | 'executor' } | { problem: string } {
  const exports = module as { default?: unknown; executor?: unknown } | null | undefined;
  const exportName = exports?.default !== undefined && exports?.default !== null ? 'default' : 'executor';
  const exported = exports?.[exportName];
  if (typeof exported !== 'object' || exported === null) {
    return { problem: `entry ${entry} exports no executor definition (expected a default export or an export named "executor", made with defineExecutor)` };
  }
  return { definition: exported, exportName };
}

/**
 * The ajv that compiles a definition's `configSchema` and fills in its defaults. Its validators run
 * once per boot, so ajv's optimisation pass over the generated code (a fifth of the compile) is skipped.
 */
export function configAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, code: { optimize: false } });
  addFormats(ajv);
  return ajv;
}

/**
 * The configuration for executor `id` (cloned: the given object is not changed), validated with
 * the schema's defaults filled in, or the problem listing every error with its pointer.
 */
export function validatedConfig(validateConfig: ValidateFunction, id: string, given: unknown): { config: unknown } | { problem: string } {
  const config = structuredClone(given);
  if (validateConfig(config)) return { config };
  const problems = (validateConfig.errors ?? []).map((error) => describeSchemaError(`executors.${id}`, error));
  return { problem: `invalid configuration: ${problems.join('; ')}` };
}

/** Awaits `create()` for at most `timeoutMs`, and checks that it made an executor; an executor that arrives late is closed. */
export async function createExecutor(
  definition: Pick<ExecutorDefinition, 'create'>,
  config: unknown,
  host: ExecutorHost,
  timeoutMs: number,
): Promise<{ executor: Executor } | { problem: string }> {
  let executor: unknown;
  const creating = Promise.resolve().then(() => definition.create(config, host));
  try {
    executor = await withTimeout(creating, timeoutMs, `create() did not finish within ${formatDuration(timeoutMs)}`);
  } catch (error) {
    // An executor that arrives after its deadline is not used: let it release what it holds.
    if (error instanceof TimeoutError) void creating.then((late) => (late as Partial<Executor> | undefined)?.close?.()).catch(() => undefined);
    return { problem: error instanceof TimeoutError ? error.message : `create() failed: ${errorMessage(error)}` };
  }
  const shapeProblem = executorShapeProblem(executor);
  if (shapeProblem !== undefined) return { problem: `create() returned ${shapeProblem}` };
  return { executor: executor as Executor };
}

export function executorShapeProblem(executor: unknown): string | undefined {
  if (typeof executor !== 'object' || executor === null) return `${executor === null ? 'null' : typeof executor} instead of an executor`;
  const { capabilities, run, close } = executor as Partial<Executor>;
  const missing = Object.entries({ capabilities, run }).filter(([, method]) => typeof method !== 'function');
  if (missing.length > 0) {
    const names = missing.map(([name]) => `${name}()`).join(' and ');
    return `an executor without ${names}: an executor needs capabilities() and run(), and may have close()`;
  }
  return close !== undefined && typeof close !== 'function' ? 'an executor whose close is not a function' : undefined;
}

/** The problem of each field of a definition (absent when the field is right), and its compiled `configSchema`. */
export interface DefinitionChecks {
  id?: string;
  displayName?: string;
  version?: string;
  create?: string;
  configSchema?: string;
  /** Set when `configSchema` compiled. */
  validateConfig?: ValidateFunction;
}

export function checkDefinition(definition: Partial<ExecutorDefinition>, id: string, ajv: Ajv): DefinitionChecks {
  const checks: DefinitionChecks = {};
  if (definition.id !== id) checks.id = `id ${JSON.stringify(definition.id)} must equal the manifest's id "${id}"`;
  if (typeof definition.displayName !== 'string' || definition.displayName.trim() === '') checks.displayName = 'displayName must be a non-empty string';
  if (typeof definition.version !== 'string' || !SEMVER.test(definition.version)) {
    checks.version = `version ${JSON.stringify(definition.version)} must be a semantic version such as "1.0.0"`;
  }
  if (typeof definition.create !== 'function') checks.create = 'create must be a function';
  const schema = definition.configSchema;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    checks.configSchema = 'configSchema must be a JSON Schema object';
    return checks;
  }
  try {
    checks.validateConfig = ajv.compile(schema);
  } catch (error) {
    checks.configSchema = `configSchema is not a valid JSON Schema (${errorMessage(error)})`;
  }
  // The compiled function keeps working; removing the schema keeps the definitions that share
  // `ajv` apart: two plugins may use the same `$id`, and neither can `$ref` the other's schema.
  try {
    ajv.removeSchema(schema);
  } catch {
    // a schema whose $id ajv cannot read (not a string) was never registered
  }
  return checks;
}

/** Every problem of a definition, in the order the loader reports them. */
export function definitionProblems(checks: DefinitionChecks): string[] {
  return [checks.id, checks.displayName, checks.version, checks.create, checks.configSchema].filter((problem) => problem !== undefined);
}

/** `executors.local/python must be string`: an ajv error with its JSON pointer under `prefix`. */
export function describeSchemaError(prefix: string, error: ErrorObject): string {
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
export function executorLogger(logger: PluginLogger, id: string): PluginLogger {
  const withId = (level: keyof PluginLogger) => (message: string, details?: Record<string, unknown>) => logger[level](message, { ...details, executor: id });
  return { debug: withId('debug'), info: withId('info'), warn: withId('warn'), error: withId('error') };
}
