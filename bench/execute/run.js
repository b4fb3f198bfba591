'use strict';
/**
 * bench/execute: the exported `hello` program run directly (`python main.py --inputs inputs.json`)
 * against the same workflow run through the API (`POST /v1/workflows/:id/execute` until
 * `completed`), measured in one run against the built server started as a real process.
 *
 *   latency     BENCH_RUNS (30) sequential runs of each, interleaved: direct, API followed by SSE
 *               (GET /v1/executions/:id/logs until its `end` event; the figure the target uses),
 *               API polled (GET /v1/executions/:id every BENCH_POLL_MS = 5 ms). Medians, p90, and
 *               overhead = median(API, SSE) - median(direct); target < 50 ms.
 *   throughput  BENCH_EXECUTIONS (200) executions POSTed at once, from the first POST to the last
 *               `end` event, against as many direct spawns through a pool of BENCH_CONCURRENCY
 *               (default os.availableParallelism(), also the server's TENSORIFY_EXECUTION_CONCURRENCY);
 *               target ratio >= 0.7. Then the same burst once more, watched by polling the list
 *               endpoint every 100 ms instead of SSE.
 *
 * The direct runs use the interpreter the local executor runs by default: `python3` on PATH,
 * resolved to its sys.executable (a pyenv shim resolves to the real binary, as the executor does),
 * in the same clean environment shape (PATH, HOME, LANG, PYTHONUNBUFFERED, PYTHONDONTWRITEBYTECODE).
 * Also printed: the server's CPU per execution, its children's (sh + python) against the direct
 * runs', and a breakdown of an API run from the execution's own timestamps.
 *
 *   npm run bench:execute        (builds first)
 *   BENCH_RUNS=50 BENCH_EXECUTIONS=400 BENCH_CONCURRENCY=4 node bench/execute/run.js
 */
