import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { createTensorifyClient, NotFoundError, Tensorify, TensorifyClient, unwrap, type ErrorEnvelope, type WorkflowBody } from '../../client/src/index';
import { createApp, initApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/config';
import { useTestApp } from '../support/test-app';

const ROOT = resolve(__dirname, '..', '..');
const EXAMPLES_DIR = resolve(ROOT, '..', 'shared', 'examples');
const read = <T = unknown>(file: string): T => JSON.parse(readFileSync(resolve(EXAMPLES_DIR, file), 'utf8')) as T;

const GENERATOR = resolve(ROOT, 'scripts', 'generate-client.js');
/** The SDK's hand-written sources (client/src). */
const CLIENT_SOURCES = readdirSync(resolve(ROOT, 'client', 'src'), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts'))
  .map((file) => resolve(ROOT, 'client', 'src', file));
interface ClientGenerator {
  servedOpenApiDocument(app: { createApp: typeof createApp; initApp: typeof initApp; loadConfig: typeof loadConfig }): Promise<object>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script, without types
const generator = require(GENERATOR) as ClientGenerator;

/**
 * Never called: the type-check test below compiles this file. Each `@ts-expect-error` line must be
 * a compile error (one with nothing to suppress is itself an error); the others must compile.
 */
function compileTimeChecks(client: TensorifyClient) {
  void client.POST('/v1/workflows', { body: { name: 'Minimal', nodes: [{ id: 'trigger', type: 'manual' }], edges: [] } });
  void client.GET('/v1/workflows', { params: { query: { limit: 10 } } });
  // @ts-expect-error -- no such path
  void client.GET('/v1/workflowz');
  // @ts-expect-error -- a workflow body needs nodes and edges
  void client.POST('/v1/workflows', { body: { name: 'No graph' } });
  // @ts-expect-error -- the path parameter is required
  void client.GET('/v1/executions/{id}', {});
}
void compileTimeChecks;

describe('The bare typed client of @tensorify/client (createTensorifyClient), and the generated schema', () => {
  const t = useTestApp({ TENSORIFY_EXECUTION_CONCURRENCY: '4' });
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = await t.listen();
  });

  /** A fresh workspace (a rate limit that the fake clock never resets is out of reach) and a client with its own key. */
  async function workspaceClient(): Promise<{ client: TensorifyClient; key: string }> {
    const admin = createTensorifyClient({ baseUrl, apiKey: t.adminKey });
    const workspace = unwrap(
      await admin.POST('/v1/workspaces', { body: { name: `client-${Date.now()}-${Math.random()}`, plan: 'enterprise', rateLimitPerMinute: 100_000 } }),
    );
    const { key } = unwrap(
      await admin.POST('/v1/api-keys', {
        body: { name: 'typed client', workspaceId: workspace.id, scopes: ['workflows:read', 'workflows:write', 'executions:read', 'executions:run'] },
      }),
    );
    return { client: createTensorifyClient({ baseUrl, apiKey: key }), key };
  }

  it('creates, lists and runs the hello example to its expected output', async () => {
    const { client, key } = await workspaceClient();

    const created = await client.POST('/v1/workflows', { body: read<WorkflowBody>('hello.json') });
    expect(created.response.status).toBe(201);
    const workflow = unwrap(created);
    expect(workflow).toMatchObject({ id: expect.stringMatching(/^wf_/), name: 'Hello', version: 1 });

    const list = unwrap(await client.GET('/v1/workflows', { params: { query: { limit: 10 } } }));
    expect(list.workflows.map((w) => w.id)).toEqual([workflow.id]);
    expect(list.nextCursor).toBeNull();

    const queued = unwrap(
      await client.POST('/v1/workflows/{id}/execute', {
        params: { path: { id: workflow.id } },
        body: { inputs: read<Record<string, unknown>>('hello.inputs.json') },
      }),
    );
    expect(queued.status).toBe('queued');

    const execution = await new Tensorify({ baseUrl, apiKey: key }).executions.wait(queued.executionId, { timeoutMs: 20_000, intervalMs: 100 });
    expect(execution).toMatchObject({ id: queued.executionId, workflowId: workflow.id, status: 'completed', error: null, exitCode: 0 });
    expect(execution.output).toEqual(read('hello.expected-output.json'));
  });

  it('answers a missing execution with a typed 404 error envelope, which unwrap throws as NotFoundError', async () => {
    const { client } = await workspaceClient();
    const id = 'exec_0000000000000000';

    const { data, error, response } = await client.GET('/v1/executions/{id}', { params: { path: { id } } });
    expect(response.status).toBe(404);
    expect(data).toBeUndefined();
    const envelope: ErrorEnvelope | undefined = error;
    expect(envelope).toEqual({ error: { code: 'EXECUTION_NOT_FOUND', message: expect.stringContaining(id), requestId: response.headers.get('x-request-id') } });

    const thrown = await client
      .GET('/v1/executions/{id}', { params: { path: { id } } })
      .then(unwrap)
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(NotFoundError);
    expect(thrown).toMatchObject({ status: 404, code: 'EXECUTION_NOT_FOUND', requestId: expect.stringMatching(/^req_/) });
  });

  it('sends the API key: without one the server answers 401 UNAUTHORIZED', async () => {
    const anonymous = createTensorifyClient({ baseUrl });
    const { error, response } = await anonymous.GET('/v1/workflows');
    expect(response.status).toBe(401);
    expect(error?.error.code).toBe('UNAUTHORIZED');
  });

  // UPDATE_CLIENT=1 regenerates the files instead of checking them (like UPDATE_GOLDEN for the exports).
  it("is in sync with the server's OpenAPI document (node scripts/generate-client.js --check)", async () => {
    // The document these sources serve, taken as the script takes it from dist/; the script itself
    // runs in a child process (it loads openapi-typescript with import(), which Jest cannot run).
    const document = await generator.servedOpenApiDocument({ createApp, initApp, loadConfig });
    const dir = mkdtempSync(join(tmpdir(), 'tensorify-client-check-'));
    try {
      writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document));
      const mode = process.env.UPDATE_CLIENT === '1' ? [] : ['--check'];
      const check = spawnSync(process.execPath, [GENERATOR, ...mode, '--document', join(dir, 'openapi.json')], { encoding: 'utf8', timeout: 30_000 });
      expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('type checking', () => {
    /** Errors of `files` (and of the program as a whole) when compiled with a tsconfig. */
    function typeErrors(tsconfig: string, rootNames: string[], files: string[]): string[] {
      const { config } = ts.readConfigFile(tsconfig, (file) => ts.sys.readFile(file));
      const parsed = ts.parseJsonConfigFileContent(config, ts.sys, dirname(tsconfig));
      const program = ts.createProgram(rootNames, { ...parsed.options, noEmit: true, incremental: false });
      const checked = program.getSourceFiles().filter((file) => files.includes(resolve(file.fileName)));
      expect(checked).toHaveLength(files.length);
      const diagnostics = [
        ...program.getOptionsDiagnostics(),
        ...program.getGlobalDiagnostics(),
        ...checked.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]),
      ];
      return diagnostics.map(
        (d) =>
          `${d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    }

    it('type-checks these calls, the wrong ones being compile errors', () => {
      const files = [__filename, ...CLIENT_SOURCES, resolve(ROOT, 'client', 'schema.d.ts')];
      expect(typeErrors(resolve(ROOT, 'test', 'tsconfig.json'), [__filename], files)).toEqual([]);
    });

    it('compiles with client/tsconfig.json, the build of the @tensorify/client package', () => {
      const files = [...CLIENT_SOURCES, resolve(ROOT, 'client', 'schema.d.ts')];
      expect(typeErrors(resolve(ROOT, 'client', 'tsconfig.json'), files, files)).toEqual([]);
    });
  });
});
