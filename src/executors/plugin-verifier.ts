import {
  createTestContext,
  EXECUTOR_API_VERSION,
  MANIFEST_FIELD,
  PLUGIN_KEYWORD,
  testJob,
  type Executor,
  type ExecutorCapabilities,
  type ExecutorDefinition,
  type PluginLogger,
  type PluginManifest,
  type ProgramFiles,
} from '@tensorify/executor-sdk';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify, isDeepStrictEqual } from 'node:util';
import semver from 'semver';
import { PACKAGE_ROOT } from '../common/package-info';
import {
  apiVersionProblem,
  checkDefinition,
  configAjv,
  CREATE_TIMEOUT_MS,
  createExecutor,
  entryFileProblem,
  errorMessage,
  executorLogger,
  exportedDefinition,
  findConfigured,
  formatDuration,
  manifestShapeProblem,
  notAPluginProblem,
  readableIds,
  readPackageJson,
  requireEntry,
  TimeoutError,
  validatedConfig,
  withTimeout,
} from './plugin-loader';

/**
 * `tensorify-server plugins verify`: checks one executor plugin package with the loader's own
 * steps (plugin-loader.ts), but reports every rule instead of stopping at the first problem. A
 * plugin with no failed rule is one the server loads with the same configuration; warnings are
 * rules the server does not enforce (the npm keyword, `main`, the unhealthy answer of a backend
 * that is down). Rules that cannot be checked because an earlier one failed are skipped, as the
 * server would skip them: nothing of a manifest for another executor API is trusted or required,
 * and `create()` is never called for a definition the server refuses.
 *
 * A packed tarball is checked as it would be once installed: extracted to a temporary directory,
 * and, when it declares dependencies that are not bundled in it, installed there with `npm
 * install` (rule `dependencies`), the SDK always resolving to the server's own copy. A directory
 * or an installed package is checked with the node_modules it has.
 */

/** `skip`: not checked, because a rule it depends on failed (or, for `run`, because `--run` was not given). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export const RULES = {
  'package-json': 'package.json',
  'manifest-field': 'manifest field',
  'executor-api-version': 'executorApiVersion',
  manifest: 'manifest',
  keyword: 'npm keyword',
  main: 'main',
  'sdk-version': 'SDK version',
  dependencies: 'dependencies',
  'entry-exists': 'entry exists',
  'entry-loads': 'entry loads',
  'exports-definition': 'exports a definition',
  id: 'id',
  'display-name': 'displayName',
  version: 'version',
  'create-function': 'create',
  'config-schema': 'configSchema',
  config: 'configuration',
  create: 'create()',
  capabilities: 'capabilities()',
  run: 'run() hello',
  close: 'close()',
} as const;
export type RuleId = keyof typeof RULES;

const PACKAGE_RULES: RuleId[] = ['package-json', 'manifest-field', 'executor-api-version', 'manifest', 'keyword', 'main', 'sdk-version'];
/** The package's rules as the report lists them: `dependencies` is checked for a tarball only (a directory is verified with the node_modules it has). */
const TOP_RULES: RuleId[] = [...PACKAGE_RULES, 'dependencies'];
const isTopRule = (check: Check) => check.executor === undefined && TOP_RULES.includes(check.rule);
const EXECUTOR_RULES: RuleId[] = [
  'entry-exists',
  'entry-loads',
  'exports-definition',
  'id',
  'display-name',
  'version',
  'create-function',
  'config-schema',
  'config',
  'create',
  'capabilities',
  'run',
  'close',
];

export interface Check {
  rule: RuleId;
  /** The executor id the rule was checked for; absent for the package's rules (and for executor rules skipped before any id was readable). */
  executor?: string;
  status: CheckStatus;
  /** One line: what was found, or why the rule failed. A failure's message is the server's `loadError` for it. */
  message: string;
  /** What the check saw: the configuration with its defaults, the capabilities, the run's result. */
  details?: unknown;
}

export interface VerifyReport {
  /** The argument, as given. */
  target: string;
  /**
   * How it was read: a package directory, a packed tarball (extracted to a temporary directory, or
   * installed there with npm when it has dependencies to install), or a package installed in node_modules.
   */
  kind: 'directory' | 'tarball' | 'package';
  /** The package directory checked (for a tarball, the temporary directory it was extracted or installed to, removed afterwards). */
  packagePath: string;
  packageName: string | null;
  packageVersion: string | null;
  /** The executor API this server speaks. */
  executorApiVersion: number;
  /** No rule failed: the server would load every executor of the package with this configuration. */
  ok: boolean;
  counts: Record<CheckStatus, number>;
  checks: Check[];
  /** What the plugin logged through `host.logger` while it was checked. */
  logs: { executor: string; level: keyof PluginLogger; message: string }[];
}

export interface VerifyOptions {
  /**
   * The configuration, as `TENSORIFY_EXECUTORS` would give it (default `{}`): for a package with
   * one executor, that executor's configuration; for a package with several, an object keyed by
   * executor id.
   */
  config?: unknown;
  /** Also run the hello program through each executor that was created. */
  run?: boolean;
  /** Where a relative path and a package name are resolved from (default: the working directory). */
  cwd?: string;
  createTimeoutMs?: number;
  capabilitiesTimeoutMs?: number;
  /** The hello run's time limit: the signal aborts with `timed_out` then, and `run()` gets as long again to return. */
  runTimeoutMs?: number;
  closeTimeoutMs?: number;
  /** How long `npm install` of a tarball's dependencies may take. */
  installTimeoutMs?: number;
}

/** The argument names nothing that can be checked (exit code 2 in the CLI). */
export class VerifyUsageError extends Error {
  override readonly name = 'VerifyUsageError';
}

