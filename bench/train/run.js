'use strict';
/**
 * bench/train: the exported `classifier` program (a PyTorch MLP trained 5 epochs on synthetic data)
 * run directly (`<venv>/bin/python main.py --inputs inputs.json`) against the same workflow run
 * through the API (`POST /v1/workflows/:id/execute` until `completed`), measured in one run against
 * the built server started as a real process.
 *
 * The local executor gets a venv cache that outlives the run (BENCH_VENV_DIR, default
 * <repo>/.cache/executor-venvs, passed as TENSORIFY_EXECUTORS), so torch is installed once per
 * machine, not per run. The warm-up (not counted) is one execution, which builds that venv when it
 * is missing (pip from the machine's package source, --retries 0 --timeout 15), and one direct run.
 * The direct runs use the interpreter the executor runs the program with: `bin/python` of the venv
 * the executor picked for this requirements.txt, found the way the executor names it (the hash of
 * the normalised requirements and of the probed interpreter, from plugins/local/dist), in the same
 * clean environment shape (PATH with the venv's bin first, HOME, LANG, PYTHONUNBUFFERED,
 * PYTHONDONTWRITEBYTECODE, TENSORIFY_DEVICE=cpu).
 *
 *   rounds   BENCH_ROUNDS or --rounds N (5), each one direct run and one execution, their order
 *            swapped every round so that load on the machine falls on both alike. An execution is
 *            timed from its POST until GET /v1/executions/:id (every BENCH_POLL_MS = 5 ms) reads
 *            `completed`. Every run must report accuracy > 0.8. Medians, and
 *            ratio = median(execute) / median(direct); target <= 1.1.
 *
 *   npm run bench:train          (builds first)
 *   node bench/train/run.js --rounds 10
 *   BENCH_ROUNDS=10 BENCH_POLL_MS=20 BENCH_VENV_DIR=/tmp/venvs node bench/train/run.js
 */
const { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { ROOT, call, executeAndWait, flag, median, ms, runDirect, startServer, stopServer, table, verdict } = require('../support');

const LOCAL_DIST = join(ROOT, 'plugins', 'local', 'dist');
const EXAMPLES = process.env.BENCH_EXAMPLES_DIR ?? join(ROOT, '..', 'shared', 'examples');
const VENV_DIR = process.env.BENCH_VENV_DIR ?? join(ROOT, '.cache', 'executor-venvs');
const ROUNDS = Number(flag('--rounds') ?? process.env.BENCH_ROUNDS ?? 5);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 5);
/** pip's defaults retry an unreachable index for minutes; the packages come from the machine's own source. */
const PIP_ARGS = ['--retries', '0', '--timeout', '15'];
/** The interpreter the local executor is configured with (its default). */
const PYTHON = 'python3';
const TARGET_RATIO = 1.1;
const MIN_ACCURACY = 0.8;
const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';

// ---- small helpers -------------------------------------------------------------------------

/** An error whose message is printed as it is, without a stack: a plain statement of what is missing. */
class Plain extends Error {}

// ---- runs ----------------------------------------------------------------------------------

/** POSTs an execution and polls GET /v1/executions/:id every POLL_MS until a terminal status; resolves to { ms, execution, polls }. */
const execute = (api, workflowId, inputs) => executeAndWait(api, workflowId, { inputs }, POLL_MS);

/** Runs the exported program once as the executor would (same interpreter, same environment shape); resolves to { ms, output }. */
async function direct(python, dir, env) {
  const run = await runDirect(python, dir, env);
  if (run.output === undefined) throw new Error(`the direct run's last line is not JSON: ${JSON.stringify(run.stdout.trim().split('\n').pop())}`);
  return run;
}

/** Throws unless `output` reports an accuracy above MIN_ACCURACY; returns the accuracy. */
function checkAccuracy(what, output) {
  const accuracy = output?.accuracy;
  if (typeof accuracy !== 'number' || !(accuracy > MIN_ACCURACY)) {
    throw new Error(`${what}: accuracy ${JSON.stringify(accuracy)} (output ${JSON.stringify(output)}), expected a number > ${MIN_ACCURACY}`);
  }
  return accuracy;
}

