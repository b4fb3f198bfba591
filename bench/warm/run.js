'use strict';
/**
 * bench/warm: warm executions against cold ones and against running the export by hand, in one run.
 *
 * Two built servers run as real processes: one with the local executor's warm mode (its default),
 * one with TENSORIFY_LOCAL_WARM=false (every run a cold start). Both share a venv cache that
 * outlives the run (BENCH_VENV_DIR, default <repo>/.cache/executor-venvs), so torch is installed
 * once per machine. Two workflows:
 *
 *   (a) hello: manual -> transform -> return (the contract's hello example);
 *   (b) inference: a small MLP (4 -> 16 -> 3) as a sequential model, load-model of a state_dict
 *       saved here with torch, predict on 8 samples from the inputs.
 *
 * For each: warm-up (not counted) until the warm server's zygote of that venv is ready (GET
 * /v1/executors); then BENCH_ROUNDS or --rounds N (8) rounds of one warm execution, one cold
 * execution and one direct `python main.py --inputs inputs.json` of the export (the executor's own
 * interpreter: the venv's bin/python for (b), the probed python3 for (a), with the executor's kind
 * of clean environment), their order rotated every round. An execution is timed from its POST until
 * GET /v1/executions/:id (every BENCH_POLL_MS = 5 ms) reads `completed`; a direct run from spawn to
 * exit. Every run must give the expected output (hello) or the same classes as the others
 * (inference), and no torch run may print "Failed to initialize NumPy".
 *
 * (b) is also saved behind a signed webhook (`Tensorify-Signature`) in `wait` mode on the warm
 * server: each round, in its turn, three deliveries timed from the request to the 200 carrying the
 * workflow's output (no polling: the server answers when the run ends).
 *
 * Targets: (b) median warm <= 0.2 x median cold; (a) median warm <= median direct; (b) by webhook,
 * p50 < 150 ms.
 *
 *   npm run bench:warm           (builds first)
 *   node bench/warm/run.js --rounds 12
 */
const { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync, mkdirSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { ROOT, call, executeAndWait, flag, median, ms, percentile, runDirect, sleep, startServer, stopServer, table, verdict } = require('../support');

const LOCAL_DIST = join(ROOT, 'plugins', 'local', 'dist');
const VENV_DIR = process.env.BENCH_VENV_DIR ?? join(ROOT, '.cache', 'executor-venvs');
const ROUNDS = Number(flag('--rounds') ?? process.env.BENCH_ROUNDS ?? 8);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 5);
/** Webhook deliveries per round (in their turn of the rotation), for a p95 from more than a handful. */
const HOOK_PER_ROUND = 3;
const PIP_ARGS = ['--retries', '0', '--timeout', '15'];
const PYTHON = 'python3';
const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';
const NUMPY_WARNING = /Failed to initialize NumPy/;

class Plain extends Error {}

const HELLO = {
  name: 'Hello',
  description: 'Greets whoever is named in the inputs.',
  nodes: [
    { id: 'trigger', type: 'manual', settings: {} },
    { id: 'greeting', type: 'transform', settings: { value: { message: 'Hello, {{ trigger.name }}!' } } },
    { id: 'out', type: 'return', settings: { value: { result: '{{ greeting.message }}' } } },
  ],
  edges: [
    { source: 'trigger', target: 'greeting' },
    { source: 'greeting', target: 'out' },
  ],
};

const INFERENCE = {
  name: 'Inference',
  description: 'Loads a saved MLP and predicts the class of each sample of the inputs.',
  nodes: [
    { id: 'trigger', type: 'manual', settings: {} },
    { id: 'fc1', type: 'linear', settings: { inFeatures: 4, outFeatures: 16 } },
    { id: 'act', type: 'relu', settings: {} },
    { id: 'fc2', type: 'linear', settings: { inFeatures: 16, outFeatures: 3 } },
    { id: 'model', type: 'sequential', settings: {} },
    { id: 'load', type: 'load-model', settings: { path: '{{ inputs.modelPath }}' } },
    { id: 'predict', type: 'predict', settings: { samples: '{{ inputs.samples }}', sampleShape: [4] } },
    { id: 'out', type: 'return', settings: { value: '{{ predict }}' } },
  ],
  edges: [
    { source: 'fc1', target: 'act' },
    { source: 'act', target: 'fc2' },
    { source: 'fc2', target: 'model' },
    { source: 'model', target: 'load', targetHandle: 'model' },
    { source: 'load', target: 'predict', targetHandle: 'model' },
    { source: 'predict', target: 'out' },
  ],
};

