'use strict';
/**
 * bench/api: the hot path of the API against a bare Node http server returning the same bytes,
 * measured in one run on loopback with autocannon, in interleaved rounds (ours, bare, ours, bare…)
 * so that a machine busy with something else slows both alike. Two cases, on an enterprise key:
 *
 *   GET /v1/workflows/:id                 ratio ours / bare, target >= 0.5
 *   GET /v1/workflows (20 stored)         ratio ours / bare, target >= 0.35
 *
 * It also prints the CPU time per request of both servers (steadier than req/s on a shared
 * machine), the server's RSS after the first 20,000 requests, after the rounds and, with
 * `--rss-requests N`, after N more requests (the target: < 160 MB after 1,000,000), and the time
 * from process start to the first 200 of /health (target < 2 s). The server runs as `npm start`
 * does (`node` with the flags of package.json's `start:prod`, e.g. --max-semi-space-size), at the
 * default log level (one JSON line per request).
 *
 *   npm run bench:api                                    (builds first; 3 rounds of 8 s per case)
 *   npm run bench:api -- --rounds 5 --seconds 10 --rss-requests 1000000
 *   BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS (50), BENCH_RSS_REQUESTS work as the flags do;
 *   BENCH_EXAMPLES_DIR is the folder of the contract's example workflows (default ../shared/examples).
 */