/** Throws unless the execution completed with an accuracy above MIN_ACCURACY; returns the accuracy. */
function checkExecution(what, execution) {
  if (execution.status !== 'completed') {
    throw new Error(`${what} ended ${execution.status}: ${JSON.stringify(execution.error)}\n${execution.logs.slice(-20).join('\n')}`);
  }
  return checkAccuracy(what, execution.output);
}

/**
 * The venv the local executor runs this requirements.txt in, named as the executor names it:
 * <venvDir>/<hash of the normalised requirements and the probed interpreter>, a symlink to the
 * directory it was built in. Resolves to { hash, link, requirements, interpreter }.
 */
async function executorVenv(requirementsText) {
  const { normaliseRequirements, requirementsHash } = require(join(LOCAL_DIST, 'venvs.js'));
  const { probeInterpreter } = require(join(LOCAL_DIST, 'interpreter.js'));
  const interpreter = await probeInterpreter(PYTHON); // with this process's environment, as the server probes with its own
  const requirements = normaliseRequirements(requirementsText);
  const hash = requirementsHash(requirements, interpreter);
  return { hash, link: join(VENV_DIR, hash), requirements, interpreter };
}

/** The real directory of a complete venv at `link` (the executor's own test), or undefined. */
function readyVenv(link) {
  try {
    const real = realpathSync(link);
    return existsSync(join(real, 'bin', 'python')) ? real : undefined;
  } catch {
    return undefined;
  }
}

