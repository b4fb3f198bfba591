'use strict';
/**
 * bench/export: WorkflowCompiler.compile() (the Python export) on generated chains of 100, 1,000
 * and 10,000 nodes, on the shipped catalogue and templates, as the server builds the compiler.
 * Prints per size the median and min time per export, µs per node, graph validation alone
 * (validator.validate) against the whole compile, and the size of main.py; then the targets:
 * 1,000 nodes under 100 ms, and the 10,000/1,000 time ratio under 15 (no quadratic step).
 *
 * A chain is a `manual` trigger followed by nodes cycling through transform → code → if →
 * http-request; each `if` continues the chain on its "true" output and sends "false" to a
 * `return`; a final `return` ends it. Each size runs in its own worker thread, so a size that
 * takes longer than BENCH_TIMEOUT_S is stopped and reported as MISSED instead of hanging.
 * Exits 0 whether or not the targets are met; 1 only when a compile throws.
 *
 *   npm run bench:export         (builds first)
 *   BENCH_SIZES=100,1000 BENCH_RUNS=30 BENCH_TIMEOUT_S=0 node bench/export/run.js   (0: no time limit)
 */
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
/** Timed runs per size (after the warm-up), unless BENCH_RUNS says otherwise. */
const DEFAULT_RUNS = { 100: 15, 1000: 15, 10000: 5 };
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,10000').split(',').map(Number);
const RUNS = process.env.BENCH_RUNS === undefined ? undefined : Number(process.env.BENCH_RUNS);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 120);
const TARGET_1K_MS = 100;
const TARGET_RATIO = 15;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * A valid workflow of exactly `size` nodes: trigger, then transform → code → if (false: return)
 * → http-request repeated, then a final return. Every binding names a node upstream of its reader.
 */
function chain(size) {
  if (size < 2) throw new Error('a chain needs at least 2 nodes');
  const nodes = [{ id: 'trigger', type: 'manual', settings: {} }];
  const edges = [];
  // The node the next one hangs off, the handle it leaves by, and a field its output has.
  let previous = { id: 'trigger', handle: undefined, field: 'name' };
  const append = (node, field) => {
    nodes.push(node);
    edges.push({ source: previous.id, target: node.id, ...(previous.handle === undefined ? {} : { sourceHandle: previous.handle }) });
    previous = { id: node.id, handle: undefined, field };
  };
  for (let step = 0; nodes.length < size - 1; step++) {
    const p = previous;
    switch (step % 4) {
      case 0:
        append(
          {
            id: `shape_${step}`,
            type: 'transform',
            settings: {
              value: {
                previous: `{{ ${p.id}.${p.field} }}`,
                user: '{{ trigger.name }}',
                greeting: 'Hello, {{ trigger.name }}!',
                step,
              },
            },
          },
          'greeting',
        );
        break;
      case 1:
        append(
          {
            id: `score_${step}`,
            type: 'code',
            settings: { code: 'items = input if isinstance(input, dict) else {}\nreturn {"total": len(items), "ok": bool(items)}' },
          },
          'total',
        );
        break;
      case 2: {
        const id = `check_${step}`;
        append({ id, type: 'if', settings: { condition: `{{ ${p.id}.total }} > 0 and {{ ${p.id}.ok }} == true` } }, 'total');
        previous.handle = 'true'; // an if passes its input on: binding it reads the code's output
        if (nodes.length < size - 1) {
          nodes.push({ id: `${id}_stop`, type: 'return', settings: { value: { stopped: id, total: `{{ ${p.id}.total }}` } } });
          edges.push({ source: id, sourceHandle: 'false', target: `${id}_stop` });
        }
        break;
      }
      case 3:
        append(
          {
            id: `fetch_${step}`,
            type: 'http-request',
            settings: { url: `https://api.example.com/users/{{ trigger.userId }}/items/{{ ${p.id}.${p.field} }}` },
          },
          'data',
        );
        break;
    }
  }
  append({ id: 'done', type: 'return', settings: { value: { result: `{{ ${previous.id}.${previous.field} }}`, user: '{{ trigger.name }}' } } });
  return {
    id: `wf_Bench${String(size).padStart(5, '0')}`.slice(0, 12),
    version: 1,
    name: `Bench chain of ${size} nodes`,
    description: 'A generated chain of transform, code, if and http-request nodes.',
    nodes,
    edges,
  };
}

// ---- worker: one size ----------------------------------------------------------------------

async function measureSize({ size, runs, deadline }) {
  const { NodeCatalog, defaultTemplatesDir } = require(join(DIST, 'nodes', 'node-catalog.js'));
  const { TemplateSet, defaultCodegenRoot } = require(join(DIST, 'codegen', 'template-set.js'));
  const { GraphValidator } = require(join(DIST, 'workflows', 'graph', 'graph-validator.js'));
  const { WorkflowCompiler } = require(join(DIST, 'codegen', 'workflow-compiler.js'));
  const catalog = await NodeCatalog.load(defaultTemplatesDir());
  const validator = new GraphValidator(catalog);
  const compiler = new WorkflowCompiler(catalog, await TemplateSet.load(defaultCodegenRoot(), catalog), validator);

  const workflow = chain(size);
  if (workflow.nodes.length !== size) throw new Error(`chain(${size}) has ${workflow.nodes.length} nodes`);
  // The chain must compile: a throw here (InvalidWorkflowError with every problem) fails the run.
  let started = performance.now();
  const files = compiler.compile(workflow);
  const firstMs = performance.now() - started;
  // Warm-up: a small chain until the JIT has settled, then the size itself once more (unless one
  // compile of it takes seconds, where the JIT no longer matters).
  const small = chain(100);
  for (let i = 0; i < 30; i++) compiler.compile(small);
  if (firstMs < 1000) compiler.compile(workflow);
  const mainPy = files['main.py'];
  const mainPyBytes = Buffer.byteLength(mainPy);
  const mainPyLines = mainPy.split('\n').length;
  // Block nesting of run(): the body of the deepest `if`/`else:` is one level below it (4 spaces a level).
  let nesting = 1;
  for (const match of mainPy.matchAll(/^( *)(?:if |else:)/gm)) nesting = Math.max(nesting, match[1].length / 4 + 1);

  const compileMs = [];
  const validateMs = [];
  for (let run = 0; run < runs; run++) {
    started = performance.now();
    validator.validate(workflow);
    validateMs.push(performance.now() - started);
    started = performance.now();
    compiler.compile(workflow);
    compileMs.push(performance.now() - started);
    // Keep within the time limit: stop early when one more run would overrun it.
    if (deadline !== undefined && Date.now() + compileMs[compileMs.length - 1] * 1.2 > deadline) break;
  }
  return { size, runs: compileMs.length, requestedRuns: runs, firstMs, compileMs, validateMs, mainPyBytes, mainPyLines, nesting };
}

