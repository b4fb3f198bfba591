import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  InvalidWorkflowError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  signGithubWebhook,
  signWebhook,
  Tensorify,
  TensorifyError,
  WaitTimeoutError,
  APIError,
  type HookMethod,
  type LogLine,
  type TensorifyOptions,
  type WorkflowBody,
} from '../../client/src/index';
import { Scheduler } from '../../src/schedules/scheduler';
import { codeWorkflow, SLEEPER } from '../support/executions';
import { TcpProxy } from '../support/tcp-proxy';
import { useTestApp } from '../support/test-app';
import { MINIMAL_WORKFLOW } from '../support/workflows';

const ROOT = resolve(__dirname, '..', '..');
const OPENAPI = JSON.parse(readFileSync(resolve(ROOT, 'client', 'openapi.json'), 'utf8')) as { paths: Record<string, Record<string, unknown>> };

/** A request the SDK sent and the status it got. */
interface Sent {
  method: string;
  path: string;
  headers: Headers;
  status?: number;
  sentAt: number;
  answeredAt?: number;
}

/** `GET /v1/workflows/wf_1/export` → `GET /v1/workflows/{id}/export`: the operation of the OpenAPI document a request is. */
function operationOf(method: string, path: string): string | undefined {
  for (const [template, operations] of Object.entries(OPENAPI.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (pattern.test(path) && method.toLowerCase() in operations) return `${method} ${template}`;
  }
  return undefined;
}

const ALL_OPERATIONS = Object.entries(OPENAPI.paths).flatMap(([template, operations]) =>
  Object.keys(operations).map((method) => `${method.toUpperCase()} ${template}`),
);

/** The operations of the OpenAPI document that none of the `sent` requests was. */
function uncoveredOperations(sent: { method: string; path: string }[]): string[] {
  const covered = new Set(sent.map((request) => operationOf(request.method, request.path)));
  return ALL_OPERATIONS.filter((operation) => !covered.has(operation));
}

/** The README's hello workflow: a trigger, a transform that builds a greeting, a return of it. */
const HELLO: WorkflowBody = {
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

/** A workflow started by its hook, answering what it got: `{ method, body, query }`. */
const hooked = (settings: Record<string, unknown> = {}): WorkflowBody => ({
  name: 'Hooked',
  nodes: [
    { id: 'trigger', type: 'webhook', settings },
    { id: 'out', type: 'return', settings: { value: { method: '{{ trigger.method }}', body: '{{ trigger.body }}', query: '{{ trigger.query }}' } } },
  ],
  edges: [{ source: 'trigger', target: 'out' }],
});

/** A workflow started every hour on the hour by its schedule. */
const HOURLY: WorkflowBody = {
  name: 'Hourly',
  nodes: [
    { id: 'trigger', type: 'schedule', settings: { cron: '0 * * * *', inputs: { dataset: 'nightly' } } },
    { id: 'out', type: 'return', settings: { value: { dataset: '{{ trigger.dataset }}' } } },
  ],
  edges: [{ source: 'trigger', target: 'out' }],
};

const ALL_METHODS: HookMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** A workflow whose program prints `line 0`…`line 4`, waits until the file `inputs.gate` exists, then prints `line 5`…`line 9`. */
const GATED = codeWorkflow(
  'Gated',
  [
    'import os, time',
    'for i in range(5):',
    '    print(f"line {i}", flush=True)',
    'while not os.path.exists(input["gate"]):',
    '    time.sleep(0.02)',
    'for i in range(5, 10):',
    '    print(f"line {i}", flush=True)',
    'return {"printed": 10}',
  ].join('\n'),
) as WorkflowBody;

/** A workflow whose program prints `count` numbered lines at once. */
const chatty = (count: number) =>
  codeWorkflow(
    'Chatty',
    [`for i in range(${count}):`, '    print(f"line {i:04d} of a chatty program", flush=True)', `return {"printed": ${count}}`].join('\n'),
  ) as WorkflowBody;

describe('@tensorify/client against a live server', () => {
  const t = useTestApp({ TENSORIFY_EXECUTION_CONCURRENCY: '4' });
  let baseUrl: string;
  const scratch = mkdtempSync(join(tmpdir(), 'tensorify-client-sdk-'));

  beforeAll(async () => {
    baseUrl = await t.listen();
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A fetch that records each request and its status, then hands the response to `onResponse`. */
  function recordingFetch(sent: Sent[], onResponse?: (response: Response, request: Sent) => void) {
    return async (request: Request): Promise<Response> => {
      const url = new URL(request.url);
      const entry: Sent = { method: request.method, path: url.pathname, headers: request.headers, sentAt: performance.now() };
      sent.push(entry);
      const response = await fetch(request);
      entry.status = response.status;
      entry.answeredAt = performance.now();
      onResponse?.(response, entry);
      return response;
    };
  }

  /** A fresh workspace (its own rate-limit counter) and an SDK client with a key of it. */
  async function workspaceClient(
    options: TensorifyOptions & { rateLimitPerMinute?: number; scopes?: Parameters<typeof t.createKey>[1] } = {},
  ): Promise<{ tensorify: Tensorify; workspaceId: string; key: string }> {
    const { rateLimitPerMinute = 100_000, scopes, ...clientOptions } = options;
    const workspaceId = await t.createWorkspace('enterprise', rateLimitPerMinute);
    const { key } = await t.createKey(workspaceId, scopes);
    return { tensorify: new Tensorify({ baseUrl, apiKey: key, ...clientOptions }), workspaceId, key };
  }

  /** The server's clock in unix seconds (a fake one: a `tensorify` signature's `t` must be near it). */
  const unixNow = () => Math.floor(t.clock.now() / 1000);

  it('covers every operation of the OpenAPI document, each through its resource method', async () => {
    const sent: Sent[] = [];
    const admin = new Tensorify({ baseUrl: `${baseUrl}/v1/`, apiKey: t.adminKey, fetch: recordingFetch(sent) });

    // Workspaces and keys (admin).
    const workspace = await admin.workspaces.create({ name: `sdk-${Date.now()}`, plan: 'pro' });
    expect(workspace).toMatchObject({ id: expect.stringMatching(/^ws_/), plan: 'pro' });
    expect(await admin.workspaces.get(workspace.id)).toEqual(workspace);
    expect(await admin.workspaces.update(workspace.id, { plan: 'enterprise', rateLimitPerMinute: 100_000, retentionDays: 14 })).toMatchObject({
      plan: 'enterprise',
      retentionDays: 14,
    });
    expect((await admin.workspaces.list().toArray()).map((w) => w.id)).toContain(workspace.id);
    expect(await admin.workspaces.rotateSigningSecret(workspace.id)).toMatchObject({ workspaceId: workspace.id, secret: expect.stringMatching(/^whsec_/) });
    const created = await admin.apiKeys.create({
      name: 'sdk',
      workspaceId: workspace.id,
      scopes: ['workflows:read', 'workflows:write', 'executions:read', 'executions:run'],
    });
    expect(created.key).toMatch(/^tfy_/);
    expect((await admin.apiKeys.list({ workspaceId: workspace.id }).toArray()).map((k) => k.id)).toEqual([created.id]);

    const tensorify = new Tensorify({ baseUrl, apiKey: created.key, fetch: recordingFetch(sent) });
    expect(await tensorify.me.get()).toMatchObject({ workspace: { id: workspace.id }, apiKey: { id: created.id } });
    expect((await tensorify.nodes.list()).map((node) => node.type)).toEqual(expect.arrayContaining(['manual', 'transform', 'return', 'code']));
    expect((await tensorify.nodes.packs())[0]).toMatchObject({ name: 'tensorify-server', namespace: null, source: 'builtin' });
    expect((await tensorify.executors.list()).map((executor) => executor.id)).toContain('local');
    expect(await tensorify.system.get()).toMatchObject({ server: { version: expect.any(String) } });
    expect(await tensorify.system.health()).toEqual({ status: 'ok' });
    expect(await tensorify.system.ready()).toMatchObject({ status: 'ready' });
    expect(await tensorify.system.metrics()).toContain('tensorify_http_requests_total');

    // Workflows.
    const hello = HELLO;
    expect(await tensorify.workflows.validate(hello)).toEqual({ valid: true, errors: { nodes: {}, graph: [] } });
    const workflow = await tensorify.workflows.create(hello);
    expect(workflow).toMatchObject({ id: expect.stringMatching(/^wf_/), name: 'Hello', version: 1 });
    expect(await tensorify.workflows.get(workflow.id)).toEqual(workflow);
    const updated = await tensorify.workflows.update(workflow.id, { ...hello, description: 'greets' }, { ifMatch: 1 });
    expect(updated).toMatchObject({ version: 2, description: 'greets' });
    expect((await tensorify.workflows.list().toArray()).map((w) => w.id)).toEqual([workflow.id]);
    const files = await tensorify.workflows.export(workflow.id);
    expect(Object.keys(files).sort()).toEqual(['main.py', 'requirements.txt', 'utils.py']);
    const zip = await tensorify.workflows.exportZip(workflow.id);
    expect(Buffer.from(zip.subarray(0, 4)).toString('latin1')).toBe('PK\u0003\u0004');

    // Executions: run hello to its expected output, follow its logs, read its files.
    const queued = await tensorify.workflows.execute(workflow.id, { inputs: { name: 'Ada' } });
    expect(queued).toMatchObject({ executionId: expect.stringMatching(/^exec_/), status: expect.stringMatching(/^(queued|running)$/) });
    const logs = tensorify.executions.logs(queued.executionId);
    const lines: LogLine[] = [];
    for await (const line of logs) lines.push(line);
    const execution = await tensorify.executions.wait(queued.executionId, { timeoutMs: 30_000 });
    expect(execution).toMatchObject({ status: 'completed', exitCode: 0, error: null });
    expect(execution.output).toEqual({ result: 'Hello, Ada!' });
    expect(logs.status).toBe('completed');
    expect(lines).toEqual(execution.logs.map((line, index) => ({ index, line })));
    expect(await tensorify.executions.files(queued.executionId)).toEqual(files);
    expect(await tensorify.executions.callbacks(queued.executionId)).toEqual({
      executionId: queued.executionId,
      callbackUrl: null,
      delivery: null,
      attempts: [],
    });
    expect((await tensorify.executions.list({ workflowId: workflow.id }).toArray()).map((e) => e.id)).toEqual([queued.executionId]);
    const rerun = await tensorify.executions.rerun(queued.executionId);
    expect(await tensorify.executions.wait(rerun.executionId, { timeoutMs: 30_000 })).toMatchObject({
      status: 'completed',
      output: { result: 'Hello, Ada!' },
      trigger: { type: 'rerun', executionId: queued.executionId },
    });

    // Cancel a run that sleeps.
    const sleeper = await tensorify.workflows.create(codeWorkflow('Sleeper', SLEEPER));
    const run = await tensorify.workflows.execute(sleeper.id, { inputs: { seconds: 60 } });
    await tensorify.executions.cancel(run.executionId);
    expect(await tensorify.executions.wait(run.executionId, { timeoutMs: 30_000 })).toMatchObject({ status: 'cancelled' });
    // Delete it, now that it has finished.
    await tensorify.executions.delete(run.executionId);
    await expect(tensorify.executions.get(run.executionId)).rejects.toBeInstanceOf(NotFoundError);

    // Triggers: a schedule read, paused and resumed; a hook shown, delivered to by every method, rotated.
    const hourly = await tensorify.workflows.create(HOURLY);
    expect(hourly.webhook).toBeUndefined();
    expect(await tensorify.workflows.schedule(hourly.id)).toMatchObject({ cron: '0 * * * *', timezone: 'UTC', paused: false, nextRuns: expect.any(Array) });
    expect(await tensorify.workflows.pauseSchedule(hourly.id)).toMatchObject({ paused: true, nextRuns: [] });
    expect((await tensorify.workflows.resumeSchedule(hourly.id)).paused).toBe(false);
    await tensorify.workflows.delete(hourly.id);

    const hook = await tensorify.workflows.create(hooked({ methods: ALL_METHODS, responseMode: 'wait' }));
    expect(hook.webhook).toEqual({
      url: `${baseUrl}/v1/hooks/${hook.webhook!.hookId}`,
      hookId: expect.stringMatching(/^hk_/),
      secret: expect.stringMatching(/^whsec_/),
    });
    expect(await tensorify.workflows.webhook(hook.id)).toEqual({
      ...hook.webhook,
      secret: undefined,
      signature: 'tensorify',
      responseMode: 'wait',
      methods: ALL_METHODS,
      waitSeconds: 30,
    });
    for (const method of ALL_METHODS) {
      const body = method === 'GET' ? undefined : { n: method.length };
      const delivery = await tensorify.hooks.deliver(hook.webhook!.url, body, { secret: hook.webhook!.secret, method, timestamp: unixNow() });
      expect(delivery).toMatchObject({ httpStatus: 200, status: 'completed', executionId: expect.stringMatching(/^exec_/), replayed: false });
      expect(delivery.output).toEqual({ method, body: body ?? null, query: {} });
    }
    const rotated = await tensorify.workflows.rotateWebhook(hook.id);
    expect(rotated.hookId).not.toBe(hook.webhook!.hookId);
    await expect(tensorify.hooks.deliver(hook.webhook!.url, {}, { secret: rotated.secret, timestamp: unixNow() })).rejects.toBeInstanceOf(NotFoundError);

    await tensorify.workflows.delete(workflow.id);
    await expect(tensorify.workflows.get(workflow.id)).rejects.toBeInstanceOf(NotFoundError);
    await admin.apiKeys.revoke(created.id);
    await expect(tensorify.me.get()).rejects.toBeInstanceOf(AuthenticationError);

    expect(uncoveredOperations(sent)).toEqual([]);
    // The check fails for an operation nothing called: here, the same requests without the deliveries to hooks.
    expect(uncoveredOperations(sent.filter((request) => !request.path.startsWith('/v1/hooks/')))).toEqual(
      ALL_METHODS.map((method) => `${method} /v1/hooks/{hookId}`),
    );
  });

  describe('triggers', () => {
    it('signWebhook and signGithubWebhook give the headers the README computes with openssl', () => {
      // printf '%s.%s' 1700000000 '{"id": 42}' | openssl dgst -sha256 -hmac whsec_test
      expect(signWebhook('whsec_test', '{"id": 42}', 1700000000)).toBe('t=1700000000,v1=d18bef30c4c79ff50b2c2659152da3877564ab0b7b59a65dbc7d635e3a984e56');
      expect(signWebhook('whsec_test', new TextEncoder().encode('{"id": 42}'), 1700000000)).toBe(signWebhook('whsec_test', '{"id": 42}', 1700000000));
      // printf '%s' '{"id": 42}' | openssl dgst -sha256 -hmac whsec_test
      expect(signGithubWebhook('whsec_test', '{"id": 42}')).toBe('sha256=61096368df95aebdec69b5a314077814e027cf71f4b35d18f99e34efdb53bf8a');
      expect(signWebhook('s', '', 1).startsWith('t=1,v1=')).toBe(true);
      expect(() => signWebhook('s', '', 1.5)).toThrow(TypeError);
    });

    it('delivers signed webhooks without the API key: the run has trigger {type: "webhook"} and executions.list filters by trigger', async () => {
      const sent: Sent[] = [];
      const { tensorify } = await workspaceClient({ fetch: recordingFetch(sent) });
      const workflow = await tensorify.workflows.create(hooked());
      const { url, hookId, secret } = workflow.webhook!;

      const delivery = await tensorify.hooks.deliver(url, { id: 42 }, { secret, timestamp: unixNow(), query: { ref: 'main' } });
      expect(delivery).toMatchObject({ httpStatus: 202, executionId: expect.stringMatching(/^exec_/), status: expect.stringMatching(/^(queued|running)$/) });
      const hookRequest = sent.find((request) => request.path === `/v1/hooks/${hookId}`)!;
      expect(hookRequest.headers.get('authorization')).toBeNull();
      expect(hookRequest.headers.get('tensorify-signature')).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);

      const execution = await tensorify.executions.wait(delivery.executionId, { timeoutMs: 30_000 });
      expect(execution).toMatchObject({
        status: 'completed',
        trigger: { type: 'webhook', hookId },
        output: { method: 'POST', body: { id: 42 }, query: { ref: 'main' } },
      });

      // The same delivery by hook id, raw text, with an Idempotency-Key, twice: one run, the second answer a replay.
      const first = await tensorify.hooks.deliver(hookId, 'plain words', { secret, timestamp: unixNow(), idempotencyKey: 'order-42' });
      const again = await tensorify.hooks.deliver(hookId, 'plain words', { secret, timestamp: unixNow(), idempotencyKey: 'order-42' });
      expect(again).toMatchObject({ executionId: first.executionId, replayed: true });
      expect((await tensorify.executions.wait(first.executionId, { timeoutMs: 30_000 })).output).toMatchObject({ body: 'plain words' });

      const api = await tensorify.workflows.execute(workflow.id, { inputs: {} });
      await tensorify.executions.wait(api.executionId, { timeoutMs: 30_000 });
      const ids = async (trigger?: 'api' | 'webhook' | 'schedule') =>
        (await tensorify.executions.list({ workflowId: workflow.id, trigger }).toArray()).map((e) => e.id).sort();
      expect(await ids('webhook')).toEqual([delivery.executionId, first.executionId].sort());
      expect(await ids('api')).toEqual([api.executionId]);
      expect(await ids('schedule')).toEqual([]);
      expect((await tensorify.executions.get(api.executionId)).trigger).toEqual({ type: 'api' });

      // A wrong secret, a stale timestamp, no signature: 401, nothing queued.
      await expect(tensorify.hooks.deliver(url, { id: 1 }, { secret: 'whsec_wrong', timestamp: unixNow() })).rejects.toMatchObject({
        status: 401,
        code: 'UNAUTHORIZED',
      });
      await expect(tensorify.hooks.deliver(url, { id: 1 }, { secret, timestamp: unixNow() - 301 })).rejects.toBeInstanceOf(AuthenticationError);
      await expect(tensorify.hooks.deliver(url, { id: 1 }, { signature: 'none' })).rejects.toBeInstanceOf(AuthenticationError);
      await expect(tensorify.hooks.deliver(url, { id: 1 })).rejects.toThrow(/needs the hook's secret/);
      const refused = await tensorify.hooks.deliver(url, undefined, { secret, method: 'GET', timestamp: unixNow() }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(APIError);
      expect(refused).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
      expect(await ids('webhook')).toHaveLength(2);
    });

    it('signs a "github" hook\'s delivery with X-Hub-Signature-256, and a "wait" hook answers the output or a 502 naming the failed run', async () => {
      const { tensorify } = await workspaceClient();
      const github = (await tensorify.workflows.create(hooked({ signature: 'github', responseMode: 'wait' }))).webhook!;
      const delivered = await tensorify.hooks.deliver(github.url, { zen: 'Keep it logically awesome.' }, { secret: github.secret, signature: 'github' });
      expect(delivered).toMatchObject({ httpStatus: 200, status: 'completed', output: { body: { zen: 'Keep it logically awesome.' } } });
      expect((await tensorify.executions.get(delivered.executionId)).trigger).toEqual({ type: 'webhook', hookId: github.hookId });
      await expect(tensorify.hooks.deliver(github.url, { zen: 1 }, { secret: 'whsec_wrong', signature: 'github' })).rejects.toMatchObject({ status: 401 });

      const failing = codeWorkflow('Fails on delivery', 'raise ValueError("no")') as WorkflowBody;
      failing.nodes[0] = { id: failing.nodes[0].id, type: 'webhook', settings: { responseMode: 'wait', signature: 'none' } };
      const hook = (await tensorify.workflows.create(failing)).webhook!;
      const error = await tensorify.hooks.deliver(hook.url, {}, { signature: 'none' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APIError);
      expect(error).toMatchObject({ status: 502, code: 'EXECUTION_FAILED', details: { executionId: expect.stringMatching(/^exec_/), status: 'failed' } });
    });

    it('rotates a hook: a new URL and secret, the old URL answers 404; replacing the trigger with a webhook one shows the secret once', async () => {
      const { tensorify } = await workspaceClient();
      const manual = await tensorify.workflows.create(HELLO);
      await expect(tensorify.workflows.webhook(manual.id)).rejects.toBeInstanceOf(NotFoundError);
      const replaced = await tensorify.workflows.update(manual.id, hooked());
      expect(replaced).toMatchObject({ version: 2, webhook: { hookId: expect.stringMatching(/^hk_/), secret: expect.stringMatching(/^whsec_/) } });
      const old = replaced.webhook!;
      expect((await tensorify.workflows.update(manual.id, hooked({ responseMode: 'ack' }))).webhook).toBeUndefined();
      expect(await tensorify.workflows.get(manual.id)).not.toHaveProperty('webhook');

      const rotated = await tensorify.workflows.rotateWebhook(manual.id);
      expect(rotated).toEqual({
        url: `${baseUrl}/v1/hooks/${rotated.hookId}`,
        hookId: expect.stringMatching(/^hk_/),
        secret: expect.stringMatching(/^whsec_/),
      });
      expect(rotated.hookId).not.toBe(old.hookId);
      expect(rotated.secret).not.toBe(old.secret);
      expect(await tensorify.workflows.webhook(manual.id)).toMatchObject({ url: rotated.url, hookId: rotated.hookId });

      const gone = await tensorify.hooks.deliver(old.url, {}, { secret: old.secret, timestamp: unixNow() }).catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(NotFoundError);
      await expect(tensorify.hooks.deliver(rotated.url, {}, { secret: old.secret, timestamp: unixNow() })).rejects.toBeInstanceOf(AuthenticationError);
      const delivery = await tensorify.hooks.deliver(rotated.url, { after: 'rotation' }, { secret: rotated.secret, timestamp: unixNow() });
      expect((await tensorify.executions.wait(delivery.executionId, { timeoutMs: 30_000 })).trigger).toEqual({ type: 'webhook', hookId: rotated.hookId });
    });

    it('reads, pauses and resumes a schedule; its runs have trigger {type: "schedule", fireTime} and list by trigger', async () => {
      const { tensorify } = await workspaceClient();
      const workflow = await tensorify.workflows.create(HOURLY);
      try {
        const schedule = await tensorify.workflows.schedule(workflow.id);
        const hour = 3_600_000;
        const nextHour = Math.ceil((t.clock.now() + 1) / hour) * hour;
        expect(schedule).toEqual({
          cron: '0 * * * *',
          timezone: 'UTC',
          paused: false,
          nextRuns: Array.from({ length: 5 }, (_, i) => new Date(nextHour + i * hour).toISOString()),
          lastRunAt: null,
          lastExecutionId: null,
        });
        expect(await tensorify.workflows.setSchedulePaused(workflow.id, true)).toMatchObject({ paused: true, nextRuns: [] });
        expect(await tensorify.workflows.schedule(workflow.id)).toMatchObject({ paused: true });
        expect(await tensorify.workflows.setSchedulePaused(workflow.id, false)).toMatchObject({ paused: false, nextRuns: schedule.nextRuns });

        // Time passes to the next fire time, and the scheduler runs what is due.
        t.clock.advance(nextHour - t.clock.now());
        await t.app.get(Scheduler).tick();
        const after = await tensorify.workflows.schedule(workflow.id);
        expect(after).toMatchObject({ lastRunAt: new Date(nextHour).toISOString(), lastExecutionId: expect.stringMatching(/^exec_/) });
        const run = await tensorify.executions.wait(after.lastExecutionId!, { timeoutMs: 30_000 });
        expect(run).toMatchObject({
          status: 'completed',
          output: { dataset: 'nightly' },
          trigger: { type: 'schedule', fireTime: new Date(nextHour).toISOString() },
        });
        expect((await tensorify.executions.list({ workflowId: workflow.id, trigger: 'schedule' }).toArray()).map((e) => e.id)).toEqual([run.id]);

        const manual = await tensorify.workflows.create(HELLO);
        await expect(tensorify.workflows.schedule(manual.id)).rejects.toMatchObject({ status: 404, code: 'SCHEDULE_NOT_FOUND' });
        await expect(tensorify.workflows.setSchedulePaused(manual.id, true)).rejects.toBeInstanceOf(NotFoundError);
      } finally {
        await tensorify.workflows.delete(workflow.id);
      }
    });
  });

  it('reads TENSORIFY_API_KEY and TENSORIFY_BASE_URL (with or without /v1) when no option says', async () => {
    const saved = { key: process.env.TENSORIFY_API_KEY, url: process.env.TENSORIFY_BASE_URL };
    try {
      process.env.TENSORIFY_API_KEY = t.adminKey;
      for (const url of [baseUrl, `${baseUrl}/v1`, `${baseUrl}/v1/`]) {
        process.env.TENSORIFY_BASE_URL = url;
        const tensorify = new Tensorify();
        expect(tensorify.baseUrl).toBe(baseUrl);
        expect(await tensorify.me.get()).toMatchObject({ workspace: { name: 'default' } });
      }
    } finally {
      for (const [name, value] of [
        ['TENSORIFY_API_KEY', saved.key],
        ['TENSORIFY_BASE_URL', saved.url],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  describe('pagination', () => {
    it('follows nextCursor: every item once, newest first, a page fetched only when the last one is used up', async () => {
      const sent: Sent[] = [];
      const { tensorify } = await workspaceClient({ fetch: recordingFetch(sent) });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.unshift((await tensorify.workflows.create({ ...MINIMAL_WORKFLOW, name: `wf ${i}` })).id);
        t.clock.advance(1000); // newest first goes by creation time, which the fake clock moves
      }
      const listRequests = () => sent.filter((request) => request.method === 'GET' && request.path === '/v1/workflows').length;

      const seen: string[] = [];
      for await (const workflow of tensorify.workflows.list({ limit: 2 })) seen.push(workflow.id);
      expect(seen).toEqual(ids);
      expect(listRequests()).toBe(3);

      const pages: { ids: string[]; nextCursor: string | null }[] = [];
      for await (const page of tensorify.workflows.list({ limit: 2 }).pages()) pages.push({ ids: page.items.map((w) => w.id), nextCursor: page.nextCursor });
      expect(pages.map((page) => page.ids)).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
      expect(pages.map((page) => page.nextCursor === null)).toEqual([false, false, true]);

      const before = listRequests();
      expect((await tensorify.workflows.list({ limit: 2 }).take(3)).map((w) => w.id)).toEqual(ids.slice(0, 3));
      expect(listRequests() - before).toBe(2);

      expect((await tensorify.workflows.list({ limit: 2, cursor: pages[0].nextCursor! }).toArray()).map((w) => w.id)).toEqual(ids.slice(2));
    });
  });

  describe('executions.wait', () => {
    it('returns a failed run rather than throwing, and gives up after timeoutMs with WaitTimeoutError holding the execution as last seen', async () => {
      const { tensorify } = await workspaceClient();
      const failing = await tensorify.workflows.create(codeWorkflow('Failing', 'raise ValueError("no")'));
      const failed = await tensorify.executions.wait((await tensorify.workflows.execute(failing.id)).executionId, { timeoutMs: 30_000 });
      expect(failed).toMatchObject({ status: 'failed', error: { code: expect.any(String) } });

      const sleeper = await tensorify.workflows.create(codeWorkflow('Sleeper', SLEEPER));
      const { executionId } = await tensorify.workflows.execute(sleeper.id, { inputs: { seconds: 60 } });
      const thrown = await tensorify.executions.wait(executionId, { timeoutMs: 300 }).catch((error: unknown) => error);
      expect(thrown).toBeInstanceOf(WaitTimeoutError);
      expect(thrown).toBeInstanceOf(APITimeoutError);
      expect(thrown).toMatchObject({ code: 'TIMEOUT', execution: { id: executionId, status: expect.stringMatching(/^(queued|running)$/) } });

      const controller = new AbortController();
      const aborted = tensorify.executions.wait(executionId, { signal: controller.signal }).catch((error: unknown) => error);
      controller.abort(new Error('stopped by the caller'));
      expect(await aborted).toEqual(new Error('stopped by the caller'));

      await tensorify.executions.cancel(executionId);
      expect(await tensorify.executions.wait(executionId, { timeoutMs: 30_000 })).toMatchObject({ status: 'cancelled' });
    });
  });

  describe('typed errors', () => {
    it('throws one class per family, each with the code, message, status, details and request id of the envelope', async () => {
      const { tensorify, workspaceId } = await workspaceClient();
      const expectError = async (promise: Promise<unknown>, type: new (...args: never[]) => TensorifyError, fields: Record<string, unknown>) => {
        const error = await promise.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(type);
        expect(error).toBeInstanceOf(TensorifyError);
        expect(error).toMatchObject({ message: expect.any(String), requestId: expect.stringMatching(/^req_/), ...fields });
        return error as TensorifyError;
      };

      const missing = await expectError(tensorify.executions.get('exec_0000000000000000'), NotFoundError, { status: 404, code: 'EXECUTION_NOT_FOUND' });
      expect(missing.message).toContain('exec_0000000000000000');

      await expectError(new Tensorify({ baseUrl, apiKey: 'tfy_NotAKey0123456789abcdefghijklmnopqrstuv' }).me.get(), AuthenticationError, {
        status: 401,
        code: 'UNAUTHORIZED',
      });
      const { key: readOnly } = await t.createKey(workspaceId, ['workflows:read']);
      await expectError(new Tensorify({ baseUrl, apiKey: readOnly }).workflows.create(MINIMAL_WORKFLOW), PermissionDeniedError, {
        status: 403,
        code: 'FORBIDDEN',
      });

      const workflow = await tensorify.workflows.create(MINIMAL_WORKFLOW);
      await tensorify.workflows.update(workflow.id, MINIMAL_WORKFLOW, { ifMatch: 1 });
      await expectError(tensorify.workflows.update(workflow.id, MINIMAL_WORKFLOW, { ifMatch: 1 }), ConflictError, { status: 409, code: 'CONFLICT' });

      const invalid = (await expectError(
        tensorify.workflows.create({
          name: 'Bad',
          nodes: [
            { id: 'trigger', type: 'manual' },
            { id: 'x', type: 'no-such-type' },
          ],
          edges: [],
        }),
        InvalidWorkflowError,
        { status: 400, code: 'INVALID_WORKFLOW', details: { nodes: expect.any(Object), graph: expect.any(Array) } },
      )) as InvalidWorkflowError;
      expect(Object.keys(invalid.nodes)).toEqual(['x']);
      expect(invalid.nodes.x[0].message).toContain('no-such-type');

      await expectError(tensorify.workflows.list({ limit: 0 }).take(1), BadRequestError, {
        status: 400,
        code: 'VALIDATION_ERROR',
        details: expect.any(Object),
      });
    });

    it('throws APIConnectionError when nothing listens, and APITimeoutError when the server never answers; a POST is not retried', async () => {
      const closed = createServer();
      await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise<void>((done) => closed.close(() => done()));
      const refused = await new Tensorify({ baseUrl: `http://127.0.0.1:${closedPort}`, apiKey: t.adminKey, maxRetries: 0 }).me.get().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(APIConnectionError);
      expect(refused).not.toBeInstanceOf(APITimeoutError);
      expect(refused).toMatchObject({ code: 'CONNECTION_ERROR', status: undefined, message: expect.stringContaining('ECONNREFUSED') });

      // A server that reads requests and never answers.
      const heads: string[] = [];
      const sockets = new Set<Socket>();
      const silent: Server = createServer((socket) => {
        sockets.add(socket);
        socket.on('data', (chunk) =>
          heads.push(
            ...chunk
              .toString('latin1')
              .split('\r\n')
              .filter((line) => /^(GET|POST) /.test(line)),
          ),
        );
        socket.on('error', () => undefined);
      });
      await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
      try {
        const silentClient = new Tensorify({ baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, apiKey: t.adminKey, timeoutMs: 200 });
        const timedOut = await silentClient.me.get().catch((e: unknown) => e);
        expect(timedOut).toBeInstanceOf(APITimeoutError);
        expect(timedOut).toMatchObject({ code: 'TIMEOUT' });
        expect(heads).toEqual(['GET /v1/me HTTP/1.1', 'GET /v1/me HTTP/1.1', 'GET /v1/me HTTP/1.1']); // the first try and 2 retries

        heads.length = 0;
        await expect(silentClient.workflows.create(MINIMAL_WORKFLOW)).rejects.toBeInstanceOf(APITimeoutError);
        expect(heads).toEqual(['POST /v1/workflows HTTP/1.1']);
      } finally {
        sockets.forEach((socket) => socket.destroy());
        await new Promise<void>((done) => silent.close(() => done()));
      }
    });
  });

  describe('retries', () => {
    /**
     * A workspace allowed 2 requests a minute whose window ends 1 s from now (fake clock): the
     * next request past the limit is answered 429 with `Retry-After: 1`.
     */
    async function limitedClient(sent: Sent[], options: TensorifyOptions & { advanceOn429?: boolean } = {}) {
      const { advanceOn429 = false, ...clientOptions } = options;
      const fetch = recordingFetch(sent, (response) => {
        // The fake clock stands still unless told: as real time passes over the Retry-After, move it too.
        if (advanceOn429 && response.status === 429) t.clock.advance(Number(response.headers.get('retry-after')) * 1000);
      });
      const { tensorify, workspaceId } = await workspaceClient({ rateLimitPerMinute: 2, fetch, ...clientOptions });
      await tensorify.me.get();
      t.clock.advance(59_000);
      return { tensorify, workspaceId };
    }

    it('retries a 429 after its Retry-After, sending the same Idempotency-Key, and the workflow runs once', async () => {
      const sent: Sent[] = [];
      const { tensorify, workspaceId } = await limitedClient(sent, { advanceOn429: true });
      const workflow = await tensorify.workflows.create(MINIMAL_WORKFLOW); // the 2nd request of the window
      const { executionId } = await tensorify.workflows.execute(workflow.id, { inputs: { name: 'Ada' } });
      // Lift the limit for what follows: a poll refused for a whole window would wait for it (60 s).
      await new Tensorify({ baseUrl, apiKey: t.adminKey }).workspaces.update(workspaceId, { rateLimitPerMinute: 100_000 });

      const executes = sent.filter((request) => request.path.endsWith('/execute'));
      expect(executes.map((request) => request.status)).toEqual([429, 202]);
      const key = executes[0].headers.get('idempotency-key');
      expect(key).toMatch(/^[0-9a-f-]{36}$/);
      expect(executes[1].headers.get('idempotency-key')).toBe(key);
      expect(executes[1].sentAt - executes[0].answeredAt!).toBeGreaterThanOrEqual(1000 - 5);

      expect(await tensorify.executions.wait(executionId, { timeoutMs: 30_000 })).toMatchObject({ status: 'completed', output: { result: 'Ada' } });
      expect((await tensorify.executions.list({ workflowId: workflow.id }).toArray()).map((e) => e.id)).toEqual([executionId]);
    });

    it('gives up after maxRetries (2 by default) with RateLimitError and its retryAfter; maxRetries: 0 throws the first 429', async () => {
      const sent: Sent[] = [];
      const { tensorify } = await limitedClient(sent);
      await tensorify.me.get();
      const before = sent.length;
      const error = await tensorify.me.get().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimitError);
      expect(error).toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfter: 1, requestId: expect.stringMatching(/^req_/) });
      expect(sent.slice(before).map((request) => request.status)).toEqual([429, 429, 429]);

      const once = sent.length;
      await expect(tensorify.me.get({ maxRetries: 0 })).rejects.toMatchObject({ status: 429, retryAfter: 1 });
      expect(sent.length - once).toBe(1);
    });

    it('does not wait for a Retry-After longer than maxRetryAfterMs: the RateLimitError comes at once', async () => {
      const sent: Sent[] = [];
      const { tensorify } = await workspaceClient({ rateLimitPerMinute: 1, fetch: recordingFetch(sent), maxRetryAfterMs: 10_000 });
      await tensorify.me.get();
      const error = await tensorify.me.get().catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 429, retryAfter: 60 });
      expect(sent.map((request) => request.status)).toEqual([200, 429]);
    });

    it('retries a 503 after its Retry-After (an HTTP date too), and maps an answer that is not the envelope by its status', async () => {
      // Not the Tensorify server: a stand-in for a proxy in front of it that answers what the server never does.
      const answers: { status: number; headers: Record<string, string>; body: string }[] = [
        {
          status: 503,
          headers: { 'retry-after': '1', 'content-type': 'application/json' },
          body: '{"error":{"code":"NOT_READY","message":"starting","requestId":"req_1"}}',
        },
        { status: 503, headers: { 'retry-after': new Date(Date.now() - 1000).toUTCString() }, body: 'busy' },
        { status: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"ok"}' },
        { status: 502, headers: { 'content-type': 'text/html', 'x-request-id': 'req_from_the_proxy' }, body: '<h1>Bad Gateway</h1>' },
      ];
      const times: number[] = [];
      const proxyPage = createHttpServer((_request, response) => {
        times.push(performance.now());
        const answer = answers.shift()!;
        response.writeHead(answer.status, answer.headers).end(answer.body);
      });
      await new Promise<void>((done) => proxyPage.listen(0, '127.0.0.1', done));
      try {
        const tensorify = new Tensorify({ baseUrl: `http://127.0.0.1:${(proxyPage.address() as AddressInfo).port}`, apiKey: t.adminKey });
        expect(await tensorify.system.health()).toEqual({ status: 'ok' });
        expect(times).toHaveLength(3);
        expect(times[1] - times[0]).toBeGreaterThanOrEqual(1000 - 5);

        const error = await tensorify.system.health({ maxRetries: 0 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InternalServerError);
        expect(error).toMatchObject({ status: 502, code: 'INTERNAL_ERROR', requestId: 'req_from_the_proxy', body: '<h1>Bad Gateway</h1>' });
      } finally {
        await new Promise<void>((done) => proxyPage.close(() => done()));
      }
    });

    it('retries an execute whose answer was lost on a dropped connection: the replay answers the same execution, run once', async () => {
      let dropped = 0;
      const proxy = await TcpProxy.start(baseUrl, {
        // The server has taken the request (and queued the run); its answer never reaches the client.
        dropResponse: (connection) => dropped === 0 && /POST \/v1\/workflows\/[^/ ]+\/execute /.test(connection.sent) && ++dropped === 1,
      });
      try {
        const sent: Sent[] = [];
        const { tensorify, key } = await workspaceClient();
        // A run that is still going when the replay comes (the replay answers the run's status at that time).
        const workflow = await tensorify.workflows.create(codeWorkflow('Sleeper', SLEEPER));
        const proxied = new Tensorify({ baseUrl: proxy.url, apiKey: key, fetch: recordingFetch(sent) });
        const { executionId } = await proxied.workflows.execute(workflow.id, { inputs: { seconds: 60 } });
        expect(dropped).toBe(1);

        const executes = sent.filter((request) => request.path.endsWith('/execute'));
        expect(executes).toHaveLength(2);
        expect(executes[0].status).toBeUndefined(); // no answer: the connection was cut
        expect(executes[1].status).toBe(202);
        expect(executes[1].headers.get('idempotency-key')).toBe(executes[0].headers.get('idempotency-key'));
        expect((await tensorify.executions.list({ workflowId: workflow.id }).toArray()).map((e) => e.id)).toEqual([executionId]);
        await tensorify.executions.cancel(executionId);
        expect(await tensorify.executions.wait(executionId, { timeoutMs: 30_000 })).toMatchObject({ status: 'cancelled' });
      } finally {
        await proxy.close();
      }
    });
  });

  describe('executions.logs', () => {
    /** The Last-Event-ID of each logs request that went through the proxy, in order (undefined: none sent). */
    function lastEventIds(proxy: TcpProxy, executionId: string): (string | undefined)[] {
      return proxy.connections
        .flatMap((connection) => connection.sent.split(/\r\n\r\n/))
        .filter((head) => head.startsWith(`GET /v1/executions/${executionId}/logs `))
        .map((head) => /^last-event-id: *(.*)$/im.exec(head)?.[1]);
    }

    it('resumes a live stream after the connection is cut, with Last-Event-ID: every line once, in order', async () => {
      const proxy = await TcpProxy.start(baseUrl);
      try {
        const { tensorify, key } = await workspaceClient();
        const gate = join(scratch, 'gate');
        const workflow = await tensorify.workflows.create(GATED);
        const { executionId } = await tensorify.workflows.execute(workflow.id, { inputs: { gate } });

        const logs = new Tensorify({ baseUrl: proxy.url, apiKey: key }).executions.logs(executionId);
        const lines: LogLine[] = [];
        let cutAfter: number | undefined;
        for await (const line of logs) {
          lines.push(line);
          if (line.line === 'line 4') {
            // The program now waits for the gate: cut while nothing is in flight, then let it go on.
            cutAfter = line.index;
            proxy.cut();
            writeFileSync(gate, '');
          }
        }

        const execution = await tensorify.executions.wait(executionId, { timeoutMs: 30_000 });
        expect(execution.status).toBe('completed');
        expect(logs.status).toBe('completed');
        expect(lines).toEqual(execution.logs.map((line, index) => ({ index, line })));
        expect(lines.filter(({ line }) => line.startsWith('line ')).map(({ line }) => line)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i}`));
        expect(cutAfter).toBeDefined();
        expect(logs.connections).toBe(2);
        expect(lastEventIds(proxy, executionId)).toEqual([undefined, String(cutAfter)]);
      } finally {
        await proxy.close();
      }
    });

    it('never repeats or skips a line when connections are cut in the middle of events', async () => {
      const { tensorify, key } = await workspaceClient();
      const workflow = await tensorify.workflows.create(chatty(300));
      const { executionId } = await tensorify.workflows.execute(workflow.id);
      const execution = await tensorify.executions.wait(executionId, { timeoutMs: 30_000 });
      expect(execution.status).toBe('completed');
      const expected = execution.logs.map((line, index) => ({ index, line }));

      // Each connection delivers its first 3000 bytes (the headers, some lines, part of the next one) and is cut.
      const proxy = await TcpProxy.start(baseUrl, { cutAfterBytes: 3000 });
      try {
        const logs = new Tensorify({ baseUrl: proxy.url, apiKey: key }).executions.logs(executionId);
        const lines: LogLine[] = [];
        for await (const line of logs) lines.push(line);
        expect(lines).toEqual(expected);
        expect(logs.status).toBe('completed');
        expect(logs.connections).toBeGreaterThanOrEqual(4);
        const resumedFrom = lastEventIds(proxy, executionId);
        expect(resumedFrom[0]).toBeUndefined();
        expect(resumedFrom.slice(1).map(Number)).toEqual([...resumedFrom.slice(1).map(Number)].sort((a, b) => a - b));
      } finally {
        await proxy.close();
      }
    });

    it('starts after a given line, and throws NotFoundError for an unknown execution', async () => {
      const { tensorify } = await workspaceClient();
      const workflow = await tensorify.workflows.create(chatty(5));
      const { executionId } = await tensorify.workflows.execute(workflow.id);
      const execution = await tensorify.executions.wait(executionId, { timeoutMs: 30_000 });
      const lines: LogLine[] = [];
      for await (const line of tensorify.executions.logs(executionId, { after: 2 })) lines.push(line);
      expect(lines).toEqual(execution.logs.map((line, index) => ({ index, line })).slice(3));

      const consume = async () => {
        for await (const line of tensorify.executions.logs('exec_0000000000000000')) void line;
      };
      await expect(consume()).rejects.toMatchObject({ status: 404, code: 'EXECUTION_NOT_FOUND' });
    });
  });
});
