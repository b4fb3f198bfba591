import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { CompileInput, GeneratedFiles, WorkflowCompiler } from '../../src/codegen/workflow-compiler';
import type { WorkflowNodeInput } from '../../src/workflows/graph/graph.types';
import { example, shippedCompiler } from '../support/compiler';
import { type ProgramRun, runProgram, testVenv, writeProgram } from '../support/python';

/**
 * The nodes that reach other machines, run for real against stand-ins on 127.0.0.1: an
 * OpenAI-compatible chat service for `openai-chat` (through the `openai` package, in a cached
 * venv) and an echo server for `http-request` (stdlib only, the system python3).
 */

/** One request as the loopback server received it. */
interface SeenRequest {
  method: string;
  /** Path and query string, exactly as sent. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** What the chat stand-in answers. */
const CHAT_CONTENT = 'A fox jumped over a dog.';

/**
 * The stand-in servers' code. They live in a worker thread because `runProgram` runs Python with
 * spawnSync, which blocks this thread's event loop: a server here could not answer meanwhile.
 *
 * Routes: `/v1/chat/completions` answers a chat.completion; `/fail/v1/chat/completions` a 500 with
 * an OpenAI error body; `/echo/*` a JSON echo of the request (with an `X-Echo` header);
 * `/text` plain text; `/bad-json` an application/json body that does not parse; `/missing` a 404
 * with a JSON body; `/hang` never answers. Every request but `/hang`'s is recorded.
 */
const SERVER_SOURCE = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const seen = [];
const CHAT_CONTENT = ${JSON.stringify(CHAT_CONTENT)};
const server = http.createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const path = request.url.split('?')[0];
    if (path === '/hang') return; // never answers; closeAllConnections() ends it
    seen.push({ method: request.method, url: request.url, headers: request.headers, body });
    const json = (status, value, headers = {}) => {
      response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      response.end(JSON.stringify(value));
    };
    if (request.method === 'POST' && path === '/v1/chat/completions') {
      const model = JSON.parse(body).model;
      return json(200, {
        id: 'chatcmpl-test123',
        object: 'chat.completion',
        created: 1700000000,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: CHAT_CONTENT }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 21, completion_tokens: 7, total_tokens: 28 },
      });
    }
    if (path === '/fail/v1/chat/completions') {
      // retry-after-ms keeps the client's retries (it makes some on a 500) short.
      return json(500, { error: { message: 'The model is overloaded.', type: 'server_error', param: null, code: null } }, { 'retry-after-ms': '10' });
    }
    if (path.startsWith('/echo')) {
      return json(200, { method: request.method, url: request.url, headers: request.headers, body }, { 'X-Echo': 'yes' });
    }
    if (path === '/text') {
      response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      return response.end('plain text, not JSON: {');
    }
    if (path === '/bad-json') {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      return response.end('{"unterminated": ');
    }
    if (path === '/missing') return json(404, { error: 'no such user' });
    response.writeHead(500, { 'Content-Type': 'text/plain' });
    response.end('unknown route ' + path);
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
parentPort.on('message', (message) => {
  if (message.type === 'requests') parentPort.postMessage({ type: 'requests', requests: seen.splice(0) });
  if (message.type === 'close') {
    server.closeAllConnections();
    server.close(() => parentPort.postMessage({ type: 'closed' }));
  }
});
`;

class LoopbackServer {
  private constructor(
    private readonly worker: Worker,
    readonly port: number,
  ) {}

  static async start(): Promise<LoopbackServer> {
    const worker = new Worker(SERVER_SOURCE, { eval: true });
    const port = await LoopbackServer.reply<{ port: number }>(worker, 'listening');
    return new LoopbackServer(worker, port.port);
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The requests recorded since the last call, in order (and forgets them). */
  async takeRequests(): Promise<SeenRequest[]> {
    const answer = LoopbackServer.reply<{ requests: SeenRequest[] }>(this.worker, 'requests');
    this.worker.postMessage({ type: 'requests' });
    return (await answer).requests;
  }

  async close(): Promise<void> {
    const closed = LoopbackServer.reply(this.worker, 'closed');
    this.worker.postMessage({ type: 'close' });
    await closed;
    await this.worker.terminate();
  }

  private static reply<T>(worker: Worker, type: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type: string } & T) => {
        if (message.type !== type) return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve(message);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  }
}

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').pop() ?? '';
}

/** `a.b.c` ≥ `x.y.z`, comparing the leading numeric release parts. */
function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (text: string) => text.split('.').map((part) => parseInt(part, 10) || 0);
  const [have, need] = [parts(version), parts(minimum)];
  for (let index = 0; index < Math.max(have.length, need.length); index++) {
    const [a, b] = [have[index] ?? 0, need[index] ?? 0];
    if (a !== b) return a > b;
  }
  return true;
}

let compiler: WorkflowCompiler;
let server: LoopbackServer;

beforeAll(async () => {
  compiler = await shippedCompiler();
  server = await LoopbackServer.start();
});

afterAll(async () => {
  await server?.close();
});

describe('summarize (openai-chat) against an OpenAI-compatible stand-in', () => {
  const PROMPT = 'The quick brown fox jumps over the lazy dog, and the dog does not mind at all.';
  let files: GeneratedFiles;
  let dir: string;
  let python: string;

  beforeAll(async () => {
    files = compiler.compile(example('summarize').workflow);
    dir = await writeProgram(files, 'tensorify-summarize-remote-');
    const started = Date.now();
    python = await testVenv(['openai']);
    console.log(`venv with openai ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${python}`);
  }, 600_000);

  const run = (baseUrl: string, timeoutMs = 60_000): Promise<ProgramRun> =>
    runProgram(dir, { python, inputs: { prompt: PROMPT }, env: { OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: 'test-key' }, timeoutMs });

  it('lists openai>=1.0.0 in requirements.txt, and the venv has a version that satisfies it', () => {
    const lines = files['requirements.txt'].split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(lines).toEqual(['openai>=1.0.0']);
    const shown = spawnSync(python, ['-c', 'import importlib.metadata as m; print(m.version("openai"))'], { encoding: 'utf8' });
    expect(shown.status).toBe(0);
    const version = shown.stdout.trim();
    console.log(`openai ${version} in the test venv`);
    expect(version).toMatch(/^\d+\.\d+/);
    expect(versionAtLeast(version, '1.0.0')).toBe(true);
  });

  it('sends the system and user messages, model, temperature and key, and returns the content as the result', async () => {
    await server.takeRequests();
    const result = await run(`${server.base}/v1`);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(lastLine(result.stdout)).toBe(`{"result": "${CHAT_CONTENT}"}`);
    expect(result.output).toEqual({ result: CHAT_CONTENT });

    const requests = await server.takeRequests();
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe('Bearer test-key');
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(request.body) as Record<string, unknown>;
    expect(body).toEqual({
      model: 'gpt-4o-mini',
      temperature: 0.2,
      messages: [
        { role: 'system', content: 'You are a concise assistant.' },
        { role: 'user', content: `Summarize in one sentence: ${PROMPT}` },
      ],
    });
  });

  it('exits 1 naming node "llm" when the service answers 500', async () => {
    await server.takeRequests();
    const result = await run(`${server.base}/fail/v1`);
    expect(result.status).toBe(1);
    expect(lastLine(result.stderr)).toMatch(/^Node "llm" failed: InternalServerError: Error code: 500 - .*The model is overloaded\./);
    expect(result.stdout).toContain('[node llm] started');
    expect(result.stdout).not.toContain('[node llm] finished');
    expect(result.stdout).not.toContain('[node out]');
    const requests = await server.takeRequests();
    // The client retries a 500 (twice by default) before it gives up.
    expect(requests.length).toBeGreaterThanOrEqual(1);
    expect(requests.every((request) => request.url === '/fail/v1/chat/completions')).toBe(true);
    console.log(`a 500 was asked ${requests.length} time(s) before the node failed`);
  });

  it('exits 1 naming node "llm" within 60 s when the service cannot be reached', async () => {
    const port = await closedPort();
    const started = Date.now();
    const result = await run(`http://127.0.0.1:${port}/v1`, 90_000);
    const seconds = (Date.now() - started) / 1000;
    console.log(`an unreachable service failed the node after ${seconds.toFixed(1)} s (the client's retries included)`);
    expect(result.status).toBe(1);
    expect(lastLine(result.stderr)).toMatch(/^Node "llm" failed: APIConnectionError: /);
    expect(seconds).toBeLessThan(60);
  }, 120_000);
});

