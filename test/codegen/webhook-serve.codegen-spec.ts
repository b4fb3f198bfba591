import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { GENERATED_FILE_NAMES, type CompileInput, type GeneratedFiles, type WorkflowCompiler } from '../../src/codegen/workflow-compiler';
import { shippedCompiler } from '../support/compiler';
import { PYTHON, runProgram, runTool, usePythonTools, writeProgram } from '../support/python';
import { waitFor } from '../support/wait-for';

/**
 * The export of a webhook workflow, served for real: `python3 main.py --serve --port 0` on
 * 127.0.0.1, and signed deliveries sent with Node as Tensorify Server and GitHub sign them.
 *
 * The workflow (test/fixtures/golden/webhook/workflow.json) answers its delivery's body: `name`
 * is greeted, `fail` makes its code node raise, and `gate` makes it wait until that file exists,
 * so a run still going at a deadline is made without relying on how long anything takes.
 */

usePythonTools();

const FIXTURE_DIR = path.resolve(__dirname, '..', 'fixtures', 'golden', 'webhook');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const SECRET = 'whsec_8Jq2mT4xZc7Vb1Nd5Rk9Lp3Hs6Wf0Gy2Ae';
const MAX_BODY_BYTES = 1024 * 1024;

let compiler: WorkflowCompiler;
let fixture: CompileInput;

beforeAll(async () => {
  compiler = await shippedCompiler();
  fixture = JSON.parse(await readFile(path.join(FIXTURE_DIR, 'workflow.json'), 'utf8')) as CompileInput;
});

/** The fixture with its webhook trigger's settings (or its trigger's type) changed. */
function workflowWith(settings: Record<string, unknown>, type = 'webhook'): CompileInput {
  const [hook, ...others] = fixture.nodes;
  return { ...fixture, nodes: [{ ...hook, type, settings }, ...others] };
}

async function exportProgram(settings: Record<string, unknown> = {}): Promise<string> {
  return writeProgram(compiler.compile(workflowWith(settings)), 'tensorify-webhook-');
}

// ---- the server process ------------------------------------------------------------------

interface Served {
  child: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  /** The workflow outputs it printed so far (the JSON lines of stdout). */
  outputs(): Array<{ greeting: string; executionId: string; request: TriggerOutput }>;
  /** Resolves with its exit code once it has exited. */
  exited: Promise<number | null>;
  /** Sends `signal` (unless it has exited) and resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

interface TriggerOutput {
  body: unknown;
  headers: Record<string, string>;
  query: Record<string, string | string[]>;
  method: string;
  path: string;
}

const running = new Set<Served>();

afterAll(async () => {
  await Promise.all([...running].map((served) => served.stop('SIGKILL')));
});

function pythonEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8', ...env };
}

/** Starts `python main.py --serve --port 0` in `dir` and resolves once it says where it listens. */
async function serve(dir: string, env: Record<string, string> = { TENSORIFY_WEBHOOK_SECRET: SECRET }): Promise<Served> {
  const child = spawn(PYTHON, ['main.py', '--serve', '--port', '0'], { cwd: dir, env: pythonEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  // 'close', not 'exit': by then its stdout and stderr have been read to their end.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code: number | null) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const onData = () => {
      const match = /on http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
      if (match) resolve(Number(match[1]));
    };
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`python main.py --serve exited with ${code} before serving:\n${err}`)));
  });
  const served: Served = {
    child,
    port,
    stdout: () => out,
    stderr: () => err,
    exited,
    outputs: () =>
      out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as ReturnType<Served['outputs']>[number]),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      running.delete(served);
      return code;
    },
  };
  running.add(served);
  return served;
}

/** Waits until the server has printed the output of execution `executionId`, and returns it. */
async function outputOf(served: Served, executionId: string) {
  const outputs = await waitFor(
    () => served.outputs(),
    (all) => all.some((output) => output.executionId === executionId),
    { what: `the output of ${executionId}` },
  );
  return outputs.find((output) => output.executionId === executionId)!;
}

// ---- requests ------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