/** As the server's registry: `capabilities()` is reported unhealthy when it takes longer. */
export const CAPABILITIES_TIMEOUT_MS = 3_000;
const RUN_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 10_000;
/** `npm install` of a tarball's dependencies: long enough for a cold cache, short enough that an unreachable registry fails the rule rather than hangs. */
export const INSTALL_TIMEOUT_MS = 120_000;

/** The inputs of the hello run and the output the hello program makes of them. */
export const HELLO_INPUTS = { name: 'Ada' };
export const HELLO_OUTPUT = { result: 'Hello, Ada!' };

/**
 * The program `--run` runs: the golden `hello` program of the compiler's tests when the server's
 * directory has it (a source checkout), else this tiny program that reads and writes the same
 * way (inputs from `--inputs FILE` or `TENSORIFY_INPUTS`, output JSON to `TENSORIFY_OUTPUT` or stdout).
 */
const BUILT_IN_HELLO: ProgramFiles = {
  'main.py': [
    '"""Hello: the program `tensorify-server plugins verify --run` runs through an executor."""',
    '',
    'from utils import read_inputs, write_output',
    '',
    '',
    'def main() -> None:',
    '    inputs = read_inputs()',
    '    print("[node greeting] started", flush=True)',
    '    write_output({"result": "Hello, {}!".format(inputs.get("name", "world"))})',
    '    print("[node greeting] finished", flush=True)',
    '',
    '',
    'if __name__ == "__main__":',
    '    main()',
    '',
  ].join('\n'),
  'utils.py': [
    '"""Inputs and output as the programs of Tensorify Server read and write them."""',
    '',
    'import json',
    'import os',
    'import sys',
    '',
    '',
    'def read_inputs() -> dict:',
    '    if len(sys.argv) >= 3 and sys.argv[1] == "--inputs":',
    '        with open(sys.argv[2], encoding="utf-8") as file:',
    '            return json.load(file)',
    '    return json.loads(os.environ.get("TENSORIFY_INPUTS", "{}"))',
    '',
    '',
    'def write_output(output: dict) -> None:',
    '    path = os.environ.get("TENSORIFY_OUTPUT")',
    '    if path:',
    '        with open(path, "w", encoding="utf-8") as file:',
    '            json.dump(output, file)',
    '    else:',
    '        print(json.dumps(output), flush=True)',
    '',
  ].join('\n'),
  'requirements.txt': '# Python packages the workflow needs: pip install -r requirements.txt\n',
};

function helloProgram(): { files: ProgramFiles; name: string } {
  const golden = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'golden', 'hello');
  const names = ['main.py', 'utils.py', 'requirements.txt'] as const;
  if (names.every((name) => existsSync(path.join(golden, name)))) {
    const read = (name: (typeof names)[number]) => readFileSync(path.join(golden, name), 'utf8');
    return { files: { 'main.py': read('main.py'), 'utils.py': read('utils.py'), 'requirements.txt': read('requirements.txt') }, name: 'the golden hello program' };
  }
  return { files: BUILT_IN_HELLO, name: 'the built-in hello program' };
}

/**
 * Reads `--config`: JSON text when it starts with `{` or `[`, else the path of a JSON file. The
 * value must be a JSON object.
 */