// ---- main thread ---------------------------------------------------------------------------

/** Runs one size in a worker; resolves to its figures, or to { timedOut } after TIMEOUT_S. */
function runSize(size) {
  const runs = RUNS ?? DEFAULT_RUNS[size] ?? 5;
  const timeoutMs = TIMEOUT_S > 0 ? TIMEOUT_S * 1000 : undefined;
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: { size, runs, deadline } });
    let settled = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            settled = true;
            worker.terminate().then(() => resolve({ size, runs: 0, requestedRuns: runs, timedOut: true }));
          }, timeoutMs);
    const settle = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(value);
    };
    worker.once('message', (result) => settle(resolve, result));
    worker.once('error', (error) => settle(reject, error));
    worker.once('exit', (code) => settle(reject, new Error(`worker for ${size} nodes exited with code ${code}`)));
  });
}

const ms = (value) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const kb = (bytes) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`);
const verdict = (ok) => (ok ? 'PASS' : 'MISSED');

async function main() {
  console.log(`WorkflowCompiler.compile() on generated chains, Node ${process.version}, time limit ${TIMEOUT_S > 0 ? `${TIMEOUT_S} s` : 'none'} per size`);
  const results = new Map();
  for (const size of SIZES) {
    const result = await runSize(size);
    results.set(size, result);
    if (result.timedOut) {
      console.log(`  ${size} nodes: no result within ${TIMEOUT_S} s (BENCH_TIMEOUT_S=0 waits)`);
    } else {
      const short = result.runs < result.requestedRuns ? ` (${result.runs} of ${result.requestedRuns} runs: time limit)` : '';
      console.log(`  ${size} nodes: median ${ms(median(result.compileMs))} ms over ${result.runs} runs${short}; first (cold) compile ${ms(result.firstMs)} ms`);
    }
  }

  const header = ['nodes', 'runs', 'median/export', 'min/export', 'µs/node', 'validate', 'validate share', 'main.py', 'lines', 'nesting'];
  const rows = [...results.values()].map((r) => {
    if (r.timedOut) return [String(r.size), '0', `> ${TIMEOUT_S} s`, '-', '-', '-', '-', '-', '-', '-'];
    const compile = median(r.compileMs);
    const validate = median(r.validateMs);
    return [
      String(r.size),
      String(r.runs),
      `${ms(compile)} ms`,
      `${ms(Math.min(...r.compileMs))} ms`,
      ((compile * 1000) / r.size).toFixed(1),
      `${ms(validate)} ms`,
      `${((100 * validate) / compile).toFixed(1)} %`,
      kb(r.mainPyBytes),
      String(r.mainPyLines),
      `${r.nesting} levels`,
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells) => '  ' + cells.map((cell, column) => cell.padStart(widths[column])).join('  ');
  console.log('');
  console.log(line(header));
  rows.forEach((row) => console.log(line(row)));
  console.log('  (validate: GraphValidator.validate alone, median; compile() runs it too, so its share is of the whole compile)');

  console.log('');
  const oneK = results.get(1000);
  const tenK = results.get(10000);
  if (oneK !== undefined) {
    const value = oneK.timedOut ? undefined : median(oneK.compileMs);
    const shown = value === undefined ? `> ${TIMEOUT_S * 1000} ms` : `${ms(value)} ms`;
    console.log(`  1,000 nodes per export        ${shown}   (target < ${TARGET_1K_MS} ms: ${verdict(value !== undefined && value < TARGET_1K_MS)})`);
  }
  if (oneK !== undefined && tenK !== undefined && !oneK.timedOut) {
    const oneKMs = median(oneK.compileMs);
    const ratio = tenK.timedOut ? undefined : median(tenK.compileMs) / oneKMs;
    const shown = ratio === undefined ? `> ${((TIMEOUT_S * 1000) / oneKMs).toFixed(1)}` : ratio.toFixed(2);
    console.log(`  10,000 / 1,000 time ratio     ${shown}   (target < ${TARGET_RATIO}: ${verdict(ratio !== undefined && ratio < TARGET_RATIO)}; 10 is linear)`);
  }
  const deep = [...results.values()].filter((r) => !r.timedOut && r.nesting >= 100);
  if (deep.length > 0) {
    const where = deep.map((r) => `${r.nesting} levels at ${r.size} nodes`).join(', ');
    console.log(`  note: main.py nests blocks ${where}; CPython refuses 100 or more ("too many levels of indentation").`);
  }
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  // A throw here (a compile error) ends the worker with an 'error' event, which fails the run.
  measureSize(workerData).then((result) => parentPort.postMessage(result));
}
