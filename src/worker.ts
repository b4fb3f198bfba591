import { Logger } from '@nestjs/common';
import { writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createApp, initApp } from './app.factory';
import { PACKAGE_VERSION } from './common/package-info';
import type { AppConfig } from './config/config';
import { EXECUTION_QUEUE, type ExecutionQueue } from './executions/execution-queue';
import { MetricsService } from './metrics/metrics.service';

export interface WorkerOptions {
  /** Serve `GET /health` and `GET /metrics` on 127.0.0.1 at this port (0: any free port, printed). */
  healthPort?: number;
  /** Keep this file holding the worker's state (JSON), rewritten every few seconds; removed at exit. */
  healthFile?: string;
}

const HEALTH_FILE_EVERY_MS = 5000;

/**
 * `tensorify-server worker`: the distributed mode's execution processor. It takes jobs from the
 * Redis queue and runs them through the executors, within every plan's limits across all
 * workers; it answers no API requests. Health: a small HTTP port on loopback and/or a file.
 */
export async function runWorker(config: AppConfig, options: WorkerOptions = {}): Promise<void> {
  if (config.redisUrl === null) throw new Error('the worker needs TENSORIFY_REDIS_URL: it takes its jobs from the Redis queue of the distributed mode');
  const log = new Logger('Worker');
  const app = await initApp(await createApp({ config: { ...config, processExecutions: true } }));
  const queue = app.get<ExecutionQueue>(EXECUTION_QUEUE);
  const state = () => ({
    status: 'ok',
    role: 'worker',
    version: PACKAGE_VERSION,
    pid: process.pid,
    concurrency: config.executionConcurrency,
    queue: queue.stats(),
  });

  let server: http.Server | undefined;
  if (options.healthPort !== undefined) {
    const metrics = app.get(MetricsService);
    server = http.createServer((request, response) => {
      if (request.method === 'GET' && request.url === '/metrics') {
        metrics.scrape().then(
          (text) => {
            response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
            response.end(text);
          },
          (error: Error) => {
            response.writeHead(500, { 'content-type': 'application/json' });
            response.end(JSON.stringify({ error: { code: 'INTERNAL_ERROR', message: error.message } }));
          },
        );
        return;
      }
      const ok = request.method === 'GET' && (request.url === '/health' || request.url === '/health/ready');
      response.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
      response.end(JSON.stringify(ok ? state() : { error: { code: 'NOT_FOUND', message: 'a worker serves only GET /health and GET /metrics' } }));
    });
    await new Promise<void>((resolve) => server!.listen(options.healthPort, '127.0.0.1', resolve));
  }
  let fileTimer: NodeJS.Timeout | undefined;
  if (options.healthFile !== undefined) {
    const file = options.healthFile;
    const write = () => writeFileSync(file, `${JSON.stringify({ ...state(), at: new Date().toISOString() })}\n`);
    write();
    fileTimer = setInterval(write, HEALTH_FILE_EVERY_MS);
    fileTimer.unref();
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.log({ signal }, 'Shutting down: stopping running executions, closing the queue');
    clearInterval(fileTimer);
    server?.close();
    app.close().then(
      () => {
        if (options.healthFile !== undefined) rmSync(options.healthFile, { force: true });
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'Shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  const address = server?.address();
  const health = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}/health` : 'none';
  process.stderr.write(
    `\nTensorify worker ${PACKAGE_VERSION} processing executions (pid ${process.pid})\n` +
      `  Queue        Redis, ${config.executionConcurrency} at once in this worker\n` +
      `  Health       ${health}${options.healthFile ? `, file ${options.healthFile}` : ''}\n`,
  );
}