export async function readConfigArgument(text: string, cwd = process.cwd()): Promise<unknown> {
  const inline = /^\s*[{[]/.test(text);
  let source = text;
  if (!inline) {
    try {
      source = await readFile(path.resolve(cwd, text), 'utf8');
    } catch (error) {
      throw new VerifyUsageError(`--config must be a JSON object or the path of a JSON file; cannot read ${text}: ${errorMessage(error)}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (error) {
    throw new VerifyUsageError(`--config ${inline ? 'is' : `file ${text} holds`} no valid JSON: ${errorMessage(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new VerifyUsageError(`--config must be a JSON object, not ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
  }
  return parsed;
}

const NPM_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

/** The `node_modules` folders of `dir` and its ancestors, nearest first: where Node resolves a package name. */
function nodeModulesUpFrom(dir: string): string[] {
  const dirs: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (path.basename(at) !== 'node_modules') dirs.push(path.join(at, 'node_modules'));
    if (path.dirname(at) === at) return dirs;
  }
}

interface Target {
  kind: VerifyReport['kind'];
  /** The package directory whose executors are checked: for a tarball, replaced by the installed folder once npm installed it. */
  packagePath: string;
  /** A tarball's file and the temporary directory it was extracted to (and its dependencies installed in). */
  tarball?: { file: string; dir: string };
  /** For a tarball: what `dependencies` found, for the hint of an entry that cannot find a module. */
  dependencies?: { declared: string[]; skippedScripts: string[] };
  /** Removes what reading the target made (an extracted tarball). */
  cleanup(): Promise<void>;
}

async function resolveTarget(target: string, cwd: string): Promise<Target> {
  const resolved = path.resolve(cwd, target);
  const stats = await stat(resolved).catch(() => undefined);
  const noCleanup = async () => undefined;
  if (stats?.isDirectory()) return { kind: 'directory', packagePath: resolved, cleanup: noCleanup };
  if (stats?.isFile()) {
    if (path.basename(resolved) === 'package.json') return { kind: 'directory', packagePath: path.dirname(resolved), cleanup: noCleanup };
    if (/\.(tgz|tar\.gz)$/.test(resolved)) return extractTarball(resolved);
    throw new VerifyUsageError(`${target} is a file, but neither a packed plugin (.tgz, made by npm pack) nor a package.json`);
  }
  if (NPM_NAME.test(target) && !target.startsWith('.')) {
    const places = nodeModulesUpFrom(cwd);
    const found = await findConfigured(target, places);
    if (found.packagePath !== null) return { kind: 'package', packagePath: found.packagePath, cleanup: noCleanup };
    throw new VerifyUsageError(`"${target}" is neither a directory, a .tgz file, nor a package installed in ${places.join(', ')}`);
  }
  throw new VerifyUsageError(`${resolved} does not exist: give a plugin directory, a .tgz made by npm pack, or an installed package's name`);
}

/**
 * Extracts a tarball into `<tmp>/tarball/`. Its package's rules are checked there; its
 * dependencies, when it has some to install, are installed by {@link installDependencies}.
 */
async function extractTarball(file: string): Promise<Target> {
  // Its real path: Node names required files by theirs, and the hint of a missing module compares them.
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'tensorify-verify-pkg-')));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const extracted = path.join(dir, 'tarball');
  try {
    await mkdir(extracted);
    await promisify(execFile)('tar', ['-xzf', file, '-C', extracted, '--no-same-owner'], { timeout: 60_000 });
  } catch (error) {
    await cleanup();
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new VerifyUsageError(`cannot extract ${file} with tar: ${typeof stderr === 'string' && stderr.trim() ? stderr.trim().split('\n')[0] : errorMessage(error)}`);
  }
  // npm pack puts everything under package/; another packer may use another single folder.
  const top = (await readdir(extracted, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.'));
  const packagePath = top.length === 1 && top[0].isDirectory() ? path.join(extracted, top[0].name) : extracted;
  return { kind: 'tarball', packagePath, tarball: { file, dir }, cleanup };
}

export const SDK_PACKAGE = '@tensorify/executor-sdk';

let serverSdkFound: Promise<{ dir: string; version: string }> | undefined;

/** The folder and version of the SDK this server itself loads (`require.resolve('@tensorify/executor-sdk')`), its real path; found once per process. */
export function serverSdk(): Promise<{ dir: string; version: string }> {
  serverSdkFound ??= findServerSdk();
  return serverSdkFound;
}

async function findServerSdk(): Promise<{ dir: string; version: string }> {
  const main = require.resolve(SDK_PACKAGE);
  for (let dir = path.dirname(main); ; dir = path.dirname(dir)) {
    const packageJson = await readPackageJson(dir).catch(() => undefined);
    if (packageJson?.name === SDK_PACKAGE) return { dir: await realpath(dir), version: String(packageJson.version) };
    if (path.dirname(dir) === dir) throw new Error(`no package.json of ${SDK_PACKAGE} above ${main}`);
  }
}

/**
 * The packages npm installs with the package: its `dependencies`, `optionalDependencies` and
 * `peerDependencies` (npm 7 and later install peers, except those `peerDependenciesMeta` marks optional).
 */
export function runtimeDependencies(packageJson: Record<string, unknown>): string[] {
  const names = (field: string): string[] => {
    const value = packageJson[field];
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  };
  const meta = packageJson.peerDependenciesMeta as Record<string, { optional?: unknown } | undefined> | undefined;
  const peers = names('peerDependencies').filter((name) => meta?.[name]?.optional !== true);
  return [...new Set([...names('dependencies'), ...names('optionalDependencies'), ...peers])].sort();
}

type Installed = { status: 'pass' | 'warn'; message: string; details: Record<string, unknown> } | { problem: string };

/**
 * Makes a tarball's declared dependencies resolvable, as installing it would: nothing to do for a
 * package without any (or with all of them bundled); the server's own SDK linked beside the
 * package when that is the only one (no npm needed); else `npm install` of the tarball into
 * `<tmp>/npm/`, after which `target.packagePath` is the installed folder.
 */
async function installDependencies(target: Target, packageJson: Record<string, unknown>, options: VerifyOptions): Promise<Installed> {
  const declared = runtimeDependencies(packageJson);
  target.dependencies = { declared, skippedScripts: [] };
  const bundled = await Promise.all(declared.map((name) => isDirectory(path.join(target.packagePath, 'node_modules', name))));
  const missing = declared.filter((_, index) => !bundled[index]);
  const bundledNote = missing.length < declared.length ? `bundled in the tarball: ${declared.filter((_, index) => bundled[index]).join(', ')}` : '';
  if (missing.length === 0) {
    return { status: 'pass', message: declared.length === 0 ? 'none declared: checked as extracted, without npm' : bundledNote, details: { installer: 'none', declared } };
  }

  // The SDK is not on the registry: it is always the server's own copy, whatever range the plugin declares.
  const sdk = await serverSdk();
  const sdkNote = `${SDK_PACKAGE} is the server's own copy (${sdk.version})`;
  if (missing.length === 1 && missing[0] === SDK_PACKAGE) {
    // Beside the package folder, not in it: the package stays as packed, and Node finds it walking up from the entry.
    const link = path.join(path.dirname(target.packagePath), 'node_modules', ...SDK_PACKAGE.split('/'));
    await mkdir(path.dirname(link), { recursive: true });
    await symlink(sdk.dir, link, 'dir');
    return { status: 'pass', message: [`${sdkNote}, linked without npm`, bundledNote].filter(Boolean).join('; '), details: { installer: 'none', declared, sdk } };
  }

  const name = packageJson.name;
  if (typeof name !== 'string' || name === '') return { problem: `cannot install its dependencies (${missing.join(', ')}): package.json has no "name", which npm needs` };
  const prefix = path.join(target.tarball!.dir, 'npm');
  await mkdir(prefix);
  // The tarball as a dependency of a throwaway project; `overrides` makes every dependency on the SDK
  // (direct, peer or of a dependency; any range) the server's SDK folder, which npm links, so it is
  // never fetched. The project itself does not depend on the SDK: a plugin that requires it without
  // declaring it fails here as it would once installed. (A linked SDK as the project's own dependency
  // would also crash npm 11 on a plugin that has it as a peer: "Cannot read properties of null".)
  const project = { name: 'tensorify-verify', version: '0.0.0', private: true, dependencies: { [name]: `file:${target.tarball!.file}` }, overrides: { [SDK_PACKAGE]: `file:${sdk.dir}` } };
  await writeFile(path.join(prefix, 'package.json'), JSON.stringify(project, null, 2));
  const timeoutMs = options.installTimeoutMs ?? INSTALL_TIMEOUT_MS;
  const npm = await runNpm(
    [
      'install',
      '--prefix', prefix,
      '--omit=dev', // the throwaway project has no dev dependencies; a dependency's are never installed anyway
      // No install scripts: the server never runs them, and verify runs only what the server runs (the
      // entries and the executor's methods), not the build steps of a whole dependency tree, which
      // also need compilers and minutes. A dependency that needs its script to work shows as a warning
      // here, and as an entry that does not load.
      '--ignore-scripts',
      // Cached packages without asking the registry whether they changed: fast, and works offline for
      // what was installed before; a fresh install may pick a newer release in the same range.
      '--prefer-offline',
      // A link to the SDK folder, whatever the user's npmrc says (npm 11 mishandles a tarball dependency with install-links).
      '--install-links=false',
      // One retry, soon: npm's own defaults retry an unreachable registry for minutes.
      '--fetch-retries=1', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=10000',
      '--no-package-lock', '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error',
    ],
    prefix,
    timeoutMs,
  );
  const what = `cannot install its dependencies (${missing.join(', ')}) with npm`;
  if (npm.spawnError !== undefined) return { problem: `${what}: ${npm.spawnError}${/ENOENT/.test(npm.spawnError) ? ' (is npm on the PATH?)' : ''}` };
  if (npm.timedOut) return { problem: `${what}: npm install did not finish within ${formatDuration(timeoutMs)} (is the registry slow or unreachable?)` };
  if (npm.code !== 0) return { problem: `${what}: ${npmError(npm.stderr) ?? `npm install exited with ${npm.code ?? npm.signal}`}` };

  const installedPath = path.join(prefix, 'node_modules', ...name.split('/'));
  if (!(await isDirectory(installedPath))) return { problem: `${what}: npm install succeeded, but ${installedPath} does not exist` };
  target.packagePath = installedPath;
  const lock = await installedPackages(prefix, name);
  target.dependencies.skippedScripts = lock.scripts;
  const listed = lock.installed.length > 8 ? [...lock.installed.slice(0, 8), `and ${lock.installed.length - 8} more`] : lock.installed;
  const parts = [`installed with npm: ${listed.join(', ') || 'nothing'}`, ...(lock.sdkLinked ? [sdkNote] : [])];
  if (lock.scripts.length > 0) parts.push(`install scripts not run (verify runs none): ${lock.scripts.join(', ')}`);
  return {
    status: lock.scripts.length > 0 ? 'warn' : 'pass',
    message: parts.join('; '),
    details: { installer: 'npm', declared, installed: lock.installed, skippedScripts: lock.scripts, ...(lock.sdkLinked ? { sdk } : {}) },
  };
}

const isDirectory = (dir: string) => stat(dir).then((stats) => stats.isDirectory(), () => false);

/** What npm installed, from its hidden lockfile (`node_modules/.package-lock.json`): `name@version` of each package but the plugin, and those with install scripts. */
async function installedPackages(prefix: string, pluginName: string): Promise<{ installed: string[]; scripts: string[]; sdkLinked: boolean }> {
  let packages: Record<string, { version?: string; link?: boolean; hasInstallScript?: boolean }> = {};
  try {
    packages = (JSON.parse(await readFile(path.join(prefix, 'node_modules', '.package-lock.json'), 'utf8')) as { packages?: typeof packages }).packages ?? {};
  } catch {
    // No lockfile (an npm that writes none): nothing to list.
  }
  const installed: string[] = [];
  const scripts: string[] = [];
  let sdkLinked = false;
  for (const [key, entry] of Object.entries(packages)) {
    const at = key.lastIndexOf('node_modules/');
    if (at === -1) continue;
    const name = key.slice(at + 'node_modules/'.length);
    if (name === SDK_PACKAGE && entry.link) sdkLinked = true;
    if (entry.hasInstallScript) scripts.push(name);
    if (entry.link || key === `node_modules/${pluginName}`) continue;
    installed.push(entry.version ? `${name}@${entry.version}` : name);
  }
  return { installed: installed.sort(), scripts: [...new Set(scripts)].sort(), sdkLinked };
}

interface NpmRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  timedOut: boolean;
  spawnError?: string;
}

/** Runs npm as the leader of its own process group, killed whole at the time limit (npm may start git). */
function runNpm(args: string[], cwd: string, timeoutMs: number): Promise<NpmRun> {
  return new Promise((resolve) => {
    let stderr = '';
    let timedOut = false;
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, {
      cwd,
      env: process.env, // the user's npm settings (registry, proxy, cache) apply
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'ignore', 'pipe'],
      shell: process.platform === 'win32',
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (stderr.length < 1_000_000) stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stderr, timedOut, spawnError: errorMessage(error) });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, timedOut });
    });
  });
}

