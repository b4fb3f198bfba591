import vm from 'node:vm';
import { OpenApiContract } from '../support/openapi-responses';
import { useTestApp } from '../support/test-app';

// An OpenAPI document is walked dynamically.
type Json = Record<string, any>;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

interface Operation {
  name: string;
  path: string;
  op: Json;
}

function operationsOf(spec: Json): Operation[] {
  return Object.entries(spec.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, path, op: op as Json })),
  );
}

/** Follows a local `$ref` (`#/components/schemas/X`). */
function deref(spec: Json, schema: Json | undefined): Json | undefined {
  if (!schema?.$ref) return schema;
  return (schema.$ref as string)
    .replace(/^#\//, '')
    .split('/')
    .reduce<Json | undefined>((node, key) => node?.[key], spec);
}

/**
 * Where a schema lacks an example (`.workflows[].name`), looking through `$ref`s, arrays, compositions
 * and properties; [] when every leaf has one (or a schema above it has a whole example).
 */
function unexampled(spec: Json, schema: Json | undefined, at = '', seen: ReadonlySet<string> = new Set()): string[] {
  if (!schema) return [at || '/'];
  if (schema.example !== undefined) return [];
  if (schema.$ref) return seen.has(schema.$ref) ? [] : unexampled(spec, deref(spec, schema), at, new Set([...seen, schema.$ref]));
  for (const key of ['allOf', 'oneOf', 'anyOf']) {
    if (Array.isArray(schema[key])) return (schema[key] as Json[]).flatMap((part) => unexampled(spec, part, at, seen));
  }
  if (schema.type === 'array') return unexampled(spec, schema.items, `${at}[]`, seen);
  const properties = Object.entries((schema.properties ?? {}) as Record<string, Json>);
  if (properties.length > 0) return properties.flatMap(([name, property]) => unexampled(spec, property, `${at}.${name}`, seen));
  return [at || '/'];
}

/** Names of the operations breaking a rule, so a failure lists every offender. */
function offenders(operations: Operation[], broken: (op: Json, operation: Operation) => boolean): string[] {
  return operations.filter((o) => broken(o.op, o)).map((o) => o.name);
}

describe('API documentation', () => {
  // Room for the error probe below (some 300 requests, 30 of them without a key).
  const t = useTestApp({ TENSORIFY_ENTERPRISE_RATE_LIMIT: '1000000', TENSORIFY_AUTH_FAILURES_PER_MINUTE: '1000000' });
  let spec: Json;
  let operations: Operation[];
  let v1: Operation[];

  beforeAll(async () => {
    const res = await t.http.get('/docs-json').expect(200);
    spec = res.body;
    operations = operationsOf(spec);
    // Webhook deliveries are the one public /v1 route: signed (or not) by the hook's secret, not an API key.
    v1 = operations.filter((o) => o.path.startsWith('/v1/') && !o.path.startsWith('/v1/hooks/'));
  });

  it('serves the Swagger UI page at /docs without an API key', async () => {
    const res = await t.http.get('/docs').redirects(1).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('swagger-ui');
  });

  it.each(['/docs', '/docs/'])('serves every script and stylesheet that %s references', async (page) => {
    const html = (await t.http.get(page).expect(200)).text;
    const assets = [...html.matchAll(/(?:src|href)="(\.\/[^"]+)"/g)].map((match) => new URL(match[1], `http://localhost${page}`).pathname);
    expect(assets.filter((asset) => /\.(js|css)$/.test(asset)).length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) await t.http.get(asset).expect(200);
  });

  it('serves a swagger-ui-init.js that runs and hands Swagger UI exactly the /docs-json document', async () => {
    // @nestjs/swagger inlines the document with String.replace: a `$` followed by ` ' & or a digit in any
    // description is expanded (nestjs/swagger#4119), which leaves the browser a script that does not parse
    // (a blank /docs page) or a silently different document.
    const served = await t.app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/docs/swagger-ui-init.js' });
    expect(served.statusCode).toBe(200);
    const js = served.body;
    let options: Json | undefined;
    const SwaggerUIBundle = Object.assign(
      (given: Json) => {
        options = given;
        return {};
      },
      { presets: { apis: {} }, plugins: { DownloadUrl: {} } },
    );
    const window: Json = { location: { search: '', origin: 'http://127.0.0.1' } };
    vm.runInNewContext(js, { window, SwaggerUIBundle, SwaggerUIStandalonePreset: {} }, { filename: 'swagger-ui-init.js' });
    window.onload();
    expect(JSON.parse(JSON.stringify(options?.spec))).toEqual(spec);
    expect(options?.persistAuthorization).toBe(true);
  });

  it('serves the OpenAPI document at /docs-json without an API key, as OpenAPI 3.x', async () => {
    const res = await t.http.get('/docs-json').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(res.body.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
  });

  it('documents the workspace, API key and identity endpoints of the contract', () => {
    const names = operations.map((o) => o.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'GET /v1/me',
        'POST /v1/workspaces',
        'GET /v1/workspaces',
        'GET /v1/workspaces/{id}',
        'PATCH /v1/workspaces/{id}',
        'POST /v1/api-keys',
        'GET /v1/api-keys',
        'DELETE /v1/api-keys/{id}',
        'GET /health',
      ]),
    );
  });

  it('defines the bearer security scheme (HTTP, scheme bearer) behind the Authorize button', () => {
    expect(spec.components?.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('gives every operation a non-empty summary and description', () => {
    const blank = (value: unknown) => typeof value !== 'string' || value.trim() === '';
    expect(offenders(operations, (op) => blank(op.summary) || blank(op.description))).toEqual([]);
  });

  it('documents a 2xx response with a schema for every operation (or a 204 without a body)', () => {
    const documented = (op: Json) =>
      Object.entries(op.responses as Record<string, Json>).some(([status, response]) => {
        if (!/^2\d\d$/.test(status)) return false;
        if (status === '204') return true;
        return Object.values((response.content ?? {}) as Record<string, Json>).some((media) => media.schema && (media.schema.$ref || media.schema.type));
      });
    expect(offenders(operations, (op) => !documented(op))).toEqual([]);
  });

  it('describes every response of every operation', () => {
    const undescribed = (op: Json) =>
      Object.values(op.responses as Record<string, Json>).some((response) => typeof response.description !== 'string' || response.description.trim() === '');
    expect(offenders(operations, undescribed)).toEqual([]);
  });

  it('requires the bearer key on every /v1 operation', () => {
    const requiresBearer = (security: unknown) => Array.isArray(security) && security.some((entry: Json) => 'bearer' in entry);
    expect(v1.length).toBeGreaterThan(0);
    expect(offenders(v1, (op) => !requiresBearer(op.security ?? spec.security))).toEqual([]);
  });

  it('requires no key on the public health and webhook delivery operations', () => {
    const health = operations.filter((o) => o.path.startsWith('/health') || o.path.startsWith('/v1/hooks/'));
    expect(health.length).toBeGreaterThan(0);
    expect(offenders(health, (op) => Array.isArray(op.security ?? spec.security) && (op.security ?? spec.security).length > 0)).toEqual([]);
  });

  /** True when `example` is the api.md error envelope with this code. */
  const isEnvelopeExample = (example: Json | undefined, code?: string) =>
    !!example &&
    typeof example.error === 'object' &&
    typeof example.error.code === 'string' &&
    /^[A-Z][A-Z_]*$/.test(example.error.code) &&
    (code === undefined || example.error.code === code) &&
    typeof example.error.message === 'string' &&
    example.error.message.length > 0 &&
    typeof example.error.requestId === 'string';

  const envelopeExampleOf = (response: Json | undefined, code?: string) => {
    const media = response?.content?.['application/json'];
    if (!media) return false;
    const examples = [media.example, ...Object.values((media.examples ?? {}) as Record<string, Json>).map((e) => e.value)];
    return examples.some((example) => isEnvelopeExample(example, code));
  };

  it('documents 401 UNAUTHORIZED on every /v1 operation with an error-envelope example', () => {
    expect(offenders(v1, (op) => !envelopeExampleOf(op.responses['401'], 'UNAUTHORIZED'))).toEqual([]);
  });

  it('documents 429 RATE_LIMITED on every /v1 operation with an error-envelope example', () => {
    expect(offenders(v1, (op) => !envelopeExampleOf(op.responses['429'], 'RATE_LIMITED'))).toEqual([]);
  });

  it('gives every documented error response (4xx/5xx) an error-envelope example', () => {
    const bad: string[] = [];
    for (const { name, op } of operations) {
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        if (/^[45]\d\d$/.test(status) && !envelopeExampleOf(response)) bad.push(`${name} ${status}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('gives examples that match their own schemas, every one of them (objects closed to unnamed fields)', () => {
    expect(new OpenApiContract(spec).exampleViolations()).toEqual([]);
    const lying = structuredClone(spec);
    lying.components.schemas.SystemDto.properties.loadAverage.example = [0.42, 0.37, '0.3'];
    expect(new OpenApiContract(lying).exampleViolations()).toEqual(['/components/schemas/SystemDto/properties/loadAverage/example: /2 must be number']);
  });

  it('catches an answer the document does not describe: a wrong type, an unnamed field, an undeclared operation, status, media type or header', async () => {
    // The check every e2e answer goes through (test/support/openapi-responses.ts), given a document that lies.
    const answer = await t.http.get('/v1/system').set('Authorization', t.bearer(t.adminKey)).expect(200);
    const lying = structuredClone(spec);
    lying.components.schemas.SystemDto.properties.loadAverage.items = { type: 'string' };
    delete lying.components.schemas.SystemDto.properties.collectedAt;
    lying.components.schemas.SystemDto.required = lying.components.schemas.SystemDto.required.filter((name: string) => name !== 'collectedAt');
    const check = (contract: OpenApiContract, status: number, contentType: string) =>
      contract.responseViolations('GET', '/v1/system', status, { ...answer.headers, 'content-type': contentType }, answer.text);
    expect(check(new OpenApiContract(spec), 200, 'application/json; charset=utf-8')).toEqual([]);
    expect(check(new OpenApiContract(lying), 200, 'application/json; charset=utf-8')).toEqual([
      'GET /v1/system → 200: / must NOT have additional properties (collectedAt)',
      'GET /v1/system → 200: /loadAverage/0 must be string',
      'GET /v1/system → 200: /loadAverage/1 must be string',
      'GET /v1/system → 200: /loadAverage/2 must be string',
    ]);
    expect(check(new OpenApiContract(spec), 404, 'application/json')).toEqual([expect.stringMatching(/^GET \/v1\/system → 404: status not declared/)]);
    expect(check(new OpenApiContract(spec), 200, 'text/html')).toEqual([
      expect.stringMatching(/^GET \/v1\/system → 200: media type "text\/html" not declared/),
    ]);
    delete lying.paths['/v1/system'];
    expect(check(new OpenApiContract(lying), 200, 'application/json')).toEqual(['GET /v1/system: the operation is not in the document']);
    lying.paths['/v1/system'] = structuredClone(spec.paths['/v1/system']);
    lying.paths['/v1/system'].get.responses['200'].headers = {
      'X-Not-Sent': { required: true, schema: { type: 'string' } },
      'X-Request-Id': { schema: { type: 'string', pattern: '^nope' } },
    };
    expect(check(new OpenApiContract(lying), 200, 'application/json')).toEqual(
      expect.arrayContaining(['GET /v1/system → 200: header X-Not-Sent missing', 'GET /v1/system → 200: header X-Request-Id / must match pattern "^nope"']),
    );
  });

  it('gives every request body an example, at the media type or on each of its properties', () => {
    const withBody = operations.filter((o) => o.op.requestBody);
    expect(withBody.length).toBeGreaterThan(0);
    const hasExample = (op: Json) =>
      Object.values((op.requestBody.content ?? {}) as Record<string, Json>).every((media) => {
        if (media.example !== undefined || Object.keys(media.examples ?? {}).length > 0) return true;
        const schema = deref(spec, media.schema);
        if (!schema) return false;
        if (schema.example !== undefined) return true;
        const properties = Object.values((schema.properties ?? {}) as Record<string, Json>);
        return properties.length > 0 && properties.every((property) => property.example !== undefined || deref(spec, property)?.example !== undefined);
      });
    expect(offenders(withBody, (op) => !hasExample(op))).toEqual([]);
  });

  it('gives every success response with a body an example (a binary download excepted)', () => {
    const bad: string[] = [];
    for (const { name, op } of operations) {
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        if (!/^2\d\d$/.test(status) || status === '204') continue;
        for (const [mediaType, media] of Object.entries((response.content ?? {}) as Record<string, Json>)) {
          if (media.example !== undefined || Object.keys(media.examples ?? {}).length > 0) continue;
          if (media.schema?.format === 'binary') continue;
          const missing = unexampled(spec, media.schema);
          if (missing.length > 0) bad.push(`${name} ${status} ${mediaType}: ${missing.join(', ')}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('gives every request body an example of every field, however deep', () => {
    const bad = operations
      .filter((o) => o.op.requestBody)
      .flatMap(({ name, op }) =>
        Object.entries((op.requestBody.content ?? {}) as Record<string, Json>)
          .filter(([, media]) => media.example === undefined && Object.keys(media.examples ?? {}).length === 0)
          .flatMap(([mediaType, media]) => unexampled(spec, media.schema).map((at) => `${name} ${mediaType}: ${at}`)),
      );
    expect(bad).toEqual([]);
  });

  it('gives no optional query or header parameter an example, which "Try it out" would send', () => {
    // Swagger UI fills a parameter with its example: If-Match: 3 would make a replace a 409, an
    // Idempotency-Key would replay the first execution, a filter would hide everything. Examples of
    // these go in the description; a default is fine (the server applies it anyway).
    const bad = operations.flatMap(({ name, op }) =>
      ((op.parameters ?? []) as Json[])
        .filter((p) => p.in !== 'path' && !p.required && (p.example !== undefined || p.examples !== undefined || p.schema?.example !== undefined))
        .map((p) => `${name} ${p.in} ${p.name}`),
    );
    expect(bad).toEqual([]);
  });

  it('documents the errors each kind of operation can produce', () => {
    const bad: string[] = [];
    const need = (o: Operation, statuses: number[], why: string) => {
      for (const status of statuses) if (!o.op.responses[String(status)]) bad.push(`${o.name} ${status} (${why})`);
    };
    for (const o of operations) {
      const method = o.name.split(' ')[0];
      const parameters = (o.op.parameters ?? []) as Json[];
      need(o, [500], 'any operation');
      if (o.path.startsWith('/v1/')) need(o, [401, 429, 503], 'authenticated: key, rate limit, database');
      if (parameters.some((p) => p.in === 'path')) need(o, [404], 'a path id');
      if (parameters.some((p) => p.in === 'query')) need(o, [400], 'a validated query');
      if (o.op.requestBody || ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) need(o, [400, 413, 415], 'a parsed JSON body');
    }
    expect(bad).toEqual([]);
  });

  it('documents every error status the API answers each operation with', async () => {
    const workspaceId = await t.createWorkspace('enterprise');
    // Between them, these two keys lack every scope a route can require.
    const keys = [(await t.createKey(workspaceId, ['workflows:read'])).key, (await t.createKey(workspaceId, ['executions:read'])).key];
    const admin = t.bearer(t.adminKey);
    const oversized = JSON.stringify({ padding: 'x'.repeat(t.config.bodyLimitBytes) });
    const undocumented: string[] = [];
    const seen = new Set<number>();
    for (const { name, path, op } of operations) {
      const method = name.split(' ')[0].toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
      const url = path.replace(/\{[^}]+\}/g, 'missing_0123456789');
      const send = (target = url) => t.http[method](target);
      const probes = [
        send(),
        ...keys.map((key) => send().set('Authorization', t.bearer(key))),
        send().set('Authorization', admin),
        send(`${url}?limit=0&cursor=%00`).set('Authorization', admin),
        send()
          .set('Authorization', admin)
          .set({ 'If-Match': 'not-a-version', 'Idempotency-Key': 'k'.repeat(300), 'Last-Event-ID': 'not-a-line' }),
        ...(['post', 'put', 'patch', 'delete'].includes(method)
          ? [
              send().set('Authorization', admin).set('Content-Type', 'text/plain').send('hello'),
              send().set('Authorization', admin).set('Content-Type', 'application/json').send('{"unterminated": '),
              send().set('Authorization', admin).set('Content-Type', 'application/json').send(oversized),
              send().set('Authorization', admin).send({ notAField: 1 }),
            ]
          : []),
      ];
      for (const response of await Promise.all(probes)) {
        if (response.status < 400) continue;
        seen.add(response.status);
        if (!op.responses[String(response.status)]) undocumented.push(`${name} ${response.status} ${response.body?.error?.code}`);
      }
    }
    expect(undocumented).toEqual([]);
    // The probe reached the errors it is meant to.
    expect([...seen].sort()).toEqual(expect.arrayContaining([400, 401, 403, 404, 413, 415]));
    expect(seen.has(429)).toBe(false);
  });
});
