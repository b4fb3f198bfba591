import fc from 'fast-check';
import { Agent, request as httpRequest } from 'node:http';
import type { Response } from 'supertest';
import { buildOpenApiDocument } from '../../src/app.factory';
import { ADMIN_AUTH, useTestApp } from '../support/test-app';

/**
 * The hostile-input suite: every operation of the OpenAPI document, called with fast-check's
 * hostile path parameters, query strings, headers and bodies (arbitrary JSON in every position,
 * the document's own examples mutated field by field, huge and odd strings, unicode, valid but odd
 * percent-encodings, another workspace's ids). Every answer must be below 500, every 4xx the error
 * envelope with the request id of the `X-Request-Id` header, and nothing of the other workspace may
 * change. Fixed seed; `TENSORIFY_FUZZ_SEED=<n>` replays another, `TENSORIFY_FUZZ_RUNS=<n>` runs
 * longer (runs per operation). On failure fast-check prints the seed, the path and the counterexample.
 *
 * Then, by class, on raw HTTP (no client library to correct the bytes), for every operation:
 * percent-encodings that are not valid (`%zz`, `%`, overlong and surrogate UTF-8) in the path and
 * in the query string; no key, a malformed key, a key in the URL, another workspace's key; bodies
 * that are not JSON (text/plain, a form, multipart, octet-stream, a body without Content-Type).
 * Each answer below 500 and in the envelope, and nothing changed that the request must not change.
 * Malformed HTTP and oversized headers are test/e2e/http-edge.e2e-spec.ts's.
 */

const SEED = Number(process.env.TENSORIFY_FUZZ_SEED ?? 14);
const RUNS = Number(process.env.TENSORIFY_FUZZ_RUNS ?? 50);

type Json = Record<string, any>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Operation {
  method: (typeof METHODS)[number];
  path: string;
  pathParams: string[];
  query: { name: string; schema: Json }[];
  headers: { name: string; schema: Json }[];
  body?: unknown;
  admin: boolean;
  /** A 503 the operation declares (readiness: this suite's executor is unhealthy on purpose). */
  unavailable: boolean;
  /** Needs an API key (the document's `security` is not empty). */
  secured: boolean;
}

interface Workspace {
  id: string;
  key: string;
  keyId: string;
  workflow: string;
  execution: string;
}

/** A `$ref`'d schema resolved, `allOf` merged. */
function resolve(document: Json, schema: Json | undefined): Json {
  if (!schema) return {};
  if (schema.$ref)
    return resolve(
      document,
      (schema.$ref as string)
        .split('/')
        .slice(1)
        .reduce((node: Json, key) => node[key], document),
    );
  if (schema.allOf) return (schema.allOf as Json[]).reduce((merged: Json, part) => ({ ...merged, ...resolve(document, part) }), {});
  return schema;
}

/** A valid-looking value of a schema, from the document's examples. */
function exampleOf(document: Json, raw: Json | undefined): unknown {
  const schema = resolve(document, raw);
  if (schema.example !== undefined) return schema.example;
  if (schema.enum) return schema.enum[0];
  if (schema.properties) {
    return Object.fromEntries(Object.entries(schema.properties as Record<string, Json>).map(([name, property]) => [name, exampleOf(document, property)]));
  }
  if (schema.type === 'array') return [exampleOf(document, schema.items)];
  if (schema.type === 'integer' || schema.type === 'number') return 1;
  if (schema.type === 'boolean') return true;
  if (schema.type === 'object') return {};
  return 'x';
}

function operationsOf(document: Json): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (!operation) continue;
      const parameters = ((operation.parameters ?? []) as Json[]).map((parameter) => resolve(document, parameter));
      const of = (where: string) => parameters.filter((p) => p.in === where).map((p) => ({ name: p.name as string, schema: resolve(document, p.schema) }));
      const bodySchema = operation.requestBody?.content?.['application/json']?.schema as Json | undefined;
      operations.push({
        method,
        path,
        pathParams: of('path').map((p) => p.name),
        query: of('query'),
        headers: of('header'),
        body: bodySchema ? exampleOf(document, bodySchema) : undefined,
        admin: /Needs the `admin` scope/.test(String(operation.description ?? '')),
        unavailable: operation.responses?.['503'] !== undefined,
        secured: !Array.isArray(operation.security) || (operation.security as unknown[]).length > 0,
      });
    }
  }
  return operations;
}