interface Delivery {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked, in pieces, instead of a Content-Length. */
  chunked?: boolean;
}

/** One request on a connection of its own; the answer's body parsed as JSON. */
function send(port: number, { method = 'POST', path: target = '/', headers = {}, body = '', chunked = false }: Delivery): Promise<Answer> {
  const payload = Buffer.from(body);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: '127.0.0.1', port, method, path: target, agent: false, headers: chunked ? headers : { ...headers, 'Content-Length': String(payload.length) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode!, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) });
        });
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    if (chunked) {
      const middle = Math.floor(payload.length / 2);
      outgoing.write(payload.subarray(0, middle));
      outgoing.write(payload.subarray(middle));
    } else outgoing.write(payload);
    outgoing.end();
  });
}

const hex = (secret: string, data: string | Buffer) => createHmac('sha256', secret).update(data).digest('hex');
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A Tensorify-Signature header as Tensorify Server signs a delivery (over the bytes as sent). */
function tensorifySignature(body: string | Buffer, { secret = SECRET, t = nowSeconds() }: { secret?: string; t?: number } = {}): string {
  return `t=${t},v1=${hex(secret, Buffer.concat([Buffer.from(`${t}.`), Buffer.from(body)]))}`;
}

/** An X-Hub-Signature-256 header as GitHub signs a delivery. */
function githubSignature(body: string, secret = SECRET): string {
  return `sha256=${hex(secret, body)}`;
}

function json(value: unknown): { body: string; headers: Record<string, string> } {
  return { body: JSON.stringify(value), headers: { 'Content-Type': 'application/json' } };
}

/** A JSON delivery signed with the Tensorify scheme. */
function signed(value: unknown, headers: Record<string, string> = {}): Delivery {
  const delivery = json(value);
  return { body: delivery.body, headers: { ...delivery.headers, 'Tensorify-Signature': tensorifySignature(delivery.body), ...headers } };
}

function expectEnvelope(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });
  expect(answer.body.error.message).toEqual(expect.any(String));
  expect(answer.body.error.requestId).toBe(answer.headers['x-request-id']);
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
}

const EXECUTION_ID = /^exec_[0-9A-Za-z]{16}$/;

// ---- the export ------------------------------------------------------------------------------

