'use strict';
/**
 * bench/executors: the `hello` example through the `local`, `docker` and `ssh` executors in one
 * run, against the built server started as a real process with all three configured; each run is
 * timed from POST /v1/workflows/:id/execute to the execution reading `completed`. Rounds are
 * interleaved (local, docker, ssh; then rotated) so load on the machine falls on all alike.
 *
 * Prints each median (and p90), and each executor's difference and ratio to local. Targets:
 * ssh <= local + 300 ms, docker <= local + 1 s (images cached: a warm-up run per executor first).
 *
 * Services: the ones the integration suite uses (.ci/run starts them):
 *   scripts/ci/docker/start-dockerd.sh + build-test-image.sh  → BENCH_DOCKER_SOCKET, BENCH_DOCKER_IMAGE
 *   scripts/ci/ssh/start-sshd.sh                               → BENCH_SSHD_DIR, BENCH_SSH_PORT
 *
 *   npm run bench:executors            (builds first)
 *   BENCH_ROUNDS=30 node bench/executors/run.js
 */
const { execFileSync } = require('node:child_process');
const { existsSync, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { ROOT, call, executeAndWait, median, ms, percentile, startServer, stopServer, table, verdict } = require('../support');

const EXAMPLES = process.env.BENCH_EXAMPLES_DIR ?? join(ROOT, '..', 'shared', 'examples');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 5);
const DOCKER_SOCKET = process.env.BENCH_DOCKER_SOCKET ?? '/tmp/tensorify-docker/docker.sock';
const DOCKER_IMAGE = process.env.BENCH_DOCKER_IMAGE ?? 'tensorify-test-python:bookworm';
const SSHD_DIR = process.env.BENCH_SSHD_DIR ?? '/tmp/tensorify-sshd';
const SSH_PORT = Number(process.env.BENCH_SSH_PORT ?? 2222);
const TARGETS = { docker: 1000, ssh: 300 };
const EXECUTORS = ['local', 'docker', 'ssh'];

function services() {
  const missing = [];
  if (!existsSync(DOCKER_SOCKET)) missing.push(`no Docker engine at ${DOCKER_SOCKET} (scripts/ci/docker/start-dockerd.sh, then build-test-image.sh)`);
  if (!existsSync(join(SSHD_DIR, 'known_hosts'))) missing.push(`no test sshd in ${SSHD_DIR} (scripts/ci/ssh/start-sshd.sh)`);
  if (missing.length > 0) {
    console.error(`bench/executors cannot run: ${missing.join('; ')}`);
    process.exit(1);
  }
}

async function main() {
  services();
  const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  const executors = {
    docker: { socketPath: DOCKER_SOCKET, image: DOCKER_IMAGE, pullPolicy: 'never', python: 'python3' },
    ssh: {
      knownHostsPath: join(SSHD_DIR, 'known_hosts'),
      hosts: [{ name: 'bench', host: '127.0.0.1', port: SSH_PORT, user, privateKeyPath: join(SSHD_DIR, 'client_ed25519'), python: '/usr/bin/python3' }],
    },
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-bench-executors-'));
  const server = await startServer(dataDir, { TENSORIFY_EXECUTORS: JSON.stringify(executors), TENSORIFY_EXECUTION_CONCURRENCY: '1' });
  try {
    const { executors: listed } = await call(server.api, 'GET', '/v1/executors');
    for (const id of EXECUTORS) {
      const found = listed.find((executor) => executor.id === id);
      if (!found?.healthy) throw new Error(`executor ${id} is not healthy: ${JSON.stringify(found)}`);
      console.log(`${id.padEnd(6)} ${found.version}  ${found.detail}`);
    }
    const hello = JSON.parse(readFileSync(join(EXAMPLES, 'hello.json'), 'utf8'));
    const inputs = JSON.parse(readFileSync(join(EXAMPLES, 'hello.inputs.json'), 'utf8'));
    const expected = readFileSync(join(EXAMPLES, 'hello.expected-output.json'), 'utf8');
    const { id: workflowId } = await call(server.api, 'POST', '/v1/workflows', hello);

    const once = async (executor) => {
      const { ms: elapsed, execution } = await executeAndWait(server.api, workflowId, { inputs, executor }, POLL_MS);
      if (execution.status !== 'completed' || JSON.stringify(execution.output) !== JSON.stringify(JSON.parse(expected))) {
        throw new Error(`${executor}: ${execution.status} ${JSON.stringify(execution.error ?? execution.output)}`);
      }
      return elapsed;
    };
    for (const executor of EXECUTORS) await once(executor); // warm-up: images, connections, interpreters
    const times = Object.fromEntries(EXECUTORS.map((executor) => [executor, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = EXECUTORS.map((_, index) => EXECUTORS[(index + round) % EXECUTORS.length]);
      for (const executor of order) times[executor].push(await once(executor));
    }

    const local = median(times.local);
    console.log(`\nhello, execute → completed, ${ROUNDS} runs each (interleaved), polled every ${POLL_MS} ms:`);
    table(
      ['executor', 'median ms', 'p90 ms', 'vs local', 'ratio', 'target', ''],
      EXECUTORS.map((executor) => {
        const value = median(times[executor]);
        const target = TARGETS[executor];
        return [
          executor,
          ms(value),
          ms(percentile(times[executor], 90)),
          executor === 'local' ? '' : `${value >= local ? '+' : '-'}${ms(Math.abs(value - local))}`,
          (value / local).toFixed(2),
          target === undefined ? '' : `<= local + ${target} ms`,
          target === undefined ? '' : verdict(value - local <= target),
        ];
      }),
    );
  } finally {
    await stopServer(server.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