/**
 * npm's first meaningful error line, with its error code: `npm error enoent ENOENT: no such file
 * or directory, open '…'` gives `ENOENT: no such file or directory, open '…'`. Skips the fields
 * npm prints first (`code`, `syscall`, `path`, `errno`), bare words and paths, and the pointer to its log.
 */
export function npmError(stderr: string): string | undefined {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => /^npm (?:error|ERR!)(?: (.*))?$/.exec(line.trim())?.[1]?.trim())
    .filter((line): line is string => line !== undefined && line !== '');
  const code = lines.map((line) => /^code (\S+)$/.exec(line)?.[1]).find((found) => found !== undefined);
  const meaningful = lines.find(
    (line) =>
      !/^(code|syscall|errno|path|dest|type|signal|command|cwd|workspace|location)\s/.test(line) &&
      !/^(A complete log of this run|Log files were not written|For a full report see)/.test(line) &&
      /\s/.test(line),
  );
  if (meaningful === undefined) return code === undefined ? undefined : `npm error ${code}`;
  // `enoent ENOENT: …`, `network request to … failed`: npm's category word before the message.
  const category = /^(\S+) (.+)$/.exec(meaningful);
  const message = category && (category[1] === code?.toLowerCase() || category[1] === 'network') ? category[2] : meaningful;
  return code === undefined || message.includes(code) ? message : `${message} (${code})`;
}