/** (b) behind a signed webhook in `wait` mode: the delivery's body carries what (b) takes as inputs. */
const INFERENCE_HOOK = {
  ...INFERENCE,
  name: 'Inference (webhook)',
  description: 'The inference workflow, started by a signed webhook that waits for its output.',
  nodes: INFERENCE.nodes.map((node) => {
    if (node.id === 'trigger') return { id: 'trigger', type: 'webhook', settings: { responseMode: 'wait', waitSeconds: 60 } };
    if (node.id === 'load') return { ...node, settings: { path: '{{ inputs.body.modelPath }}' } };
    if (node.id === 'predict') return { ...node, settings: { ...node.settings, samples: '{{ inputs.body.samples }}' } };
    return node;
  }),
};

const SAVE_MODEL = [
  'import os, sys, torch',
  'from torch import nn',
  'torch.manual_seed(1)',
  'model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))',
  'torch.save(model.state_dict(), sys.argv[1])',
].join('\n');

/** The venv the local executor runs this requirements.txt in (named as it names it), and the probed interpreter. */
async function executorVenv(requirementsText) {
  const { requirementsHash } = require(join(LOCAL_DIST, 'venvs.js'));
  const { normaliseRequirements } = require('@tensorify/executor-sdk');
  const { probeInterpreter } = require(join(LOCAL_DIST, 'interpreter.js'));
  const interpreter = await probeInterpreter(PYTHON);
  const requirements = normaliseRequirements(requirementsText);
  const hash = requirements.length > 0 ? requirementsHash(requirements, interpreter) : null;
  return { hash, link: hash ? join(VENV_DIR, hash) : undefined, requirements, interpreter };
}

function readyVenv(link) {
  try {
    const real = realpathSync(link);
    return existsSync(join(real, 'bin', 'python')) ? real : undefined;
  } catch {
    return undefined;
  }
}

function checkCompleted(what, execution) {
  if (execution.status !== 'completed') {
    throw new Error(`${what} ended ${execution.status}: ${JSON.stringify(execution.error)}\n${(execution.logs ?? []).slice(-20).join('\n')}`);
  }
  const warning = (execution.logs ?? []).find((line) => NUMPY_WARNING.test(line));
  if (warning) throw new Error(`${what} logged: ${warning}`);
  return execution.output;
}

