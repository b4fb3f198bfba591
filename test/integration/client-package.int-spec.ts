/**
 * @tensorify/client as a user gets it: `npm pack` of client/ (built by `npm run build`, which
 * `npm run test:integration` runs first), installed from its tarball into an empty project (its
 * dependencies, openapi-fetch and eventsource-parser, from the npm cache or the registry), then
 * used from that project, as CommonJS, as an ES module and from TypeScript, against a live server
 * started from the build: create a workflow, execute it, follow its logs, wait for it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT, startServerProcess, type ServerProcess } from '../support/server-process';

const CLIENT = join(PACKAGE_ROOT, 'client');
const TSC = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TYPES = join(PACKAGE_ROOT, 'node_modules', '@types');
const ADMIN_KEY = 'tfy_ClientPackageKey0123456789abcdefghijklmnop';
const INSTALL_TIMEOUT_MS = 180_000;

/** The child's environment: no NODE_PATH (nothing may resolve into this repository), no npm per-script or TENSORIFY_ variables. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== 'NODE_PATH' && !/^npm_/i.test(name) && !name.startsWith('TENSORIFY_')),
  );
  return { ...clean, ...extra };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv(), timeoutMs = 60_000): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status ?? result.signal ?? result.error?.message}) in ${cwd}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** The hello workflow of the README. */
const HELLO = {
  name: 'Hello',
  nodes: [
    { id: 'trigger', type: 'manual' },
    { id: 'greeting', type: 'transform', settings: { value: { message: 'Hello, {{ trigger.name }}!' } } },
    { id: 'out', type: 'return', settings: { value: { result: '{{ greeting.message }}' } } },
  ],
  edges: [
    { source: 'trigger', target: 'greeting' },
    { source: 'greeting', target: 'out' },
  ],
};

/** The flow, as an ES module of the user's project; the key and the server come from TENSORIFY_API_KEY and TENSORIFY_BASE_URL. */
const FLOW_MJS = `import { Tensorify, NotFoundError, TensorifyError } from '@tensorify/client';

const tensorify = new Tensorify();
const workflow = await tensorify.workflows.create(${JSON.stringify(HELLO)});
const { executionId } = await tensorify.workflows.execute(workflow.id, { inputs: { name: 'Ada' } });
const logs = tensorify.executions.logs(executionId);
const lines = [];
for await (const line of logs) lines.push(line);
const execution = await tensorify.executions.wait(executionId, { timeoutMs: 60_000 });
const listed = [];
for await (const summary of tensorify.executions.list({ workflowId: workflow.id, limit: 1 })) listed.push(summary.id);
const missing = await tensorify.workflows.get('wf_missing0000000').catch((error) => error);
console.log(JSON.stringify({
  workflowId: workflow.id,
  executionId,
  status: execution.status,
  output: execution.output,
  lines,
  logs: execution.logs,
  streamStatus: logs.status,
  listed,
  missing: { notFound: missing instanceof NotFoundError, base: missing instanceof TensorifyError, code: missing.code, status: missing.status, requestId: missing.requestId },
}));
`;

/** The same package required as CommonJS. */
const REQUIRE_CJS = `const sdk = require('@tensorify/client');
console.log(JSON.stringify({ resolved: require.resolve('@tensorify/client'), Tensorify: typeof sdk.Tensorify, RateLimitError: typeof sdk.RateLimitError, createTensorifyClient: typeof sdk.createTensorifyClient }));
`;

/** A user's TypeScript against the installed declarations; each @ts-expect-error must meet an error, or tsc fails. */
const USER_TS = `import { Tensorify, RateLimitError, type Execution, type Workflow, type LogLine } from '@tensorify/client';

export async function main(): Promise<string> {
  const tensorify = new Tensorify({ baseUrl: 'http://localhost:3000', maxRetries: 3 });
  const workflow: Workflow = await tensorify.workflows.create({ name: 'Typed', nodes: [{ id: 'trigger', type: 'manual' }], edges: [] });
  const { executionId } = await tensorify.workflows.execute(workflow.id, { inputs: { name: 'Ada' }, timeoutSeconds: 60 });
  const first: LogLine[] = [];
  for await (const line of tensorify.executions.logs(executionId)) first.push(line);
  const execution: Execution = await tensorify.executions.wait(executionId, { timeoutMs: 1000 });
  try {
    await tensorify.me.get();
  } catch (error) {
    if (error instanceof RateLimitError) return String(error.retryAfter);
  }
  // @ts-expect-error a workflow needs its nodes and edges
  await tensorify.workflows.create({ name: 'No graph' });
  // @ts-expect-error there is no such status
  tensorify.executions.list({ status: 'done' });
  return execution.status + first.length;
}
`;

