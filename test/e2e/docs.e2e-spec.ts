import { startTestApp, TestApp } from '../support/test-app';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an OpenAPI document is walked dynamically
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

/** Names of the operations breaking a rule, so a failure lists every offender. */
function offenders(operations: Operation[], broken: (op: Json, operation: Operation) => boolean): string[] {
  return operations.filter((o) => broken(o.op, o)).map((o) => o.name);
}

describe('API documentation', () => {
  let t: TestApp;
  let spec: Json;
  let operations: Operation[];
  let v1: Operation[];

  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.http.get('/docs-json').expect(200);
    spec = res.body;
    operations = operationsOf(spec);
    v1 = operations.filter((o) => o.path.startsWith('/v1/'));
  });
  afterAll(() => t.close());

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

  it('requires no key on the public health operations', () => {
    const health = operations.filter((o) => o.path.startsWith('/health'));
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
});