/** Waits until the warm server lists a ready zygote for `environment` (GET /v1/executors caches for 5 s). */
async function zygoteReady(api, environment, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { executors } = await call(api, 'GET', '/v1/executors');
    const zygote = executors.find((e) => e.id === 'local')?.warm?.find((w) => w.environment === environment);
    if (zygote?.state === 'ready') return zygote;
    if (Date.now() > deadline) throw new Error(`no ready zygote for ${environment ?? 'the bare interpreter'} after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/** One workload: warm-up, then rounds of warm / cold / direct in rotating order; returns the timings. */
async function measure({ label, warmApi, coldApi, workflow, inputs, programDir, expect, more = {} }) {
  const warmId = (await call(warmApi, 'POST', '/v1/workflows', workflow)).id;
  const coldId = (await call(coldApi, 'POST', '/v1/workflows', workflow)).id;
  const { files } = await call(warmApi, 'POST', `/v1/workflows/${warmId}/export`);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(programDir, name), text);
  writeFileSync(join(programDir, 'inputs.json'), JSON.stringify(inputs));
  const venv = await executorVenv(files['requirements.txt'] ?? '');

  // Warm-up (not counted): the first warm execution builds the venv if need be and starts the zygote.
  const first = await executeAndWait(warmApi, warmId, { inputs }, POLL_MS);
  expect(`${label}: the first warm execution`, checkCompleted(`${label}: the first warm execution`, first.execution));
  const zygote = await zygoteReady(warmApi, venv.hash);
  expect(`${label}: a cold warm-up`, checkCompleted(`${label}: a cold warm-up`, (await executeAndWait(coldApi, coldId, { inputs }, POLL_MS)).execution));
  const python = venv.link ? join(readyVenv(venv.link), 'bin', 'python') : venv.interpreter.executable;
  const binDir = join(python, '..');
  const env = {
    PATH: `${binDir}:${SAFE_PATH}`,
    HOME: programDir,
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    TENSORIFY_DEVICE: 'cpu',
  };
  const check = await runDirect(python, programDir, env);
  expect(`${label}: a direct warm-up run`, check.output);
  console.log(
    `${label}: requirements ${venv.requirements.join(', ') || '(none)'}; zygote pid ${zygote.pid} (${Math.round((zygote.memoryBytes ?? 0) / 2 ** 20)} MiB, ` +
      `${zygote.loaded.length} modules); first warm-server execution ${ms(first.ms)} ms (cold, started the zygote); direct runs use ${python}`,
  );

  const times = { warm: [], cold: [], direct: [], phases: { warm: [], cold: [] } };
  for (const name of Object.keys(more)) times[name] = [];
  /** An execution from its own timestamps: POST -> createdAt, createdAt -> startedAt, startedAt -> completedAt, completedAt -> seen. */
  const phases = (sentAt, seenAt, e) => [
    Date.parse(e.createdAt) - sentAt,
    Date.parse(e.startedAt) - Date.parse(e.createdAt),
    Date.parse(e.completedAt) - Date.parse(e.startedAt),
    seenAt - Date.parse(e.completedAt),
  ];
  const runs = {
    warm: async () => {
      const sentAt = Date.now();
      const run = await executeAndWait(warmApi, warmId, { inputs }, POLL_MS);
      times.phases.warm.push(phases(sentAt, Date.now(), run.execution));
      expect(`${label}: a warm execution`, checkCompleted(`${label}: a warm execution`, run.execution));
      times.warm.push(run.ms);
    },
    cold: async () => {
      const sentAt = Date.now();
      const run = await executeAndWait(coldApi, coldId, { inputs }, POLL_MS);
      times.phases.cold.push(phases(sentAt, Date.now(), run.execution));
      expect(`${label}: a cold execution`, checkCompleted(`${label}: a cold execution`, run.execution));
      times.cold.push(run.ms);
    },
    direct: async () => {
      const run = await runDirect(python, programDir, env);
      expect(`${label}: a direct run`, run.output);
      times.direct.push(run.ms);
    },
  };
  // More kinds of run (the webhook), HOOK_PER_ROUND of each in their turn of the round.
  for (const [name, run] of Object.entries(more)) {
    runs[name] = async () => {
      for (let i = 0; i < HOOK_PER_ROUND; i++) times[name].push(await run());
    };
  }
  const order = ['warm', 'cold', 'direct', ...Object.keys(more)];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < order.length; i++) await runs[order[(round + i) % order.length]]();
  }
  // Every warm run was a fork of that zygote (GET /v1/executors caches an executor's answer for 5 s).
  let after;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(250)) {
    const { executors } = await call(warmApi, 'GET', '/v1/executors');
    after = executors.find((e) => e.id === 'local').warm.find((w) => w.environment === venv.hash);
    if (after?.pid === zygote.pid && after.runs >= ROUNDS) break;
  }
  if (after?.pid !== zygote.pid || after.runs < ROUNDS) {
    throw new Error(`${label}: the warm runs were not all forked from zygote ${zygote.pid}: ${JSON.stringify(after)}`);
  }
  return times;
}

/**
 * Saves the model file with the torch of the executor's venv for the inference workflow. A missing
 * venv is built first by one execution of the workflow on the server (not counted: it fails for want
 * of the model file, or says why pip could not install torch).
 */
async function saveModel(api, modelPath, samples) {
  const id = (await call(api, 'POST', '/v1/workflows', INFERENCE)).id;
  const { files } = await call(api, 'POST', `/v1/workflows/${id}/export`);
  const venv = await executorVenv(files['requirements.txt'] ?? '');
  if (!readyVenv(venv.link)) {
    console.log(`building the executor's venv for ${venv.requirements.join(', ')} (once per machine) ...`);
    const run = await executeAndWait(api, id, { inputs: { modelPath, samples } }, 100);
    if (!readyVenv(venv.link)) {
      throw new Plain(
        `torch could not be installed into the executor's venv ${venv.link}; the execution's last lines:\n${(run.execution.logs ?? []).slice(-15).join('\n')}`,
      );
    }
  }
  const saved = spawnSync(join(readyVenv(venv.link), 'bin', 'python'), ['-c', SAVE_MODEL, modelPath], { encoding: 'utf8' });
  if (saved.status !== 0) throw new Error(`saving the model failed: ${saved.stderr}`);
}

