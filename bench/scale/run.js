'use strict';
/**
 * bench/scale: the distributed mode as real processes on one machine, in one run:
 *
 *   executions/s  the `hello` example (a short program) with 1 worker and with N workers behind one
 *                 API-only instance. A batch POSTs BENCH_EXECUTIONS executions (BENCH_IN_FLIGHT
 *                 POSTs at a time) and lasts from the first POST to the last `completedAt`; the
 *                 batch's end is found by polling GET /v1/executions?workflowId=…&status=queued, then
 *                 …&status=running (limit=1: two cheap queries), every BENCH_POLL_MS. Every execution
 *                 must be `completed` with the expected output. An untimed warm-up batch precedes each
 *                 timed one, on the same workers (their executor's first run probes the interpreter).
 *   requests/s    autocannon on GET /v1/workflows/:id (authenticated, enterprise key) against 1
 *                 instance, then against M instances. The client is always M autocannon processes
 *                 with the connections split between them (all on instance 1, or one per instance),
 *                 started together; requests/s is their sum. A 3 s warm-up on every instance first.
 *
 * Rounds run the two setups in ABBA order (1, N, N, 1, …) so that load on the machine falls on both
 * alike; medians are printed, and the ratios N/1. Parameters (flag, env, default):
 *
 *   --workers N       BENCH_WORKERS      2     workers of the second setup
 *   --instances M     BENCH_INSTANCES    2     API instances of the second setup
 *   --concurrency C   BENCH_CONCURRENCY  os.availableParallelism()   TENSORIFY_EXECUTION_CONCURRENCY per worker
 *   --executions E    BENCH_EXECUTIONS   200   executions per timed batch
 *   --seconds S       BENCH_SECONDS      10    length of one HTTP load
 *   --connections K   BENCH_CONNECTIONS  50    HTTP connections in all, split between the M clients
 *   --rounds R        BENCH_ROUNDS       2     rounds of (1, N) (executions) and of (1, M) (HTTP)
 *                     BENCH_IN_FLIGHT    32    POSTs in flight while a batch is submitted
 *                     BENCH_POLL_MS      20
 *                     BENCH_POSTGRES_URL postgres://postgres@127.0.0.1:5432/test (admin URL; a scratch
 *                                        database is created there and dropped at the end)
 *
 * Services: PostgreSQL at BENCH_POSTGRES_URL, and `redis-server` on PATH (a private one is started
 * on a free loopback port, without persistence; the machine's Redis is not used).
 *
 *   npm run bench:scale                          (builds first)
 *   node bench/scale/run.js --workers 8 --instances 4 --connections 200
 */
