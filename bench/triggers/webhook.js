'use strict';
/**
 * bench/triggers/webhook.js: signed webhook deliveries in `ack` mode (POST /v1/hooks/:hookId with
 * a `Tensorify-Signature`, each one storing and queueing an execution) against authenticated
 * GET /v1/workflows/:id on the same server, measured in the same run, rounds interleaved.
 * Prints requests/s of both, their ratio (target >= 0.5) and the server's CPU time per request;
 * and, for scale, authenticated POST /v1/workflows/:id/execute, which does the same work (store and
 * queue an execution) on behalf of an API key.
 *
 * The server is an API-only instance of the distributed mode (TENSORIFY_PROCESS_EXECUTIONS=false,
 * Redis at BENCH_REDIS_URL, database number 13, emptied before and after): deliveries are queued
 * for workers and none runs here, so the numbers are of the request path, not of Python programs
 * competing for the CPU. The signature is made once (t = now) and sent with every delivery: valid
 * for 300 s, longer than the run.
 *
 * What becomes of the executions: nothing consumes them. Each delivery and execute leaves a
 * `queued` row (SQLite in the data directory) and a waiting Bull job (Redis database 13); both are
 * emptied with the run. Adding to either costs the same however many wait (an index insert, an
 * LPUSH). The one cost that grows with the backlog is the API instance's reconciler, which every
 * TENSORIFY_WORKER_STALL_SECONDS / 2 reads every `queued` row older than that and queues it again
 * (for jobs Redis lost): with workers, the backlog stays small; here it would grow by thousands of
 * rows a second and land in whichever round is measured then. So the stall interval is set to an
 * hour, longer than the run: the reconciler stays out of the measured rounds. The workspace is the
 * bootstrap key's (enterprise plan): its limit of running executions is the workers' business and
 * never met here, there is no limit of queued ones, and the rate limit is raised out of the way
 * (TENSORIFY_ENTERPRISE_RATE_LIMIT, as in every bench); it is still counted, in Redis, on both sides.
 *
 *   npm run build && node bench/triggers/webhook.js
 *   BENCH_SECONDS=5 BENCH_CONNECTIONS=20 BENCH_ROUNDS=3 node bench/triggers/webhook.js
 */
const { createHmac } = require('node:crypto');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const autocannon = require('autocannon');
const Redis = require('ioredis');
const { AUTH, median, startServer, stopServer, verdict } = require('../support');

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const TARGET = 0.5;

const WORKFLOW = {
  name: 'Webhook bench',
  nodes: [
    { id: 'trigger', type: 'webhook', settings: { signature: 'tensorify', responseMode: 'ack' } },
    { id: 'out', type: 'return', settings: { value: { event: '{{ trigger.body.event }}' } } },
  ],
  edges: [{ source: 'trigger', target: 'out' }],
};

function load(options) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: SECONDS, pipelining: 1, ...options }, (error, result) => {
      if (error) return reject(error);
      if (result.non2xx > 0 || result.errors > 0) return reject(new Error(`${options.url}: non-2xx ${result.non2xx}, errors ${result.errors}`));
      resolve(result);
    });
  });
}

/** CPU time (user + system) the process has used so far, in microseconds. */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

async function measured(pid, options) {
  const before = cpuMicros(pid);
  const result = await load(options);
  return { rate: result.requests.average, cpu: (cpuMicros(pid) - before) / result.requests.total, p99: result.latency.p99 };
}

async function main() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await redis.flushdb();
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-bench-webhook-'));
  const { child, api } = await startServer(dataDir, {
    TENSORIFY_REDIS_URL: REDIS_URL,
    TENSORIFY_PROCESS_EXECUTIONS: 'false',
    TENSORIFY_WORKER_STALL_SECONDS: '3600', // the reconciler stays out of the measured rounds (see above)
  });
  try {
    const created = await fetch(`${api}/v1/workflows`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify(WORKFLOW),
    });
    if (created.status !== 201) throw new Error(`create workflow: ${created.status} ${await created.text()}`);
    const { id, webhook } = await created.json();
    const body = JSON.stringify({ event: 'push', ref: 'refs/heads/main', commits: [{ id: 'f1e2d3', message: 'Bench' }] });
    const t = Math.floor(Date.now() / 1000);
    const signature = `t=${t},v1=${createHmac('sha256', webhook.secret).update(`${t}.${body}`).digest('hex')}`;
    const hook = { url: webhook.url, method: 'POST', body, headers: { 'Content-Type': 'application/json', 'Tensorify-Signature': signature } };
    const read = { url: `${api}/v1/workflows/${id}`, headers: AUTH };
    const execute = {
      url: `${api}/v1/workflows/${id}/execute`,
      method: 'POST',
      body: JSON.stringify({ inputs: { body: JSON.parse(body) } }),
      headers: { ...AUTH, 'Content-Type': 'application/json' },
    };

    const first = await fetch(hook.url, hook);
    if (first.status !== 202) throw new Error(`a signed delivery answered ${first.status}: ${await first.text()}`);
    await load({ ...read, duration: 2 }); // warm-up of both paths
    await load({ ...hook, duration: 2 });

    const hooks = [];
    const reads = [];
    const executes = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const h = await measured(child.pid, hook);
      const r = await measured(child.pid, read);
      const e = await measured(child.pid, execute);
      hooks.push(h);
      reads.push(r);
      executes.push(e);
      console.log(
        `round ${round}: webhook ${h.rate.toFixed(0)} req/s (p99 ${h.p99} ms, ${h.cpu.toFixed(0)} µs CPU/request), ` +
          `GET /v1/workflows/:id ${r.rate.toFixed(0)} req/s (${r.cpu.toFixed(0)} µs), POST …/execute ${e.rate.toFixed(0)} req/s (${e.cpu.toFixed(0)} µs)`,
      );
    }
    const hookRate = median(hooks.map((h) => h.rate));
    const readRate = median(reads.map((r) => r.rate));
    const ratio = hookRate / readRate;
    const hookCpu = median(hooks.map((h) => h.cpu));
    const readCpu = median(reads.map((r) => r.cpu));
    console.log('');
    console.log(
      `Signed webhook (ack) vs authenticated GET /v1/workflows/:id, ${CONNECTIONS} connections, ${ROUNDS} x ${SECONDS} s, API-only instance, loopback`,
    );
    console.log(`  webhook deliveries   ${hookRate.toFixed(0)} req/s (median; each stores and queues an execution)`);
    console.log(`  GET workflow         ${readRate.toFixed(0)} req/s (median)`);
    console.log(`  ratio                ${ratio.toFixed(2)}   (target >= ${TARGET}: ${verdict(ratio >= TARGET)})`);
    const executeRate = median(executes.map((e) => e.rate));
    console.log(
      `  POST …/execute       ${executeRate.toFixed(0)} req/s (median; the same work for an API key): webhook / execute = ${(hookRate / executeRate).toFixed(2)}`,
    );
    console.log(
      `  CPU per request      webhook ${hookCpu.toFixed(0)} µs, GET ${readCpu.toFixed(0)} µs (ratio ${(readCpu / hookCpu).toFixed(2)}; steadier than req/s on a shared machine)`,
    );
  } finally {
    await stopServer(child);
    rmSync(dataDir, { recursive: true, force: true });
    await redis.flushdb().catch(() => undefined);
    redis.disconnect();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
