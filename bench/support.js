'use strict';
/**
 * What the benchmarks share: statistics and printing, the built server started as a real process
 * (bin/tensorify-server.js start, on a loopback port, a fresh data dir and a bootstrap key), a small
 * API client, and a program run directly as an executor would run it.
 */
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'tensorify-server.js');
/** How long startServer waits for the server to listen. */
const START_TIMEOUT_MS = 90_000;
const KEY = 'tfy_BenchmarkKey0123456789abcdefghijklmnopqrstu';
const AUTH = { Authorization: `Bearer ${KEY}` };
const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'timed_out']);
/** Node flags for the server under test, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it (NODE_OPTIONS refuses --cpu-prof). */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

// ---- parameters ----------------------------------------------------------------------------

/** The value after `name` on the command line (`--rounds 7` or `--rounds=7`), or undefined. */
function flag(name) {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

// ---- statistics and printing ---------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sorted = (values) => [...values].sort((a, b) => a - b);
const median = (values) => {
  const s = sorted(values);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (values, p) => sorted(values)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)];
const ms = (value) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1));
const verdict = (ok) => (ok ? 'PASS' : 'MISSED');

function table(header, rows) {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => String(row[column]).length)));
  const line = (cells) =>
    '  ' + cells.map((cell, column) => (column === 0 ? String(cell).padEnd(widths[column]) : String(cell).padStart(widths[column]))).join('  ');
  console.log(line(header));
  rows.forEach((row) => console.log(line(row)));
}

// ---- the server ----------------------------------------------------------------------------

/** Starts the built server on a loopback port with `env` over a clean base; resolves to { child, api, logs }. */
async function startServer(dataDir, env = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TENSORIFY_')));
  const child = spawn(process.execPath, [...NODE_ARGS, BIN, 'start'], {
    env: {
      ...clean,
      TENSORIFY_DATA_DIR: dataDir,
      TENSORIFY_HOST: '127.0.0.1',
      TENSORIFY_PORT: '0',
      TENSORIFY_BOOTSTRAP_API_KEY: KEY,
      TENSORIFY_LOG_LEVEL: 'warn',
      TENSORIFY_ENTERPRISE_RATE_LIMIT: '100000000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out = (out + chunk).slice(-20_000)));
  child.stderr.on('data', (chunk) => (err = (err + chunk).slice(-20_000)));
  const port = await new Promise((resolve, reject) => {
    // A boot takes 2-3 s on an idle machine but over 15 s on this shared one under load: waiting is not what is measured.
    const timer = setTimeout(() => reject(new Error(`server did not start within ${START_TIMEOUT_MS / 1000} s:\n${err}`)), START_TIMEOUT_MS);
    child.stderr.on('data', () => {
      const match = /listening on [^\s]+:(\d+)/.exec(err);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${err}`));
    });
  });
  return { child, api: `http://127.0.0.1:${port}`, logs: () => out + err };
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---- the API client ------------------------------------------------------------------------

async function call(api, method, path, body) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: body === undefined ? AUTH : { ...AUTH, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** Polls GET /v1/executions/:id every `everyMs` until a terminal status; resolves to { execution, polls }. */
async function pollExecution(api, executionId, everyMs) {
  for (let polls = 1; ; polls++) {
    const execution = await call(api, 'GET', `/v1/executions/${executionId}`);
    if (TERMINAL.has(execution.status)) return { execution, polls };
    await sleep(everyMs);
  }
}

/** POSTs an execution (`body`: inputs, executor…) and polls it to its end; resolves to { ms, execution, polls }. */
async function executeAndWait(api, workflowId, body, everyMs) {
  const started = performance.now();
  const { executionId } = await call(api, 'POST', `/v1/workflows/${workflowId}/execute`, body);
  const { execution, polls } = await pollExecution(api, executionId, everyMs);
  return { ms: performance.now() - started, execution, polls };
}

// ---- direct runs ---------------------------------------------------------------------------

/** Runs `python main.py --inputs inputs.json` in `dir` with `env`; resolves to { ms, stdout, output (its last line as JSON, if it is) }. */
function runDirect(python, dir, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(python, ['main.py', '--inputs', 'inputs.json'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const elapsed = performance.now() - started;
      if (code !== 0) return reject(new Error(`${python} main.py exited with ${code}:\n${err.slice(-4000)}`));
      let output;
      try {
        output = JSON.parse(out.trim().split('\n').pop());
      } catch {
        output = undefined;
      }
      resolve({ ms: elapsed, stdout: out, output });
    });
  });
}

module.exports = {
  ROOT,
  BIN,
  KEY,
  AUTH,
  TERMINAL,
  flag,
  sleep,
  sorted,
  median,
  percentile,
  ms,
  verdict,
  table,
  startServer,
  stopServer,
  call,
  pollExecution,
  executeAndWait,
  runDirect,
};
