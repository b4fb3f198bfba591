import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ExecutionEvents, type ExecutionFinished, type ExecutionStarted } from '../executions/execution-events';
import { EXECUTION_QUEUE, type ExecutionQueue } from '../executions/execution-queue';
import { RETRY_REASONS } from '../executions/execution.entity';
import { ExecutorRegistry } from '../executors/executor-registry';
import { RetentionEvents } from '../retention/retention-events';
import { FIRE_OUTCOMES, ScheduleEvents } from '../schedules/schedule-events';
import { CALLBACK_OUTCOMES, CallbackEvents } from '../callbacks/callback-events';
import { DELIVERY_OUTCOMES, WebhookEvents } from '../webhooks/webhook-events';
import { HttpRequestSeries } from './http-request-series';
import { METRICS_PREFIX, processMetricsRegistry } from './process-metrics';

/** The limiters that answer 429 `RATE_LIMITED`; their series exist (at 0) from the start. */
export const RATE_LIMITERS = ['workspace', 'auth_failures'] as const;

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QUEUE_WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600];
const RUN_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/**
 * The Prometheus series of one app, in a registry of its own (never prom-client's global one:
 * tests boot several apps in one process). Request series are fed by the Fastify hooks of
 * `http-metrics.ts`, execution series by `ExecutionEvents`; queue depth and executor plugins are
 * read when scraped.
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnModuleDestroy {
  readonly registry = new Registry();
  private readonly log = new Logger('Metrics');
  private readonly unsubscribe: (() => void)[] = [];

  private readonly http = new HttpRequestSeries(
    { requests: `${METRICS_PREFIX}http_requests_total`, duration: `${METRICS_PREFIX}http_request_duration_seconds` },
    {
      requests: 'HTTP requests answered, by method, route template (`unmatched` when no route matched) and status code.',
      duration: 'Time from receiving an HTTP request to sending its response, by method, route template and status code.',
    },
    HTTP_BUCKETS,
    this.registry,
  );

  private readonly rateLimitRejections = new Counter({
    name: `${METRICS_PREFIX}rate_limit_rejections_total`,
    help: 'Requests refused with 429 RATE_LIMITED, by limiter: `workspace` (the plan limit) or `auth_failures` (failed authentications per client IP).',
    labelNames: ['limiter'] as const,
    registers: [this.registry],
  });

  private readonly executions = new Counter({
    name: `${METRICS_PREFIX}executions_total`,
    help: 'Executions that reached a final status in this process, by status and executor (`none` when none was chosen).',
    labelNames: ['status', 'executor'] as const,
    registers: [this.registry],
  });

  private readonly executionRetries = new Counter({
    name: `${METRICS_PREFIX}execution_retries_total`,
    help: 'Attempts of executions queued again by this process, by the reason the previous attempt ended: `failed`, `timed_out`, `worker_lost`.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly queueWait = new Histogram({
    name: `${METRICS_PREFIX}execution_queue_wait_seconds`,
    help: 'Time executions spent queued, from the execute request to their start, by executor.',
    labelNames: ['executor'] as const,
    buckets: QUEUE_WAIT_BUCKETS,
    registers: [this.registry],
  });

  private readonly runDuration = new Histogram({
    name: `${METRICS_PREFIX}execution_run_seconds`,
    help: 'Time executions ran, from their start to their final status, by executor and status.',
    labelNames: ['executor', 'status'] as const,
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });

  private readonly scheduleFires = new Counter({
    name: `${METRICS_PREFIX}schedule_fires_total`,
    help: 'Schedule fire times handled in this process, by outcome: `started`, `deduplicated` (another process started it), `failed` (execute refused), `missed_skipped`, `missed_run_once`.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly webhookDeliveries = new Counter({
    name: `${METRICS_PREFIX}webhook_deliveries_total`,
    help: 'Requests to /v1/hooks/:hookId, by outcome: accepted, duplicate, completed, failed, pending, unauthorized, not_found, method_not_allowed, rate_limited, invalid, error.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly callbackAttempts = new Counter({
    name: `${METRICS_PREFIX}callbacks_total`,
    help: 'Completion callback attempts, by outcome: delivered, retrying (non-2xx, timeout or connection error; retried), failed (given up after 24 h), refused (the URL points inside).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly rowsPruned = new Counter({
    name: `${METRICS_PREFIX}retention_pruned_rows_total`,
    help: "Rows the retention job deleted in this process, by table: `executions` (finished executions past their workspace's retentionDays) and `execution_logs`.",
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  constructor(
    private readonly retentionEvents: RetentionEvents,
    private readonly webhookEvents: WebhookEvents,
    private readonly callbackEvents: CallbackEvents,
    private readonly events: ExecutionEvents,
    @Inject(EXECUTION_QUEUE) private readonly queue: ExecutionQueue,
    private readonly executors: ExecutorRegistry,
    private readonly scheduleEvents: ScheduleEvents,
  ) {
    for (const outcome of FIRE_OUTCOMES) this.scheduleFires.inc({ outcome }, 0);
    for (const reason of RETRY_REASONS) this.executionRetries.inc({ reason }, 0);
    for (const limiter of RATE_LIMITERS) this.rateLimitRejections.inc({ limiter }, 0);
    for (const table of ['executions', 'execution_logs']) this.rowsPruned.inc({ table }, 0);
    for (const outcome of DELIVERY_OUTCOMES) this.webhookDeliveries.inc({ outcome }, 0);
    for (const outcome of CALLBACK_OUTCOMES) this.callbackAttempts.inc({ outcome }, 0);

    const { queue: executionQueue, log } = this;
    new Gauge({
      name: `${METRICS_PREFIX}execution_queue_depth`,
      help: 'Executions in the execution queue when scraped: `waiting` for a slot, or `running`.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        try {
          const { waiting, running } = executionQueue.stats();
          this.set({ state: 'waiting' }, waiting);
          this.set({ state: 'running' }, running);
        } catch (error) {
          // No value rather than a failed scrape: the other series still matter.
          this.reset();
          log.warn({ err: error }, 'Could not read the execution queue for metrics');
        }
      },
    });

    const registry = this.executors;
    new Gauge({
      name: `${METRICS_PREFIX}executor_plugins`,
      help: 'Executor plugins found at boot, by state: `loaded`, or `failed` to load (GET /v1/executors says why).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const plugins = registry.list();
        const failed = plugins.filter((plugin) => plugin.loadError !== undefined || plugin.executor === undefined || plugin.id === null).length;
        this.set({ state: 'loaded' }, plugins.length - failed);
        this.set({ state: 'failed' }, failed);
      },
    });

    new Gauge({
      name: `${METRICS_PREFIX}executor_healthy`,
      help: 'Whether each loaded executor reports itself healthy (1) or not (0), from its capabilities (cached for a few seconds).',
      labelNames: ['executor'] as const,
      registers: [this.registry],
      async collect() {
        const loaded = registry.list().filter((plugin) => plugin.executor !== undefined && plugin.id !== null && plugin.loadError === undefined);
        // `capabilities()` never rejects and answers within its timeout.
        const states = await Promise.all(loaded.map(async (plugin) => ({ id: plugin.id!, capabilities: await registry.capabilities(plugin.id!) })));
        this.reset();
        for (const { id, capabilities } of states) this.set({ executor: id }, capabilities?.healthy ? 1 : 0);
      },
    });
  }

  onModuleInit(): void {
    this.unsubscribe.push(
      this.events.on('started', (event) => this.executionStarted(event)),
      this.events.on('finished', (event) => this.executionFinished(event)),
      this.events.on('retried', ({ reason }) => this.executionRetries.inc({ reason })),
      this.scheduleEvents.on((event) => this.scheduleFires.inc({ outcome: event.outcome })),
      this.webhookEvents.onDelivery((outcome) => this.webhookDeliveries.inc({ outcome })),
      this.callbackEvents.onAttempt((outcome) => this.callbackAttempts.inc({ outcome })),
      this.retentionEvents.on(({ executions, logLines }) => {
        this.rowsPruned.inc({ table: 'executions' }, executions);
        this.rowsPruned.inc({ table: 'execution_logs' }, logLines);
      }),
    );
  }

  onModuleDestroy(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** One answered HTTP request. `route` is the route template or `unmatched`, never the raw URL. */
  recordHttpRequest(method: string, route: string, status: number, durationSeconds: number): void {
    this.http.record(method, route, status, durationSeconds);
  }

  recordRateLimitRejection(limiter: string): void {
    this.rateLimitRejections.inc({ limiter });
  }

  /** The Prometheus text exposition of this app's series and the process's default metrics. */
  async scrape(): Promise<string> {
    return Registry.merge([processMetricsRegistry(), this.registry]).metrics();
  }

  private executionStarted({ executor, queuedMs }: ExecutionStarted): void {
    this.queueWait.observe({ executor: executor || 'none' }, seconds(queuedMs));
  }

  private executionFinished({ executor, status, runMs }: ExecutionFinished): void {
    const labels = { executor: executor || 'none', status };
    this.executions.inc(labels);
    if (runMs !== null) this.runDuration.observe(labels, seconds(runMs));
  }
}