const ODD_STRINGS = [
  '',
  ' ',
  '.',
  '..',
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  '1e309',
  'NaN',
  '__proto__',
  'constructor',
  "' OR '1'='1",
  '"; DROP TABLE workflows; --',
  '{{ trigger.name }}',
  '${jndi:ldap://127.0.0.1/a}',
  '<script>alert(1)</script>',
  '\u0000',
  '\u202Egnp.exe',
  'ＡＢＣ',
  '😀🏳️‍🌈',
  'e\u0301',
  '\uFEFF',
  'wf_',
  'ws_',
  'ex_',
  'key_',
];

/** Strings a careful server must survive: arbitrary, unicode, odd, huge (up to `longest`). */
const hostileStrings = (longest: number) =>
  fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.constantFrom(...ODD_STRINGS),
    fc.integer({ min: 1_000, max: longest }).map((length) => 'a'.repeat(length)),
    fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
  );
/** In a body: up to the body limit's neighbourhood. */
const hostileString = hostileStrings(200_000);
/** In a URL: kept under Node's 16 KiB header limit (431 is Fastify's own reply, the "edge" work). */
const hostileUrlPart = hostileStrings(3_000);

/** A message with long runs of one character shortened, so that a huge counterexample stays readable. */
const readable = (text: string) => text.replace(/(.)\1{40,}/g, (run, char: string) => `${char}…(${run.length}×)`);

/** Printable ASCII only: what an HTTP client can put in a header. */
const headerString = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 300 }),
  fc.constantFrom('*', '"1"', 'W/"1"', '"', '0', '-1', '99999999999999999999', 'null'),
);

/** Every path to a value inside `value`, the root included. */
function pathsIn(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const found = [at];
  if (Array.isArray(value)) value.forEach((item, index) => found.push(...pathsIn(item, [...at, index])));
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) found.push(...pathsIn(item, [...at, key]));
  return found;
}

const REMOVE = Symbol('remove');

/** `value` with the part at `path` replaced by `replacement` (or removed). */
function replaceAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement === REMOVE ? undefined : replacement;
  const [head, ...rest] = path;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  const next = replaceAt(copy[head], rest, replacement);
  if (next === undefined && rest.length === 0 && replacement === REMOVE) {
    if (Array.isArray(copy)) copy.splice(Number(head), 1);
    else delete copy[head];
  } else copy[head] = next;
  return copy;
}