/**
 * Checks the plugin package at `target` (a directory, a `.tgz`, or an installed package's name)
 * as the server loads it, and reports every rule. Throws {@link VerifyUsageError} only when
 * `target` names nothing to check; a broken plugin gives a report with failed rules.
 */
export async function verifyPlugin(target: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const resolved = await resolveTarget(target, options.cwd ?? process.cwd());
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tensorify-verify-data-'));
  const checks: Check[] = [];
  const logs: VerifyReport['logs'] = [];
  let packageJson: Record<string, unknown> | undefined;
  try {
    const candidate = await findConfigured(resolved.packagePath, []);
    packageJson = candidate.packageJson;
    const executors = await checkPackage(candidate, resolved, checks);
    if (resolved.kind === 'tarball') {
      if (executors.skip !== undefined) {
        checks.push({ rule: 'dependencies', status: 'skip', message: `not checked: ${executors.skip}` });
      } else {
        const installed = await installDependencies(resolved, packageJson!, options).catch((error: unknown): Installed => ({
          problem: `cannot install its dependencies: ${errorMessage(error)}`,
        }));
        if ('problem' in installed) {
          checks.push({ rule: 'dependencies', status: 'fail', message: installed.problem });
          executors.skip = 'its dependencies could not be installed';
        } else {
          checks.push({ rule: 'dependencies', status: installed.status, message: installed.message, details: installed.details });
        }
      }
    }
    for (const { id, entry } of executors.list) {
      if (executors.skip !== undefined) {
        skipRest(checks, EXECUTOR_RULES, executors.skip, id);
        continue;
      }
      const config = executors.list.length > 1 ? (options.config as Record<string, unknown> | undefined)?.[id!] : options.config;
      const logger = executorLogger(recordingLogger(logs), id!);
      await checkExecutor(id!, entry!, resolved, packageJson!, config ?? {}, path.join(dataDir, 'executors', id!), logger, options, checks);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
    await resolved.cleanup().catch(() => undefined);
  }
  // The package's rules first, then each executor's, each in the order of RULES.
  const order = Object.keys(RULES) as RuleId[];
  const executorOrder = [...new Set(checks.map((check) => check.executor))];
  const group = (check: Check) => (isTopRule(check) ? -1 : executorOrder.indexOf(check.executor));
  checks.sort((a, b) => group(a) - group(b) || order.indexOf(a.rule) - order.indexOf(b.rule));
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const check of checks) counts[check.status] += 1;
  return {
    target,
    kind: resolved.kind,
    packagePath: resolved.packagePath,
    packageName: typeof packageJson?.name === 'string' ? packageJson.name : null,
    packageVersion: typeof packageJson?.version === 'string' ? packageJson.version : null,
    executorApiVersion: EXECUTOR_API_VERSION,
    ok: counts.fail === 0,
    counts,
    checks,
    logs,
  };
}