const { fork, spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { existsSync, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { createServer } = require('node:net');
const { availableParallelism, cpus, tmpdir } = require('node:os');
const { join } = require('node:path');
const { Client } = require('pg');
const { BIN, KEY, ROOT, call, flag, median, sleep, startServer, stopServer, table } = require('../support');

// ---- parameters ----------------------------------------------------------------------------

function parameter(name, variable, fallback, min = 1) {
  const raw = flag(name) ?? process.env[variable];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`bench/scale: ${name} (${variable}) must be an integer >= ${min}, not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const CORES = availableParallelism();
const WORKERS = parameter('--workers', 'BENCH_WORKERS', 2);
const INSTANCES = parameter('--instances', 'BENCH_INSTANCES', 2);
const CONCURRENCY = parameter('--concurrency', 'BENCH_CONCURRENCY', CORES);
const EXECUTIONS = parameter('--executions', 'BENCH_EXECUTIONS', 200);
const SECONDS = parameter('--seconds', 'BENCH_SECONDS', 10);
const CONNECTIONS = parameter('--connections', 'BENCH_CONNECTIONS', 50);
const ROUNDS = parameter('--rounds', 'BENCH_ROUNDS', 2);
const IN_FLIGHT = parameter('--in-flight', 'BENCH_IN_FLIGHT', 32);
const POLL_MS = parameter('--poll-ms', 'BENCH_POLL_MS', 20);
const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL || process.env.TENSORIFY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
const EXAMPLES = process.env.BENCH_EXAMPLES_DIR ?? join(ROOT, '..', 'shared', 'examples');
const WARMUP_SECONDS = 3;
if (CONNECTIONS < INSTANCES) {
  console.error(`bench/scale: --connections (${CONNECTIONS}) must be at least --instances (${INSTANCES})`);
  process.exit(2);
}

// ---- what this run started, and its cleanup ------------------------------------------------

const children = new Set(); // every child process still to stop
const dataDirs = [];
let redis;
let database; // { name }
let cleaning;

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function adminQuery(sql) {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Stops every process this run started, drops the scratch database, removes the data dirs. Idempotent. */
function cleanup(hard) {
  cleaning ??= (async () => {
    const running = [...children];
    if (hard) running.forEach((child) => child.kill('SIGKILL'));
    await Promise.all(running.map((child) => stop(child)));
    if (database)
      await adminQuery(`DROP DATABASE IF EXISTS ${database.name} WITH (FORCE)`).catch((error) =>
        console.error(`could not drop ${database.name}: ${error.message}`),
      );
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}

/** SIGTERM, SIGKILL after 10 s; resolves once the process is gone. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

let interruptedBy;
const interrupted = (signal) => {
  interruptedBy = signal;
  console.error(`\n${signal}: stopping every process, dropping the scratch database…`);
  cleanup(true).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
};
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);
// Last resort (an exit that skipped cleanup): no process outlives the run.
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

// ---- services and processes ----------------------------------------------------------------

function dataDir(kind) {
  const dir = mkdtempSync(join(tmpdir(), `tensorify-bench-scale-${kind}-`));
  dataDirs.push(dir);
  return dir;
}

async function freeLoopbackPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A private redis-server on a free loopback port, without persistence. */
async function startRedis() {
  const port = await freeLoopbackPort();
  const dir = dataDir('redis');
  const child = track(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server not ready within 10 s:\n${out}`)), 10_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (error) => reject(new Error(`cannot start redis-server: ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)));
  });
  child.stdout.resume();
  return { child, url: `redis://127.0.0.1:${port}` };
}

/** The environment every server and worker gets (besides its own data dir). */
let sharedEnv;

async function startInstance() {
  const server = await startServer(dataDir('api'), { ...sharedEnv, TENSORIFY_PROCESS_EXECUTIONS: 'false' });
  track(server.child);
  return server;
}

/** `bin/tensorify-server.js worker --health-port 0`; resolves once it prints its health URL (it is processing). */
async function startWorker() {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TENSORIFY_')));
  const child = track(
    spawn(process.execPath, [BIN, 'worker', '--health-port', '0'], {
      env: { ...clean, ...sharedEnv, TENSORIFY_DATA_DIR: dataDir('worker'), TENSORIFY_EXECUTION_CONCURRENCY: String(CONCURRENCY) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  child.stdout.resume();
  let err = '';
  child.stderr.on('data', (chunk) => (err = (err + chunk).slice(-20_000)));
  const health = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 20 s:\n${err}`)), 20_000);
    child.stderr.on('data', () => {
      const match = /Health\s+(http:\/\/127\.0\.0\.1:\d+)\/health/.exec(err);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before processing:\n${err}`));
    });
  });
  return { child, health, logs: () => err };
}

