/**
 * The slurm executor through its SSH way in: the login node is this machine reached over SSH
 * (the sshd of scripts/ci/ssh/start-sshd.sh on 127.0.0.1, logging in as the user the tests run
 * as, who can run Slurm's commands and write the work dir), the cluster the one-node Slurm of
 * scripts/ci/slurm/start-slurm.sh. Both are started here when not running. The SDK's conformance
 * suite, then what the way in adds: Slurm's answers through the login node, an unreachable login
 * node, a refused host key, a connection lost while a job runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createTestContext, type Executor, ExecutorUnavailableError, type PluginLogger, silentLogger, testJob } from '@tensorify/executor-sdk';
import { resolveLoginNode } from '../src/config';
import slurm, { type SlurmExecutorConfig, type SlurmLoginNodeConfig, SshTransport } from '../src/index';
import { CPU_PORT, freePort, KEY, keyFingerprint, KNOWN_HOSTS, SSHD_DIR, startSshd, USER } from '../../ssh/test/test-hosts';
import { clusterWorkDir, describeClusterConformance, liveJobs, showJob, until } from './cluster';

startSshd();
const { workDir, track } = clusterWorkDir('ssh-test-');

const LOGIN_NODE: SlurmLoginNodeConfig = { host: '127.0.0.1', port: CPU_PORT, privateKeyPath: KEY, knownHostsPath: KNOWN_HOSTS };

function make(config: SlurmExecutorConfig = {}, logger: PluginLogger = silentLogger): Executor {
  return track(slurm.create({ transport: 'ssh', loginNode: LOGIN_NODE, workDir, pollSeconds: 0.3, ...config }, { dataDir: workDir, logger }) as Executor);
}

describeClusterConformance('slurm executor over SSH to a login node: conformance', () => make());

/** A program that prints its pid, then waits until `inputs.flag` exists (or sleeps `inputs.seconds`). */
const WAITER = [
  'import json, os, sys, time',
  'inputs = json.loads(os.environ.get("TENSORIFY_INPUTS", "{}"))',
  'print("pid", os.getpid(), flush=True)',
  'deadline = time.time() + float(inputs.get("seconds", 120))',
  'while time.time() < deadline and not (inputs.get("flag") and os.path.exists(inputs["flag"])):',
  '    time.sleep(0.1)',
  'print("done", flush=True)',
].join('\n');

