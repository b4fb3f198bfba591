import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { Response } from 'supertest';
import { parsePrometheusText, valueOf } from '../support/prometheus';
import { startServerProcess } from '../support/server-process';
import { ADMIN_AUTH, TEST_ADMIN_KEY, useTestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

type Settings = Record<string, unknown>;

/** webhook trigger → a return of the whole trigger output (the request as the workflow saw it). */
const echo = (settings: Settings = {}, name = 'Echo') => ({
  name,
  nodes: [
    { id: 'trigger', type: 'webhook', settings },
    { id: 'out', type: 'return', settings: { value: '{{ trigger }}' } },
  ],
  edges: [{ source: 'trigger', target: 'out' }],
});

/** webhook trigger → a code node running `code` → a return of its output. */
const coded = (code: string, settings: Settings) => ({
  name: 'Coded',
  nodes: [
    { id: 'trigger', type: 'webhook', settings },
    { id: 'step', type: 'code', settings: { code } },
    { id: 'out', type: 'return', settings: { value: '{{ step }}' } },
  ],
  edges: [
    { source: 'trigger', target: 'step' },
    { source: 'step', target: 'out' },
  ],
});

const MANUAL = {
  name: 'Manual now',
  nodes: [
    { id: 'trigger', type: 'manual' },
    { id: 'out', type: 'return', settings: { value: { ok: true } } },
  ],
  edges: [{ source: 'trigger', target: 'out' }],
};

/** Computed here with node:crypto, not with the server's own helpers, so a wrong scheme on the server cannot pass. */
const hmac = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('hex');
const tensorify = (secret: string, body: string, t: number) => `t=${t},v1=${hmac(secret, `${t}.${body}`)}`;
const github = (secret: string, body: string) => `sha256=${hmac(secret, body)}`;

interface Created {
  id: string;
  webhook: { url: string; hookId: string; secret: string };
}

const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out'];

describe('Webhooks', () => {
  const t = useTestApp({ TENSORIFY_AUTH_FAILURES_PER_MINUTE: '100000', TENSORIFY_EXECUTION_CONCURRENCY: '8', TENSORIFY_BODY_LIMIT: '64kb' });
  const now = () => Math.floor(t.clock.now() / 1000);

  async function create(body: object, auth = ADMIN_AUTH): Promise<Created> {
    const res = await t.http.post('/v1/workflows').set('Authorization', auth).send(body);
    if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as Created;
  }

  /** A delivery of exactly `body` (its bytes as given) with `headers`. */
  function deliver(hookId: string, body = '{"hello":"world"}', headers: Record<string, string> = {}, method = 'post', query = '') {
    const request = (t.http as unknown as Record<string, (url: string) => import('supertest').Test>)[method](`/v1/hooks/${hookId}${query}`);
    request.set({ 'Content-Type': 'application/json', ...headers });
    return method === 'get' ? request : request.send(body);
  }

  const signed = (hook: Created['webhook'], body = '{"hello":"world"}', extra: Record<string, string> = {}, query = '') =>
    deliver(hook.hookId, body, { 'Tensorify-Signature': tensorify(hook.secret, body, now()), ...extra }, 'post', query);

  const getExecution = async (id: string) => (await t.http.get(`/v1/executions/${id}`).set('Authorization', ADMIN_AUTH).expect(200)).body;
  const finished = (id: string) =>
    waitFor(
      () => getExecution(id),
      (execution) => TERMINAL.includes(execution.status),
      { what: `execution ${id}` },
    );
  async function executionsOf(workflowId: string, auth = ADMIN_AUTH): Promise<{ id: string; trigger: unknown }[]> {
    return (await t.http.get(`/v1/executions?workflowId=${workflowId}&limit=200`).set('Authorization', auth).expect(200)).body.executions;
  }

  function expectEnvelope(res: Response, status: number, code: string) {
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
  }

  describe('the hook of a workflow', () => {
    it('is made when a workflow is created with a webhook trigger: the 201 carries its URL, id and secret, once', async () => {
      const created = await create(echo());
      expect(created.webhook).toEqual({
        url: expect.stringMatching(new RegExp(`^http://[^/]+/v1/hooks/${created.webhook.hookId}$`)),
        hookId: expect.stringMatching(/^hk_[0-9A-Za-z]{16}$/),
        secret: expect.stringMatching(/^whsec_[0-9A-Za-z]{32,}$/),
      });
      const read = await t.http.get(`/v1/workflows/${created.id}`).set('Authorization', ADMIN_AUTH).expect(200);
      expect(read.body.webhook).toBeUndefined();
      const replaced = await t.http
        .put(`/v1/workflows/${created.id}`)
        .set('Authorization', ADMIN_AUTH)
        .send(echo({ methods: ['POST', 'PUT'] }))
        .expect(200);
      expect(replaced.body.webhook).toBeUndefined();
      const webhook = await t.http.get(`/v1/workflows/${created.id}/webhook`).set('Authorization', ADMIN_AUTH).expect(200);
      expect(webhook.body).toEqual({
        url: expect.stringMatching(new RegExp(`^http://[^/]+/v1/hooks/${created.webhook.hookId}$`)),
        hookId: created.webhook.hookId,
        signature: 'tensorify',
        responseMode: 'ack',
        methods: ['POST', 'PUT'],
        waitSeconds: 30,
      });
      expect(JSON.stringify(webhook.body)).not.toContain('whsec_');
    });

    it('is not made for a workflow with another trigger; GET …/webhook is 404', async () => {
      const created = await create(MANUAL);
      expect(created.webhook).toBeUndefined();
      expectEnvelope(await t.http.get(`/v1/workflows/${created.id}/webhook`).set('Authorization', ADMIN_AUTH), 404, 'NOT_FOUND');
      expectEnvelope(await t.http.post(`/v1/workflows/${created.id}/webhook/rotate`).set('Authorization', ADMIN_AUTH), 404, 'NOT_FOUND');
    });

    it("is another workspace's 404 WORKFLOW_NOT_FOUND, and rotating needs workflows:write", async () => {
      const created = await create(echo());
      const other = await t.createKey(await t.createWorkspace('pro'));
      expectEnvelope(await t.http.get(`/v1/workflows/${created.id}/webhook`).set('Authorization', t.bearer(other.key)), 404, 'WORKFLOW_NOT_FOUND');
      const reader = await t.createKey((await t.http.get('/v1/me').set('Authorization', ADMIN_AUTH)).body.workspace.id, ['workflows:read']);
      await t.http.get(`/v1/workflows/${created.id}/webhook`).set('Authorization', t.bearer(reader.key)).expect(200);
      expectEnvelope(await t.http.post(`/v1/workflows/${created.id}/webhook/rotate`).set('Authorization', t.bearer(reader.key)), 403, 'FORBIDDEN');
    });

    it('builds the URL on the host the client used when TENSORIFY_PUBLIC_URL is not set', async () => {
      const res = await t.http.post('/v1/workflows').set('Authorization', ADMIN_AUTH).set('Host', 'hooks.example.test:8443').send(echo());
      expect(res.body.webhook.url).toBe(`http://hooks.example.test:8443/v1/hooks/${res.body.webhook.hookId}`);
    });
  });

  describe('a delivery', () => {
    it('starts the workflow with the request as its inputs, the trigger recorded, without an API key', async () => {
      const { id, webhook } = await create(echo());
      const body = '{"action":"opened","number":7}';
      const res = await signed(webhook, body, { 'X-Custom-Thing': 'Yes' }, '?ref=main&tag=a&tag=b').expect(202);
      expect(res.body).toEqual({ executionId: expect.stringMatching(/^exec_/), status: expect.stringMatching(/^(queued|running)$/) });
      expect(res.headers.location).toBe(`/v1/executions/${res.body.executionId}`);
      const execution = await finished(res.body.executionId);
      expect(execution).toMatchObject({ status: 'completed', workflowId: id, trigger: { type: 'webhook', hookId: webhook.hookId } });
      expect(execution.output).toMatchObject({
        body: { action: 'opened', number: 7 },
        query: { ref: 'main', tag: ['a', 'b'] },
        method: 'POST',
        path: `/v1/hooks/${webhook.hookId}`,
        headers: expect.objectContaining({ 'x-custom-thing': 'Yes', 'content-type': 'application/json' }),
      });
      expect(Object.keys(execution.output.headers)).not.toContain('tensorify-signature');
      expect(Object.keys(execution.output.headers).every((name) => name === name.toLowerCase())).toBe(true);
      const listed = await t.http.get(`/v1/executions?trigger=webhook&workflowId=${id}`).set('Authorization', ADMIN_AUTH).expect(200);
      expect(listed.body.executions.map((e: { id: string }) => e.id)).toEqual([res.body.executionId]);
    });

    it('keeps a body of another type as text, and an empty body as null', async () => {
      const { webhook } = await create(echo({ signature: 'none', methods: ['POST', 'GET'] }));
      const text = await deliver(webhook.hookId, 'plain words\nand lines', { 'Content-Type': 'text/plain' }).expect(202);
      expect((await finished(text.body.executionId)).output.body).toBe('plain words\nand lines');
      const form = await deliver(webhook.hookId, 'a=1&b=2', { 'Content-Type': 'application/x-www-form-urlencoded' }).expect(202);
      expect((await finished(form.body.executionId)).output.body).toBe('a=1&b=2');
      const bare = await fetch(`${await t.listen()}/v1/hooks/${webhook.hookId}`, { method: 'POST', body: new TextEncoder().encode('no type at all') });
      expect(bare.status).toBe(202);
      const { executionId } = (await bare.json()) as { executionId: string };
      expect((await finished(executionId)).output).toMatchObject({ body: 'no type at all' });
      expect((await getExecution(executionId)).output.headers['content-type']).toBeUndefined();
      const get = await deliver(webhook.hookId, '', {}, 'get', '?x=1').expect(202);
      expect((await finished(get.body.executionId)).output).toMatchObject({ body: null, method: 'GET', query: { x: '1' } });
    });

    describe('signature "tensorify"', () => {
      let hook: Created;
      beforeAll(async () => {
        hook = await create(echo());
      });

      it('takes a good signature, also among several v1 values', async () => {
        await signed(hook.webhook).expect(202);
        const body = '{"n":1}';
        const header = `t=${now()},v1=${hmac('whsec_another', `${now()}.${body}`)},v1=${hmac(hook.webhook.secret, `${now()}.${body}`)}`;
        await deliver(hook.webhook.hookId, body, { 'Tensorify-Signature': header }).expect(202);
      });

      it.each([
        ['missing', () => ({})],
        ['malformed', () => ({ 'Tensorify-Signature': 'v1=abc' })],
        ['made with another secret', () => ({ 'Tensorify-Signature': tensorify('whsec_wrongwrongwrongwrongwrongwrongwrong12', '{"hello":"world"}', now()) })],
        ['of another body', () => ({ 'Tensorify-Signature': tensorify(hook.webhook.secret, '{"hello":"moon"}', now()) })],
        ['301 s old', () => ({ 'Tensorify-Signature': tensorify(hook.webhook.secret, '{"hello":"world"}', now() - 301) })],
        ['301 s ahead', () => ({ 'Tensorify-Signature': tensorify(hook.webhook.secret, '{"hello":"world"}', now() + 301) })],
        ['in the GitHub header', () => ({ 'X-Hub-Signature-256': github(hook.webhook.secret, '{"hello":"world"}') })],
      ])('refuses a signature %s with 401 UNAUTHORIZED, queueing nothing', async (_label, headers) => {
        const before = (await executionsOf(hook.id)).length;
        const res = await deliver(hook.webhook.hookId, '{"hello":"world"}', headers());
        expectEnvelope(res, 401, 'UNAUTHORIZED');
        expect(res.body.error.message).not.toContain(hook.webhook.secret);
        expect((await executionsOf(hook.id)).length).toBe(before);
      });

      it('refuses a replay of a good delivery once its timestamp is more than 300 s old', async () => {
        const body = '{"replay":true}';
        const headers = { 'Tensorify-Signature': tensorify(hook.webhook.secret, body, now()) };
        await deliver(hook.webhook.hookId, body, headers).expect(202);
        t.clock.advance(299_000);
        await deliver(hook.webhook.hookId, body, headers).expect(202);
        t.clock.advance(2_000);
        const before = (await executionsOf(hook.id)).length;
        expectEnvelope(await deliver(hook.webhook.hookId, body, headers), 401, 'UNAUTHORIZED');
        expect((await executionsOf(hook.id)).length).toBe(before);
      });
    });

    describe('signature "github"', () => {
      let hook: Created;
      beforeAll(async () => {
        hook = await create(echo({ signature: 'github' }));
      });

      it('takes X-Hub-Signature-256 of the raw body, whatever its timestamp, and leaves the signature headers out of the inputs', async () => {
        const body = '{\n  "zen": "Keep it logically awesome.",\n  "hook_id": 1\n}';
        const res = await deliver(hook.webhook.hookId, body, {
          'X-Hub-Signature-256': github(hook.webhook.secret, body),
          'X-Hub-Signature': 'sha1=0000000000000000000000000000000000000000',
          'X-GitHub-Event': 'ping',
        }).expect(202);
        const { output } = await finished(res.body.executionId);
        expect(output.body).toEqual({ zen: 'Keep it logically awesome.', hook_id: 1 });
        expect(output.headers['x-github-event']).toBe('ping');
        expect(Object.keys(output.headers).filter((name) => name.startsWith('x-hub-signature'))).toEqual([]);
      });

      it.each([
        ['missing', () => ({})],
        ['not sha256=<hex>', () => ({ 'X-Hub-Signature-256': 'sha1=abc' })],
        ['made with another secret', () => ({ 'X-Hub-Signature-256': github('whsec_nope', '{"hello":"world"}') })],
        ['of another body', () => ({ 'X-Hub-Signature-256': github(hook.webhook.secret, '{"hello":"world" }') })],
        ['in the Tensorify header', () => ({ 'Tensorify-Signature': tensorify(hook.webhook.secret, '{"hello":"world"}', now()) })],
      ])('refuses a signature %s with 401 UNAUTHORIZED, queueing nothing', async (_label, headers) => {
        const before = (await executionsOf(hook.id)).length;
        expectEnvelope(await deliver(hook.webhook.hookId, '{"hello":"world"}', headers()), 401, 'UNAUTHORIZED');
        expect((await executionsOf(hook.id)).length).toBe(before);
      });
    });

    it('signs a compressed body as sent (its bytes on the wire) and hands the workflow the body decoded', async () => {
      const { webhook } = await create(echo({ signature: 'github' }));
      const compressed = gzipSync('{"compressed":true}');
      const signature = `sha256=${createHmac('sha256', webhook.secret).update(compressed).digest('hex')}`;
      const res = await t.http
        .post(`/v1/hooks/${webhook.hookId}`)
        .set({ 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'X-Hub-Signature-256': signature })
        .serialize((data: unknown) => data as string)
        .send(compressed as unknown as string)
        .expect(202);
      expect((await finished(res.body.executionId)).output.body).toEqual({ compressed: true });
    });

    it('signature "none" takes any delivery to the URL', async () => {
      const { webhook } = await create(echo({ signature: 'none' }));
      await deliver(webhook.hookId, '{"a":1}').expect(202);
    });

    it('is 404 NOT_FOUND for a hook that does not exist or is not a hook id, queueing nothing', async () => {
      expectEnvelope(await deliver('hk_0000000000000000'), 404, 'NOT_FOUND');
      expectEnvelope(await deliver('wf_0000000000000000'), 404, 'NOT_FOUND');
      expectEnvelope(await deliver('hk_..%2F'), 404, 'NOT_FOUND');
    });

    it("is 405 METHOD_NOT_ALLOWED with Allow for a method not in the trigger's methods", async () => {
      const { webhook } = await create(echo({ methods: ['POST', 'PUT'], signature: 'none' }));
      const res = await deliver(webhook.hookId, '', {}, 'get');
      expectEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.allow).toBe('POST, PUT');
      expectEnvelope(await deliver(webhook.hookId, '{}', {}, 'delete'), 405, 'METHOD_NOT_ALLOWED');
      await deliver(webhook.hookId, '{}', {}, 'put').expect(202);
    });

    it('is 413 PAYLOAD_TOO_LARGE for a body over TENSORIFY_BODY_LIMIT, of any type', async () => {
      const { id, webhook } = await create(echo({ signature: 'none' }));
      const big = 'x'.repeat(64 * 1024 + 1);
      expectEnvelope(await deliver(webhook.hookId, big, { 'Content-Type': 'text/plain' }), 413, 'PAYLOAD_TOO_LARGE');
      expectEnvelope(await deliver(webhook.hookId, `"${big}"`), 413, 'PAYLOAD_TOO_LARGE');
      expect(await executionsOf(id)).toEqual([]);
    });

    it.each([
      ['a JSON body that does not parse', 'INVALID_JSON', '{"a":', {}, ''],
      ['a JSON body with a NUL character', 'VALIDATION_ERROR', '{"a":"\\u0000"}', {}, ''],
      ['a query with a NUL character', 'VALIDATION_ERROR', '{}', {}, '?q=%00'],
      ['a malformed Idempotency-Key', 'VALIDATION_ERROR', '{}', { 'Idempotency-Key': 'é' }, ''],
    ])('refuses %s (well signed) with 400 %s, queueing nothing', async (_label, code, body, headers, query) => {
      const hook = await create(echo());
      expectEnvelope(await signed(hook.webhook, body, headers, query), 400, code);
      expect(await executionsOf(hook.id)).toEqual([]);
    });
  });

  describe('response modes', () => {
    it('"wait" answers 200 with the output of a run that completes in time', async () => {
      const { webhook } = await create(coded('return {"sum": input["body"]["a"] + input["body"]["b"]}', { responseMode: 'wait', waitSeconds: 60 }));
      const res = await signed(webhook, '{"a":2,"b":3}').expect(200);
      expect(res.body).toEqual({ sum: 5 });
      const execution = await getExecution(res.headers.location.split('/').pop()!);
      expect(execution).toMatchObject({ status: 'completed', output: { sum: 5 }, trigger: { type: 'webhook', hookId: webhook.hookId } });
    });

    it('"wait" answers 502 EXECUTION_FAILED with details.executionId when the run fails', async () => {
      const { webhook } = await create(coded('raise ValueError("no such order")', { responseMode: 'wait', waitSeconds: 60 }));
      const res = await signed(webhook, '{}');
      expectEnvelope(res, 502, 'EXECUTION_FAILED');
      expect(res.body.error.details).toEqual({ executionId: expect.stringMatching(/^exec_/), status: 'failed', errorCode: 'EXECUTION_FAILED' });
      expect((await getExecution(res.body.error.details.executionId)).status).toBe('failed');
    });

    it('"wait" answers 202 as "ack" when the run still runs at the deadline', async () => {
      const { webhook } = await create(coded('import time\ntime.sleep(60)\nreturn {}', { responseMode: 'wait', waitSeconds: 1 }));
      const res = await signed(webhook, '{}').expect(202);
      expect(res.body).toEqual({ executionId: expect.stringMatching(/^exec_/), status: expect.stringMatching(/^(queued|running)$/) });
      await t.http.post(`/v1/executions/${res.body.executionId}/cancel`).set('Authorization', ADMIN_AUTH).expect(202);
    });
  });

  describe('de-duplication', () => {
    it.each(['Idempotency-Key', 'X-GitHub-Delivery'])('answers a redelivery with the same %s with the first execution, run once', async (header) => {
      const hook = await create(echo());
      const first = await signed(hook.webhook, '{"order":1}', { [header]: 'delivery-72d3162e' }).expect(202);
      t.clock.advance(5_000); // signed again with a new timestamp, as a sender's retry is
      const again = await signed(hook.webhook, '{"order":1}', { [header]: 'delivery-72d3162e' }).expect(202);
      expect(again.body.executionId).toBe(first.body.executionId);
      expect(again.headers['idempotency-replayed']).toBe('true');
      const other = await signed(hook.webhook, '{"order":1}', { [header]: 'delivery-0000' }).expect(202);
      expect(other.body.executionId).not.toBe(first.body.executionId);
      expect((await executionsOf(hook.id)).length).toBe(2);
    });

    it('refuses the same delivery key with another body with 409 CONFLICT', async () => {
      const hook = await create(echo());
      await signed(hook.webhook, '{"order":1}', { 'Idempotency-Key': 'k-1' }).expect(202);
      expectEnvelope(await signed(hook.webhook, '{"order":2}', { 'Idempotency-Key': 'k-1' }), 409, 'CONFLICT');
      expect((await executionsOf(hook.id)).length).toBe(1);
    });
  });

  describe('rotation, trigger changes and deletion', () => {
    it('rotate gives a new id and secret; the old URL is 404 at once, the old secret no longer signs', async () => {
      const hook = await create(echo());
      const res = await t.http.post(`/v1/workflows/${hook.id}/webhook/rotate`).set('Authorization', ADMIN_AUTH).expect(200);
      expect(res.body).toEqual({
        url: expect.stringMatching(new RegExp(`/v1/hooks/${res.body.hookId}$`)),
        hookId: expect.stringMatching(/^hk_/),
        secret: expect.stringMatching(/^whsec_[0-9A-Za-z]{32,}$/),
      });
      expect(res.body.hookId).not.toBe(hook.webhook.hookId);
      expect(res.body.secret).not.toBe(hook.webhook.secret);
      expectEnvelope(await signed(hook.webhook), 404, 'NOT_FOUND');
      expectEnvelope(await signed({ ...hook.webhook, hookId: res.body.hookId }), 401, 'UNAUTHORIZED');
      await signed(res.body).expect(202);
      expect((await t.http.get(`/v1/workflows/${hook.id}/webhook`).set('Authorization', ADMIN_AUTH).expect(200)).body.hookId).toBe(res.body.hookId);
    });

    it('switching the trigger away makes the URL 404 at once; switching back gives a new hook in that 200', async () => {
      const hook = await create(echo());
      await t.http.put(`/v1/workflows/${hook.id}`).set('Authorization', ADMIN_AUTH).send(MANUAL).expect(200);
      expectEnvelope(await signed(hook.webhook), 404, 'NOT_FOUND');
      expectEnvelope(await t.http.get(`/v1/workflows/${hook.id}/webhook`).set('Authorization', ADMIN_AUTH), 404, 'NOT_FOUND');
      const back = await t.http.put(`/v1/workflows/${hook.id}`).set('Authorization', ADMIN_AUTH).send(echo()).expect(200);
      expect(back.body.webhook.hookId).not.toBe(hook.webhook.hookId);
      await signed(back.body.webhook).expect(202);
    });

    it('deleting the workflow makes its URL 404 and removes the hook', async () => {
      const hook = await create(echo());
      await t.http.delete(`/v1/workflows/${hook.id}`).set('Authorization', ADMIN_AUTH).expect(204);
      expectEnvelope(await signed(hook.webhook), 404, 'NOT_FOUND');
      expect(await t.app.get(DataSource).query(`SELECT id FROM hooks WHERE workflow_id = '${hook.id}'`)).toEqual([]);
    });

    it('a rotation makes the hook of a webhook workflow that lost it (a save that failed half-way)', async () => {
      const hook = await create(echo());
      await t.app.get(DataSource).query(`DELETE FROM hooks WHERE workflow_id = '${hook.id}'`);
      const missing = await t.http.get(`/v1/workflows/${hook.id}/webhook`).set('Authorization', ADMIN_AUTH);
      expectEnvelope(missing, 404, 'NOT_FOUND');
      expect(missing.body.error.message).toContain('/webhook/rotate');
      const made = await t.http.post(`/v1/workflows/${hook.id}/webhook/rotate`).set('Authorization', ADMIN_AUTH).expect(200);
      await signed(made.body).expect(202);
    });
  });

  describe('secrets at rest', () => {
    it('stores the secret encrypted (never its text), under a generated key file of mode 0600', async () => {
      const hook = await create(echo());
      const [row] = await t.app.get(DataSource).query(`SELECT secret FROM hooks WHERE id = '${hook.webhook.hookId}'`);
      expect(row.secret).toMatch(/^v1\.[0-9a-f]{8}\./);
      expect(row.secret).not.toContain(hook.webhook.secret.slice('whsec_'.length));
      if (t.config.database.type === 'sqlite') {
        for (const file of readdirSync(t.dataDir).filter((name) => name.startsWith('tensorify.db'))) {
          expect(readFileSync(join(t.dataDir, file)).includes(hook.webhook.secret.slice('whsec_'.length))).toBe(false);
        }
      }
      expect(statSync(join(t.dataDir, 'secrets.key')).mode & 0o777).toBe(0o600);
    });
  });

  describe('plan limits', () => {
    it("counts signed deliveries against the workflow's workspace rate limit; refused and unsigned ones do not count", async () => {
      const workspaceId = await t.createWorkspace('enterprise', 4);
      const { key } = await t.createKey(workspaceId);
      const hook = await create(echo(), t.bearer(key)); // 1 of 4
      for (let i = 0; i < 3; i++) expectEnvelope(await deliver(hook.webhook.hookId, '{}', { 'Tensorify-Signature': 't=1,v1=00' }), 401, 'UNAUTHORIZED');
      for (let i = 0; i < 3; i++) await signed(hook.webhook, `{"i":${i}}`).expect(202); // 4 of 4
      const refused = await signed(hook.webhook, '{"i":3}');
      expectEnvelope(refused, 429, 'RATE_LIMITED');
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      t.clock.advance(61_000); // a new window, to read what was queued
      expect((await executionsOf(hook.id, t.bearer(key))).length).toBe(3);
    });
  });

  describe('metrics', () => {
    it('counts deliveries by outcome', async () => {
      const series = parsePrometheusText((await t.http.get('/metrics').expect(200)).text);
      const count = (outcome: string) => valueOf(series, 'tensorify_webhook_deliveries_total', { outcome });
      expect(count('accepted')).toBeGreaterThan(0);
      expect(count('unauthorized')).toBeGreaterThan(0);
      expect(count('not_found')).toBeGreaterThan(0);
      expect(count('method_not_allowed')).toBeGreaterThan(0);
      expect(count('completed')).toBeGreaterThan(0);
      expect(count('failed')).toBeGreaterThan(0);
      expect(count('pending')).toBeGreaterThan(0);
      expect(count('duplicate')).toBeGreaterThan(0);
      expect(count('rate_limited')).toBeGreaterThan(0);
      expect(count('invalid')).toBeGreaterThan(0);
      expect(count('error')).toBe(0);
    });
  });
});

