'use strict';
/**
 * bench/retention: does the retention job slow the API down? A real server on a SQLite file holding
 * `--executions` finished executions (default 100000) past their retention and `--lines` log lines
 * (default 2000000) among them. The p99 of `GET /v1/workflows/:id` is measured twice in the same
 * run: with the job off (the baseline), then while the job prunes (TENSORIFY_RETENTION_INTERVAL_SECONDS=1).
 * Target: p99 while pruning within 2x of the baseline.
 *
 *   npm run bench:retention -- [--executions 100000] [--lines 2000000] [--requests 2000]
 */
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const sqlite3 = require('sqlite3');
const { call, flag, ms, percentile, startServer, stopServer, table, verdict, AUTH } = require('../support');

const EXECUTIONS = Number(flag('--executions') ?? 100_000);
const LINES = Number(flag('--lines') ?? 2_000_000);
const REQUESTS = Number(flag('--requests') ?? 2000);
const CONCURRENCY = 4;
/** How long the delete rate of the job on an idle server is measured, after the requests. */
const IDLE_SECONDS = Number(flag('--idle-seconds') ?? 5);
const DAY_MS = 24 * 60 * 60 * 1000;

const run = (db, sql, params = []) => new Promise((resolve, reject) => db.run(sql, params, (error) => (error ? reject(error) : resolve())));
const all = (db, sql, params = []) => new Promise((resolve, reject) => db.all(sql, params, (error, rows) => (error ? reject(error) : resolve(rows))));

/** Stores the finished executions and their log lines straight into the file, 100 days old (past every plan's retention). */
async function seed(file, workspaceId) {
  const db = new sqlite3.Database(file);
  const at = new Date(Date.now() - 100 * DAY_MS).toISOString();
  const perExecution = Math.floor(LINES / EXECUTIONS);
  await run(db, 'BEGIN');
  const execution = db.prepare(
    `INSERT INTO executions (id, workspace_id, workflow_id, workflow_version, status, executor, gpu, inputs, timeout_seconds, files, output, log_count, created_at, started_at, completed_at, trigger_type)
     VALUES (?, ?, 'wf_BenchRetention0001', 1, 'completed', 'local', 0, '{}', 60, '{"main.py":"print(1)"}', '{"ok":true}', ?, ?, ?, ?, 'api')`,
  );
  const line = db.prepare(`INSERT INTO execution_logs (execution_id, seq, stream, line) VALUES (?, ?, 'stdout', ?)`);
  const text = 'epoch 1/10 loss=0.2345 accuracy=0.9123 lr=0.001 '.repeat(2);
  for (let i = 0; i < EXECUTIONS; i++) {
    const id = `exec_bench${String(i).padStart(11, '0')}`;
    await new Promise((resolve, reject) => execution.run([id, workspaceId, perExecution, at, at, at], (e) => (e ? reject(e) : resolve())));
    for (let seq = 0; seq < perExecution; seq++) await new Promise((resolve, reject) => line.run([id, seq, text], (e) => (e ? reject(e) : resolve())));
  }
  await new Promise((resolve) => execution.finalize(resolve));
  await new Promise((resolve) => line.finalize(resolve));
  await run(db, 'COMMIT');
  await run(db, 'PRAGMA wal_checkpoint(TRUNCATE)');
  await new Promise((resolve) => db.close(resolve));
}

/** `REQUESTS` GETs of the workflow, `CONCURRENCY` at a time; resolves to their latencies in ms. */
async function measure(api, workflowId) {
  const latencies = [];
  let sent = 0;
  const worker = async () => {
    while (sent < REQUESTS) {
      sent++;
      const start = performance.now();
      const response = await fetch(`${api}/v1/workflows/${workflowId}`, { headers: AUTH });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`GET /v1/workflows/${workflowId}: ${response.status}`);
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return latencies;
}

async function remaining(file) {
  const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  const [row] = await all(db, 'SELECT COUNT(*) AS n FROM executions');
  await new Promise((resolve) => db.close(resolve));
  return row.n;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-bench-retention-'));
  const file = join(dataDir, 'tensorify.db');
  try {
    // 1. A schema, a workspace (the bootstrap one) and a workflow to read.
    let server = await startServer(dataDir, { TENSORIFY_RETENTION_INTERVAL_SECONDS: '0' });
    const me = await call(server.api, 'GET', '/v1/me');
    const workflow = await call(server.api, 'POST', '/v1/workflows', {
      name: 'Read me',
      nodes: [
        { id: 'trigger', type: 'manual' },
        { id: 'out', type: 'return', settings: { value: '{{ trigger }}' } },
      ],
      edges: [{ source: 'trigger', target: 'out' }],
    });
    await stopServer(server.child);

    const seeding = performance.now();
    await seed(file, me.workspace.id);
    console.log(
      `seeded ${EXECUTIONS} executions and ${Math.floor(LINES / EXECUTIONS) * EXECUTIONS} log lines in ${ms((performance.now() - seeding) / 1000)} s`,
    );

    // 2. Baseline: the job off.
    server = await startServer(dataDir, { TENSORIFY_RETENTION_INTERVAL_SECONDS: '0' });
    await measure(server.api, workflow.id); // warm-up
    const baseline = await measure(server.api, workflow.id);
    await stopServer(server.child);

    // 3. The same requests while the job prunes (it starts 1 s after boot).
    server = await startServer(dataDir, { TENSORIFY_RETENTION_INTERVAL_SECONDS: '1' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const before = await remaining(file);
    const measuring = performance.now();
    const pruning = await measure(server.api, workflow.id);
    const busySeconds = (performance.now() - measuring) / 1000;
    const after = await remaining(file);
    // 4. The same job with no requests: how fast it deletes on an idle server.
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const idleAfter = await remaining(file);
    await stopServer(server.child);

    const p99 = { baseline: percentile(baseline, 99), pruning: percentile(pruning, 99) };
    const ratio = p99.pruning / p99.baseline;
    table(
      ['GET /v1/workflows/:id', 'p50 ms', 'p99 ms'],
      [
        ['job off (baseline)', ms(percentile(baseline, 50)), ms(p99.baseline)],
        ['while pruning', ms(percentile(pruning, 50)), ms(p99.pruning)],
      ],
    );
    console.log(`executions left: ${before} when measuring began, ${after} when it ended (of ${EXECUTIONS})`);
    console.log(
      `delete rate: ${ms((before - after) / busySeconds)} executions/s while serving the requests (${ms(busySeconds)} s), ` +
        `${ms((after - idleAfter) / IDLE_SECONDS)}/s idle (the next ${IDLE_SECONDS} s${idleAfter === 0 ? ', until none were left' : ''})`,
    );
    if (before === after) console.log('  (the job did not prune during the measurement: raise --executions/--lines or --requests)');
    console.log(`p99 while pruning / baseline: ${ratio.toFixed(2)}x (target <= 2x): ${verdict(ratio <= 2)}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