const { spawn } = require('node:child_process');
const { existsSync, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const autocannon = require('autocannon');
const { flag, median } = require('../support');

const ROOT = join(__dirname, '..', '..');
const SECONDS = Number(flag('--seconds') ?? process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(flag('--connections') ?? process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(flag('--rounds') ?? process.env.BENCH_ROUNDS ?? 3);
const RSS_REQUESTS = Number(flag('--rss-requests') ?? process.env.BENCH_RSS_REQUESTS ?? 0);
const EXAMPLES = resolve(process.env.BENCH_EXAMPLES_DIR ?? join(ROOT, '..', 'shared', 'examples'));
const STORED_WORKFLOWS = 20;
const KEY = 'tfy_BenchmarkKey0123456789abcdefghijklmnopqrstu';
const TARGETS = { one: 0.5, list: 0.35, rssMegabytes: 160, startupMs: 2000 };
/** The node flags `npm start` gives the server (package.json's `start:prod`: `node <flags> dist/main.js`). */
const NODE_FLAGS = /\bnode((?:\s+--\S+)*)\s+dist\/main\.js/.exec(require('../../package.json').scripts['start:prod'])[1].trim().split(/\s+/).filter(Boolean);

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

/** autocannon for `seconds`, or for `amount` requests; any non-2xx or error fails the benchmark. */
function load(url, headers, { seconds = SECONDS, amount } = {}) {
  return new Promise((resolve, reject) => {
    const options = { url, headers, connections: CONNECTIONS, pipelining: 1, ...(amount ? { amount } : { duration: seconds }) };
    autocannon(options, (error, result) => {
      if (error) return reject(error);
      if (result.non2xx > 0 || result.errors > 0) return reject(new Error(`${url}: non-2xx ${result.non2xx}, errors ${result.errors}`));
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
  return { rate: result.requests.average, p99: result.latency.p99, requests: result.requests.total, cpu: (cpuMicros(pid) - before) / result.requests.total };
}

function rssMegabytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

const verdict = (ok) => (ok ? 'ok' : 'MISSED');
const int = (value) => Math.round(value).toLocaleString('en-US');

async function main() {
  const helloFile = join(EXAMPLES, 'hello.json');
  if (!existsSync(helloFile)) throw new Error(`${helloFile} not found: set BENCH_EXAMPLES_DIR to the folder of the example workflows`);
  const hello = readFileSync(helloFile, 'utf8');
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-bench-'));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TENSORIFY_')));
  const env = {
    ...clean,
    TENSORIFY_DATA_DIR: dataDir,
    TENSORIFY_HOST: '127.0.0.1',
    TENSORIFY_PORT: '0',
    TENSORIFY_BOOTSTRAP_API_KEY: KEY,
    TENSORIFY_ENTERPRISE_RATE_LIMIT: '100000000',
  };
  const startedAt = performance.now();
  const server = spawn(process.execPath, [...NODE_FLAGS, join(ROOT, 'dist', 'main.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let bare;
  try {
    const [, port] = await waitForLine(server, /listening on [^\s]+:(\d+)/, 60_000); // a busy machine boots slowly
    const api = `http://127.0.0.1:${port}`;
    const startupMs = await firstOk(`${api}/health`, startedAt);
    const headers = { Authorization: `Bearer ${KEY}` };

    // The contract's hello example, stored STORED_WORKFLOWS times: the list reads one page of all of them.
    let id;
    for (let i = 0; i < STORED_WORKFLOWS; i++) {
      const created = await fetch(`${api}/v1/workflows`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: hello });
      if (created.status !== 201) throw new Error(`create workflow: ${created.status} ${await created.text()}`);
      ({ id } = await created.json());
    }
    const urls = { one: `${api}/v1/workflows/${id}`, list: `${api}/v1/workflows` };
    const bytes = Buffer.from(await (await fetch(urls.one, { headers })).arrayBuffer());
    const listBytes = Buffer.from(await (await fetch(urls.list, { headers })).arrayBuffer());
    if (JSON.parse(listBytes).workflows.length !== STORED_WORKFLOWS) throw new Error(`the list has not ${STORED_WORKFLOWS} workflows: ${listBytes}`);

    bare = spawn(process.execPath, [join(__dirname, 'baseline-server.js')], {
      env: { ...process.env, BASELINE_BODY: bytes.toString('base64'), BASELINE_LIST_BODY: listBytes.toString('base64') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [bareLine] = await waitForLine(bare, /^\d+\n/m, 10_000);
    const bareUrls = { one: `http://127.0.0.1:${bareLine.trim()}/one`, list: `http://127.0.0.1:${bareLine.trim()}/list` };

    // Warm-up: the first 20,000 requests (JIT, caches), then the RSS the old target was about.
    let served = (await load(urls.one, headers, { amount: 15_000 })).requests.total;
    served += (await load(urls.list, headers, { amount: 5_000 })).requests.total;
    const rssAfterWarmUp = rssMegabytes(server.pid);
    await load(bareUrls.one, {}, { seconds: 1 });
    await load(bareUrls.list, {}, { seconds: 1 });

    const runs = { one: { ours: [], bare: [] }, list: { ours: [], bare: [] } };
    for (let round = 1; round <= ROUNDS; round++) {
      const line = [];
      for (const name of ['one', 'list']) {
        const ours = await measured(urls[name], headers, server.pid);
        const base = await measured(bareUrls[name], {}, bare.pid);
        served += ours.requests;
        runs[name].ours.push(ours);
        runs[name].bare.push(base);
        line.push(
          `${name === 'one' ? 'GET :id' : 'list'} ${int(ours.rate)} vs ${int(base.rate)} req/s (${(ours.rate / base.rate).toFixed(2)}; ${ours.cpu.toFixed(0)} vs ${base.cpu.toFixed(0)} µs CPU)`,
        );
      }
      console.log(`round ${round}: ${line.join(', ')}`);
    }
    const rssAfterRounds = rssMegabytes(server.pid);
    const servedAfterRounds = served;
    let rssAfterMany;
    if (RSS_REQUESTS > 0) {
      // Mostly single reads with a list every fifth batch, as a client polling its workflows would.
      const batch = 100_000;
      for (let done = 0; done < RSS_REQUESTS; done += batch) {
        const amount = Math.min(batch, RSS_REQUESTS - done);
        served += (await load((done / batch) % 5 === 4 ? urls.list : urls.one, headers, { amount })).requests.total;
      }
      rssAfterMany = rssMegabytes(server.pid);
    }

    console.log('');
    console.log(`enterprise key, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s per case, loopback; medians`);
    for (const [name, title] of [
      ['one', 'GET /v1/workflows/:id'],
      ['list', `GET /v1/workflows (${STORED_WORKFLOWS} stored)`],
    ]) {
      const ours = median(runs[name].ours.map((r) => r.rate));
      const base = median(runs[name].bare.map((r) => r.rate));
      const ratio = ours / base;
      const ourCpu = median(runs[name].ours.map((r) => r.cpu));
      const bareCpu = median(runs[name].bare.map((r) => r.cpu));
      console.log(`  ${title}`);
      console.log(`    tensorify-server  ${int(ours)} req/s, ${ourCpu.toFixed(0)} µs CPU/request, p99 ${median(runs[name].ours.map((r) => r.p99))} ms`);
      console.log(`    bare node http    ${int(base)} req/s, ${bareCpu.toFixed(0)} µs CPU/request`);
      console.log(
        `    ratio             ${ratio.toFixed(2)}   (target >= ${TARGETS[name]}: ${verdict(ratio >= TARGETS[name])}); by CPU per request ${(bareCpu / ourCpu).toFixed(2)}`,
      );
    }
    console.log(
      `  server RSS          ${rssAfterWarmUp.toFixed(0)} MB after the first 20,000 requests, ${rssAfterRounds.toFixed(0)} MB after ${int(servedAfterRounds)}`,
    );
    if (rssAfterMany !== undefined) {
      console.log(
        `                      ${rssAfterMany.toFixed(0)} MB after ${int(served)} requests   (target < ${TARGETS.rssMegabytes} MB after 1,000,000: ${verdict(rssAfterMany < TARGETS.rssMegabytes)})`,
      );
    } else {
      console.log(`                      (--rss-requests 1000000 for the RSS target: < ${TARGETS.rssMegabytes} MB after 1,000,000 requests)`);
    }
    console.log(`  start to first 200 of /health   ${(startupMs / 1000).toFixed(2)} s   (target < 2 s: ${verdict(startupMs < TARGETS.startupMs)})`);
  } finally {
    bare?.kill('SIGTERM');
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode === null ? server.once('exit', r) : r()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