describe('Webhooks: failures per client IP, and the configured public URL', () => {
  const t = useTestApp({ TENSORIFY_AUTH_FAILURES_PER_MINUTE: '3', TENSORIFY_PUBLIC_URL: 'https://tensorify.example.com/' });

  it('builds hook URLs on TENSORIFY_PUBLIC_URL', async () => {
    const res = await t.http
      .post('/v1/workflows')
      .set('Authorization', ADMIN_AUTH)
      .send(echo({ signature: 'none' }))
      .expect(201);
    expect(res.body.webhook.url).toBe(`https://tensorify.example.com/v1/hooks/${res.body.webhook.hookId}`);
  });

  it('refuses an IP with 429 once its bad signatures pass the limit, good deliveries included; unknown hooks do not count', async () => {
    const res = await t.http.post('/v1/workflows').set('Authorization', ADMIN_AUTH).send(echo()).expect(201);
    const { hookId, secret } = res.body.webhook;
    const send = (signature: string, id = hookId) =>
      t.http.post(`/v1/hooks/${id}`).set('Content-Type', 'application/json').set('Tensorify-Signature', signature).send('{}');
    for (let i = 0; i < 5; i++) expect((await send('t=1,v1=00', 'hk_0000000000000000')).status).toBe(404);
    for (let i = 0; i < 3; i++) expect((await send('t=1,v1=00')).status).toBe(401);
    const blocked = await send('t=1,v1=00');
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.details).toMatchObject({ scope: 'client-ip' });
    const t0 = Math.floor(t.clock.now() / 1000);
    expect((await send(tensorify(secret, '{}', t0))).status).toBe(429);
    t.clock.advance(61_000);
    expect((await send(tensorify(secret, '{}', t0 + 61))).status).toBe(202);
  });
});