describe('Hostile input (fast-check over the OpenAPI document)', () => {
  const t = useTestApp({
    // An interpreter that does not exist: an execution that gets queued fails at once, and no run is heavy.
    TENSORIFY_EXECUTORS: JSON.stringify({ local: { python: '/nonexistent/python3' } }),
    // Room under the rate limit of the admin's (enterprise) workspace for longer runs (TENSORIFY_FUZZ_RUNS).
    TENSORIFY_ENTERPRISE_RATE_LIMIT: '100000000',
    // The bad keys below are failed authentications: this suite's one client IP must not get blocked by them.
    TENSORIFY_AUTH_FAILURES_PER_MINUTE: '1000000',
  });
  let own: Workspace;
  /** Ours too, for the calls that may remove or change what they name (deletes, the admin's): `own` stays usable. */
  let spare: Workspace;
  let other: Workspace;
  let operations: Operation[];
  /** Answers by status, printed at the end: how deep the requests got. */
  const statuses = new Map<number, number>();

  async function workspace(): Promise<Workspace> {
    const id = await t.createWorkspace('enterprise', 1_000_000);
    const { key, id: keyId } = await t.createKey(id);
    const auth = t.bearer(key);
    const body = { name: 'hostile', nodes: [{ id: 'trigger', type: 'manual' }], edges: [] };
    const workflow = (await t.http.post('/v1/workflows').set('Authorization', auth).send(body).expect(201)).body.id as string;
    const execution = (await t.http.post(`/v1/workflows/${workflow}/execute`).set('Authorization', auth).send({}).expect(202)).body.executionId as string;
    // Settled before the first snapshot: the run fails at once (no interpreter).
    for (let tries = 0; ; tries++) {
      const { status } = (await t.http.get(`/v1/executions/${execution}`).set('Authorization', auth).expect(200)).body as { status: string };
      if (!['queued', 'running'].includes(status)) break;
      if (tries > 200) throw new Error(`execution ${execution} still ${status}`);
      await new Promise((done) => setTimeout(done, 50));
    }
    return { id, key, keyId, workflow, execution };
  }

  /**
   * What a workspace (the other one unless said) holds, as its own key and the admin see it (times
   * of use left out). `settled: false` keeps only the ids of its executions, for a workspace whose
   * runs of earlier tests may still be finishing.
   */
  async function snapshot(of?: Workspace, settled = true): Promise<unknown> {
    of ??= other;
    const auth = t.bearer(of.key);
    const read = async (url: string, as = auth) => {
      const res = await t.http.get(url).set('Authorization', as);
      expect({ url, status: res.status, body: res.status === 200 ? undefined : res.body }).toEqual({ url, status: 200, body: undefined });
      return JSON.parse(JSON.stringify(res.body, (key, value: unknown) => (key === 'lastUsedAt' ? undefined : value))) as Json;
    };
    const workflows = await read('/v1/workflows?limit=200');
    const executions = await read(`/v1/executions?limit=200`);
    return {
      workspace: await read(`/v1/workspaces/${of.id}`, ADMIN_AUTH),
      keys: await read(`/v1/api-keys?workspaceId=${of.id}&limit=200`, ADMIN_AUTH),
      workflows: await Promise.all((workflows.workflows as Json[]).map((w) => read(`/v1/workflows/${w.id}`))),
      executions: settled ? executions : (executions.executions as Json[]).map((e) => e.id as string),
    };
  }

  beforeAll(async () => {
    operations = operationsOf(buildOpenApiDocument(t.app));
    own = await workspace();
    spare = await workspace();
    other = await workspace();
  });

  const idsOf = (w: Workspace) => [w.id, w.keyId, w.workflow, w.execution];

  /** A value for an id in the path: one of ours, one of the other workspace, or anything at all. */
  const pathValue = (admin: boolean, destructive: boolean) =>
    fc.oneof(
      fc.constantFrom(...idsOf(destructive ? spare : own)).map(encodeURIComponent),
      // The admin may change any workspace: its calls get the other workspace's ids nowhere.
      admin ? hostileUrlPart.map(encodeURIComponent) : fc.constantFrom(...idsOf(other)).map(encodeURIComponent),
      hostileUrlPart.map(encodeURIComponent),
      fc.constantFrom('%2e%2e', '%2F', '..%2F..%2Fetc%2Fpasswd', '%252e%252e', '%00', 'a%20b', '%F0%9F%98%80', '%E2%80%AE', '%3B', '%3F', '%23'),
    );

  /**
   * A value of another kind than the one expected: one of each JSON type (arrays of arrays and of
   * objects, which a nested validator walks into, among them), any JSON, a hostile string, or a
   * string that names another workspace's thing.
   */
  const anyValue = (admin: boolean) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom<unknown>(null, true, 0, -1, 1.5, '', [], {}, [[]], [{}], [null], ['x']) },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
      { weight: 1, arbitrary: hostileString },
      { weight: 1, arbitrary: admin ? fc.constant(1e308) : fc.constantFrom(...idsOf(other)) },
    );

  /** A place in `example`, every depth as likely as any other (a node itself as often as a field of its settings). */
  const placeIn = (example: unknown) => {
    const byDepth = new Map<number, (string | number)[][]>();
    for (const path of pathsIn(example)) byDepth.set(path.length, [...(byDepth.get(path.length) ?? []), path]);
    return fc.constantFrom(...byDepth.values()).chain((paths) => fc.constantFrom(...paths));
  };

  /** A body: any JSON at all, the example with one place replaced, removed or wrapped in an array, the example with an unknown field, or the example itself. */
  const bodyFor = (example: unknown, admin: boolean) =>
    fc.oneof(
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
      { weight: 4, arbitrary: fc.tuple(placeIn(example), anyValue(admin)).map(([path, value]) => replaceAt(example, path, value)) },
      { weight: 1, arbitrary: placeIn(example).map((path) => replaceAt(example, path, REMOVE)) },
      { weight: 1, arbitrary: placeIn(example).map((path) => replaceAt(example, path, [path.reduce((node: any, key) => node[key], example)])) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(hostileString, anyValue(admin))
          .map(([key, value]) => (example && typeof example === 'object' ? { ...example, [key]: value } : value)),
      },
      { weight: 1, arbitrary: fc.constant(example) },
    );

  const queryFor = (operation: Operation, admin: boolean) =>
    fc
      .tuple(
        fc.tuple(
          ...operation.query.map((parameter) =>
            fc.option(
              fc.oneof(
                fc.constant(String(exampleOf({}, parameter.schema))),
                hostileUrlPart,
                fc.integer().map(String),
                admin ? hostileUrlPart : fc.constantFrom(...idsOf(other)),
              ),
              { nil: undefined },
            ),
          ),
        ),
        fc.array(fc.tuple(hostileUrlPart, hostileUrlPart), { maxLength: 2 }),
      )
      .map(([values, extra]) => {
        const pairs: [string, string][] = operation.query.flatMap((parameter, i) => (values[i] === undefined ? [] : [[parameter.name, values[i]]]));
        // A parameter given twice is an array to Fastify's query parser.
        if (pairs.length > 0 && extra.length === 1) pairs.push(pairs[0]);
        return [...pairs, ...extra].map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
      });

  const requestFor = (operation: Operation) =>
    fc.record({
      path: fc.tuple(...operation.pathParams.map(() => pathValue(operation.admin, operation.admin || operation.method === 'delete'))),
      query: queryFor(operation, operation.admin),
      headers: fc.tuple(
        ...operation.headers.map(() => fc.option(headerString, { nil: undefined })),
        fc.option(headerString, { nil: undefined }), // X-Request-Id
        fc.option(fc.constantFrom('*/*', 'text/html', 'application/xml', 'application/json;q=0', 'garbage'), { nil: undefined }),
      ),
      body:
        operation.body === undefined
          ? fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined, freq: 3 })
          : fc.option(bodyFor(operation.body, operation.admin), { nil: undefined, freq: 8 }),
    });

  async function send(operation: Operation, input: { path: string[]; query: string; headers: (string | undefined)[]; body: unknown }): Promise<Response> {
    let index = 0;
    const url = operation.path.replace(/\{[^}]+\}/g, () => input.path[index++]) + (input.query ? `?${input.query}` : '');
    let req = t.http[operation.method](url).set('Authorization', operation.admin ? ADMIN_AUTH : t.bearer(own.key));
    const [requestId, accept] = input.headers.slice(operation.headers.length);
    operation.headers.forEach((header, i) => {
      if (input.headers[i] !== undefined) req = req.set(header.name, input.headers[i]);
    });
    if (requestId !== undefined) req = req.set('X-Request-Id', requestId);
    if (accept !== undefined) req = req.set('Accept', accept);
    if (input.body !== undefined) req = req.set('Content-Type', 'application/json').send(JSON.stringify(input.body));
    const res = await req;
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    return res;
  }

  function expectSound(operation: Operation, res: Response): void {
    if (!(operation.unavailable && res.status === 503)) expect(res.status).toBeLessThan(500);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    if (res.status >= 400) {
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body.error).toEqual(
        expect.objectContaining({ code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String), requestId: res.headers['x-request-id'] }),
      );
    }
  }

  /** One of ours that the operation's path names (`spare`'s for the calls that may change it). */
  function ownPath(operation: Operation): string[] {
    const mine = operation.admin || operation.method === 'delete' ? spare : own;
    const id = operation.path.startsWith('/v1/workflows/')
      ? mine.workflow
      : operation.path.startsWith('/v1/executions/')
        ? mine.execution
        : operation.path.startsWith('/v1/api-keys/')
          ? mine.keyId
          : mine.id;
    return operation.pathParams.map(() => id);
  }

  /** Values of every JSON kind, those a nested validator walks into (arrays of arrays, of objects) among them. */
  const KINDS: unknown[] = [null, false, 0, '', [], {}, [[]], [{}]];

  // Every place of every example body, replaced by a value of each kind: the field-by-field sweep that random
  // mutation may miss. Paths name our own things, so the request gets past lookups to the body's checks.
  it('answers every example body with one field of another kind below 500, in the envelope', async () => {
    const before = await snapshot();
    const failures: string[] = [];
    for (const operation of operations.filter((o) => o.body !== undefined)) {
      for (const place of pathsIn(operation.body)) {
        for (const kind of KINDS) {
          const body = replaceAt(operation.body, place, kind);
          const res = await send(operation, { path: ownPath(operation), query: '', headers: [], body });
          try {
            expectSound(operation, res);
          } catch {
            failures.push(
              `${operation.method.toUpperCase()} ${operation.path} /${place.join('/')} = ${JSON.stringify(kind)}: ${res.status} ${JSON.stringify(res.body)}`,
            );
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(await snapshot()).toEqual(before);
  }, 120_000);

  it(`answers every operation below 500, in the envelope, and leaves another workspace alone (seed ${SEED}, ${RUNS} runs per operation)`, async () => {
    const before = await snapshot();
    let checked = 0;
    for (const operation of operations) {
      const name = `${operation.method.toUpperCase()} ${operation.path}`;
      try {
        await fc.assert(
          fc.asyncProperty(requestFor(operation), async (input) => {
            expectSound(operation, await send(operation, input));
          }),
          { seed: SEED, numRuns: RUNS },
        );
      } catch (error) {
        const cause = (error as Error).cause;
        const why = cause instanceof Error ? `\nGot: ${cause.message}` : '';
        throw new Error(readable(`${name} (TENSORIFY_FUZZ_SEED=${SEED}): ${(error as Error).message}${why}`));
      }
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(20);
    expect(await snapshot()).toEqual(before);
  }, 120_000);
  // ---- by class, on raw HTTP ------------------------------------------------------------------

  let port: number;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  afterAll(() => {
    agent.destroy();
    const requests = [...statuses.values()].reduce((sum, count) => sum + count, 0);
    const byStatus = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`);
    process.stdout.write(`hostile input: ${operations.length} operations, ${requests} requests, seed ${SEED}: ${byStatus.join(' ')}\n`);
  });

  interface RawAnswer {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    text: string;
  }

  /** One request with exactly this path and these headers and body bytes (node:http corrects nothing of them). */
  async function raw(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<RawAnswer> {
    port ??= Number(new URL(await t.listen()).port);
    return new Promise((resolve, reject) => {
      // Framed by Content-Length: node:http sends a GET's or DELETE's body with no framing at all otherwise.
      const framed = body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
      const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: framed, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          statuses.set(res.statusCode!, (statuses.get(res.statusCode!) ?? 0) + 1);
          resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Below 500 (but a declared 503) and, for a 4xx, the envelope with the X-Request-Id's id; a description of what is wrong, or null. */
  function unsound(operation: Operation, res: RawAnswer): string | null {
    if (res.status >= 500 && !(operation.unavailable && res.status === 503)) return `status ${res.status}`;
    const requestId = res.headers['x-request-id'];
    if (typeof requestId !== 'string') return 'no X-Request-Id';
    if (res.status < 400) return null;
    if (!/^application\/json/.test(String(res.headers['content-type']))) return `content-type ${String(res.headers['content-type'])}`;
    let body: Json;
    try {
      body = JSON.parse(res.text) as Json;
    } catch {
      return 'a body that is not JSON';
    }
    const error = body.error as Json | undefined;
    if (Object.keys(body).join() !== 'error' || !error || !/^[A-Z_]+$/.test(String(error.code)) || typeof error.message !== 'string') return 'not the envelope';
    return error.requestId === requestId ? null : `requestId ${error.requestId} is not the X-Request-Id ${requestId}`;
  }

  /** The operation's path with `ids` in its parameters (raw: already encoded, or not valid encoding on purpose). */
  const pathOf = (operation: Operation, ids: string[]) => {
    let index = 0;
    return operation.path.replace(/\{[^}]+\}/g, () => ids[index++]);
  };
  const keyFor = (operation: Operation) => (operation.admin ? ADMIN_AUTH : t.bearer(own.key));
  const jsonBody = (operation: Operation) => JSON.stringify(operation.body ?? {});
  const describeCall = (operation: Operation, path: string, what: string, res: RawAnswer, problem: string) =>
    readable(`${operation.method.toUpperCase()} ${path} (${what}): ${problem}: ${res.status} ${res.text.slice(0, 300)}`);

  /** Not valid percent-encoding: a lone or short `%`, not hex, overlong UTF-8, a UTF-16 surrogate, bytes that are no UTF-8. */
  const BAD_ENCODINGS = ['%', '%zz', '%2', '%G0', '%%', '%u0041', '%C0%AE', '%C0%80', '%E0%80%80', '%ED%A0%80', '%FF', '%C3', '%E2%82', '%F8%88%80%80%80'];

  it('answers percent-encodings that are not valid, in the path and in the query string, below 500 in the envelope', async () => {
    const before = await snapshot();
    const failures: string[] = [];
    for (const operation of operations) {
      for (const bad of BAD_ENCODINGS) {
        const calls: { path: string; what: string; pathIsBad: boolean }[] = [];
        if (operation.pathParams.length > 0) {
          calls.push({
            path: pathOf(
              operation,
              ownPath(operation).map(() => bad),
            ),
            what: 'a parameter that is only it',
            pathIsBad: true,
          });
          calls.push({
            path: pathOf(
              operation,
              ownPath(operation).map((id) => `${id}${bad}`),
            ),
            what: 'a parameter that ends in it',
            pathIsBad: true,
          });
        } else {
          calls.push({ path: `${operation.path}${operation.path.endsWith('/') ? '' : '/'}${bad}`, what: 'a segment that is only it', pathIsBad: true });
        }
        const name = operation.query[0]?.name ?? 'x';
        const valid = pathOf(operation, ownPath(operation));
        calls.push({ path: `${valid}?${name}=${bad}`, what: 'a query value', pathIsBad: false });
        calls.push({ path: `${valid}?${bad}=1&${name}=a${bad}b`, what: 'a query name and value', pathIsBad: false });
        for (const call of calls) {
          // A body only where the path is bad: then nothing may get as far as using it.
          const body = call.pathIsBad && operation.body !== undefined ? jsonBody(operation) : undefined;
          const headers: Record<string, string> = { Authorization: keyFor(operation), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
          const res = await raw(operation.method.toUpperCase(), call.path, headers, body);
          const problem = unsound(operation, res) ?? (call.pathIsBad && res.status < 400 ? 'a path that is not valid encoding was served' : null);
          if (problem) failures.push(describeCall(operation, call.path, `${call.what} ${bad}`, res, problem));
        }
      }
    }
    expect(failures).toEqual([]);
    // The query cases name our own things with valid paths: they may act on `own` (a delete acts on `spare`), never on `other`.
    expect(await snapshot()).toEqual(before);
  }, 60_000);

  it('answers a call without a key, with a malformed key or with a key in the URL with 401, before reading the body, and changes nothing', async () => {
    const key = own.key;
    const MALFORMED = [
      '',
      'Bearer',
      'Bearer ',
      `Bearer  ${key}`,
      `Bearer ${key} ${key}`,
      `Token ${key}`,
      `Basic ${Buffer.from(`user:${key}`).toString('base64')}`,
      `Bearer ${key}x`,
      `Bearer ${key.slice(0, -1)}`,
      `Bearer ${key.slice(0, 20)}`,
      `Bearer tfy_${'A'.repeat(43)}`,
      `Bearer ${key.toUpperCase()}`,
      'Bearer tfy_%zz',
      'Bearer null',
      `Bearer ${'x'.repeat(8000)}`,
    ];
    const before = { own: await snapshot(own, false), other: await snapshot() };
    const failures: string[] = [];
    for (const operation of operations.filter((o) => o.secured)) {
      const path = pathOf(operation, ownPath(operation));
      const valid = operation.body === undefined ? undefined : jsonBody(operation);
      const calls: { what: string; path: string; headers: Record<string, string>; body?: string }[] = [
        { what: 'no key', path, headers: {} },
        { what: 'no key, malformed JSON', path, headers: { 'Content-Type': 'application/json' }, body: '{"name": "x", "nodes": [' },
        { what: 'no key, a body at the size limit', path, headers: { 'Content-Type': 'application/json' }, body: `"${'a'.repeat(1_000_000)}"` },
        { what: 'the key in the URL', path: `${path}?access_token=${key}`, headers: {} },
        ...MALFORMED.map((authorization) => ({ what: `Authorization: ${authorization.slice(0, 60)}`, path, headers: { Authorization: authorization } })),
      ];
      for (const call of calls) {
        const body = call.body ?? valid;
        const headers = { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...call.headers };
        const res = await raw(operation.method.toUpperCase(), call.path, headers, body);
        const problem = unsound(operation, res) ?? (res.status !== 401 || JSON.parse(res.text).error.code !== 'UNAUTHORIZED' ? 'not 401 UNAUTHORIZED' : null);
        if (problem) failures.push(describeCall(operation, call.path, call.what, res, problem));
      }
    }
    expect(failures).toEqual([]);
    expect({ own: await snapshot(own, false), other: await snapshot() }).toEqual(before);
  }, 60_000);

  it("answers another workspace's key on our things with a 4xx, and changes nothing of ours", async () => {
    const before = await snapshot(own, false);
    const failures: string[] = [];
    // Operations on a thing named in the path, always one of `own`'s (deletes too: they must not happen), whose
    // snapshot then shows any change; the admin's operations need a scope the other workspace's key lacks.
    for (const operation of operations.filter((o) => o.secured && o.pathParams.length > 0)) {
      const path = pathOf(
        operation,
        operation.pathParams.map(() =>
          operation.path.startsWith('/v1/workflows/')
            ? own.workflow
            : operation.path.startsWith('/v1/executions/')
              ? own.execution
              : operation.path.startsWith('/v1/api-keys/')
                ? own.keyId
                : own.id,
        ),
      );
      const body = operation.body === undefined ? undefined : jsonBody(operation);
      const headers: Record<string, string> = { Authorization: t.bearer(other.key), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
      const res = await raw(operation.method.toUpperCase(), path, headers, body);
      const problem = unsound(operation, res) ?? (res.status < 400 ? "another workspace's key was served" : null);
      if (problem) failures.push(describeCall(operation, path, "the other workspace's key", res, problem));
    }
    expect(failures).toEqual([]);
    expect(await snapshot(own, false)).toEqual(before);
  }, 60_000);

  it('refuses a body that is not JSON (text, a form, multipart, octet-stream, no Content-Type) below 500 in the envelope, and changes nothing', async () => {
    const before = { own: await snapshot(own, false), other: await snapshot() };
    const failures: string[] = [];
    const boundary = 'tensorify-hostile-boundary';
    for (const operation of operations.filter((o) => o.method !== 'get')) {
      const json = jsonBody(operation);
      const form =
        operation.body && typeof operation.body === 'object'
          ? Object.entries(operation.body as Json)
              .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(JSON.stringify(v))}`)
              .join('&')
          : 'a=1';
      const kinds: { what: string; contentType?: string; body: string | Buffer }[] = [
        { what: 'text/plain', contentType: 'text/plain', body: json },
        { what: 'text/plain; charset=utf-8', contentType: 'text/plain; charset=utf-8', body: json },
        { what: 'a form', contentType: 'application/x-www-form-urlencoded', body: form },
        {
          what: 'multipart',
          contentType: `multipart/form-data; boundary=${boundary}`,
          body: `--${boundary}\r\nContent-Disposition: form-data; name="body"\r\nContent-Type: application/json\r\n\r\n${json}\r\n--${boundary}--\r\n`,
        },
        { what: 'octet-stream', contentType: 'application/octet-stream', body: Buffer.from(json) },
        { what: 'no Content-Type', body: json },
        { what: 'a JSON look-alike', contentType: 'application/jsonx', body: json },
        { what: 'text/html', contentType: 'text/html', body: `<p>${json}</p>` },
      ];
      // Our own things (a delete or the admin's: the spare's), so that only the body's type can stop the request.
      const path = pathOf(operation, ownPath(operation));
      for (const kind of kinds) {
        const headers: Record<string, string> = { Authorization: keyFor(operation), ...(kind.contentType ? { 'Content-Type': kind.contentType } : {}) };
        const res = await raw(operation.method.toUpperCase(), path, headers, kind.body);
        // A call that takes a JSON body must refuse another type; one that takes none may ignore it.
        const problem = unsound(operation, res) ?? (operation.body !== undefined && res.status < 400 ? 'a body that is not JSON was taken' : null);
        if (problem) failures.push(describeCall(operation, path, kind.what, res, problem));
      }
    }
    expect(failures).toEqual([]);
    expect({ own: await snapshot(own, false), other: await snapshot() }).toEqual(before);
  }, 60_000);
});