describe('The export of a webhook workflow', () => {
  let files: GeneratedFiles;
  let dir: string;

  beforeAll(async () => {
    files = compiler.compile(fixture);
    dir = await writeProgram(files, 'tensorify-webhook-');
  });

  it('matches its golden files byte for byte, the same every time', async () => {
    if (UPDATE) {
      await mkdir(FIXTURE_DIR, { recursive: true });
      await Promise.all(GENERATED_FILE_NAMES.map((file) => writeFile(path.join(FIXTURE_DIR, file), files[file])));
    }
    for (const file of GENERATED_FILE_NAMES) expect(files[file]).toBe(await readFile(path.join(FIXTURE_DIR, file), 'utf8'));
    expect(compiler.compile(fixture)).toEqual(files);
  });

  it('passes py_compile, pyflakes and black --check', () => {
    const compiled = spawnSync(PYTHON, ['-m', 'py_compile', 'main.py', 'utils.py'], { cwd: dir, encoding: 'utf8' });
    expect(compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
    const flakes = runTool('pyflakes', ['main.py', 'utils.py'], dir);
    expect(flakes.stdout + flakes.stderr).toBe('');
    const black = runTool('black', ['--check', '--diff', '--quiet', 'main.py', 'utils.py'], dir);
    expect(black.stdout + black.stderr).toBe('');
    expect(black.status).toBe(0);
  });

  it('holds the server only for a webhook trigger: with a manual trigger, main() calls run_program and utils.py has no server', () => {
    const manual = compiler.compile(workflowWith({}, 'manual'));
    expect(manual['main.py']).toContain('    run_program(run, "wf_ExampleWebhook00", 1)\n');
    expect(manual['utils.py']).not.toContain('http.server');
    expect(files['main.py']).toContain('from utils import Context, node, run_webhook_program\n');
    expect(files['utils.py']).toContain('from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer\n');
  });

  it('spells its trigger settings out in main()', () => {
    const program = compiler.compile(workflowWith({ methods: ['PUT', 'POST'], signature: 'github', responseMode: 'wait', waitSeconds: 120 }));
    expect(program['main.py']).toContain(
      '        methods=["PUT", "POST"],\n        signature="github",\n        response_mode="wait",\n        wait_seconds=120,\n',
    );
  });

  it('without --serve runs once from --inputs, the request as the trigger output', async () => {
    const request = { body: { name: 'Ada' }, headers: {}, query: {}, method: 'POST', path: '/' };
    const run = await runProgram(dir, { inputs: request });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.output).toEqual({ greeting: 'Hello, Ada!', executionId: null, request });
  });

  it('refuses --host or --port without --serve, --inputs with it, and a port past 65535 (exit 2, usage on stderr)', () => {
    for (const args of [
      ['--port', '9000'],
      ['--host', '0.0.0.0'],
      ['--serve', '--inputs', 'inputs.json'],
      ['--serve', '--port', '70000'],
    ]) {
      const result = spawnSync(PYTHON, ['main.py', ...args], { cwd: dir, encoding: 'utf8', env: pythonEnv({}) });
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/^usage: main\.py /);
    }
  });

  it('refuses to serve a signed webhook without TENSORIFY_WEBHOOK_SECRET, saying why (exit 2)', () => {
    const result = spawnSync(PYTHON, ['main.py', '--serve', '--port', '0'], { cwd: dir, encoding: 'utf8', env: pythonEnv({}), timeout: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'error: TENSORIFY_WEBHOOK_SECRET is not set. The webhook checks "tensorify" signatures, ' +
        'so it needs the secret shown when the workflow was saved (whsec_…).\n',
    );
  });

  it('exits 2 naming the address when it cannot listen there', async () => {
    const first = await serve(dir);
    const result = spawnSync(PYTHON, ['main.py', '--serve', '--port', String(first.port)], {
      cwd: dir,
      encoding: 'utf8',
      env: pythonEnv({ TENSORIFY_WEBHOOK_SECRET: SECRET }),
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`error: cannot serve on 127.0.0.1:${first.port}: `);
    expect(await first.stop()).toBe(0);
  });
});

// ---- serving ---------------------------------------------------------------------------------

describe('python main.py --serve, Tensorify signatures, ack mode', () => {
  let served: Served;

  beforeAll(async () => {
    served = await serve(await exportProgram());
  });
  afterAll(() => served.stop());

  it('answers a signed delivery 202 {executionId, status} and runs the workflow with the request as its trigger output', async () => {
    const delivery = signed({ name: 'Ada' }, { 'X-Custom': 'yes' });
    const answer = await send(served.port, { ...delivery, path: '/?tag=a&tag=b&empty=' });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ executionId: expect.stringMatching(EXECUTION_ID), status: expect.stringMatching(/^(queued|running)$/) });
    expect(answer.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);

    const output = await outputOf(served, answer.body.executionId);
    expect(output.greeting).toBe('Hello, Ada!');
    expect(output.request).toEqual({
      body: { name: 'Ada' },
      headers: expect.objectContaining({ 'content-type': 'application/json', 'x-custom': 'yes', host: `127.0.0.1:${served.port}` }),
      query: { tag: ['a', 'b'], empty: '' },
      method: 'POST',
      path: '/',
    });
    expect(output.request.headers).not.toHaveProperty('tensorify-signature');
    const logLine = `[webhook] POST / 202 ${String(answer.headers['x-request-id'])} ${answer.body.executionId}\n`;
    await waitFor(
      () => served.stderr(),
      (err) => err.includes(logLine),
      { what: 'the request log line' },
    );
  });

  it('refuses with 401 UNAUTHORIZED a missing, wrong, stale, future or malformed signature, and runs none of them', async () => {
    const body = (name: string) => JSON.stringify({ name });
    const headers = { 'Content-Type': 'application/json' };
    const refusals: Array<[string, Delivery, RegExp]> = [
      [
        'missing',
        { body: body('missing'), headers },
        /^Missing Tensorify-Signature header: this webhook's deliveries must be signed \(signature "tensorify"\)$/,
      ],
      [
        'signed with another secret',
        { body: body('other-secret'), headers: { ...headers, 'Tensorify-Signature': tensorifySignature(body('other-secret'), { secret: 'whsec_other' }) } },
        /does not match/,
      ],
      [
        'signed over another body',
        { body: body('tampered'), headers: { ...headers, 'Tensorify-Signature': tensorifySignature(body('original')) } },
        /does not match/,
      ],
      [
        'an hour old',
        { body: body('stale'), headers: { ...headers, 'Tensorify-Signature': tensorifySignature(body('stale'), { t: nowSeconds() - 3600 }) } },
        /^Tensorify-Signature timestamp \d+ is more than 300 s from the server's clock \(\d+\)/,
      ],
      [
        'an hour ahead',
        { body: body('future'), headers: { ...headers, 'Tensorify-Signature': tensorifySignature(body('future'), { t: nowSeconds() + 3600 }) } },
        /more than 300 s/,
      ],
      [
        'malformed',
        { body: body('malformed'), headers: { ...headers, 'Tensorify-Signature': 'v1=abc' } },
        /^Tensorify-Signature must be "t=<unix seconds>,v1=<64 hex digits>"$/,
      ],
    ];
    for (const [what, delivery, message] of refusals) {
      const answer = await send(served.port, delivery);
      expectEnvelope(answer, 401, 'UNAUTHORIZED');
      expect({ what, message: answer.body.error.message }).toEqual({ what, message: expect.stringMatching(message) });
    }
    // Runs go one at a time, in order: once a later delivery's output is out, any earlier run would be too.
    const after = await send(served.port, signed({ name: 'after' }));
    await outputOf(served, after.body.executionId);
    const names = served.outputs().map((output) => (output.request.body as { name?: string }).name);
    for (const refused of ['missing', 'other-secret', 'tampered', 'stale', 'future', 'malformed']) expect(names).not.toContain(refused);
  });

  it("keeps the caller's X-Request-Id in the envelope and the header", async () => {
    const answer = await send(served.port, { ...json({}), headers: { 'X-Request-Id': 'caller-chosen-id-1' } });
    expectEnvelope(answer, 401, 'UNAUTHORIZED');
    expect(answer.body.error.requestId).toBe('caller-chosen-id-1');
  });

  it('answers another method 405 with Allow, and another path 404, in the envelope', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'OPTIONS']) {
      const answer = await send(served.port, { method, body: method === 'GET' || method === 'OPTIONS' ? '' : 'x' });
      expectEnvelope(answer, 405, 'METHOD_NOT_ALLOWED');
      expect(answer.headers.allow).toBe('POST');
      expect(answer.body.error).toMatchObject({ message: `This webhook takes POST, not ${method}`, details: { allowed: ['POST'] } });
    }
    const head = await send(served.port, { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.body).toBeUndefined();
    for (const [method, target] of [
      ['POST', '/hooks'],
      ['OPTIONS', '/other?x=1'],
    ]) {
      const answer = await send(served.port, { ...signed({ name: 'elsewhere' }), method, path: target });
      expectEnvelope(answer, 404, 'NOT_FOUND');
      expect(answer.body.error.message).toBe(`Nothing is served at ${target.split('?')[0]}: the webhook is at /`);
    }
  });

  it('answers a body over 1 MiB 413 PAYLOAD_TOO_LARGE, sent whole or in chunks', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(MAX_BODY_BYTES) });
    for (const chunked of [false, true]) {
      const answer = await send(served.port, { ...signed(JSON.parse(big)), chunked });
      expectEnvelope(answer, 413, 'PAYLOAD_TOO_LARGE');
    }
  });

  it('refuses a key used before with another body (409 CONFLICT), and a key that is not 1 to 200 printable ASCII characters (400)', async () => {
    const first = await send(served.port, signed({ name: 'keyed' }, { 'Idempotency-Key': 'delivery-9' }));
    expect(first.status).toBe(202);
    const other = await send(served.port, signed({ name: 'someone else' }, { 'Idempotency-Key': 'delivery-9' }));
    expectEnvelope(other, 409, 'CONFLICT');
    expect(other.body.error.details).toEqual({ executionId: first.body.executionId });
    const invalid = await send(served.port, signed({ name: 'keyed' }, { 'Idempotency-Key': 'x'.repeat(201) }));
    expectEnvelope(invalid, 400, 'VALIDATION_ERROR');
    expect(invalid.body.error.details).toEqual({ fields: { 'idempotency-key': ['must be 1 to 200 printable ASCII characters'] } });
  });

  it('undoes a gzip or deflate Content-Encoding after checking the signature over the bytes as sent; another encoding is 415', async () => {
    for (const [encoding, compress] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
    ] as const) {
      const packed = compress(JSON.stringify({ name: encoding }));
      const headers = { 'Content-Type': 'application/json', 'Content-Encoding': encoding, 'Tensorify-Signature': tensorifySignature(packed) };
      const answer = await send(served.port, { body: packed, headers });
      expect(answer.status).toBe(202);
      expect((await outputOf(served, answer.body.executionId)).greeting).toBe(`Hello, ${encoding}!`);
    }
    const body = JSON.stringify({ name: 'br' });
    const answer = await send(served.port, {
      body,
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'br', 'Tensorify-Signature': tensorifySignature(body) },
    });
    expectEnvelope(answer, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('takes a chunked body (no Content-Length), checking the signature over it whole', async () => {
    const answer = await send(served.port, { ...signed({ name: 'chunks' }), chunked: true });
    expect(answer.status).toBe(202);
    expect((await outputOf(served, answer.body.executionId)).greeting).toBe('Hello, chunks!');
  });

  it('passes a body of another type as text, and refuses a signed application/json body that does not parse (400 INVALID_JSON)', async () => {
    const text = 'name=Ada&x=1';
    const form = await send(served.port, {
      body: text,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Tensorify-Signature': tensorifySignature(text) },
    });
    expect(form.status).toBe(202);
    expect((await outputOf(served, form.body.executionId)).request.body).toBe(text);

    const broken = '{"name": ';
    const answer = await send(served.port, {
      body: broken,
      headers: { 'Content-Type': 'application/json', 'Tensorify-Signature': tensorifySignature(broken) },
    });
    expectEnvelope(answer, 400, 'INVALID_JSON');
  });

  it('runs a delivery repeated with the same Idempotency-Key once, answering with the first execution', async () => {
    const first = await send(served.port, signed({ name: 'once' }, { 'Idempotency-Key': 'delivery-1' }));
    const again = await send(served.port, signed({ name: 'once' }, { 'Idempotency-Key': 'delivery-1' }));
    expect(first.status).toBe(202);
    expect(first.headers).not.toHaveProperty('idempotency-replayed');
    expect(again.status).toBe(202);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect(again.body.executionId).toBe(first.body.executionId);
    const other = await send(served.port, signed({ name: 'once' }, { 'Idempotency-Key': 'delivery-2' }));
    expect(other.body.executionId).not.toBe(first.body.executionId);
    await outputOf(served, other.body.executionId);
    expect(served.outputs().filter((output) => output.greeting === 'Hello, once!')).toHaveLength(2);
    expect((await send(served.port, signed({ name: 'once' }, { 'Idempotency-Key': 'delivery-1' }))).body).toEqual({
      executionId: first.body.executionId,
      status: 'completed',
    });
  });
});