describe('Webhooks: secrets never reach the logs', () => {
  it('logs no webhook secret and no whole hook id at trace level, through creation, deliveries and rotation', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-webhook-logs-'));
    const server = await startServerProcess({ TENSORIFY_DATA_DIR: dataDir, TENSORIFY_BOOTSTRAP_API_KEY: TEST_ADMIN_KEY, TENSORIFY_LOG_LEVEL: 'trace' });
    const secrets: string[] = [];
    try {
      const api = (path: string, init: RequestInit = {}) => fetch(`${server.baseUrl}${path}`, init);
      const json = { Authorization: ADMIN_AUTH, 'Content-Type': 'application/json' };
      const created = (await (await api('/v1/workflows', { method: 'POST', headers: json, body: JSON.stringify(echo()) })).json()) as Created;
      secrets.push(created.webhook.secret);
      const hookIds: string[] = [created.webhook.hookId];
      const body = '{"x":1}';
      const t = Math.floor(Date.now() / 1000);
      expect(
        (
          await api(`/v1/hooks/${hookIds[0]}`, {
            method: 'POST',
            headers: { 'Tensorify-Signature': tensorify(secrets[0], body, t), 'Content-Type': 'application/json' },
            body,
          })
        ).status,
      ).toBe(202);
      expect((await api(`/v1/hooks/${hookIds[0]}`, { method: 'POST', headers: { 'Tensorify-Signature': `t=${t},v1=${'0'.repeat(64)}` }, body })).status).toBe(
        401,
      );
      const rotated = (await (
        await api(`/v1/workflows/${created.id}/webhook/rotate`, { method: 'POST', headers: { Authorization: ADMIN_AUTH } })
      ).json()) as Created['webhook'];
      secrets.push(rotated.secret);
      hookIds.push(rotated.hookId);
      expect((await api(`/v1/hooks/${hookIds[0]}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })).status).toBe(404);
      await new Promise((done) => setTimeout(done, 300));
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const logs = server.stdout() + server.stderr();
    expect(logs).toContain('/v1/hooks/hk_');
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) expect(logs).not.toContain(secret.slice('whsec_'.length));
    expect(logs).not.toMatch(/whsec_[0-9A-Za-z]{4}/);
    expect(logs).not.toMatch(/hk_[0-9A-Za-z]{16}/);
  });
});