/**
 * Saves (b) behind a signed webhook in `wait` mode on the warm server, delivers it once (warm-up,
 * not counted) and returns a function that delivers it once more and resolves to the ms from the
 * request to the workflow's output (the 200's body, checked to be the same classes as the others).
 */
async function inferenceHook(api, inputs) {
  const { signWebhook } = require(join(ROOT, 'client', 'dist'));
  const { webhook } = await call(api, 'POST', '/v1/workflows', INFERENCE_HOOK);
  const phases = [];
  const deliver = async () => {
    const body = JSON.stringify(inputs);
    const sentAt = Date.now();
    const started = performance.now();
    const response = await fetch(webhook.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Tensorify-Signature': signWebhook(webhook.secret, body) },
      body,
    });
    const text = await response.text();
    const elapsed = performance.now() - started;
    const answeredAt = Date.now();
    if (response.status !== 200) throw new Error(`the webhook answered ${response.status}: ${text}`);
    // Where the time went, from the execution's own timestamps (read after the clock stopped).
    const e = await call(api, 'GET', response.headers.get('location'));
    phases.push([
      Date.parse(e.createdAt) - sentAt,
      Date.parse(e.startedAt) - Date.parse(e.createdAt),
      Date.parse(e.completedAt) - Date.parse(e.startedAt),
      answeredAt - Date.parse(e.completedAt),
    ]);
    const output = JSON.parse(text);
    if (!Array.isArray(output?.classes) || output.classes.length !== inputs.samples.length) throw new Error(`the webhook answered ${text}`);
    return elapsed;
  };
  await deliver();
  phases.length = 0;
  deliver.phases = phases;
  return deliver;
}