const { execFileSync } = require('node:child_process');
const { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { availableParallelism, tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const { ROOT, AUTH, TERMINAL, sleep, median, percentile, ms, verdict, table, startServer, stopServer, call, pollExecution, runDirect } = require('../support');

const EXAMPLES = process.env.BENCH_EXAMPLES_DIR ?? join(ROOT, '..', 'shared', 'examples');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const EXECUTIONS = Number(process.env.BENCH_EXECUTIONS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? availableParallelism());
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 5);
const LIST_POLL_MS = 100;
const WARMUP = 3;
const TARGET_OVERHEAD_MS = 50;
const TARGET_RATIO = 0.7;
/** The PATH the local executor gives every program after the interpreter's own directory. */
const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';

// ---- small helpers -------------------------------------------------------------------------

/** Whether a requirements.txt lists a package (comments and blank lines aside). */
const packages = (text = '') => text.split('\n').some((line) => line.replace(/(^|\s)#.*$/, '').trim() !== '');

/** CPU time in ms of a process: its own (user + system) and that of its reaped children. */
function cpu(pid = 'self') {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  return { own: (Number(fields[11]) + Number(fields[12])) * tick, children: (Number(fields[13]) + Number(fields[14])) * tick };
}

/** Machine-wide busy and total CPU time (ms) from /proc/stat. */
function machineCpu() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0) * 10;
  const idle = (fields[3] + (fields[4] ?? 0)) * 10;
  return { busy: total - idle, total };
}

/**
 * CPU ms per execution of the server, the programs (the server's reaped children: sh + python; the
 * direct runs: python), this script, and the busy machine time charged to none of them.
 */
function accounting(machine0, machine1, server0, server1, self0, self1, count) {
  const serverOwn = server1 ? server1.own - server0.own : 0;
  const programs = (server1 ? server1.children - server0.children : 0) + (self1.children - self0.children);
  const client = self1.own - self0.own;
  const busy = machine1.busy - machine0.busy;
  return {
    server: serverOwn / count,
    programs: programs / count,
    client: client / count,
    other: Math.max(0, busy - serverOwn - programs - client) / count,
    busyShare: busy / (machine1.total - machine0.total),
  };
}

// ---- the API client (what support.js lacks) -----------------------------------------------

/** POSTs an execution; resolves to its id. */
async function submit(api, workflowId, inputs) {
  const { executionId } = await call(api, 'POST', `/v1/workflows/${workflowId}/execute`, { inputs });
  return executionId;
}

/** Follows the SSE log stream until `end`; resolves to { status, lines }. */
async function follow(api, executionId) {
  const response = await fetch(`${api}/v1/executions/${executionId}/logs`, { headers: { ...AUTH, Accept: 'text/event-stream' } });
  if (response.status !== 200) throw new Error(`GET logs of ${executionId}: ${response.status} ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let lines = 0;
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (/^event: end$/m.test(event)) {
        const data = /^data: (.*)$/m.exec(event)?.[1] ?? '{}';
        return { status: JSON.parse(data).status, lines };
      }
      if (/^id: /m.test(event)) lines++;
    }
  }
  throw new Error(`the log stream of ${executionId} closed without an end event`);
}

// ---- direct runs ---------------------------------------------------------------------------

/** `count` tasks, at most `concurrency` at a time; resolves once all are done. */
async function pool(count, concurrency, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        next++;
        await task();
      }
    }),
  );
}

/** The interpreter the local executor runs by default: `python3` probed with the server's environment. */
function resolvePython() {
  const onPath = execFileSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim();
  const [executable, version] = execFileSync('python3', ['-c', 'import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n');
  return { onPath, executable: executable || onPath, version };
}

/** The contract's hello example (../shared/examples, or BENCH_EXAMPLES_DIR). */
function helloWorkflow() {
  const file = join(EXAMPLES, 'hello.json');
  if (!existsSync(file)) throw new Error(`${file} not found: set BENCH_EXAMPLES_DIR to the folder of the example workflows`);
  return {
    workflow: JSON.parse(readFileSync(file, 'utf8')),
    inputs: JSON.parse(readFileSync(join(EXAMPLES, 'hello.inputs.json'), 'utf8')),
    expected: JSON.parse(readFileSync(join(EXAMPLES, 'hello.expected-output.json'), 'utf8')),
    source: file,
  };
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  const python = resolvePython();
  const hello = helloWorkflow();
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-bench-execute-data-'));
  const programDir = mkdtempSync(join(tmpdir(), 'tensorify-bench-execute-program-'));
  let server;
  // Interrupted (Ctrl-C, kill): stop the server and remove the temp dirs before leaving.
  const interrupted = (signal) => {
    server?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(programDir, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    server = await startServer(dataDir, {
      TENSORIFY_EXECUTION_CONCURRENCY: String(CONCURRENCY),
      TENSORIFY_ENTERPRISE_CONCURRENT_EXECUTIONS: String(CONCURRENCY),
    });
    const { api } = server;
    const pid = server.child.pid;

    // The workflow, exported to a directory for the direct runs.
    const workflowId = (await call(api, 'POST', '/v1/workflows', hello.workflow)).id;
    const { files } = await call(api, 'POST', `/v1/workflows/${workflowId}/export`);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(programDir, name), text);
    writeFileSync(join(programDir, 'inputs.json'), JSON.stringify(hello.inputs));
    const directEnv = {
      PATH: SAFE_PATH.split(':').includes(dirname(python.executable)) ? SAFE_PATH : `${dirname(python.executable)}:${SAFE_PATH}`,
      HOME: programDir,
      LANG: 'C.UTF-8',
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      TENSORIFY_DEVICE: 'cpu',
    };
    const expected = JSON.stringify(hello.expected);

    console.log(
      `hello (${hello.source}): ${Object.keys(files).join(', ')}; requirements.txt ${packages(files['requirements.txt']) ? 'lists packages (runs in a venv)' : 'lists no package (no venv)'}`,
    );
    console.log(`python3 on PATH: ${python.onPath} -> ${python.executable} (Python ${python.version}); direct runs use ${python.executable}`);

    // Cold start: the first execution also probes the interpreter.
    let started = performance.now();
    const coldId = await submit(api, workflowId, hello.inputs);
    const cold = await follow(api, coldId);
    const coldMs = performance.now() - started;
    if (cold.status !== 'completed')
      throw new Error(`the first execution ended ${cold.status}: ${JSON.stringify(await call(api, 'GET', `/v1/executions/${coldId}`))}`);
    const coldExecution = await call(api, 'GET', `/v1/executions/${coldId}`);
    if (JSON.stringify(coldExecution.output) !== expected)
      throw new Error(`the execution's output is ${JSON.stringify(coldExecution.output)}, expected ${expected}`);
    const executors = await call(api, 'GET', '/v1/executors');
    const local = executors.executors.find((e) => e.id === 'local');
    console.log(`local executor: ${local?.detail ?? '(not listed)'}; first execution (cold, probes the interpreter) ${ms(coldMs)} ms`);
    const check = await runDirect(python.executable, programDir, directEnv);
    const lastLine = check.stdout.trim().split('\n').pop();
    if (JSON.stringify(JSON.parse(lastLine)) !== expected) throw new Error(`the direct run printed ${lastLine}, expected ${expected}`);

    for (let i = 0; i < WARMUP; i++) {
      await runDirect(python.executable, programDir, directEnv);
      const id = await submit(api, workflowId, hello.inputs);
      await follow(api, id);
    }

    // ---- latency: sequential, interleaved ----
    const latency0 = { machine: machineCpu(), server: cpu(pid), self: cpu() };
    const directMs = [];
    const sseMs = [];
    const pollMs = [];
    const polls = [];
    const postMs = [];
    const sseRuns = [];
    const serverCpuSum = { sse: 0, poll: 0, sseChildren: 0, pollChildren: 0 };
    let directCpu = 0;
    for (let run = 0; run < RUNS; run++) {
      let before = cpu();
      directMs.push((await runDirect(python.executable, programDir, directEnv)).ms);
      directCpu += cpu().children - before.children;

      before = cpu(pid);
      const sentAt = Date.now();
      started = performance.now();
      const id = await submit(api, workflowId, hello.inputs);
      const acceptedMs = performance.now() - started;
      const followed = await follow(api, id);
      sseMs.push(performance.now() - started);
      const observedAt = Date.now();
      let after = cpu(pid);
      serverCpuSum.sse += after.own - before.own;
      serverCpuSum.sseChildren += after.children - before.children;
      if (followed.status !== 'completed') throw new Error(`execution ${id} ended ${followed.status}`);
      postMs.push(acceptedMs);
      sseRuns.push({ id, sentAt, observedAt, lines: followed.lines });

      before = cpu(pid);
      started = performance.now();
      const polledId = await submit(api, workflowId, hello.inputs);
      const polled = await pollExecution(api, polledId, POLL_MS);
      pollMs.push(performance.now() - started);
      after = cpu(pid);
      serverCpuSum.poll += after.own - before.own;
      serverCpuSum.pollChildren += after.children - before.children;
      polls.push(polled.polls);
      if (polled.execution.status !== 'completed') throw new Error(`execution ${polledId} ended ${polled.execution.status}`);
    }

    const latencyCpu = accounting(latency0.machine, machineCpu(), latency0.server, cpu(pid), latency0.self, cpu(), 3 * RUNS);

    // Where an API run's time goes, from the execution's own timestamps (same clock, ms resolution).
    const phases = { toCreated: [], queued: [], running: [], toObserved: [] };
    const systemLines = new Map();
    let wrongOutputs = 0;
    for (const run of sseRuns) {
      const e = await call(api, 'GET', `/v1/executions/${run.id}`);
      if (JSON.stringify(e.output) !== expected) wrongOutputs++;
      const created = Date.parse(e.createdAt);
      const startedAt = Date.parse(e.startedAt);
      const completed = Date.parse(e.completedAt);
      phases.toCreated.push(created - run.sentAt);
      phases.queued.push(startedAt - created);
      phases.running.push(completed - startedAt);
      phases.toObserved.push(run.observedAt - completed);
      for (const line of e.logs)
        if (!/^\[node |^\{/.test(line)) systemLines.set(line.replace(/\d+/g, 'N'), (systemLines.get(line.replace(/\d+/g, 'N')) ?? 0) + 1);
    }
    if (wrongOutputs > 0) throw new Error(`${wrongOutputs} executions did not output ${expected}`);

    const overhead = median(sseMs) - median(directMs);
    console.log('');
    console.log(`Latency: ${RUNS} sequential runs each (interleaved), after ${WARMUP} warm-up runs, wall ms`);
    table(
      ['', 'median', 'p90', 'min', 'max', 'overhead (median)'],
      [
        ['(a) direct python main.py', ms(median(directMs)), ms(percentile(directMs, 90)), ms(Math.min(...directMs)), ms(Math.max(...directMs)), '-'],
        ['(b) API, SSE until end', ms(median(sseMs)), ms(percentile(sseMs, 90)), ms(Math.min(...sseMs)), ms(Math.max(...sseMs)), `+${ms(overhead)}`],
        [
          `(b') API, GET every ${POLL_MS} ms`,
          ms(median(pollMs)),
          ms(percentile(pollMs, 90)),
          ms(Math.min(...pollMs)),
          ms(Math.max(...pollMs)),
          `+${ms(median(pollMs) - median(directMs))}`,
        ],
        ['    POST answered (202)', ms(median(postMs)), ms(percentile(postMs, 90)), ms(Math.min(...postMs)), ms(Math.max(...postMs)), '-'],
      ],
    );
    console.log(`  polling: median ${median(polls)} GETs per execution`);
    console.log(
      '  an SSE run from its own timestamps (median ms): ' +
        `POST sent -> createdAt ${ms(median(phases.toCreated))}, queued (createdAt -> startedAt) ${ms(median(phases.queued))}, ` +
        `running (startedAt -> completedAt) ${ms(median(phases.running))}, completedAt -> end seen ${ms(median(phases.toObserved))}`,
    );
    console.log(
      `  CPU per run: server process ${ms(serverCpuSum.sse / RUNS)} ms (SSE) / ${ms(serverCpuSum.poll / RUNS)} ms (polling), ` +
        `its children (sh + python) ${ms(serverCpuSum.sseChildren / RUNS)} ms; direct python ${ms(directCpu / RUNS)} ms`,
    );
    console.log(`  busy machine time charged to none of these processes: ${ms(latencyCpu.other)} ms per run (a large figure: another load shared the machine)`);
    if (systemLines.size > 0) {
      console.log(`  executor system lines in the ${RUNS} SSE runs: ${[...systemLines].map(([line, n]) => `${n} x "${line}"`).join('; ')}`);
    }

    // ---- throughput ----
    const burst = async (watch) => {
      const machine0 = machineCpu();
      const server0 = cpu(pid);
      const self0 = cpu();
      const t0 = performance.now();
      const finishedAt = [];
      const statuses = [];
      if (watch === 'sse') {
        await Promise.all(
          Array.from({ length: EXECUTIONS }, async () => {
            const { status } = await follow(api, await submit(api, workflowId, hello.inputs));
            statuses.push(status);
            finishedAt.push(performance.now());
          }),
        );
      } else {
        const waiting = new Set(await Promise.all(Array.from({ length: EXECUTIONS }, () => submit(api, workflowId, hello.inputs))));
        while (waiting.size > 0) {
          await sleep(LIST_POLL_MS);
          const { executions } = await call(api, 'GET', `/v1/executions?workflowId=${workflowId}&limit=200`);
          const now = performance.now();
          for (const e of executions) {
            if (waiting.has(e.id) && TERMINAL.has(e.status)) {
              waiting.delete(e.id);
              statuses.push(e.status);
              finishedAt.push(now);
            }
          }
        }
      }
      const seconds = (Math.max(...finishedAt) - t0) / 1000;
      const cpuShare = accounting(machine0, machineCpu(), server0, cpu(pid), self0, cpu(), EXECUTIONS);
      const failed = statuses.filter((s) => s !== 'completed').length;
      if (failed > 0) throw new Error(`${failed} of ${EXECUTIONS} executions did not complete`);
      return { seconds, rate: EXECUTIONS / seconds, ...cpuShare };
    };
    const directBurst = async () => {
      const machine0 = machineCpu();
      const self0 = cpu();
      const t0 = performance.now();
      await pool(EXECUTIONS, CONCURRENCY, () => runDirect(python.executable, programDir, directEnv));
      const seconds = (performance.now() - t0) / 1000;
      return { seconds, rate: EXECUTIONS / seconds, ...accounting(machine0, machineCpu(), undefined, undefined, self0, cpu(), EXECUTIONS) };
    };

    const viaSse = await burst('sse');
    const spawns = await directBurst();
    const viaList = await burst('list');
    const ratio = viaSse.rate / spawns.rate;
    console.log('');
    console.log(
      `Throughput: ${EXECUTIONS} at once, concurrency ${CONCURRENCY} (TENSORIFY_EXECUTION_CONCURRENCY; direct: a pool of ${CONCURRENCY}), ${availableParallelism()} CPUs`,
    );
    const row = (title, r) => [
      title,
      r.seconds.toFixed(2),
      r.rate.toFixed(1),
      r === spawns ? '-' : ms(r.server),
      ms(r.programs),
      ms(r.client),
      ms(r.other),
      `${(r.busyShare * 100).toFixed(0)} %`,
    ];
    table(
      ['', 'wall s', 'per s', 'server', 'sh+python', 'this script', 'unattributed', 'machine busy'],
      [
        row('API, first POST to last SSE end', viaSse),
        row(`API, list polled every ${LIST_POLL_MS} ms`, viaList),
        row(`direct spawns, pool of ${CONCURRENCY}`, spawns),
      ],
    );
    console.log('  (CPU ms per execution. "unattributed": busy machine time charged to none of these: kernel work of process');
    console.log("   creation and exit, orphans reaped by init (the executor's watcher subshell), and any other load on the machine)");

    console.log('');
    console.log(
      `  overhead, median API (SSE) - median direct   ${ms(overhead)} ms   (target < ${TARGET_OVERHEAD_MS} ms: ${verdict(overhead < TARGET_OVERHEAD_MS)})`,
    );
    console.log(
      `  executions/s / direct spawns/s               ${ratio.toFixed(2)}   (target >= ${TARGET_RATIO}: ${verdict(ratio >= TARGET_RATIO)}; ${viaSse.rate.toFixed(1)} / ${spawns.rate.toFixed(1)})`,
    );
  } catch (error) {
    if (server) process.stderr.write(`server output (last part):\n${server.logs().slice(-4000)}\n`);
    throw error;
  } finally {
    if (server) await stopServer(server.child);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(programDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
