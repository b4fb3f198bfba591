import { collectDefaultMetrics, Registry } from 'prom-client';

export const METRICS_PREFIX = 'tensorify_';

let processRegistry: Registry | undefined;

/**
 * prom-client's default metrics (CPU, memory, heap, event-loop lag, GC, handles, open files…),
 * prefixed `tensorify_`. They describe the process, not one app, and prom-client starts a GC
 * observer and an event-loop monitor for each collection that can never be stopped, so they are
 * collected once per process in a registry of their own (never prom-client's global one) and
 * merged into every app's scrape.
 */
export function processMetricsRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: METRICS_PREFIX });
  }
  return processRegistry;
}