async function main() {
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Plain(`--rounds / BENCH_ROUNDS must be a positive integer, got ${ROUNDS}`);
  if (!existsSync(join(LOCAL_DIST, 'warm.js'))) throw new Plain(`${LOCAL_DIST} is not built: run npm run build (npm run bench:warm does)`);
  const dirs = ['warm', 'cold', 'hello', 'inference'].map((name) => mkdtempSync(join(tmpdir(), `tensorify-bench-warm-${name}-`)));
  const [warmData, coldData, helloDir, inferenceDir] = dirs;
  const servers = [];
  const cleanUp = () => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  const interrupted = (signal) => {
    servers.forEach((server) => server.child.kill('SIGKILL'));
    cleanUp();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const started = performance.now();
  try {
    const executors = JSON.stringify({ local: { python: PYTHON, venvDir: VENV_DIR, pipArgs: PIP_ARGS } });
    const warmServer = await startServer(warmData, { TENSORIFY_EXECUTORS: executors });
    servers.push(warmServer);
    const coldServer = await startServer(coldData, { TENSORIFY_EXECUTORS: executors, TENSORIFY_LOCAL_WARM: 'false' });
    servers.push(coldServer);

    const hello = await measure({
      label: '(a) hello',
      warmApi: warmServer.api,
      coldApi: coldServer.api,
      workflow: HELLO,
      inputs: { name: 'Ada' },
      programDir: helloDir,
      expect: (what, output) => {
        if (output?.result !== 'Hello, Ada!') throw new Error(`${what}: output ${JSON.stringify(output)}`);
      },
    });

    // The model file: saved with the torch of the executor's venv, once it exists (the export names the requirements).
    const modelPath = join(inferenceDir, 'model', 'mlp.pt');
    mkdirSync(join(inferenceDir, 'model'), { recursive: true });
    const samples = Array.from({ length: 8 }, (_, i) => [i / 4, 1 - i / 8, (i % 3) - 1, Math.sin(i)]);
    let classes;
    await saveModel(warmServer.api, modelPath, samples);
    const deliverHook = await inferenceHook(warmServer.api, { modelPath, samples });
    const inference = await measure({
      label: '(b) inference',
      warmApi: warmServer.api,
      coldApi: coldServer.api,
      workflow: INFERENCE,
      inputs: { modelPath, samples },
      programDir: inferenceDir,
      expect: (what, output) => {
        if (!Array.isArray(output?.classes) || output.classes.length !== samples.length) throw new Error(`${what}: output ${JSON.stringify(output)}`);
        const text = JSON.stringify(output.classes);
        if (classes !== undefined && text !== classes) throw new Error(`${what}: classes ${text}, other runs gave ${classes}`);
        classes = text;
      },
      more: { hook: deliverHook },
    });

    console.log('');
    console.log(`${ROUNDS} rounds per workflow, each one warm execution, one cold execution and one direct run (order rotated), wall ms`);
    const row = (name, values) => [name, ms(median(values)), ms(percentile(values, 95)), ms(Math.min(...values)), ms(Math.max(...values))];
    table(
      ['', 'median', 'p95', 'min', 'max'],
      [
        row('(a) hello: warm execution', hello.warm),
        row('(a) hello: cold execution', hello.cold),
        row('(a) hello: direct python main.py', hello.direct),
        row('(b) inference: warm execution', inference.warm),
        row('(b) inference: cold execution', inference.cold),
        row('(b) inference: direct python main.py', inference.direct),
        row('(b) inference: webhook (wait), warm', inference.hook),
      ],
    );
    const b = median(inference.warm) / median(inference.cold);
    const a = median(hello.warm) / median(hello.direct);
    console.log('');
    console.log(`  (b) median warm / median cold        ${b.toFixed(3)}   (target <= 0.2: ${verdict(b <= 0.2)})`);
    console.log(`  (b) median warm / median direct      ${(median(inference.warm) / median(inference.direct)).toFixed(3)}`);
    console.log(`  (a) median warm / median direct      ${a.toFixed(3)}   (target <= 1: ${verdict(a <= 1)})`);
    console.log(`  (a) median warm / median cold        ${(median(hello.warm) / median(hello.cold)).toFixed(3)}`);
    const hookP50 = median(inference.hook);
    console.log(
      `  (b) webhook wait p50 ${ms(hookP50)} ms, p95 ${ms(percentile(inference.hook, 95))} ms (${inference.hook.length} deliveries; target p50 < 150 ms: ${verdict(hookP50 < 150)}); ` +
        `p50 / median warm execution ${(hookP50 / median(inference.warm)).toFixed(3)}`,
    );
    for (const [label, result] of [
      ['(a) hello', hello],
      ['(b) inference', inference],
    ]) {
      for (const kind of ['warm', 'cold']) {
        const part = (i) => ms(median(result.phases[kind].map((p) => p[i])));
        console.log(
          `  ${label}, ${kind}, from the execution's timestamps (median ms): POST -> createdAt ${part(0)}, queued ${part(1)}, running ${part(2)}, completedAt -> seen ${part(3)}`,
        );
      }
    }
    const hookPart = (i) => ms(median(deliverHook.phases.map((p) => p[i])));
    console.log(
      `  (b) inference, webhook, from the execution's timestamps (median ms): request -> createdAt ${hookPart(0)}, queued ${hookPart(1)}, running ${hookPart(2)}, completedAt -> answer ${hookPart(3)}`,
    );
    console.log(`  predicted classes (every run alike)  ${classes}`);
    console.log(`  wall time of this benchmark          ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    if (!(error instanceof Plain)) for (const server of servers) process.stderr.write(`server output (last part):\n${server.logs().slice(-3000)}\n`);
    throw error;
  } finally {
    for (const server of servers) await stopServer(server.child);
    cleanUp();
  }
}

main().catch((error) => {
  console.error(error instanceof Plain ? error.message : error);
  process.exit(1);
});