function recordingLogger(logs: VerifyReport['logs']): PluginLogger {
  const record = (level: keyof PluginLogger) => (message: string, details?: Record<string, unknown>) =>
    logs.push({ executor: String(details?.executor ?? ''), level, message });
  return { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

/** Adds a `skip` for each of `rules` not yet reported (for `executor`). */
function skipRest(checks: Check[], rules: RuleId[], reason: string, executor?: string): void {
  for (const rule of rules) {
    if (!checks.some((check) => check.rule === rule && check.executor === executor)) {
      checks.push({ rule, ...(executor === undefined ? {} : { executor }), status: 'skip', message: `not checked: ${reason}` });
    }
  }
}

/** The package's rules; returns the executors to check, with the reason to skip them when the package failed. */
async function checkPackage(
  candidate: Awaited<ReturnType<typeof findConfigured>>,
  target: Target,
  checks: Check[],
): Promise<{ list: { id?: string; entry?: string }[]; skip?: string }> {
  const add = (rule: RuleId, status: CheckStatus, message: string, details?: unknown) =>
    checks.push({ rule, status, message, ...(details === undefined ? {} : { details }) });
  const stop = (reason: string) => {
    skipRest(checks, PACKAGE_RULES, reason);
    return { list: [{}], skip: reason };
  };

  if (candidate.problem !== undefined || candidate.packageJson === undefined) {
    add('package-json', 'fail', candidate.problem ?? 'package.json cannot be read');
    return stop('package.json cannot be read');
  }
  const packageJson = candidate.packageJson;
  add('package-json', 'pass', `${candidate.packageName}${typeof packageJson.version === 'string' ? `@${packageJson.version}` : ''}`);
  checkKeyword(packageJson, add);
  await checkMain(packageJson, target.packagePath, add);
  await checkSdkVersion(packageJson, target.packagePath, add);

  const notPlugin = notAPluginProblem(packageJson);
  if (notPlugin !== undefined) {
    add('manifest-field', 'fail', notPlugin);
    return stop(`package.json has no "${MANIFEST_FIELD}" field`);
  }
  add('manifest-field', 'pass', `"${MANIFEST_FIELD}" is present`);
  const manifest = packageJson[MANIFEST_FIELD];
  const ids = readableIds(manifest).map((id) => ({ id }));

  const declared = (manifest as { executorApiVersion?: unknown } | null)?.executorApiVersion;
  const versionProblem = apiVersionProblem(manifest);
  if (versionProblem !== undefined) {
    add('executor-api-version', 'fail', versionProblem);
    skipRest(checks, PACKAGE_RULES, `the manifest is for executor API ${String(declared)}: nothing else of it is trusted`);
    return { list: ids.length > 0 ? ids : [{}], skip: `the manifest is for executor API ${String(declared)}: no code of it is loaded` };
  }
  if (declared === EXECUTOR_API_VERSION) add('executor-api-version', 'pass', `${EXECUTOR_API_VERSION}, the version this server speaks`);
  else add('executor-api-version', 'fail', `executorApiVersion is ${declared === undefined ? 'missing' : JSON.stringify(declared)}: it must be ${EXECUTOR_API_VERSION}, the version this server speaks`);

  const shapeProblem = manifestShapeProblem(manifest);
  if (shapeProblem !== undefined) {
    add('manifest', 'fail', shapeProblem);
    return { list: ids.length > 0 ? ids : [{}], skip: 'the manifest is invalid' };
  }
  const listed = (manifest as PluginManifest).executors;
  add('manifest', 'pass', listed.map(({ id, entry }) => `${id} → ${entry}`).join(', '));
  return { list: listed };
}

type Add = (rule: RuleId, status: CheckStatus, message: string, details?: unknown) => void;

function checkKeyword(packageJson: Record<string, unknown>, add: Add): void {
  const keywords = packageJson.keywords;
  if (Array.isArray(keywords) && keywords.includes(PLUGIN_KEYWORD)) add('keyword', 'pass', `"keywords" has "${PLUGIN_KEYWORD}"`);
  else add('keyword', 'warn', `"keywords" lacks "${PLUGIN_KEYWORD}": the server loads it, but npm search will not list it as an executor plugin`);
}

/** `main` is not what the server loads (it loads the manifest's entries), but a `main` that is missing breaks `require('<package>')`. */
async function checkMain(packageJson: Record<string, unknown>, packagePath: string, add: Add): Promise<void> {
  const main = packageJson.main;
  if (main === undefined) {
    add('main', 'pass', 'no "main": the server loads the manifest\'s entries');
    return;
  }
  if (typeof main !== 'string' || main === '') {
    add('main', 'warn', `"main" is ${JSON.stringify(main)}, not a path`);
    return;
  }
  const base = path.resolve(packagePath, main);
  const candidates = [base, `${base}.js`, `${base}.json`, `${base}.node`, path.join(base, 'index.js')];
  const exists = await Promise.all(candidates.map((file) => stat(file).then((stats) => stats.isFile(), () => false)));
  if (exists.some(Boolean)) add('main', 'pass', `${main} exists`);
  else add('main', 'warn', `"main" ${main} does not exist (is the package built?): the server loads the manifest's entries, but require() of the package fails`);
}

/**
 * The SDK a plugin gets is its own bundled copy, or else the server's: a declared range that the
 * server's SDK does not satisfy means the plugin may use what this server's SDK lacks (a helper
 * newer than it), which would fail only when that code runs.
 */
async function checkSdkVersion(packageJson: Record<string, unknown>, packagePath: string, add: Add): Promise<void> {
  const fields = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;
  const declaredIn = fields.find((field) => typeof (packageJson[field] as Record<string, unknown> | undefined)?.[SDK_PACKAGE] === 'string');
  if (declaredIn === undefined) {
    add('sdk-version', 'pass', `${SDK_PACKAGE} is not declared: an entry that requires it gets the server's copy`);
    return;
  }
  const spec = (packageJson[declaredIn] as Record<string, string>)[SDK_PACKAGE];
  const bundled = await readPackageJson(path.join(packagePath, 'node_modules', ...SDK_PACKAGE.split('/'))).catch(() => undefined);
  if (bundled !== undefined) {
    add('sdk-version', 'pass', `its own copy of ${SDK_PACKAGE} (${String(bundled.version)}) is bundled in the package`);
    return;
  }
  const server = await serverSdk();
  const range = semver.validRange(spec);
  if (range === null) {
    // file:, link:, git or a URL: what it names is the author's build-time copy; installed beside the server, the server's is used.
    add('sdk-version', 'pass', `${SDK_PACKAGE} "${spec}" is not a version range: the server's copy (${server.version}) is used unless the SDK is bundled`);
  } else if (semver.satisfies(server.version, range, { includePrerelease: true })) {
    add('sdk-version', 'pass', `${SDK_PACKAGE} ${spec}, which this server's copy (${server.version}) satisfies`);
  } else {
    add(
      'sdk-version',
      'warn',
      `${SDK_PACKAGE} ${spec} (in "${declaredIn}"), but this server's copy is ${server.version} and the package bundles none: ` +
        `what it uses from a newer SDK is missing here. Bundle the SDK ("bundleDependencies"), or declare a range that ${server.version} satisfies`,
    );
  }
}

/**
 * Why a tarball's entry cannot find a module, when the tarball is to blame: a file of its own that
 * was not packed, or a package it requires without declaring it (npm installs only what it declares).
 */
function missingModuleHint(problem: string, target: Target): string {
  const missing = /Cannot find module '([^']+)'/.exec(problem)?.[1];
  if (target.kind !== 'tarball' || missing === undefined) return '';
  // Node names the file that required it first: only a require of the plugin's own code is the plugin's fault.
  const from = /Require stack:\s*\n- (.+)/.exec(problem)?.[1]?.trim();
  const own = (file: string | undefined) => file === undefined || (!path.relative(target.packagePath, file).startsWith('..') && !file.includes(`${path.sep}node_modules${path.sep}`, target.packagePath.length));
  if (!own(from)) return '';
  if (missing.startsWith('.') || path.isAbsolute(missing)) {
    return ' (the tarball lacks that file: is it in "files" of package.json, and was the plugin built before npm pack?)';
  }
  const name = missing.split('/').slice(0, missing.startsWith('@') ? 2 : 1).join('/');
  const dependencies = target.dependencies ?? { declared: [], skippedScripts: [] };
  if (!dependencies.declared.includes(name)) {
    return ` (${name} is not in the "dependencies" of package.json: a tarball is verified as npm installs it, with only the dependencies it declares)`;
  }
  const scripts = dependencies.skippedScripts.length > 0 ? `; install scripts were not run: ${dependencies.skippedScripts.join(', ')}` : '';
  return ` (${name} is declared, but was not installed as a module Node can load: see the "dependencies" rule${scripts})`;
}

