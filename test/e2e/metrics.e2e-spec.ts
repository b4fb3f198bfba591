import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MetricFamily, parsePrometheusText, samplesOf, valueOf } from '../support/prometheus';
import { startTestApp, TestApp } from '../support/test-app';

const EXAMPLES_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'examples');
const example = (file: string) => JSON.parse(readFileSync(resolve(EXAMPLES_DIR, file), 'utf8'));
const BROKEN_PLUGIN = resolve(__dirname, '..', 'fixtures', 'plugins', 'throws-on-import');
const AUTH_FAILURES_PER_MINUTE = 3;

async function scrape(t: TestApp): Promise<{ text: string; families: Map<string, MetricFamily> }> {
  const res = await t.http.get('/metrics').expect(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return { text: res.text, families: parsePrometheusText(res.text) };
}

describe('GET /metrics', () => {
  let t: TestApp;
  let auth: string;
  let workflowId: string;
  let executionId: string;
  let families: Map<string, MetricFamily>;
  let text: string;

  const requests = (labels: Record<string, string>) => valueOf(families, 'tensorify_http_requests_total', labels);

  beforeAll(async () => {
    t = await startTestApp({ TENSORIFY_EXECUTOR_PLUGINS: BROKEN_PLUGIN, TENSORIFY_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES_PER_MINUTE) });
    auth = t.bearer(t.adminKey);

    // 200s, on a plain route and a parameterised one.
    await t.http.get('/health').expect(200);
    await t.http.get('/health').expect(200);
    workflowId = (await t.http.post('/v1/workflows').set('Authorization', auth).send(example('hello.json')).expect(201)).body.id;
    await t.http.get(`/v1/workflows/${workflowId}`).set('Authorization', auth).expect(200);
    // 404 from the service on a matched route, and 404 for no route at all.
    await t.http.get('/v1/workflows/wf_doesNotExist0000').set('Authorization', auth).expect(404);
    await t.http.get('/no/such/route/xyzzy').expect(404);
    // 401 from the auth guard (one failed authentication of the allowed 3).
    await t.http.get('/v1/me').expect(401);

    // 429 from the plan limiter: an enterprise workspace allowed 2 requests a minute.
    const workspaceId = await t.createWorkspace('enterprise', 2);
    const { key } = await t.createKey(workspaceId);
    await t.http.get('/v1/me').set('Authorization', t.bearer(key)).expect(200);
    await t.http.get('/v1/me').set('Authorization', t.bearer(key)).expect(200);
    const limited = await t.http.get('/v1/me').set('Authorization', t.bearer(key)).expect(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    // /metrics is public: the exhausted key is not even looked at, nor counted.
    const metrics = await t.http.get('/metrics').set('Authorization', t.bearer(key)).expect(200);
    expect(metrics.headers['x-ratelimit-limit']).toBeUndefined();

    // An execution of the hello example, to its end.
    const run = await t.http
      .post(`/v1/workflows/${workflowId}/execute`)
      .set('Authorization', auth)
      .send({ inputs: example('hello.inputs.json') })
      .expect(202);
    executionId = run.body.executionId;
    const deadline = Date.now() + 20_000;
    for (let status = 'queued'; ['queued', 'running'].includes(status); await new Promise((done) => setTimeout(done, 25))) {
      if (Date.now() > deadline) throw new Error(`execution ${executionId} did not finish`);
      status = (await t.http.get(`/v1/executions/${executionId}`).set('Authorization', auth).expect(200)).body.status;
      if (!['queued', 'running'].includes(status)) expect(status).toBe('completed');
    }

    // Last, as it blocks this address: failed authentications past the per-IP limit get 429.
    for (let i = 1; i < AUTH_FAILURES_PER_MINUTE; i++) await t.http.get('/v1/me').set('Authorization', 'Bearer tfy_wrong').expect(401);
    const blocked = await t.http.get('/v1/me').set('Authorization', 'Bearer tfy_wrong').expect(429);
    expect(blocked.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { scope: 'client-ip' } });

    ({ text, families } = await scrape(t));
  });
  afterAll(() => t?.close());

  it('answers Prometheus text without a key, uncached, that a strict parser accepts', async () => {
    const res = await t.http.get('/metrics').expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(() => parsePrometheusText(res.text)).not.toThrow();
    for (const family of families.values()) {
      expect(family.help).toEqual(expect.any(String));
      expect(family.type).not.toBe('untyped');
    }
  });

  it('counts requests by method, route template and status, the raw URLs never appearing', () => {
    expect(families.get('tensorify_http_requests_total')?.type).toBe('counter');
    expect(requests({ method: 'GET', route: '/health', status: '200' })).toBe(2);
    expect(requests({ method: 'POST', route: '/v1/workflows', status: '201' })).toBe(1);
    expect(requests({ method: 'GET', route: '/v1/workflows/:id', status: '200' })).toBe(1);
    expect(requests({ method: 'GET', route: '/v1/workflows/:id', status: '404' })).toBe(1);
    expect(requests({ method: 'POST', route: '/v1/workflows/:id/execute', status: '202' })).toBe(1);
    expect(requests({ method: 'GET', route: '/v1/executions/:id', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(requests({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(text).not.toContain(workflowId);
    expect(text).not.toContain('wf_doesNotExist');
    expect(text).not.toContain('xyzzy');
    expect(text).not.toContain(executionId);
  });

  it('counts what the guards refuse: 401 and both kinds of 429', () => {
    expect(requests({ route: '/v1/me', status: '401' })).toBe(AUTH_FAILURES_PER_MINUTE);
    expect(requests({ route: '/v1/me', status: '429' })).toBe(2);
    expect(requests({ route: '/v1/me', status: '200' })).toBe(2);
    expect(valueOf(families, 'tensorify_rate_limit_rejections_total', { limiter: 'workspace' })).toBe(1);
    expect(valueOf(families, 'tensorify_rate_limit_rejections_total', { limiter: 'auth_failures' })).toBe(1);
    expect(samplesOf(families, 'tensorify_rate_limit_rejections_total')).toHaveLength(2);
  });

  it('times requests in a histogram with the same labels', () => {
    expect(families.get('tensorify_http_request_duration_seconds')?.type).toBe('histogram');
    const labels = { method: 'GET', route: '/health', status: '200' };
    expect(valueOf(families, 'tensorify_http_request_duration_seconds_count', labels)).toBe(2);
    expect(valueOf(families, 'tensorify_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(2);
    expect(valueOf(families, 'tensorify_http_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
  });

  it('counts the execution by status and executor, with its queue wait and run time', () => {
    expect(families.get('tensorify_executions_total')?.type).toBe('counter');
    expect(valueOf(families, 'tensorify_executions_total', { status: 'completed', executor: 'local' })).toBe(1);
    expect(families.get('tensorify_execution_queue_wait_seconds')?.type).toBe('histogram');
    expect(valueOf(families, 'tensorify_execution_queue_wait_seconds_count', { executor: 'local' })).toBe(1);
    expect(families.get('tensorify_execution_run_seconds')?.type).toBe('histogram');
    expect(valueOf(families, 'tensorify_execution_run_seconds_count', { executor: 'local', status: 'completed' })).toBe(1);
  });

  it('shows the queue depth, read when scraped', () => {
    expect(families.get('tensorify_execution_queue_depth')?.type).toBe('gauge');
    expect(samplesOf(families, 'tensorify_execution_queue_depth', { state: 'waiting' })).toEqual([expect.objectContaining({ value: 0 })]);
    expect(samplesOf(families, 'tensorify_execution_queue_depth', { state: 'running' })).toEqual([expect.objectContaining({ value: 0 })]);
  });

  it('shows the executor plugins that loaded and failed, and the health of the loaded ones', () => {
    expect(valueOf(families, 'tensorify_executor_plugins', { state: 'failed' })).toBe(1);
    expect(valueOf(families, 'tensorify_executor_plugins', { state: 'loaded' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(families, 'tensorify_executor_healthy', { executor: 'local' })).toBe(1);
  });

  it('includes the process metrics, prefixed tensorify_', () => {
    expect(families.get('tensorify_process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.get('tensorify_process_resident_memory_bytes')?.type).toBe('gauge');
    expect(families.get('tensorify_nodejs_heap_size_used_bytes')?.type).toBe('gauge');
    expect(valueOf(families, 'tensorify_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('is documented in Swagger beside the health routes, without security', async () => {
    const spec = (await t.http.get('/docs-json').expect(200)).body;
    const operation = spec.paths['/metrics']?.get;
    expect(operation).toMatchObject({ tags: ['Health'], summary: expect.any(String) });
    expect(operation.security ?? spec.security ?? []).toEqual([]);
    expect(Object.keys(operation.responses['200'].content)).toEqual(['text/plain']);
  });

  it('keeps the series of each app apart when two run in one process', async () => {
    const other = await startTestApp();
    try {
      await other.http.get('/health').expect(200);
      const mine = (await scrape(other)).families;
      expect(valueOf(mine, 'tensorify_http_requests_total', { route: '/health' })).toBe(1);
      expect(valueOf(mine, 'tensorify_executions_total')).toBe(0);
      expect(valueOf(mine, 'tensorify_rate_limit_rejections_total')).toBe(0);
      expect(valueOf(mine, 'tensorify_executor_plugins', { state: 'failed' })).toBe(0);
      // …and the first app did not see the second's request.
      const first = (await scrape(t)).families;
      expect(valueOf(first, 'tensorify_http_requests_total', { method: 'GET', route: '/health', status: '200' })).toBe(2);
    } finally {
      await other.close();
    }
  });
});

describe('the Prometheus text parser of the tests', () => {
  const valid = [
    '# HELP a_total Things, with a \\\\ and a \\n.',
    '# TYPE a_total counter',
    'a_total{path="/x",q="say \\"hi\\"\\n"} 3',
    'a_total{path="/y",} 1.5e3 1700000000000',
    '# TYPE h histogram',
    'h_bucket{le="0.5"} 1',
    'h_bucket{le="+Inf"} 2',
    'h_sum 0.7',
    'h_count 2',
    '',
  ].join('\n');

  it('reads names, labels with escapes, values, timestamps and histograms', () => {
    const families = parsePrometheusText(valid);
    expect(families.get('a_total')).toMatchObject({ type: 'counter', help: 'Things, with a \\ and a \n.' });
    expect(samplesOf(families, 'a_total', { q: 'say "hi"\n' })).toEqual([{ name: 'a_total', labels: { path: '/x', q: 'say "hi"\n' }, value: 3 }]);
    expect(samplesOf(families, 'a_total', { path: '/y' })[0]).toMatchObject({ value: 1500, timestamp: 1700000000000 });
    expect(valueOf(families, 'h_count')).toBe(2);
  });

  it('reads NaN and infinities as Go\'s ParseFloat does (prom-client writes NaN as "Nan")', () => {
    const families = parsePrometheusText('a{x="1"} Nan\na{x="2"} NaN\na{x="3"} +Inf\na{x="4"} -inf\na{x="5"} Infinity\n');
    expect(samplesOf(families, 'a').map((sample) => sample.value)).toEqual([NaN, NaN, Infinity, -Infinity, Infinity]);
    expect(() => parsePrometheusText('a +NaN\n')).toThrow(/bad value/);
  });

  it.each([
    ['a bad metric name', '1abc 1\n', /bad metric name/],
    ['a bad label name', 'a{1x="y"} 1\n', /bad label name/],
    ['an unquoted label value', 'a{x=y} 1\n', /expected " to open/],
    ['a bad escape', 'a{x="\\t"} 1\n', /bad escape/],
    ['an unterminated label value', 'a{x="y} 1\n', /unterminated/],
    ['a missing value', 'a{x="y"}\n', /expected a value/],
    ['a bad value', 'a 1,5\n', /bad value/],
    ['a repeated series', 'a{x="1"} 1\na{x="1"} 2\n', /series repeated/],
    ['a repeated label', 'a{x="1",x="2"} 1\n', /label x repeated/],
    ['a second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n', /second TYPE/],
    ['a TYPE after the samples', 'a 1\n# TYPE a gauge\n', /after its samples/],
    ['an unknown type', '# TYPE a meter\na 1\n', /unknown type/],
    ['a family split in two groups', 'a{x="1"} 1\nb 1\na{x="2"} 1\n', /not one group/],
    ['a negative counter', '# TYPE a counter\na -1\n', /non-negative/],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /does not end with le="\+Inf"/],
    ['non-cumulative buckets', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not cumulative/],
    ['+Inf differing from _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n', /differs from _count/],
    ['no final newline', 'a 1', /end with a newline/],
  ])('refuses %s', (_, body, problem) => {
    expect(() => parsePrometheusText(body)).toThrow(problem);
  });
});