/** Executions this worker finished `completed` so far (its /metrics). */
async function completedBy(worker) {
  const text = await (await fetch(`${worker.health}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('tensorify_executions_total{') && line.includes('status="completed"'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

// ---- measuring -----------------------------------------------------------------------------

/** Machine-wide CPU counters from /proc/stat (Linux), to tell how busy the cores were. */
function cpuCounters() {
  if (!existsSync('/proc/stat')) return undefined;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: fields[3] + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) };
}
const busy = (before, after) => (before && after ? 1 - (after.idle - before.idle) / (after.total - before.total) : NaN);
/** The 1-minute load average (Linux), to show what else the machine was doing. */
const loadAverage = () => (existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').split(' ')[0] : 'n/a');
const percent = (fraction) => (Number.isNaN(fraction) ? 'n/a' : `${(fraction * 100).toFixed(0)}%`);

/** Runs `work(i)` for i < count with at most `limit` at once; resolves to the results in order. */
async function pool(count, limit, work) {
  const results = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await work(index);
      }
    }),
  );
  return results;
}

const hello = JSON.parse(readFileSync(join(EXAMPLES, 'hello.json'), 'utf8'));
const helloInputs = JSON.parse(readFileSync(join(EXAMPLES, 'hello.inputs.json'), 'utf8'));
const helloExpected = JSON.stringify(JSON.parse(readFileSync(join(EXAMPLES, 'hello.expected-output.json'), 'utf8')));
let batches = 0;

/**
 * POSTs `count` hello executions (of a workflow of their own) through `api`, waits until none is
 * queued or running, and checks each one. Resolves to { seconds: first POST → last completedAt, busy }.
 */
async function batch(api, count) {
  const { id: workflowId } = await call(api, 'POST', '/v1/workflows', { ...hello, name: `${hello.name} ${++batches}` });
  const cpuBefore = cpuCounters();
  const startedAt = Date.now();
  const ids = await pool(count, IN_FLIGHT, async () => (await call(api, 'POST', `/v1/workflows/${workflowId}/execute`, { inputs: helloInputs })).executionId);
  // Nothing more is queued after the POSTs: once none is queued, then none running, all finished.
  const of = `/v1/executions?workflowId=${workflowId}&limit=1&status=`;
  const deadline = Date.now() + 600_000;
  while ((await call(api, 'GET', `${of}queued`)).executions.length > 0 || (await call(api, 'GET', `${of}running`)).executions.length > 0) {
    if (Date.now() > deadline) throw new Error(`batch ${batches}: executions still queued or running after 10 minutes`);
    await sleep(POLL_MS);
  }
  const cpuAfter = cpuCounters();

  // Every execution: there, completed, with the expected output.
  const listed = [];
  let cursor;
  do {
    const page = await call(api, 'GET', `/v1/executions?workflowId=${workflowId}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    listed.push(...page.executions);
    cursor = page.nextCursor;
  } while (cursor);
  const notCompleted = listed.filter((execution) => execution.status !== 'completed');
  if (listed.length !== count || notCompleted.length > 0 || !ids.every((id) => listed.some((execution) => execution.id === id))) {
    const sample = notCompleted[0] ? await call(api, 'GET', `/v1/executions/${notCompleted[0].id}`) : undefined;
    throw new Error(
      `batch ${batches}: ${listed.length} of ${count} executions listed, ${notCompleted.length} not completed${sample ? `, e.g. ${JSON.stringify({ status: sample.status, error: sample.error })}` : ''}`,
    );
  }
  await pool(ids.length, 16, async (index) => {
    const execution = await call(api, 'GET', `/v1/executions/${ids[index]}`);
    if (JSON.stringify(execution.output) !== helloExpected)
      throw new Error(`execution ${ids[index]}: output ${JSON.stringify(execution.output)}, expected ${helloExpected}`);
  });
  const lastCompleted = Math.max(...listed.map((execution) => Date.parse(execution.completedAt)));
  return { seconds: (lastCompleted - startedAt) / 1000, busy: busy(cpuBefore, cpuAfter) };
}

/** `min–max` of `values` with `digits` decimals: how far the rounds spread (a busy machine spreads them). */
const range = (values, digits) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

/** Splits `total` into `parts` near-equal integers. */
const split = (total, parts) => Array.from({ length: parts }, (_, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0));

/**
 * INSTANCES autocannon processes, CONNECTIONS split between them, client i on targets[i % targets.length],
 * started together for `seconds`; resolves to { rate (sum of requests/s), p50, p99 (worst client), busy }.
 */
async function httpLoad(targets, path, seconds) {
  const shares = split(CONNECTIONS, INSTANCES);
  const clients = shares.map(() => track(fork(join(__dirname, 'load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
  const message = (child) =>
    new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`autocannon process exited with ${code}`)));
    });
  await Promise.all(
    clients.map((child, index) => {
      const ready = message(child);
      child.send({ url: `${targets[index % targets.length]}${path}`, headers: { authorization: `Bearer ${KEY}` }, connections: shares[index], seconds });
      return ready;
    }),
  );
  const cpuBefore = cpuCounters();
  const results = await Promise.all(
    clients.map((child) => {
      const done = message(child);
      child.send('go');
      return done;
    }),
  );
  const cpuAfter = cpuCounters();
  for (const result of results) {
    if (result.error) throw new Error(`autocannon: ${result.error}`);
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`autocannon: ${result.non2xx} non-2xx answers, ${result.errors} errors (${result.timeouts} timeouts)`);
  }
  return {
    rate: results.reduce((sum, result) => sum + result.total / result.duration, 0),
    p50: Math.max(...results.map((result) => result.p50)),
    p99: Math.max(...results.map((result) => result.p99)),
    busy: busy(cpuBefore, cpuAfter),
  };
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  const wallStarted = performance.now();
  const model = cpus()[0]?.model ?? 'unknown CPU';
  const loadBefore = loadAverage();
  console.log(
    `bench/scale on ${CORES} core(s) (${model.trim()}): 1 vs ${WORKERS} worker(s) of ${CONCURRENCY} concurrent executions each; 1 vs ${INSTANCES} API instance(s)`,
  );

  // Services: a scratch PostgreSQL database, a private Redis.
  try {
    await adminQuery('SELECT 1');
  } catch (error) {
    console.error(`bench/scale cannot run: no PostgreSQL at ${POSTGRES_ADMIN_URL} (${error.message}); set BENCH_POSTGRES_URL`);
    process.exit(1);
  }
  database = { name: `tensorify_bench_${randomBytes(6).toString('hex')}` };
  await adminQuery(`CREATE DATABASE ${database.name}`);
  const databaseUrl = new URL(POSTGRES_ADMIN_URL);
  databaseUrl.pathname = `/${database.name}`;
  redis = await startRedis();
  sharedEnv = {
    TENSORIFY_DATABASE_URL: databaseUrl.toString(),
    TENSORIFY_REDIS_URL: redis.url,
    TENSORIFY_BOOTSTRAP_API_KEY: KEY,
    TENSORIFY_LOG_LEVEL: 'warn',
    // The bootstrap workspace is `enterprise`: lift its request and concurrent-execution limits to their maxima.
    TENSORIFY_ENTERPRISE_RATE_LIMIT: '100000000',
    TENSORIFY_ENTERPRISE_CONCURRENT_EXECUTIONS: '100000',
  };

  // The first instance migrates the database and bootstraps the key; the others start after it.
  const instances = [await startInstance()];
  for (let index = 1; index < INSTANCES; index++) instances.push(await startInstance());
  const api = instances[0].api;
  console.log(`services: PostgreSQL database ${database.name}, redis-server ${redis.url}; ${INSTANCES} API-only instance(s) up`);

  // ---- executions/s ----
  const workers = [];
  const setWorkers = async (count) => {
    while (workers.length < count) workers.push(...(await Promise.all(Array.from({ length: count - workers.length }, startWorker))));
    while (workers.length > count) await stop(workers.pop().child);
  };
  const execRuns = { 1: [], [WORKERS]: [] };
  const execBusy = { 1: [], [WORKERS]: [] };
  const perWorker = { 1: [], [WORKERS]: [] };
  const order = [];
  for (let round = 0; round < ROUNDS; round++) order.push(...(round % 2 === 0 ? [1, WORKERS] : [WORKERS, 1]));
  const warmup = (count) => Math.max(8, 2 * count * CONCURRENCY);
  for (const count of order) {
    await setWorkers(count);
    await batch(api, warmup(count)); // untimed: each worker's first runs
    const before = await Promise.all(workers.map(completedBy));
    const { seconds, busy: fraction } = await batch(api, EXECUTIONS);
    const after = await Promise.all(workers.map(completedBy));
    execRuns[count].push(EXECUTIONS / seconds);
    execBusy[count].push(fraction);
    perWorker[count] = after.map((value, index) => value - before[index]);
    console.log(
      `  ${count} worker(s): ${EXECUTIONS} executions in ${seconds.toFixed(2)} s = ${(EXECUTIONS / seconds).toFixed(1)}/s (runs per worker ${perWorker[count].join('/')}, cores ${percent(fraction)} busy)`,
    );
  }
  await setWorkers(0); // idle during the HTTP load

  // ---- requests/s ----
  const { id: workflowId } = await call(api, 'POST', '/v1/workflows', hello);
  const path = `/v1/workflows/${workflowId}`;
  const urls = instances.map((instance) => instance.api);
  await httpLoad(urls, path, WARMUP_SECONDS); // warm-up of every instance
  const httpRuns = { 1: [], [INSTANCES]: [] };
  const httpOrder = [];
  for (let round = 0; round < ROUNDS; round++) httpOrder.push(...(round % 2 === 0 ? [1, INSTANCES] : [INSTANCES, 1]));
  for (const count of httpOrder) {
    const result = await httpLoad(urls.slice(0, count), path, SECONDS);
    httpRuns[count].push(result);
    console.log(
      `  ${count} instance(s): ${result.rate.toFixed(0)} requests/s (p50 ${result.p50} ms, p99 ${result.p99} ms, cores ${percent(result.busy)} busy)`,
    );
  }

  // ---- report ----
  const exec1 = median(execRuns[1]);
  const execN = median(execRuns[WORKERS]);
  console.log(
    `\nhello, ${EXECUTIONS} executions per batch (${IN_FLIGHT} POSTs in flight, one API instance), first POST → last completed; median of ${ROUNDS}:`,
  );
  table(
    ['setup', 'executions/s', 'min–max', 'concurrent runs', 'cores busy', 'runs per worker (last batch)'],
    [
      ['1 worker', exec1.toFixed(1), range(execRuns[1], 1), CONCURRENCY, percent(median(execBusy[1])), perWorker[1].join('/')],
      [
        `${WORKERS} workers`,
        execN.toFixed(1),
        range(execRuns[WORKERS], 1),
        WORKERS * CONCURRENCY,
        percent(median(execBusy[WORKERS])),
        perWorker[WORKERS].join('/'),
      ],
      [`ratio ${WORKERS}/1`, (execN / exec1).toFixed(2), '', '', '', ''],
    ],
  );
  const rate = (count, key) => median(httpRuns[count].map((result) => result[key]));
  const http1 = rate(1, 'rate');
  const httpN = rate(INSTANCES, 'rate');
  console.log(`\nGET /v1/workflows/:id, ${SECONDS} s, ${CONNECTIONS} connections from ${INSTANCES} autocannon process(es); median of ${ROUNDS}:`);
  table(
    ['setup', 'requests/s', 'min–max', 'p50 ms', 'p99 ms', 'cores busy'],
    [
      [
        '1 instance',
        http1.toFixed(0),
        range(
          httpRuns[1].map((r) => r.rate),
          0,
        ),
        rate(1, 'p50'),
        rate(1, 'p99'),
        percent(rate(1, 'busy')),
      ],
      [
        `${INSTANCES} instances`,
        httpN.toFixed(0),
        range(
          httpRuns[INSTANCES].map((r) => r.rate),
          0,
        ),
        rate(INSTANCES, 'p50'),
        rate(INSTANCES, 'p99'),
        percent(rate(INSTANCES, 'busy')),
      ],
      [`ratio ${INSTANCES}/1`, (httpN / http1).toFixed(2), '', '', '', ''],
    ],
  );

  const execProcesses = WORKERS * CONCURRENCY;
  console.log(
    `\nThis machine has ${CORES} core(s), shared by everything above: the API instance(s), the workers and the Python programs they start, ` +
      `PostgreSQL, Redis, the autocannon processes and this script ("cores busy" is machine-wide: it counts other programs too). ` +
      `Load average (1 min) before the run ${loadBefore}, after ${loadAverage()}: one well above 0 before the run means other programs competed for the cores.`,
  );
  if (CORES < Math.max(WORKERS + 1, INSTANCES * 2)) {
    console.log(
      `With ${CORES} core(s) the extra worker(s)/instance(s) bring no CPU of their own (the cores are nearly all busy in the 1-process setups too), ` +
        `so ratios near 1.0 are the expected, honest result here, not a measure of how the distributed mode scales. Some gain above 1.0 can still ` +
        `come from one Node process running its JavaScript on one core (a single instance cannot use two) and, on a shared machine, from more processes ` +
        `winning a larger share of the cores from other programs. ` +
        `Rerun on a machine with more cores (e.g. --workers ${WORKERS} --instances ${INSTANCES} on ${Math.max(8, execProcesses + 2)}+ cores) to see that.`,
    );
  } else {
    console.log(
      `A ratio well below ${WORKERS}/${INSTANCES} with cores left idle points at a shared bottleneck (PostgreSQL, Redis, the single API instance of the executions phase, or the load generators).`,
    );
  }
  console.log(`wall time ${((performance.now() - wallStarted) / 1000).toFixed(0)} s`);
}

main()
  .then(
    () => cleanup(false),
    async (error) => {
      if (interruptedBy) return; // the signal handler cleans up and exits
      console.error(error.stack ?? error.message);
      await cleanup(true);
      process.exitCode = 1;
    },
  )
  .catch((error) => {
    console.error(`cleanup: ${error.message}`);
    process.exitCode = 1;
  });
