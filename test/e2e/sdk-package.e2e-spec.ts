/**
 * The SDK package (plugins/executor-sdk) as a plugin author gets it: built, packed with npm pack,
 * installed from its tarball into a fresh project that has no other package (no registry, no link
 * into this repository), then required with Node and type-checked against with TypeScript.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../support/server-process';

const SDK = join(PACKAGE_ROOT, 'plugins', 'executor-sdk');
const TSC = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TYPES = join(PACKAGE_ROOT, 'node_modules', '@types');

/** The SDK's modules: the .ts files under src/ (its subfolders too) but tests, as paths without the extension (`ssh/connection`). */
const MODULES = readdirSync(join(SDK, 'src'), { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.ts') && !/\.(spec|test)\.ts$/.test(name))
  .map((name) => name.slice(0, -'.ts'.length));

/** The programs the conformance suite runs, shipped beside dist/. */
const CONFORMANCE_PROGRAMS = readdirSync(join(SDK, 'conformance'))
  .filter((name) => name.endsWith('.py'))
  .map((name) => `conformance/${name}`);

/** The runtime exports of src/index.ts, by the type of their value: what the README documents. */
const EXPORTS: Record<string, 'number' | 'string' | 'function' | 'object'> = {
  EXECUTOR_API_VERSION: 'number',
  MANIFEST_FIELD: 'string',
  PLUGIN_KEYWORD: 'string',
  defineExecutor: 'function',
  ExecutorUnavailableError: 'function',
  configSchemaParts: 'object',
  dropUnusableVariables: 'function',
  INPUTS_FILE: 'string',
  MAX_INPUTS_ENV_BYTES: 'number',
  programInputs: 'function',
  programVariables: 'function',
  cutMarker: 'function',
  LineSplitter: 'function',
  normaliseRequirements: 'function',
  createTestContext: 'function',
  readProgram: 'function',
  testJob: 'function',
  describeExecutorConformance: 'function',
  PROGRAM_FILES: 'object',
  packageVersion: 'function',
  untilAborted: 'function',
  AbortedError: 'function',
  SharedBuilds: 'function',
  PYTHON_PROBE: 'string',
  parsePythonProbe: 'function',
  silentLogger: 'object',
  cacheEntriesToPrune: 'function',
  cacheConfigSchema: 'function',
  resolveCacheLimits: 'function',
  describeCachePruning: 'function',
  CachePruneSchedule: 'function',
  CachePruner: 'function',
};

/** The environment of a child: no NODE_PATH (nothing may resolve into this repository), no npm per-script variables. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_PATH' && !/^npm_/i.test(name)));
}

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status ?? result.signal ?? result.error?.message}) in ${cwd}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Builds the SDK when a module's .js or .d.ts is missing or older than its source. */
function buildIfStale(): void {
  const stale = MODULES.some((name) => {
    const source = statSync(join(SDK, 'src', `${name}.ts`)).mtimeMs;
    return ['.js', '.d.ts'].some((ext) => {
      const built = join(SDK, 'dist', `${name}${ext}`);
      return !existsSync(built) || statSync(built).mtimeMs < source;
    });
  });
  if (stale) run(process.execPath, [TSC, '-p', join(SDK, 'tsconfig.json')], PACKAGE_ROOT);
}

/** A plugin written against the installed SDK's types; each @ts-expect-error must meet an error, or tsc fails. */
const PLUGIN_TS = `import {
  configSchemaParts,
  createTestContext,
  defineExecutor,
  EXECUTOR_API_VERSION,
  ExecutorUnavailableError,
  LineSplitter,
  MANIFEST_FIELD,
  normaliseRequirements,
  PLUGIN_KEYWORD,
  programInputs,
  programVariables,
  testJob,
  type ExecutionResult,
  type PluginManifest,
} from '@tensorify/executor-sdk';

interface GreeterConfig {
  greeting: string;
  env: Record<string, string>;
}

export default defineExecutor<GreeterConfig>({
  id: 'greeter',
  displayName: 'Greeter',
  version: '1.0.0',
  configSchema: {
    type: 'object',
    properties: { greeting: { type: 'string', default: 'hello' }, env: configSchemaParts.env('Variables set for every run.'), logLineMaxBytes: configSchemaParts.logLineMaxBytes },
    additionalProperties: false,
  },
  create: (config, host) => {
    host.logger.info('ready', { dataDir: host.dataDir });
    return {
      capabilities: async () => ({ gpu: false, healthy: true, gpus: [{ model: 'none', vramMb: 0 }] }),
      run: async (job, context): Promise<ExecutionResult> => {
        if (context.signal.aborted) return { exitCode: null };
        if (normaliseRequirements(job.files['requirements.txt']).length > 0) throw new ExecutorUnavailableError('no pip here');
        const inputs = programInputs(job);
        const env: Record<string, string> = { ...programVariables(job, inputs), ...config.env, ...job.env };
        const out = new LineSplitter(1024, (line) => context.log('stdout', line));
        out.push(Buffer.from(\`\${config.greeting} \${env.TENSORIFY_EXECUTION_ID}\\n\`));
        out.end();
        context.setExternalId('in-process');
        return { exitCode: 0, output: { greeted: true }, externalId: 'in-process' };
      },
      close: async () => undefined,
    };
  },
});

export const manifest: PluginManifest = { executorApiVersion: EXECUTOR_API_VERSION, executors: [{ id: 'greeter', entry: 'dist/index.js' }] };
export const packageFields = { [MANIFEST_FIELD]: manifest, keywords: [PLUGIN_KEYWORD] };

const context = createTestContext();
const job = testJob({ 'main.py': 'print(1)' }, { gpu: true, inputs: { name: 'Ada' } });
context.abort('cancelled');
export const seen: string[] = [...context.of('stdout'), ...context.externalIds, job.executionId];

defineExecutor({
  id: 'wrong',
  displayName: 'Wrong',
  version: '1.0.0',
  configSchema: {},
  create: () => ({
    capabilities: async () => ({ gpu: false }),
    // @ts-expect-error run() must resolve to an ExecutionResult, not a string
    run: async () => 'done',
  }),
});

// @ts-expect-error a signal aborts for 'cancelled', 'timed_out' or 'shutdown' only
context.abort('killed');

// @ts-expect-error capabilities() needs a boolean gpu
defineExecutor({ id: 'x', displayName: 'X', version: '1.0.0', configSchema: {}, create: () => ({ capabilities: async () => ({ healthy: true }), run: async () => ({ exitCode: 0 }) }) });
`;

/** Requires the installed SDK and prints what it exports (the type of each value) and where it was loaded from. */
const REQUIRE_JS = `const sdk = require('@tensorify/executor-sdk');
const types = Object.fromEntries(Object.keys(sdk).map((name) => [name, typeof sdk[name]]));
const lines = [];
const splitter = new sdk.LineSplitter(64, (line) => lines.push(line));
splitter.push(Buffer.from('one\\r\\ntwo'));
splitter.end();
const definition = { id: 'x' };
const context = sdk.createTestContext();
context.abort('cancelled');
console.log(JSON.stringify({
  resolved: require.resolve('@tensorify/executor-sdk'),
  types,
  values: {
    EXECUTOR_API_VERSION: sdk.EXECUTOR_API_VERSION,
    MANIFEST_FIELD: sdk.MANIFEST_FIELD,
    PLUGIN_KEYWORD: sdk.PLUGIN_KEYWORD,
    identity: sdk.defineExecutor(definition) === definition,
    errorName: new sdk.ExecutorUnavailableError('down').name,
    lines,
    requirements: sdk.normaliseRequirements('torch\\n# comment\\nnumpy\\ntorch\\n'),
    aborted: [context.signal.aborted, context.signal.reason],
    job: Object.keys(sdk.testJob()).sort(),
  },
}));
`;

describe('The SDK package, packed with npm pack and installed on its own', () => {
  let scratch: string;
  let tarball: string;
  let project: string;
  let listing: string[];

  beforeAll(() => {
    scratch = realpathSync(mkdtempSync(join(tmpdir(), 'tensorify-sdk-package-')));
    buildIfStale();
    const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch, SDK], scratch)) as { filename: string }[];
    tarball = join(scratch, packed[0].filename);
    listing = run('tar', ['-tzf', tarball], scratch).split('\n').filter(Boolean).sort();
    project = join(scratch, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'sdk-consumer', version: '1.0.0', private: true }));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball], project);
  }, 60_000);
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds the built modules, their declarations, the README and package.json, and nothing else', () => {
    const files = listing.map((entry) => entry.replace(/^package\//, ''));
    expect(files.filter((file) => /^src\/|tsconfig|\.(spec|test)\.|(^|\/)(test|tests|__tests__)\//.test(file))).toEqual([]);
    expect(files).toEqual(
      ['package.json', 'README.md', ...CONFORMANCE_PROGRAMS, ...MODULES.flatMap((name) => [`dist/${name}.js`, `dist/${name}.d.ts`])].sort(),
    );
  });

  it('installs into a project of its own, with no other package', () => {
    const installed = readdirSync(join(project, 'node_modules')).filter((name) => !name.startsWith('.'));
    expect(installed).toEqual(['@tensorify']);
    expect(readdirSync(join(project, 'node_modules', '@tensorify'))).toEqual(['executor-sdk']);
    expect(existsSync(join(project, 'node_modules', '@tensorify', 'executor-sdk', 'dist', 'index.d.ts'))).toBe(true);
  });

  it('is required by Node from the installed copy, with every documented export', () => {
    const printed = JSON.parse(run(process.execPath, ['-e', REQUIRE_JS], project)) as {
      resolved: string;
      types: Record<string, string>;
      values: Record<string, unknown>;
    };

    expect(printed.resolved).toBe(join(project, 'node_modules', '@tensorify', 'executor-sdk', 'dist', 'index.js'));
    const missing = Object.keys(EXPORTS).filter((name) => !(name in printed.types));
    expect({ missing }).toEqual({ missing: [] });
    expect(printed.types).toEqual(EXPORTS);
    expect(printed.values).toEqual({
      EXECUTOR_API_VERSION: 1,
      MANIFEST_FIELD: 'tensorify',
      PLUGIN_KEYWORD: 'tensorify-executor',
      identity: true,
      errorName: 'ExecutorUnavailableError',
      lines: ['one', 'two'],
      requirements: ['numpy', 'torch'],
      aborted: [true, 'cancelled'],
      job: ['env', 'executionId', 'files', 'gpu', 'inputs', 'timeoutMs', 'workflowId', 'workflowVersion'],
    });
  });

  it('type-checks a strict TypeScript plugin against its declarations, and its types catch mistakes', () => {
    mkdirSync(join(project, 'src'));
    writeFileSync(join(project, 'src', 'index.ts'), PLUGIN_TS);
    // The repository's TypeScript and Node types (a plugin's devDependencies); the SDK from the project's node_modules.
    const args = [
      TSC,
      '--noEmit',
      '--strict',
      '--listFiles',
      '--module',
      'commonjs',
      '--moduleResolution',
      'node',
      '--target',
      'ES2022',
      '--lib',
      'ES2022',
      '--typeRoots',
      TYPES,
      '--types',
      'node',
      join(project, 'src', 'index.ts'),
    ];
    const result = spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', env: cleanEnv(), timeout: 60_000 });

    if (result.status !== 0) throw new Error(`tsc found errors in the plugin written against the installed SDK:\n${result.stdout}${result.stderr}`);
    const files = result.stdout.split('\n').filter(Boolean);
    const sdkFiles = files.filter((file) => file.includes('executor-sdk'));
    expect(sdkFiles).toContain(join(project, 'node_modules', '@tensorify', 'executor-sdk', 'dist', 'index.d.ts'));
    expect(sdkFiles.filter((file) => !file.startsWith(join(project, 'node_modules')))).toEqual([]);
  });
});