describe('python main.py --serve, GitHub signatures', () => {
  let served: Served;

  beforeAll(async () => {
    served = await serve(await exportProgram({ signature: 'github' }));
  });
  afterAll(() => served.stop());

  const github = (value: unknown, headers: Record<string, string>): Delivery => ({
    body: JSON.stringify(value),
    headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', ...headers },
  });

  it('runs a delivery signed as GitHub signs it; the signature headers are left out of the trigger output', async () => {
    const body = JSON.stringify({ name: 'octocat' });
    const headers = { 'X-Hub-Signature-256': githubSignature(body), 'X-Hub-Signature': 'sha1=0123456789abcdef0123456789abcdef01234567' };
    const answer = await send(served.port, github({ name: 'octocat' }, headers));
    expect(answer.status).toBe(202);
    const output = await outputOf(served, answer.body.executionId);
    expect(output.greeting).toBe('Hello, octocat!');
    expect(output.request.headers['x-github-event']).toBe('push');
    expect(output.request.headers).not.toHaveProperty('x-hub-signature-256');
    expect(output.request.headers).not.toHaveProperty('x-hub-signature');
  });

  it('takes the hex digest in upper case too', async () => {
    const body = JSON.stringify({ name: 'UPPER' });
    const answer = await send(served.port, github({ name: 'UPPER' }, { 'X-Hub-Signature-256': `sha256=${hex(SECRET, body).toUpperCase()}` }));
    expect(answer.status).toBe(202);
  });

  it('refuses a missing or wrong X-Hub-Signature-256 with 401, and a Tensorify signature is no substitute', async () => {
    const body = JSON.stringify({ name: 'mallory' });
    for (const headers of [
      {} as Record<string, string>,
      { 'X-Hub-Signature-256': githubSignature(body, 'whsec_other') },
      { 'X-Hub-Signature-256': githubSignature(body).replace('sha256=', 'sha1=') },
      { 'Tensorify-Signature': tensorifySignature(body) },
    ]) {
      expectEnvelope(await send(served.port, github({ name: 'mallory' }, headers)), 401, 'UNAUTHORIZED');
    }
  });

  it('runs a redelivery (the same X-GitHub-Delivery) once', async () => {
    const body = JSON.stringify({ name: 'redelivered' });
    const headers = { 'X-Hub-Signature-256': githubSignature(body), 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };
    const first = await send(served.port, github({ name: 'redelivered' }, headers));
    const again = await send(served.port, github({ name: 'redelivered' }, headers));
    expect(again.body.executionId).toBe(first.body.executionId);
    const later = await send(served.port, github({ name: 'later' }, { 'X-Hub-Signature-256': githubSignature(JSON.stringify({ name: 'later' })) }));
    await outputOf(served, later.body.executionId);
    expect(served.outputs().filter((output) => output.greeting === 'Hello, redelivered!')).toHaveLength(1);
  });
});

