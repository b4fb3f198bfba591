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
 * validate them on every observation, some 4% of the CPU of a cached GET. Three Map lookups by the
 * labels themselves (of bounded cardinality: route templates, not URLs), with no key built per
 * observation, replace it. Scrapes read
 * them through prom-client's Registry, in the text format its own metrics have.
 */
export class HttpRequestSeries {
  /** Every series, in the order they first appeared. */
  private readonly series: Series[] = [];
  /** The same series by route, method and status. */
  private readonly index = new Map<string, Map<string, Map<number, Series>>>();

  constructor(
    private readonly names: { requests: string; duration: string },
    private readonly help: { requests: string; duration: string },
    private readonly bounds: readonly number[],
    registry?: Registry,
  ) {
    if (registry) this.registerIn(registry);
  }

  record(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.index.get(route);
    if (byMethod === undefined) this.index.set(route, (byMethod = new Map<string, Map<number, Series>>()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map<number, Series>()));
    let series = byStatus.get(status);
    if (series === undefined) {
      series = { labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: this.bounds.map(() => 0) };
      byStatus.set(status, series);
      this.series.push(series);
    }
    series.count += 1;
    series.sum += seconds;
    for (let bucket = 0; bucket < this.bounds.length; bucket++) {
      if (seconds <= this.bounds[bucket]) {
        series.buckets[bucket] += 1;
        break;
      }
    }
  }

  /** Registers both metrics in `registry` (prom-client's Registry reads `name`, `help`, `type`, `aggregator` and `get()`). */
  registerIn(registry: Registry): void {
    const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]) => ({
      name,
      help,
      type,
      aggregator: 'sum',
      get: () => Promise.resolve({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => {
        this.series.length = 0;
        this.index.clear();
      },
    });
    const all = () => this.series;
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