describe('@tensorify/client: npm pack → install into an empty project → a flow against a live server', () => {
  let scratch: string;
  let project: string;
  let listing: string[];
  let server: ServerProcess | undefined;

  beforeAll(() => {
    for (const built of ['dist/main.js', 'client/dist/index.js', 'client/dist/index.d.ts']) {
      if (!existsSync(join(PACKAGE_ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first (npm run test:integration does)`);
    }
    scratch = realpathSync(mkdtempSync(join(tmpdir(), 'tensorify-client-package-')));
    const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], CLIENT)) as { filename: string }[];
    const tarball = join(scratch, packed[0].filename);
    listing = run('tar', ['-tzf', tarball], scratch)
      .split('\n')
      .filter(Boolean)
      .map((entry) => entry.replace(/^package\//, ''))
      .sort();
    project = join(scratch, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'client-consumer', version: '1.0.0', private: true }));
    // --prefer-offline: the dependencies come from npm's cache when it has them, else from the registry.
    run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball],
      project,
      cleanEnv(),
      INSTALL_TIMEOUT_MS,
    );
  }, INSTALL_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await server?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds the built modules, their declarations, the generated schema types, the README and package.json: no sources, no server code', () => {
    const modules = readdirSync(join(CLIENT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
      .map((file) => file.slice(0, -'.ts'.length));
    expect(modules).toContain('index');
    expect(listing).toEqual(['README.md', 'package.json', 'schema.d.ts', ...modules.flatMap((name) => [`dist/${name}.d.ts`, `dist/${name}.js`])].sort());
    const readme = readFileSync(join(project, 'node_modules', '@tensorify', 'client', 'README.md'), 'utf8');
    expect(readme).toContain('npm install @tensorify/client');
  });

  it('installs with its two dependencies only', () => {
    const installed = readdirSync(join(project, 'node_modules'))
      .filter((name) => !name.startsWith('.'))
      .flatMap((name) => (name.startsWith('@') ? readdirSync(join(project, 'node_modules', name)).map((scoped) => `${name}/${scoped}`) : [name]))
      .sort();
    expect(installed).toEqual(['@tensorify/client', 'eventsource-parser', 'openapi-fetch', 'openapi-typescript-helpers']);
  });

  it('is required as CommonJS from the installed copy', () => {
    const printed = JSON.parse(run(process.execPath, ['-e', REQUIRE_CJS], project)) as Record<string, string>;
    expect(printed).toEqual({
      resolved: join(project, 'node_modules', '@tensorify', 'client', 'dist', 'index.js'),
      Tensorify: 'function',
      RateLimitError: 'function',
      createTensorifyClient: 'function',
    });
  });

  it.each([
    ['node16', 'node16'],
    ['commonjs', 'node'],
  ])('type-checks a strict TypeScript program against its declarations (module %s, moduleResolution %s), its types catching mistakes', (module, resolution) => {
    mkdirSync(join(project, 'src'), { recursive: true });
    writeFileSync(join(project, 'src', 'main.ts'), USER_TS);
    const args = [
      TSC,
      '--noEmit',
      '--strict',
      '--listFiles',
      '--module',
      module,
      '--moduleResolution',
      resolution,
      '--target',
      'ES2022',
      '--lib',
      'ES2022',
      '--typeRoots',
      TYPES,
      '--types',
      'node',
      join(project, 'src', 'main.ts'),
    ];
    const result = spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', env: cleanEnv(), timeout: 60_000 });
    if (result.status !== 0) throw new Error(`tsc found errors in a program written against the installed client:\n${result.stdout}${result.stderr}`);
    const clientFiles = result.stdout.split('\n').filter((file) => file.includes('@tensorify/client'));
    expect(clientFiles).toEqual(expect.arrayContaining([join(project, 'node_modules', '@tensorify', 'client', 'schema.d.ts')]));
    expect(clientFiles.filter((file) => !file.startsWith(join(project, 'node_modules')))).toEqual([]);
  });

  it('runs a flow as an ES module against a server started from the build: create, execute, logs, wait', async () => {
    const dataDir = join(scratch, 'data');
    server = await startServerProcess({ TENSORIFY_DATA_DIR: dataDir, TENSORIFY_BOOTSTRAP_API_KEY: ADMIN_KEY, TENSORIFY_LOG_LEVEL: 'warn' });
    writeFileSync(join(project, 'flow.mjs'), FLOW_MJS);
    const result = spawnSync(process.execPath, ['flow.mjs'], {
      cwd: project,
      encoding: 'utf8',
      env: cleanEnv({ TENSORIFY_API_KEY: ADMIN_KEY, TENSORIFY_BASE_URL: `${server.baseUrl}/v1` }),
      timeout: 90_000,
    });
    if (result.status !== 0)
      throw new Error(`the flow failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}\n--- server\n${server.stderr()}`);
    const flow = JSON.parse(result.stdout) as Record<string, any>;
    expect(flow).toMatchObject({
      workflowId: expect.stringMatching(/^wf_/),
      executionId: expect.stringMatching(/^exec_/),
      status: 'completed',
      output: { result: 'Hello, Ada!' },
      streamStatus: 'completed',
      missing: { notFound: true, base: true, code: 'WORKFLOW_NOT_FOUND', status: 404, requestId: expect.stringMatching(/^req_/) },
    });
    expect(flow.listed).toEqual([flow.executionId]);
    expect(flow.logs.length).toBeGreaterThan(0);
    expect(flow.lines).toEqual((flow.logs as string[]).map((line, index) => ({ index, line })));
  }, 120_000);
});