describe('python main.py --serve, no signature, wait mode', () => {
  let served: Served;

  beforeAll(async () => {
    served = await serve(await exportProgram({ signature: 'none', responseMode: 'wait', waitSeconds: 120, methods: ['POST', 'PUT'] }), {});
  });
  afterAll(() => served.stop());

  it('answers 200 with the workflow output once the run completes', async () => {
    const answer = await send(served.port, { ...json({ name: 'Grace' }), method: 'PUT' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      greeting: 'Hello, Grace!',
      executionId: expect.stringMatching(EXECUTION_ID),
      request: expect.objectContaining({ method: 'PUT', body: { name: 'Grace' } }),
    });
  });

  it('answers a failed run 502 EXECUTION_FAILED with details.executionId, as the server does, and keeps serving', async () => {
    const answer = await send(served.port, json({ fail: 'the model is missing' }));
    expectEnvelope(answer, 502, 'EXECUTION_FAILED');
    expect(answer.body.error.details).toEqual({ executionId: expect.stringMatching(EXECUTION_ID), status: 'failed' });
    expect(answer.body.error.message).toBe(
      `The workflow's execution ${answer.body.error.details.executionId} ended failed: Node "handle" failed: RuntimeError: the model is missing`,
    );
    // The program writes the run's traceback to its stderr as it answers: the pipe may bring it a moment after the answer.
    await waitFor(
      () => served.stderr(),
      (err) => err.includes('Traceback'),
      { what: "the failed run's traceback on stderr" },
    );
    expect((await send(served.port, json({ name: 'next' }))).status).toBe(200);
  });

  it('answers a repeated delivery with the first one’s result', async () => {
    const first = await send(served.port, { ...json({ name: 'twice' }), headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k-1' } });
    const again = await send(served.port, { ...json({ name: 'twice' }), headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k-1' } });
    expect(again).toMatchObject({ status: 200, body: first.body });
  });
});

describe('python main.py --serve, wait mode past its deadline', () => {
  let served: Served;
  let dir: string;

  beforeAll(async () => {
    dir = await exportProgram({ signature: 'none', responseMode: 'wait', waitSeconds: 1 });
    served = await serve(dir, {});
  });
  afterAll(() => served.stop());

  it('answers 202 {executionId, status} while the run goes on, and the run then completes', async () => {
    const gate = path.join(dir, 'gate-1');
    const headers = { 'Content-Type': 'application/json', 'Idempotency-Key': 'gated-1' };
    const answer = await send(served.port, { body: JSON.stringify({ name: 'late', gate }), headers });
    // The run cannot end before the gate file exists: the deadline has passed.
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ executionId: expect.stringMatching(EXECUTION_ID), status: expect.stringMatching(/^(queued|running)$/) });
    await writeFile(gate, '');
    const replay = await waitFor(
      () => send(served.port, { body: JSON.stringify({ name: 'late', gate }), headers }),
      (reply) => reply.status === 200,
      { what: 'the replay of the gated delivery' },
    );
    expect(replay.body).toMatchObject({ greeting: 'Hello, late!', executionId: answer.body.executionId });
  });
});

describe('python main.py --serve with a full queue', () => {
  it('answers 429 RATE_LIMITED with Retry-After once 100 deliveries wait behind the running one, and runs those after', async () => {
    const dir = await exportProgram({ signature: 'none' });
    const served = await serve(dir, {});
    const gate = path.join(dir, 'gate-full');
    await send(served.port, json({ name: 'first', gate }));
    await waitFor(
      () => served.stdout(),
      (out) => out.includes('[node handle] started'),
      { what: 'the start of the gated run' },
    );
    const queued: Answer[] = [];
    for (let index = 0; index < 100; index++) queued.push(await send(served.port, json({ name: `queued ${index}` })));
    expect(queued.map((answer) => answer.status)).toEqual(Array.from({ length: 100 }, () => 202));
    const refused = await send(served.port, json({ name: 'one too many' }));
    expectEnvelope(refused, 429, 'RATE_LIMITED');
    expect(refused.headers['retry-after']).toBe('5');
    await writeFile(gate, '');
    await outputOf(served, queued[99].body.executionId);
    expect(served.outputs()).toHaveLength(101);
    expect(await served.stop()).toBe(0);
  });
});

describe('Stopping python main.py --serve', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await exportProgram({ signature: 'none' });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('exits 0 on %s', async (signal) => {
    const served = await serve(dir, {});
    expect((await send(served.port, json({ name: signal }))).status).toBe(202);
    expect(await served.stop(signal)).toBe(0);
    expect(served.stderr()).toContain(`[webhook] ${signal}: stopping\n`);
    expect(served.stderr().trimEnd().split('\n').pop()).toBe('[webhook] stopped');
  });

  it('lets the running execution end before it exits, and never starts the queued ones', async () => {
    const served = await serve(dir, {});
    const gate = path.join(dir, 'gate-stop');
    const runningOne = await send(served.port, json({ name: 'running', gate }));
    const queued = await send(served.port, json({ name: 'queued' }));
    await waitFor(
      () => served.stdout(),
      (out) => out.includes('[node handle] started'),
      { what: 'the start of the gated run' },
    );
    served.child.kill('SIGTERM');
    // Once the queued one is dropped, opening the gate lets the running one end.
    await waitFor(
      () => served.stderr(),
      (err) => err.includes(`[webhook] execution ${queued.body.executionId} did not start: the server stopped\n`),
      { what: 'the queued execution dropped' },
    );
    await writeFile(gate, '');
    expect(await served.exited).toBe(0);
    expect(served.outputs().map((output) => output.executionId)).toEqual([runningOne.body.executionId]);
    expect(served.stderr().trimEnd().split('\n').pop()).toBe('[webhook] stopped');
  });
});