/** The pids of the sshd processes serving this test process's connections to the login node (found with `ss` by the client's ports). */
function ourSshdPids(): number[] {
  const ss = (filter: string): string[] => execFileSync('ss', ['-tnpH', 'state', 'established', filter], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const ourPorts = ss(`( dport = :${CPU_PORT} )`)
    .filter((line) => line.includes(`pid=${process.pid},`))
    .map((line) => line.trim().split(/\s+/)[2].split(':').pop());
  const pids = ourPorts.flatMap((port) =>
    ss(`( sport = :${CPU_PORT} and dport = :${port} )`).flatMap((line) => [...line.matchAll(/pid=(\d+)/g)].map((match) => Number(match[1]))),
  );
  return [...new Set(pids)];
}

describe('slurm executor over SSH: Slurm through the login node', () => {
  let executor: Executor;
  beforeAll(() => {
    executor = make();
  });

  it('reports the partitions sinfo shows on the login node, and where it reaches it', async () => {
    const capabilities = await executor.capabilities();
    expect(capabilities).toMatchObject({ healthy: true, gpu: false, gpus: [] });
    expect(capabilities.detail).toBe(`login node ${USER}@127.0.0.1:${CPU_PORT} over SSH; partitions: debug*, closed; no GPU`);
  });

  it('gives the job id at once, streams the output read by SFTP, quotes a failure and removes the run directory', async () => {
    const context = createTestContext();
    const result = await executor.run(testJob({ 'main.py': 'import sys\nprint("bye")\nprint("oops", file=sys.stderr)\nsys.exit(7)' }), context);
    expect(result.exitCode).toBe(7);
    expect(result.externalId).toBe(context.externalIds[0]);
    expect(showJob(context.externalIds[0])).toMatchObject({ JobState: 'FAILED', ExitCode: '7:0' });
    expect(context.of('system')).toContain('Slurm: the job FAILED with ExitCode=7:0 (Reason=NonZeroExitCode)');
    expect(context.of('stdout')).toEqual(['bye']);
    expect(context.of('stderr')).toEqual(['oops']);
    expect(readdirSync(workDir).filter((name) => name.startsWith('exec_'))).toEqual([]);
  });

  it('shows a pending job with its reason, and a cancel over SSH is confirmed by Slurm', async () => {
    const pending = make({ partition: 'closed' });
    const context = createTestContext();
    const running = pending.run(testJob({ 'main.py': WAITER }), context);
    await until('the pending reason', () => context.of('system').some((line) => line.includes('PENDING Reason=PartitionDown')));
    const jobId = context.externalIds[0];
    expect(showJob(jobId)).toMatchObject({ JobState: 'PENDING', Reason: 'PartitionDown' });
    context.abort('cancelled');
    expect((await running).exitCode).toBeNull();
    expect(showJob(jobId).JobState).toBe('CANCELLED');
    expect(context.of('system')).toContain(`Slurm job ${jobId} ended (CANCELLED); its processes are gone`);
  });

  it("fails at once with sbatch's own message when it refuses the job, leaving nothing queued", async () => {
    const job = testJob({ 'main.py': 'print(1)' });
    const context = createTestContext();
    await expect(make({ partition: 'nope' }).run(job, context)).rejects.toThrow(
      /^sbatch refused the job: sbatch: error: .*invalid partition specified: nope/im,
    );
    expect(context.externalIds).toEqual([]);
    expect(liveJobs(`tensorify-${job.executionId}`)).toEqual([]);
  });

  it('keeps following a running job when the connection is lost, over a new connection', async () => {
    const warnings: string[] = [];
    const logger: PluginLogger = { ...silentLogger, warn: (message: string) => warnings.push(message) };
    const own = make({}, logger);
    const flag = path.join(workDir, 'go-on');
    const context = createTestContext();
    const running = own.run(testJob({ 'main.py': WAITER }, { inputs: { flag } }), context);
    await until('the program to start', () => context.of('stdout').some((line) => line.startsWith('pid ')));
    const sshd = ourSshdPids();
    expect(sshd.length).toBeGreaterThan(0);
    for (const pid of sshd) process.kill(pid, 'SIGTERM');
    await until('the sshd processes to end', () => sshd.every((pid) => !existsSync(`/proc/${pid}`)));
    writeFileSync(flag, '');
    const result = await running;
    expect(result.exitCode).toBe(0);
    expect(context.of('stdout').slice(1)).toEqual(['done']);
    expect(showJob(context.externalIds[0]).JobState).toBe('COMPLETED');
    expect(warnings.some((line) => line.startsWith(`slurm executor: login node ${USER}@127.0.0.1:${CPU_PORT}: the connection was lost`))).toBe(true);
  });
});

describe('slurm executor over SSH: a login node it cannot use', () => {
  it('an unreachable login node fails the run at once (long before the connect timeout) with the reason, and nothing is staged', async () => {
    const port = await freePort();
    const executor = make({ loginNode: { ...LOGIN_NODE, port, connectTimeoutSeconds: 600 } });
    const context = createTestContext();
    const error = await executor.run(testJob({ 'main.py': 'print(1)' }), context).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(ExecutorUnavailableError);
    expect((error as Error).message).toBe(
      `slurm executor: login node ${USER}@127.0.0.1:${port}: connection refused (nothing listens on port ${port}: is sshd running?)`,
    );
    expect(context.externalIds).toEqual([]);
    const capabilities = await executor.capabilities();
    expect(capabilities).toMatchObject({ healthy: false, detail: (error as Error).message });
  });

  it('refuses a login node whose host key contradicts known_hosts, or a pinned fingerprint, or is unknown; nothing is submitted', async () => {
    const otherKey = readFileSync(path.join(SSHD_DIR, 'host_gpu_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const wrongKnownHosts = path.join(workDir, 'known_hosts_wrong');
    writeFileSync(wrongKnownHosts, `[127.0.0.1]:${CPU_PORT} ${otherKey}\n`);
    const emptyKnownHosts = path.join(workDir, 'known_hosts_empty');
    writeFileSync(emptyKnownHosts, '');
    const gpuFingerprint = keyFingerprint(path.join(SSHD_DIR, 'host_gpu_ed25519.pub'));
    const cases: [Partial<SlurmLoginNodeConfig>, RegExp][] = [
      [{ knownHostsPath: wrongKnownHosts }, /: HOST KEY MISMATCH: the host offered ssh-ed25519 SHA256:\S+, which is not the key .* lists for it .*: refused$/],
      [
        { fingerprints: [gpuFingerprint] },
        new RegExp(`: HOST KEY MISMATCH: .*which is not the pinned fingerprint ${gpuFingerprint.replace(/[+/]/g, '\\$&')} .*: refused$`),
      ],
      [{ knownHostsPath: emptyKnownHosts }, /: unknown host key ssh-ed25519 SHA256:\S+: not in .*known_hosts_empty and no fingerprint is pinned/],
    ];
    for (const [loginNode, message] of cases) {
      const job = testJob({ 'main.py': 'print(1)' });
      const context = createTestContext();
      const error = await make({ loginNode: { ...LOGIN_NODE, ...loginNode } })
        .run(job, context)
        .catch((caught: Error) => caught);
      expect(error).toBeInstanceOf(ExecutorUnavailableError);
      expect((error as Error).message).toMatch(new RegExp(`^slurm executor: login node ${USER}@127\\.0\\.0\\.1:${CPU_PORT}`));
      expect((error as Error).message).toMatch(message);
      expect(context.externalIds).toEqual([]);
      expect(liveJobs(`tensorify-${job.executionId}`)).toEqual([]);
    }
  });

  it('refuses a configuration without a login node, or with paths relative to the server', () => {
    const host = { dataDir: workDir, logger: silentLogger };
    expect(() => slurm.create({ transport: 'ssh', workDir }, host)).toThrow(
      'slurm executor: transport "ssh" needs loginNode (its host and a privateKeyPath or agent)',
    );
    expect(() => slurm.create({ loginNode: LOGIN_NODE, workDir }, host)).toThrow(
      'slurm executor: loginNode is only used with transport "ssh" (transport is "local")',
    );
    expect(() => slurm.create({ transport: 'ssh', loginNode: LOGIN_NODE, workDir: 'runs' }, host)).toThrow(
      'slurm executor: with transport "ssh", workDir must be an absolute path on the cluster (got "runs")',
    );
  });

  it("the configuration schema takes the SDK's SSH fields for loginNode and fills in their defaults", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv = require('ajv') as typeof import('ajv').default;
    const validate = new Ajv({ strict: false, useDefaults: true }).compile(slurm.configSchema);
    const config: Record<string, unknown> = { transport: 'ssh', workDir: '/shared/runs', loginNode: { host: 'login1', agent: true } };
    expect(validate(config)).toBe(true);
    expect(config.loginNode).toEqual({ host: 'login1', agent: true, port: 22, acceptUnknownHostKeys: false, connectTimeoutSeconds: 10 });
    expect(validate({ transport: 'ssh', loginNode: { host: 'login1' } })).toBe(false); // neither a key nor an agent
    expect(validate({ transport: 'ssh', loginNode: { host: 'login1', agent: true, fingerprints: ['MD5:aa'] } })).toBe(false);
    expect(validate({ transport: 'ssh', loginNode: { host: 'login1', agent: true, hosts: [] } })).toBe(false);
  });
});

describe('SshTransport: commands on the login node', () => {
  const transport = (binDir?: string): SshTransport => new SshTransport({ ...resolveLoginNode(LOGIN_NODE), binDir, logger: silentLogger });

  it('runs a command with its words quoted, binDir first on PATH, and says when a command is not there', async () => {
    const binDir = mkdtempSync(path.join(workDir, 'bin '));
    writeFileSync(path.join(binDir, 'say'), '#!/bin/sh\nprintf "%s|" "$@"\necho "$PWD" >&2\nexit 3\n', { mode: 0o755 });
    const withBin = transport(binDir);
    try {
      expect(await withBin.run('say', ["it's", 'a b', '$HOME', '`x`', ''])).toEqual({
        code: 3,
        stdout: "it's|a b|$HOME|`x`||",
        stderr: expect.any(String) as string,
      });
      const missing = await withBin.run('tensorify-no-such-command', []).catch((caught: Error) => caught);
      expect(missing).toBeInstanceOf(ExecutorUnavailableError);
      expect((missing as Error).message).toMatch(
        new RegExp(`^slurm executor: login node ${USER}@127\\.0\\.0\\.1:${CPU_PORT}: cannot run tensorify-no-such-command on the login node: .*not found$`),
      );
    } finally {
      await withBin.close();
    }
    const withoutBin = transport();
    try {
      await expect(withoutBin.run('tensorify-no-such-command', [])).rejects.toThrow(/not found \(is Slurm installed there\? set binDir\)$/);
    } finally {
      await withoutBin.close();
    }
  });

  it('runs at most 8 commands at once on its one connection (sshd allows 10 sessions per connection by default)', async () => {
    const dir = mkdtempSync(path.join(workDir, 'sessions-'));
    // Each command counts itself in (under flock) and keeps the highest count seen, then waits until
    // 9 are in at once (or 3 s), and counts itself out: with more than 8 at once the count passes 8.
    const script = [
      'd=$1',
      'flock "$d/lock" sh -c \'n=$(( $(cat "$1/now" 2>/dev/null || echo 0) + 1 )); echo $n >"$1/now"; m=$(cat "$1/max" 2>/dev/null || echo 0); [ $n -le $m ] || echo $n >"$1/max"\' _ "$d"',
      'i=0',
      'while n=$(cat "$d/now"); [ "${n:-0}" -lt 9 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done',
      'flock "$d/lock" sh -c \'echo $(( $(cat "$1/now") - 1 )) >"$1/now"\' _ "$d"',
    ].join('\n');
    const own = transport();
    try {
      const results = await Promise.all(Array.from({ length: 16 }, () => own.run('sh', ['-c', script, 'sh', dir])));
      expect(results.map((result) => result.code)).toEqual(Array.from({ length: 16 }, () => 0));
    } finally {
      await own.close();
    }
    expect(readFileSync(path.join(dir, 'now'), 'utf8').trim()).toBe('0');
    expect(Number(readFileSync(path.join(dir, 'max'), 'utf8'))).toBeLessThanOrEqual(8);
  });
});