/** The contract's classifier example (../shared/examples, or BENCH_EXAMPLES_DIR). */
function classifierWorkflow() {
  const file = join(EXAMPLES, 'classifier.json');
  if (!existsSync(file)) throw new Plain(`${file} not found: set BENCH_EXAMPLES_DIR to the folder of the example workflows`);
  return {
    workflow: JSON.parse(readFileSync(file, 'utf8')),
    inputs: JSON.parse(readFileSync(join(EXAMPLES, 'classifier.inputs.json'), 'utf8')),
    source: file,
  };
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Plain(`--rounds / BENCH_ROUNDS must be a positive integer, got ${ROUNDS}`);
  if (!existsSync(join(LOCAL_DIST, 'venvs.js'))) throw new Plain(`${LOCAL_DIST} is not built: run npm run build (npm run bench:train does)`);
  const classifier = classifierWorkflow();
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-bench-train-data-'));
  const programDir = mkdtempSync(join(tmpdir(), 'tensorify-bench-train-program-'));
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
  const benchStarted = performance.now();
  try {
    server = await startServer(dataDir, {
      TENSORIFY_EXECUTORS: JSON.stringify({ local: { python: PYTHON, venvDir: VENV_DIR, pipArgs: PIP_ARGS } }),
    });
    const { api } = server;

    // The workflow, exported to a directory for the direct runs.
    const workflowId = (await call(api, 'POST', '/v1/workflows', classifier.workflow)).id;
    const { files } = await call(api, 'POST', `/v1/workflows/${workflowId}/export`);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(programDir, name), text);
    writeFileSync(join(programDir, 'inputs.json'), JSON.stringify(classifier.inputs));
    const venv = await executorVenv(files['requirements.txt'] ?? '');
    if (venv.requirements.length === 0) throw new Error("the classifier's requirements.txt lists no package: expected torch");
    const cached = readyVenv(venv.link) !== undefined;
    const executors = await call(api, 'GET', '/v1/executors');
    const local = executors.executors.find((e) => e.id === 'local');

    console.log(`classifier (${classifier.source}): ${Object.keys(files).join(', ')}; requirements: ${venv.requirements.join(', ')}`);
    console.log(
      `local executor: ${local?.detail ?? '(not listed)'}; venv ${venv.link} ${cached ? '(cached)' : '(not built yet: the warm-up execution installs it)'}`,
    );

    // Warm-up, not counted: one execution (builds the venv if need be), then one direct run in that venv.
    const warm = await execute(api, workflowId, classifier.inputs);
    const venvReal = readyVenv(venv.link);
    if (warm.execution.status !== 'completed' && !venvReal) {
      const pipLines = warm.execution.logs.filter((line) => !/^\[node |^\{/.test(line)).slice(-15);
      throw new Plain(
        `torch could not be installed into the executor's venv, so this benchmark cannot run (is there a package source for ${venv.requirements.join(', ')} ` +
          `that pip reaches? pip install ${PIP_ARGS.join(' ')}, with this machine's pip configuration). The execution ended ${warm.execution.status}; its last lines:\n` +
          pipLines.map((line) => `  ${line}`).join('\n'),
      );
    }
    checkExecution('the warm-up execution', warm.execution);
    if (!venvReal)
      throw new Error(`the warm-up execution completed but ${venv.link} is no venv: the executor named its venv differently from plugins/local/dist`);
    const python = join(venvReal, 'bin', 'python');
    const directEnv = {
      PATH: `${join(venvReal, 'bin')}:${SAFE_PATH}`,
      HOME: programDir,
      LANG: 'C.UTF-8',
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      TENSORIFY_DEVICE: 'cpu',
    };
    const warmDirect = await direct(python, programDir, directEnv);
    checkAccuracy('the warm-up direct run', warmDirect.output);
    console.log(
      `warm-up: execution ${(warm.ms / 1000).toFixed(1)} s${cached ? '' : ' (built the venv)'}, direct run ${(warmDirect.ms / 1000).toFixed(1)} s; direct runs use ${python}`,
    );

    // ---- rounds: sequential, interleaved, order swapped every round ----
    const directMs = [];
    const executeMs = [];
    const polls = [];
    const accuracies = [];
    const phases = { toCreated: [], queued: [], running: [], toObserved: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const timeDirect = async () => {
        const run = await direct(python, programDir, directEnv);
        accuracies.push(checkAccuracy(`direct run ${round + 1}`, run.output));
        directMs.push(run.ms);
      };
      const timeExecute = async () => {
        const sentAt = Date.now();
        const run = await execute(api, workflowId, classifier.inputs);
        const observedAt = Date.now();
        accuracies.push(checkExecution(`execution ${run.execution.id} (round ${round + 1})`, run.execution));
        executeMs.push(run.ms);
        polls.push(run.polls);
        const e = run.execution;
        phases.toCreated.push(Date.parse(e.createdAt) - sentAt);
        phases.queued.push(Date.parse(e.startedAt) - Date.parse(e.createdAt));
        phases.running.push(Date.parse(e.completedAt) - Date.parse(e.startedAt));
        phases.toObserved.push(observedAt - Date.parse(e.completedAt));
      };
      if (round % 2 === 0) {
        await timeDirect();
        await timeExecute();
      } else {
        await timeExecute();
        await timeDirect();
      }
    }

    const ratio = median(executeMs) / median(directMs);
    console.log('');
    console.log(`${ROUNDS} rounds, each one direct run and one execution (order swapped every round), after 1 + 1 warm-up runs, wall ms`);
    table(
      ['', 'median', 'min', 'max'],
      [
        ['(a) direct: venv python main.py', ms(median(directMs)), ms(Math.min(...directMs)), ms(Math.max(...directMs))],
        [`(b) execute: POST until completed (GET every ${POLL_MS} ms)`, ms(median(executeMs)), ms(Math.min(...executeMs)), ms(Math.max(...executeMs))],
      ],
    );
    console.log(
      `  accuracy: ${Math.min(...accuracies).toFixed(3)} to ${Math.max(...accuracies).toFixed(3)} over all ${accuracies.length} runs (each > ${MIN_ACCURACY})`,
    );
    console.log(
      '  an execution from its own timestamps (median ms): ' +
        `POST sent -> createdAt ${ms(median(phases.toCreated))}, queued (createdAt -> startedAt) ${ms(median(phases.queued))}, ` +
        `running (startedAt -> completedAt) ${ms(median(phases.running))}, completedAt -> seen ${ms(median(phases.toObserved))}; median ${median(polls)} GETs`,
    );
    console.log('');
    console.log(`  median execute - median direct              ${ms(median(executeMs) - median(directMs))} ms`);
    console.log(
      `  ratio, median execute / median direct       ${ratio.toFixed(3)}   (target <= ${TARGET_RATIO}: ${verdict(ratio <= TARGET_RATIO)}; ${ms(median(executeMs))} / ${ms(median(directMs))} ms)`,
    );
    console.log(`  wall time of this benchmark                 ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
  } catch (error) {
    if (server && !(error instanceof Plain)) process.stderr.write(`server output (last part):\n${server.logs().slice(-4000)}\n`);
    throw error;
  } finally {
    if (server) await stopServer(server.child);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(programDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Plain ? error.message : error);
  process.exit(1);
});
