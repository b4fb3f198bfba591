'use strict';
/**
 * bench/api: authenticated GET /v1/workflows/:id on an enterprise key against a bare Node http
 * server returning the same bytes, measured in one run on loopback. Prints requests/s of both and
 * their ratio (target ≥ 0.4), the server's RSS after the load (target < 200 MB after ≥ 20,000
 * requests), the time from process start to the first 200 of /health (target < 2 s), and the
 * CPU time per request of both servers (steadier than req/s when the machine is shared).
 *
 *   npm run bench:api            (builds first)
 *   BENCH_SECONDS=10 BENCH_CONNECTIONS=50 BENCH_ROUNDS=3 node bench/api/run.js
 */
const { spawn } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const autocannon = require('autocannon');

const ROOT = join(__dirname, '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEY = 'tfy_BenchmarkKey0123456789abcdefghijklmnopqrstu';

function waitForLine(child, pattern, timeoutMs) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${text}`)), timeoutMs);
    const onData = (chunk) => {
      text += chunk;
      const match = pattern.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  });
}

async function firstOk(url, startedAt, timeoutMs = 20_000) {
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return performance.now() - startedAt;
    } catch {
      // not listening yet
    }
    if (performance.now() - startedAt > timeoutMs) throw new Error(`${url} not 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function load(url, headers, seconds = SECONDS) {
  return new Promise((resolve, reject) => {
    autocannon({ url, headers, connections: CONNECTIONS, duration: seconds, pipelining: 1 }, (error, result) => {
      if (error) return reject(error);
      if (result.non2xx > 0 || result.errors > 0) return reject(new Error(`non-2xx ${result.non2xx}, errors ${result.errors}`));
      resolve(result);
    });
  });
}

/** CPU time (user + system, all threads) the process has used so far, in microseconds. */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

/** Runs the load and also returns the server's CPU microseconds per request during it. */
async function measured(url, headers, pid) {
  const before = cpuMicros(pid);
  const result = await load(url, headers);
  return { result, cpuPerRequest: (cpuMicros(pid) - before) / result.requests.total };
}

function rssMegabytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-bench-'));
  const env = {
    ...process.env,
    TENSORIFY_DATA_DIR: dataDir,
    TENSORIFY_HOST: '127.0.0.1',
    TENSORIFY_PORT: '0',
    TENSORIFY_BOOTSTRAP_API_KEY: KEY,
    TENSORIFY_ENTERPRISE_RATE_LIMIT: '100000000',
  };
  const startedAt = performance.now();
  const server = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const [, port] = await waitForLine(server, /listening on [^\s]+:(\d+)/, 20_000);
    const api = `http://127.0.0.1:${port}`;
    const startupMs = await firstOk(`${api}/health`, startedAt);
    const headers = { Authorization: `Bearer ${KEY}` };

    // The contract's hello example: the workflow the benchmark reads back.
    const hello = readFileSync(join(ROOT, '..', 'shared', 'examples', 'hello.json'), 'utf8');
    const created = await fetch(`${api}/v1/workflows`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: hello });
    if (created.status !== 201) throw new Error(`create workflow: ${created.status} ${await created.text()}`);
    const { id } = await created.json();
    const bytes = Buffer.from(await (await fetch(`${api}/v1/workflows/${id}`, { headers })).arrayBuffer());

    const bare = spawn(process.execPath, [join(__dirname, 'baseline-server.js')], {
      env: { ...process.env, BASELINE_BODY: bytes.toString('base64') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [bareLine] = await waitForLine(bare, /^\d+\n/m, 10_000);
    const bareUrl = `http://127.0.0.1:${bareLine.trim()}/`;

    const rssAfter20k = await new Promise((resolve, reject) =>
      autocannon({ url: `${api}/v1/workflows/${id}`, headers, connections: CONNECTIONS, amount: 20_000 }, (error, result) =>
        error || result.non2xx > 0 ? reject(error ?? new Error(`non-2xx ${result.non2xx}`)) : resolve(rssMegabytes(server.pid)),
      ),
    );
    await load(bareUrl, {}, 2); // warm-up of the baseline
    const serverRates = [];
    const bareRates = [];
    const serverCpu = [];
    const bareCpu = [];
    let serverRequests = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const { result: s, cpuPerRequest: sCpu } = await measured(`${api}/v1/workflows/${id}`, headers, server.pid);
      const { result: b, cpuPerRequest: bCpu } = await measured(bareUrl, {}, bare.pid);
      serverRequests += s.requests.total;
      serverRates.push(s.requests.average);
      bareRates.push(b.requests.average);
      serverCpu.push(sCpu);
      bareCpu.push(bCpu);
      console.log(
        `round ${round}: tensorify ${s.requests.average.toFixed(0)} req/s (p99 ${s.latency.p99} ms, ${sCpu.toFixed(0)} µs CPU/request), ` +
          `bare node ${b.requests.average.toFixed(0)} req/s (${bCpu.toFixed(0)} µs CPU/request)`,
      );
    }
    const rss = rssMegabytes(server.pid);
    bare.kill('SIGTERM');

    const ratio = median(serverRates) / median(bareRates);
    const verdict = (ok) => (ok ? 'ok' : 'MISSED');
    console.log('');
    console.log(`GET /v1/workflows/:id, enterprise key, ${CONNECTIONS} connections, ${ROUNDS} x ${SECONDS} s, loopback`);
    console.log(`  tensorify-server   ${median(serverRates).toFixed(0)} req/s (median)`);
    console.log(`  bare node http     ${median(bareRates).toFixed(0)} req/s (median)`);
    console.log(`  ratio              ${ratio.toFixed(2)}   (target >= 0.40: ${verdict(ratio >= 0.4)})`);
    console.log(
      `  CPU per request    tensorify ${median(serverCpu).toFixed(0)} µs, bare node ${median(bareCpu).toFixed(0)} µs (ratio ${(median(bareCpu) / median(serverCpu)).toFixed(2)}; steadier than req/s on a shared machine)`,
    );
    console.log(`  server RSS         ${rssAfter20k.toFixed(0)} MB after the first 20000 requests   (target < 200 MB: ${verdict(rssAfter20k < 200)})`);
    console.log(`                     ${rss.toFixed(0)} MB after ${serverRequests + 20000} requests`);
    console.log(`  start to first 200 of /health   ${(startupMs / 1000).toFixed(2)} s   (target < 2 s: ${verdict(startupMs < 2000)})`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode === null ? server.once('exit', r) : r()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
