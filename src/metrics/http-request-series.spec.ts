import { Counter, Histogram, Registry } from 'prom-client';
import { HttpRequestSeries } from './http-request-series';

const BUCKETS = [0.005, 0.01, 0.1, 1];
const NAMES = { requests: 'x_http_requests_total', duration: 'x_http_request_duration_seconds' };
const HELP = { requests: 'Requests.', duration: 'Durations.' };

/** The exposition's sample lines, sorted (the two stores list series in their own orders). */
const samples = async (registry: Registry) =>
  (await registry.metrics())
    .split('\n')
    .filter((line) => line !== '')
    .sort();

describe(HttpRequestSeries.name, () => {
  it("exposes exactly what prom-client's Counter and Histogram expose for the same requests", async () => {
    const ours = new Registry();
    const series = new HttpRequestSeries(NAMES, HELP, BUCKETS);
    series.registerIn(ours);

    const theirs = new Registry();
    const labelNames = ['method', 'route', 'status'] as const;
    const counter = new Counter({ name: NAMES.requests, help: HELP.requests, labelNames, registers: [theirs] });
    const histogram = new Histogram({ name: NAMES.duration, help: HELP.duration, labelNames, buckets: BUCKETS, registers: [theirs] });

    const requests: [string, string, number, number][] = [
      ['GET', '/v1/workflows/:id', 200, 0.004],
      ['GET', '/v1/workflows/:id', 200, 0.005],
      ['GET', '/v1/workflows/:id', 404, 0.02],
      ['POST', '/v1/workflows', 201, 0.3],
      ['GET', 'unmatched', 404, 2.5],
      ['GET', '/v1/workflows/:id', 200, 0],
    ];
    for (const [method, route, status, seconds] of requests) {
      series.record(method, route, status, seconds);
      counter.inc({ method, route, status: String(status) });
      histogram.observe({ method, route, status: String(status) }, seconds);
    }
    expect(await samples(ours)).toEqual(await samples(theirs));
  });

  it('merges into another registry as prom-client metrics do', async () => {
    const own = new Registry();
    const series = new HttpRequestSeries(NAMES, HELP, BUCKETS);
    series.registerIn(own);
    series.record('GET', '/health', 200, 0.001);
    const merged = await Registry.merge([new Registry(), own]).metrics();
    expect(merged).toContain('x_http_requests_total{method="GET",route="/health",status="200"} 1');
    expect(merged).toContain('x_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health",status="200"} 1');
  });
});
