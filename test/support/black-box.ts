import type { SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait-for';

/**
 * For tests that drive a server from the outside, over real HTTP, as a user would: the installed
 * npm package, the Docker image. The shared examples, a bearer-key client, and the hello flow.
 */
export const EXAMPLES_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'examples');

export const readExample = (file: string): unknown => JSON.parse(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8'));

/** An error for a command that failed, with the last 40 lines of its output. */
export function commandFailure(what: string, result: SpawnSyncReturns<string>): Error {
  const cause = result.error ? ` (${result.error.message})` : ` (exit code ${result.status}, signal ${result.signal})`;
  const tail = (text: string | null) => (text ?? '').trimEnd().split('\n').slice(-40).join('\n');
  return new Error(`${what} failed${cause}\n--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`);
}

export type Api = (method: string, route: string, body?: unknown) => Promise<{ status: number; body: Record<string, any> }>;

/** A JSON client of the server at `baseUrl` with a bearer key; each request may take 10 s. */
export function bearerApi(baseUrl: string, key: string): Api {
  return async (method, route, body) => {
    const res = await fetch(`${baseUrl}${route}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
}

/**
 * Creates hello.json, exports it and executes it with hello.inputs.json, polling until the run
 * ends (throws after `timeoutMs`). Checks the statuses and the exported file names on the way.
 */
export async function runHelloExample(api: Api, timeoutMs = 60_000) {
  const created = await api('POST', '/v1/workflows', readExample('hello.json'));
  expect(created.status).toBe(201);
  const workflowId = created.body.id as string;

  const exported = await api('POST', `/v1/workflows/${workflowId}/export`);
  expect(exported.status).toBe(200);
  expect(Object.keys(exported.body.files as Record<string, string>).sort()).toEqual(['main.py', 'requirements.txt', 'utils.py']);

  const queued = await api('POST', `/v1/workflows/${workflowId}/execute`, { inputs: readExample('hello.inputs.json') });
  expect(queued.status).toBe(202);
  const executionId = queued.body.executionId as string;
  const execution = await waitFor(
    async () => (await api('GET', `/v1/executions/${executionId}`)).body,
    (answer) => ['completed', 'failed', 'cancelled'].includes(answer.status as string),
    { timeoutMs, intervalMs: 100, what: `execution ${executionId} (finished)` },
  );
  return { workflowId, executionId, execution, files: exported.body.files as Record<string, string> };
}