describe('http-request against a loopback echo server', () => {
  /** trigger → http-request `fetch` (with `settings`) → return of `value`. */
  function workflow(settings: Record<string, unknown>, value: unknown = '{{ fetch }}'): CompileInput {
    const nodes: WorkflowNodeInput[] = [
      { id: 'trigger', type: 'manual' },
      { id: 'fetch', type: 'http-request', settings },
      { id: 'out', type: 'return', settings: { value } },
    ];
    return {
      id: 'wf_HttpReq000',
      version: 1,
      name: 'HTTP request',
      description: '',
      nodes,
      edges: [
        { source: 'trigger', target: 'fetch' },
        { source: 'fetch', target: 'out' },
      ],
    };
  }

  async function runWorkflow(
    settings: Record<string, unknown>,
    options: { value?: unknown; inputs?: unknown; env?: Record<string, string> } = {},
  ): Promise<ProgramRun> {
    const dir = await writeProgram(compiler.compile(workflow(settings, options.value)), 'tensorify-http-request-');
    return runProgram(dir, { inputs: options.inputs ?? {}, env: options.env, timeoutMs: 20_000 });
  }

  interface Echo {
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string;
  }

  /** The output of a run returning `{{ fetch }}` from an /echo route, checked to have succeeded. */
  function echoed(result: ProgramRun): { status: number; data: Echo; headers: Record<string, string> } {
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return result.output as { status: number; data: Echo; headers: Record<string, string> };
  }

  it('needs nothing beyond the standard library', () => {
    const files = compiler.compile(workflow({ url: 'http://127.0.0.1/' }));
    expect(files['requirements.txt'].split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'))).toEqual([]);
  });

  it('GETs with query parameters, outputting status, parsed JSON data and response headers', async () => {
    const result = await runWorkflow({ url: `${server.base}/echo/search`, query: { q: 'a b&c', limit: 10, exact: true } });
    const output = echoed(result);
    expect(output.status).toBe(200);
    expect(output.data.method).toBe('GET');
    expect(output.data.url).toBe('/echo/search?q=a+b%26c&limit=10&exact=true');
    expect(output.data.body).toBe('');
    expect(output.headers['X-Echo']).toBe('yes');
    expect(output.headers['Content-Type']).toBe('application/json');
  });

  it('appends the query with & when the URL already has a query string', async () => {
    const output = echoed(await runWorkflow({ url: `${server.base}/echo/list?page=2`, query: { size: 5 } }));
    expect(output.data.url).toBe('/echo/list?page=2&size=5');
  });

  it('leaves the URL alone with an empty query', async () => {
    const output = echoed(await runWorkflow({ url: `${server.base}/echo/plain?x=1` }));
    expect(output.data.url).toBe('/echo/plain?x=1');
  });

  // Edge cases of "the query is appended to the URL" (see the report): the query must land in the
  // query string whatever the URL ends with.
  it('appends the query to a URL that ends with a bare "?"', async () => {
    const output = echoed(await runWorkflow({ url: `${server.base}/echo/bare?`, query: { size: 5 } }));
    expect(output.data.url).toBe('/echo/bare?size=5');
  });

  it('puts the query before a #fragment instead of losing it', async () => {
    const output = echoed(await runWorkflow({ url: `${server.base}/echo/frag#top`, query: { size: 5 } }));
    expect(output.data.url).toBe('/echo/frag?size=5');
  });

  it('sends headers whose values hold bindings, read from the environment and the trigger', async () => {
    const result = await runWorkflow(
      { url: `${server.base}/echo/auth`, headers: { Authorization: 'Bearer {{ env.TOKEN }}', 'X-User': '{{ trigger.user }}', 'X-Count': 3 } },
      { inputs: { user: 'ada' }, env: { TOKEN: 's3cret' } },
    );
    const { data } = echoed(result);
    expect(data.headers.authorization).toBe('Bearer s3cret');
    expect(data.headers['x-user']).toBe('ada');
    expect(data.headers['x-count']).toBe('3');
  });

  it('POSTs a JSON body, with bindings, as application/json', async () => {
    const result = await runWorkflow(
      { method: 'POST', url: `${server.base}/echo/users`, body: { name: '{{ trigger.name }}', tags: ['a', 1, null], nested: { ok: true } } },
      { inputs: { name: 'Grace' } },
    );
    const { status, data } = echoed(result);
    expect(status).toBe(200);
    expect(data.method).toBe('POST');
    expect(data.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(data.body)).toEqual({ name: 'Grace', tags: ['a', 1, null], nested: { ok: true } });
  });

  it('sends a string body as text/plain, and keeps a Content-Type header the workflow sets', async () => {
    const text = echoed(await runWorkflow({ method: 'PUT', url: `${server.base}/echo/note`, body: 'héllo {{ trigger.who }}' }, { inputs: { who: 'world' } }));
    expect(text.data.method).toBe('PUT');
    expect(text.data.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(text.data.body).toBe('héllo world');

    const custom = echoed(await runWorkflow({ method: 'POST', url: `${server.base}/echo/xml`, headers: { 'content-type': 'application/xml' }, body: '<a/>' }));
    expect(custom.data.headers['content-type']).toBe('application/xml');
    expect(custom.data.body).toBe('<a/>');
  });

  it('keeps a non-JSON response as text, and a JSON-typed body that does not parse as text too', async () => {
    const text = await runWorkflow({ url: `${server.base}/text` });
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    expect(text.output).toMatchObject({ status: 200, data: 'plain text, not JSON: {' });
    expect((text.output as { headers: Record<string, string> }).headers['Content-Type']).toBe('text/plain; charset=utf-8');

    const bad = await runWorkflow({ url: `${server.base}/bad-json` });
    expect(bad.status).toBe(0);
    expect(bad.output).toMatchObject({ status: 200, data: '{"unterminated": ' });
  });

  it('returns fields of the response through bindings', async () => {
    const result = await runWorkflow(
      { url: `${server.base}/echo/fields` },
      { value: { code: '{{ fetch.status }}', method: '{{ fetch.data.method }}', line: 'got {{ fetch.status }} from {{ fetch.data.url }}' } },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.output).toEqual({ code: 200, method: 'GET', line: 'got 200 from /echo/fields' });
  });

  it('builds the URL from a binding', async () => {
    const output = echoed(await runWorkflow({ url: `${server.base}/echo/users/{{ trigger.id }}` }, { inputs: { id: 42 } }));
    expect(output.data.url).toBe('/echo/users/42');
  });

  it('fails the node, naming it and the status, on a 404 with failOnError: true (the default)', async () => {
    const result = await runWorkflow({ url: `${server.base}/missing` });
    expect(result.status).toBe(1);
    expect(lastLine(result.stderr)).toBe(`Node "fetch" failed: HttpStatusError: GET ${server.base}/missing answered 404: {"error":"no such user"}`);
    expect(result.stdout).not.toContain('[node out]');
  });

  it('outputs a 404 with its body when failOnError is false', async () => {
    const result = await runWorkflow({ url: `${server.base}/missing`, failOnError: false });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.output).toMatchObject({ status: 404, data: { error: 'no such user' } });
  });

  it('fails the node with a timeout error when the server never answers within timeoutSeconds', async () => {
    const started = Date.now();
    const result = await runWorkflow({ url: `${server.base}/hang`, timeoutSeconds: 0.5 });
    const seconds = (Date.now() - started) / 1000;
    expect(result.status).toBe(1);
    expect(lastLine(result.stderr)).toMatch(/^Node "fetch" failed: TimeoutError: timed out$/);
    expect(seconds).toBeLessThan(10);
  });

  it('refuses a URL that is not http(s), naming the node', async () => {
    const result = await runWorkflow({ url: 'file:///etc/passwd' });
    expect(result.status).toBe(1);
    expect(lastLine(result.stderr)).toBe(`Node "fetch" failed: ValueError: the URL must start with http:// or https://, not 'file:///etc/passwd'`);
    expect(result.stdout).not.toContain('root:');
  });
});
