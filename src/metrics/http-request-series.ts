import type { Registry } from 'prom-client';

interface Series {
  labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative), in the order of the bounds. */
  buckets: number[];
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * `http_requests_total` (a counter) and `http_request_duration_seconds` (a histogram), by method,
 * route template and status, from one store. They are fed on every response, so they are written
 * here rather than with prom-client's Counter and Histogram: those build a hash of the labels and
 * validate them on every observation, some 4% of the CPU of a cached GET. One Map lookup by a key
 * of the three labels (of bounded cardinality: route templates, not URLs) replaces it. Scrapes read
 * them through prom-client's Registry, in the text format its own metrics have.
 */
export class HttpRequestSeries {
  private readonly series = new Map<string, Series>();

  constructor(
    private readonly names: { requests: string; duration: string },
    private readonly help: { requests: string; duration: string },
    private readonly bounds: readonly number[],
    registry?: Registry,
  ) {
    if (registry) this.registerIn(registry);
  }

  record(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\n${route}\n${status}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = { labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: this.bounds.map(() => 0) };
      this.series.set(key, series);
    }
    series.count += 1;
    series.sum += seconds;
    const bucket = this.bounds.findIndex((bound) => seconds <= bound);
    if (bucket >= 0) series.buckets[bucket] += 1;
  }

  /** Registers both metrics in `registry` (prom-client's Registry reads `name`, `help`, `type`, `aggregator` and `get()`). */
  registerIn(registry: Registry): void {
    const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]) => ({
      name,
      help,
      type,
      aggregator: 'sum',
      get: () => Promise.resolve({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => this.series.clear(),
    });
    const all = () => [...this.series.values()];
    registry.registerMetric(
      metric(this.names.requests, this.help.requests, 'counter', () => all().map(({ labels, count }) => ({ labels, value: count }))) as never,
    );
    registry.registerMetric(
      metric(this.names.duration, this.help.duration, 'histogram', () =>
        all().flatMap(({ labels, count, sum, buckets }) => {
          let cumulative = 0;
          return [
            ...this.bounds.map((bound, i) => ({
              labels: { le: bound, ...labels },
              value: (cumulative += buckets[i]),
              metricName: `${this.names.duration}_bucket`,
            })),
            { labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.names.duration}_bucket` },
            { labels, value: sum, metricName: `${this.names.duration}_sum` },
            { labels, value: count, metricName: `${this.names.duration}_count` },
          ];
        }),
      ) as never,
    );
  }
}