async function checkExecutor(
  id: string,
  entry: string,
  target: Target,
  packageJson: Record<string, unknown>,
  givenConfig: unknown,
  dataDir: string,
  logger: PluginLogger,
  options: VerifyOptions,
  checks: Check[],
): Promise<void> {
  const add: Add = (rule, status, message, details) => checks.push({ rule, executor: id, status, message, ...(details === undefined ? {} : { details }) });
  const skip = (reason: string) => skipRest(checks, EXECUTOR_RULES, reason, id);

  const missing = await entryFileProblem(target.packagePath, entry);
  if (missing !== undefined) {
    add('entry-exists', 'fail', missing);
    return skip(`entry ${entry} does not exist`);
  }
  add('entry-exists', 'pass', entry);

  const required = requireEntry(target.packagePath, entry);
  if ('problem' in required) {
    add('entry-loads', 'fail', `${required.problem}${missingModuleHint(required.problem, target)}`);
    return skip(`entry ${entry} did not load`);
  }
  add('entry-loads', 'pass', `required ${entry}`);

  const exported = exportedDefinition(required.module, entry);
  if ('problem' in exported) {
    add('exports-definition', 'fail', exported.problem);
    return skip(`entry ${entry} exports no definition`);
  }
  add('exports-definition', 'pass', exported.exportName === 'default' ? 'the default export' : 'the export named "executor"');

  const { definition } = exported;
  const found = checkDefinition(definition, id, configAjv());
  const field = (rule: RuleId, problem: string | undefined, passed: string) => add(rule, problem === undefined ? 'pass' : 'fail', problem ?? passed);
  field('id', found.id, `"${id}", as in the manifest`);
  field('display-name', found.displayName, JSON.stringify(definition.displayName));
  if (found.version === undefined && typeof packageJson.version === 'string' && packageJson.version !== definition.version) {
    add('version', 'warn', `${definition.version}, but package.json says ${packageJson.version}: keep them in step (GET /v1/executors shows the definition's)`);
  } else {
    field('version', found.version, String(definition.version));
  }
  field('create-function', found.create, 'a function');
  field('config-schema', found.configSchema, 'a valid JSON Schema (draft-07)');

  if (found.validateConfig === undefined) {
    add('config', 'skip', 'not checked: configSchema does not compile');
    return skip('the server refuses this definition before create()');
  }
  const configured = validatedConfig(found.validateConfig, id, givenConfig);
  if ('problem' in configured) add('config', 'fail', configured.problem, { given: givenConfig });
  else add('config', 'pass', `${JSON.stringify(givenConfig)} is valid; with its defaults: ${JSON.stringify(configured.config)}`, { given: givenConfig, config: configured.config });
  if ('problem' in configured || checks.some((check) => check.executor === id && check.status === 'fail')) {
    return skip('the server refuses this definition before create()');
  }
  await checkInstance(definition as ExecutorDefinition, configured.config, dataDir, logger, options, add);
}

/** Calls `create()` as the server does, then asks the executor what the server asks it. */
async function checkInstance(
  definition: ExecutorDefinition,
  config: unknown,
  dataDir: string,
  logger: PluginLogger,
  options: VerifyOptions,
  add: Add,
): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const created = await createExecutor(definition, config, { dataDir, logger }, options.createTimeoutMs ?? CREATE_TIMEOUT_MS);
  if ('problem' in created) {
    add('create', 'fail', created.problem);
    for (const rule of ['capabilities', 'run', 'close'] as const) add(rule, 'skip', 'not checked: create() made no executor');
    return;
  }
  const { executor } = created;
  add('create', 'pass', `made an executor with capabilities() and run()${typeof executor.close === 'function' ? ' and close()' : ''}`);
  await checkCapabilities(executor, options.capabilitiesTimeoutMs ?? CAPABILITIES_TIMEOUT_MS, add);
  if (options.run) await checkRun(executor, options.runTimeoutMs ?? RUN_TIMEOUT_MS, add);
  else add('run', 'skip', 'not checked: add --run to run the hello program through the executor');
  await checkClose(executor, options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS, add);
}

async function checkCapabilities(executor: Executor, timeoutMs: number, add: Add): Promise<void> {
  let answer: unknown;
  try {
    answer = await withTimeout(Promise.resolve().then(() => executor.capabilities()), timeoutMs, `capabilities did not answer within ${formatDuration(timeoutMs)}`);
  } catch (error) {
    add('capabilities', 'fail', error instanceof TimeoutError ? error.message : `capabilities failed: ${errorMessage(error)}`);
    return;
  }
  const problem = capabilitiesProblem(answer);
  if (problem !== undefined) {
    add('capabilities', 'fail', `capabilities answered ${problem}`, answer);
    return;
  }
  const capabilities = answer as ExecutorCapabilities;
  const gpus = capabilities.gpus?.length ? ` (${capabilities.gpus.map((gpu) => gpu.model).join(', ')})` : '';
  const detail = capabilities.detail ? `: ${capabilities.detail}` : '';
  if (capabilities.healthy === false) add('capabilities', 'warn', `answered unhealthy${detail}`, capabilities);
  else add('capabilities', 'pass', `healthy, gpu ${capabilities.gpu}${gpus}${detail}`, capabilities);
}

