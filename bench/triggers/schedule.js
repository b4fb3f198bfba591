'use strict';
/**
 * bench/triggers/schedule.js: how soon a schedule's run starts after its fire time, against how
 * soon an API request's run starts after the request is sent, measured in one run against the
 * built server (embedded mode) started as a real process.
 *
 *   schedule   a `schedule` workflow firing every second (`* * * * * *`) for BENCH_FIRES (20) fire
 *              times: per run, startedAt - trigger.fireTime (both the server's clock). Also printed:
 *              createdAt - fireTime (timer wake-up, compile, insert). Target: median < 100 ms.
 *   api        BENCH_FIRES sequential `POST /v1/workflows/:id/execute` of the same graph with a
 *              manual trigger: startedAt - the time the request was sent (same machine, same clock).
 *
 * Printed: medians and p90, and the ratio schedule / api of the medians.
 *
 *   npm run build && node bench/triggers/schedule.js
 *   BENCH_FIRES=40 node bench/triggers/schedule.js
 */
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { TERMINAL, sleep, median, percentile, ms, verdict, table, startServer, stopServer, call, pollExecution } = require('../support');

const FIRES = Number(process.env.BENCH_FIRES ?? 20);
const TARGET_MEDIAN_MS = 100;

const graph = (trigger) => ({
  name: `bench ${trigger.type}`,
  nodes: [trigger, { id: 'out', type: 'return', settings: { value: { ok: true } } }],
  edges: [{ source: 'trigger', target: 'out' }],
});

/** Every execution of a workflow started by its schedule (newest first, as the API lists them). */
async function scheduledRuns(api, workflowId) {
  const runs = [];
  let cursor = null;
  do {
    const page = await call(api, 'GET', `/v1/executions?workflowId=${workflowId}&trigger=schedule&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    runs.push(...page.executions);
    cursor = page.nextCursor;
  } while (cursor);
  return runs;
}

async function measureSchedule(api) {
  const { id } = await call(api, 'POST', '/v1/workflows', graph({ id: 'trigger', type: 'schedule', settings: { cron: '* * * * * *' } }));
  // One fire time to warm the compile cache and the executor, then FIRES more.
  let runs = [];
  while (runs.length < FIRES + 1) {
    await sleep(500);
    runs = await scheduledRuns(api, id);
  }
  await call(api, 'PATCH', `/v1/workflows/${id}/schedule`, { paused: true });
  runs = (await scheduledRuns(api, id)).sort((a, b) => a.trigger.fireTime.localeCompare(b.trigger.fireTime)).slice(1, FIRES + 1);
  for (const run of runs) if (!TERMINAL.has(run.status)) await pollExecution(api, run.id, 20);
  const fire = (run) => Date.parse(run.trigger.fireTime);
  return {
    toRunning: runs.map((run) => Date.parse(run.startedAt) - fire(run)),
    toCreated: runs.map((run) => Date.parse(run.createdAt) - fire(run)),
  };
}

async function measureApi(api) {
  const { id } = await call(api, 'POST', '/v1/workflows', graph({ id: 'trigger', type: 'manual', settings: {} }));
  const toRunning = [];
  for (let round = 0; round <= FIRES; round++) {
    const sent = Date.now();
    const { executionId } = await call(api, 'POST', `/v1/workflows/${id}/execute`, {});
    const { execution } = await pollExecution(api, executionId, 20);
    if (round > 0) toRunning.push(Date.parse(execution.startedAt) - sent);
  }
  return { toRunning };
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-bench-schedule-'));
  const server = await startServer(dataDir);
  try {
    const schedule = await measureSchedule(server.api);
    const api = await measureApi(server.api);
    const scheduleMedian = median(schedule.toRunning);
    const apiMedian = median(api.toRunning);
    console.log(`\nbench/triggers/schedule: ${FIRES} fire times of a 1-second schedule, ${FIRES} API executions (embedded mode)\n`);
    table(
      ['', 'median ms', 'p90 ms', 'max ms'],
      [
        ['schedule: fire time -> running', ms(scheduleMedian), ms(percentile(schedule.toRunning, 90)), ms(Math.max(...schedule.toRunning))],
        ['schedule: fire time -> queued row', ms(median(schedule.toCreated)), ms(percentile(schedule.toCreated, 90)), ms(Math.max(...schedule.toCreated))],
        ['api: request sent -> running', ms(apiMedian), ms(percentile(api.toRunning, 90)), ms(Math.max(...api.toRunning))],
      ],
    );
    console.log(`\n  ratio schedule / api (medians): ${(scheduleMedian / apiMedian).toFixed(2)}`);
    console.log(`  schedule fire-to-running median ${ms(scheduleMedian)} ms, target < ${TARGET_MEDIAN_MS} ms: ${verdict(scheduleMedian < TARGET_MEDIAN_MS)}\n`);
  } finally {
    await stopServer(server.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