/** What is wrong with an answer of `capabilities()` ({@link ExecutorCapabilities}). */
function capabilitiesProblem(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return `${JSON.stringify(answer) ?? 'undefined'} instead of an object`;
  const { gpu, gpus, healthy, detail } = answer as Record<string, unknown>;
  if (typeof gpu !== 'boolean') return 'without a boolean "gpu"';
  if (healthy !== undefined && typeof healthy !== 'boolean') return `"healthy" ${JSON.stringify(healthy)}, not a boolean`;
  if (detail !== undefined && typeof detail !== 'string') return `"detail" ${JSON.stringify(detail)}, not a string`;
  if (gpus !== undefined) {
    if (!Array.isArray(gpus)) return `"gpus" ${JSON.stringify(gpus)}, not an array`;
    const bad = gpus.findIndex((info: unknown) => {
      const { model, vendor, vramMb } = (info ?? {}) as Record<string, unknown>;
      return typeof info !== 'object' || info === null || typeof model !== 'string' || (vendor !== undefined && typeof vendor !== 'string') || (vramMb !== undefined && typeof vramMb !== 'number');
    });
    if (bad >= 0) return `"gpus[${bad}]" ${JSON.stringify(gpus[bad])}, not { model: string, vendor?: string, vramMb?: number }`;
  }
  return undefined;
}

/** Runs the hello program with a fake context, the signal aborted (`timed_out`) at the time limit as the server does. */
async function checkRun(executor: Executor, timeoutMs: number, add: Add): Promise<void> {
  const program = helloProgram();
  const context = createTestContext();
  const job = testJob(program.files, { inputs: { ...HELLO_INPUTS }, timeoutMs });
  const limit = setTimeout(() => context.abort('timed_out'), timeoutMs);
  limit.unref();
  const returned = `run() did not return within ${formatDuration(timeoutMs)} of its signal aborting`;
  let result: unknown;
  try {
    result = await withTimeout(Promise.resolve().then(() => executor.run(job, context)), 2 * timeoutMs, returned);
  } catch (error) {
    add('run', 'fail', error instanceof TimeoutError ? error.message : `run() failed: ${(error as Error | null)?.name ?? 'Error'}: ${errorMessage(error)}`, { lines: context.lines.slice(-20) });
    return;
  } finally {
    clearTimeout(limit);
  }
  const { exitCode, output } = (result ?? {}) as { exitCode?: unknown; output?: unknown };
  const details = { program: program.name, inputs: HELLO_INPUTS, exitCode, output, externalIds: context.externalIds, lines: context.lines.slice(-20) };
  if (typeof result !== 'object' || result === null) {
    add('run', 'fail', `run() returned ${JSON.stringify(result) ?? 'undefined'} instead of { exitCode, output? }`, details);
  } else if (context.signal.aborted) {
    add('run', 'fail', `${program.name} did not finish within ${formatDuration(timeoutMs)} (exit code ${String(exitCode)})`, details);
  } else if (exitCode !== 0) {
    const stderr = context.of('stderr').at(-1) ?? context.of('system').at(-1);
    add('run', 'fail', `${program.name} exited with ${JSON.stringify(exitCode) ?? 'undefined'}${stderr ? `; last line: ${stderr}` : ''}`, details);
  } else if (!isDeepStrictEqual(output, HELLO_OUTPUT)) {
    add('run', 'fail', `${program.name} exited with 0 but output ${JSON.stringify(output) ?? 'nothing'}, not ${JSON.stringify(HELLO_OUTPUT)}`, details);
  } else {
    add('run', 'pass', `${program.name} exited with 0 and output ${JSON.stringify(output)}`, details);
  }
}

/** The server calls `close()` once at shutdown and only logs its failure: a warning. */
async function checkClose(executor: Executor, timeoutMs: number, add: Add): Promise<void> {
  if (executor.close === undefined) {
    add('close', 'pass', 'no close() (it is optional)');
    return;
  }
  try {
    await withTimeout(Promise.resolve().then(() => executor.close!()), timeoutMs, `close() did not finish within ${formatDuration(timeoutMs)}`);
    add('close', 'pass', 'closed');
  } catch (error) {
    add('close', 'warn', error instanceof TimeoutError ? error.message : `close() failed: ${errorMessage(error)}`);
  }
}

const MARKS: Record<CheckStatus, string> = { pass: 'pass', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** The report as a checklist: the package's rules, then each executor's. */
export function formatReport(report: VerifyReport): string {
  const width = Math.max(...Object.values(RULES).map((title) => title.length));
  const line = (check: Check) => `  ${MARKS[check.status]}  ${RULES[check.rule].padEnd(width)}  ${check.message}`;
  const name = report.packageName ? `${report.packageName}${report.packageVersion ? ` ${report.packageVersion}` : ''}` : report.target;
  const npm = report.checks.some((check) => check.rule === 'dependencies' && (check.details as { installer?: unknown } | undefined)?.installer === 'npm');
  const from = report.kind === 'tarball' ? ` (${npm ? 'installed with npm' : 'extracted'} from ${report.target})` : '';
  const lines = [`Plugin ${name} at ${report.packagePath}${from}, against executor API ${report.executorApiVersion}`, ''];
  lines.push(...report.checks.filter(isTopRule).map(line));
  const groups = new Map<string | undefined, Check[]>();
  for (const check of report.checks.filter((check) => !isTopRule(check))) {
    groups.set(check.executor, [...(groups.get(check.executor) ?? []), check]);
  }
  for (const [executor, checks] of groups) {
    lines.push('', executor === undefined ? 'Executors' : `Executor "${executor}"`, ...checks.map(line));
    const noisy = report.logs.filter((log) => log.executor === executor && (log.level === 'warn' || log.level === 'error'));
    for (const log of noisy) lines.push(`        ${log.level}: ${log.message}`);
  }
  const { pass, warn, fail, skip } = report.counts;
  const verdict = report.ok ? 'the server would load this plugin' : 'the server would not load this plugin';
  lines.push('', `${pass} passed, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failed, ${skip} skipped: ${verdict}.`);
  return lines.join('\n');
}
