/**
 * The slurm executor against a real one-node Slurm cluster (scripts/ci/slurm/start-slurm.sh, started
 * here when not running), through its login-node transport: the SDK's conformance suite, then what
 * is Slurm's own: the job id as external id, a pending job's reason, a confirmed cancel, Slurm's
 * exit codes and time limit, sbatch's refusals, GPU routing, the virtualenv built by the job.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createTestContext, type Executor, silentLogger, testJob } from '@tensorify/executor-sdk';
import slurm, { type SlurmExecutorConfig } from '../src/index';
import { buildWheel } from '../../ssh/test/test-hosts';
import { clusterWorkDir, describeClusterConformance, liveJobs, showJob, until } from './cluster';

const { workDir } = clusterWorkDir('executor-test-');

const make = (config: SlurmExecutorConfig = {}): Promise<Executor> =>
  Promise.resolve(slurm.create({ workDir, pollSeconds: 0.3, ...config }, { dataDir: workDir, logger: silentLogger }));

describeClusterConformance('slurm executor: conformance', () => make());

/** A program that prints its pid and sleeps; with `inputs.pidFile` it writes its pid there. */
const SLEEPER = [
  'import json, os, sys, time',
  'inputs = json.loads(os.environ.get("TENSORIFY_INPUTS", "{}"))',
  'print("pid", os.getpid(), flush=True)',
  'time.sleep(float(inputs.get("seconds", 120)))',
].join('\n');

function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('slurm executor: Slurm itself', () => {
  let executor: Executor;
  beforeAll(async () => {
    executor = await make();
  });

  it('reports the partitions and no GPU (this cluster has no gpu Gres)', async () => {
    const capabilities = await executor.capabilities();
    expect(capabilities).toMatchObject({ healthy: true, gpu: false, gpus: [] });
    expect(capabilities.detail).toContain('partitions: debug*, closed');
  });

  it('is unhealthy and refuses runs without a workDir', async () => {
    const unconfigured = await slurm.create({}, { dataDir: workDir, logger: silentLogger });
    expect(await unconfigured.capabilities()).toMatchObject({ healthy: false });
    await expect(unconfigured.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toMatchObject({ name: 'ExecutorUnavailableError' });
  });

  it('gives the job id as external id at once, and a failure its ExitCode quoted', async () => {
    const context = createTestContext();
    const result = await executor.run(testJob({ 'main.py': 'import sys\nprint("bye")\nsys.exit(7)' }), context);
    expect(result.exitCode).toBe(7);
    expect(context.externalIds).toHaveLength(1);
    expect(result.externalId).toBe(context.externalIds[0]);
    expect(showJob(context.externalIds[0])).toMatchObject({ JobState: 'FAILED', ExitCode: '7:0' });
    expect(context.of('system')).toContain('Slurm: the job FAILED with ExitCode=7:0 (Reason=NonZeroExitCode)');
    expect(context.of('stdout')).toEqual(['bye']);
  });

  it('shows a pending job as queued with its reason, and a cancel ends it (confirmed by Slurm)', async () => {
    const pending = await make({ partition: 'closed' });
    const context = createTestContext();
    const running = pending.run(testJob({ 'main.py': SLEEPER }), context);
    await until('the pending reason', () => context.of('system').some((line) => line.includes('PENDING Reason=PartitionDown')));
    const jobId = context.externalIds[0];
    expect(showJob(jobId)).toMatchObject({ JobState: 'PENDING', Reason: 'PartitionDown', Partition: 'closed' });
    context.abort('cancelled');
    const result = await running;
    expect(result.exitCode).toBeNull();
    expect(showJob(jobId).JobState).toBe('CANCELLED');
    expect(context.of('system')).toContain(`Slurm job ${jobId} ended (CANCELLED); its processes are gone`);
  });

  it('cancels a running job: run returns once Slurm says it ended and its process is gone; the run dir is removed', async () => {
    const context = createTestContext();
    const running = executor.run(testJob({ 'main.py': SLEEPER }), context);
    await until('the program to start', () => context.of('stdout').some((line) => line.startsWith('pid ')));
    const pid = Number(context.of('stdout')[0].split(' ')[1]);
    expect(processAlive(pid)).toBe(true);
    expect(context.of('system')).toContain('running on ' + showJob(context.externalIds[0]).NodeList);
    context.abort('cancelled');
    const result = await running;
    expect(result.exitCode).toBeNull();
    expect(processAlive(pid)).toBe(false);
    expect(showJob(context.externalIds[0]).JobState).toBe('CANCELLED');
    expect(readdirSync(workDir).filter((name) => name.startsWith('exec_'))).toEqual([]);
  });

  it("fails at once with sbatch's own message when it refuses the job (a bad partition), leaving nothing queued", async () => {
    const refused = await make({ partition: 'nope' });
    const job = testJob({ 'main.py': 'print(1)' });
    const context = createTestContext();
    await expect(refused.run(job, context)).rejects.toThrow(/sbatch refused the job: sbatch: error: .*invalid partition specified: nope/i);
    expect(context.externalIds).toEqual([]);
    expect(liveJobs(`tensorify-${job.executionId}`)).toEqual([]);
  });

  it('refuses gpu: true before submitting anything on a cluster without GPUs', async () => {
    const job = testJob({ 'main.py': 'print(1)' }, { gpu: true });
    const context = createTestContext();
    await expect(executor.run(job, context)).rejects.toThrow(/GPU_UNAVAILABLE: no partition of this Slurm cluster has GPUs/);
    expect(context.externalIds).toEqual([]);
    expect(context.lines.filter((line) => line.line.startsWith('sbatch') || line.line.startsWith('submitted'))).toEqual([]);
  });

  it('passes partition, cpus, mem, the time limit rounded up to whole minutes and extra flags to sbatch', async () => {
    const configured = await make({ partition: 'debug', cpusPerTask: 2, mem: '100M', sbatchArgs: ['--comment=tensorify-test'] });
    const context = createTestContext();
    const result = await configured.run(testJob({ 'main.py': 'print("ok")' }, { timeoutMs: 61_000 }), context);
    expect(result.exitCode).toBe(0);
    const job = showJob(context.externalIds[0]);
    expect(job).toMatchObject({ Partition: 'debug', TimeLimit: '00:02:00', MinMemoryNode: '100M', Comment: 'tensorify-test' });
    expect(job.NumCPUs).toBe('2');
  });

  it('builds the virtualenv of a requirements.txt once, in a job, on the shared filesystem, and reuses it', async () => {
    const wheels = path.join(workDir, 'wheels');
    mkdirSync(wheels, { recursive: true });
    buildWheel(wheels);
    const withVenvs = await make({ pipArgs: ['--no-index', '--find-links', wheels] });
    const files = { 'main.py': 'import tensorify_tiny\nprint("value", tensorify_tiny.VALUE)', 'requirements.txt': '# needs\ntensorify-tiny==0.1\n' };
    const first = createTestContext();
    expect((await withVenvs.run(testJob(files), first)).exitCode).toBe(0);
    expect(first.of('stdout')).toEqual(['value 42']);
    expect(first.of('system').some((line) => line.startsWith('creating the virtualenv '))).toBe(true);
    const second = createTestContext();
    expect((await withVenvs.run(testJob(files), second)).exitCode).toBe(0);
    expect(second.of('system').some((line) => line.startsWith('creating the virtualenv '))).toBe(false);
    expect(second.of('stdout')).toEqual(['value 42']);
    expect(existsSync(path.join(workDir, 'venvs'))).toBe(true);

    const missing = createTestContext();
    await expect(withVenvs.run(testJob({ 'main.py': 'print(1)', 'requirements.txt': 'tensorify-missing==9.9\n' }), missing)).rejects.toThrow(
      /installing the requirements failed/,
    );
    expect(missing.of('system').join('\n')).toMatch(/No matching distribution found for tensorify-missing==9.9/);
    // Three jobs and two pip installs: room for a busy machine.
  }, 240_000);
});

describe("slurm executor: Slurm's own time limit", () => {
  // Slurm's time limits are whole minutes and its checks run every 30 s or so: this takes 60 to 90 s.
  it("a job past its --time ends TIMEOUT, and the run fails quoting Slurm's state and reason", async () => {
    const limited = await make({ sbatchArgs: ['--time=1'] });
    const context = createTestContext();
    const started = Date.now();
    const error = await limited
      .run(testJob({ 'main.py': SLEEPER }, { inputs: { seconds: 300 }, timeoutMs: 10 * 60_000 }), context)
      .catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^Slurm: the job reached its time limit \(JobState=TIMEOUT, Reason=TimeLimit\) \(job \d+\)$/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(60_000);
    const pid = Number(context.of('stdout')[0].split(' ')[1]);
    expect(processAlive(pid)).toBe(false);
    expect(showJob(context.externalIds[0]).JobState).toBe('TIMEOUT');
  }, 200_000);
});

describe('slurm executor: the start of a job, and following it again after a restart', () => {
  /** Prints `line 1..n`, one every `every` seconds, after its pid. */
  const COUNTER = [
    'import json, os, sys, time',
    'inputs = json.loads(os.environ.get("TENSORIFY_INPUTS", "{}"))',
    'print("pid", os.getpid(), flush=True)',
    'for i in range(1, int(inputs.get("lines", 6)) + 1):',
    '    print(f"line {i}", flush=True)',
    '    print(f"err {i}", file=sys.stderr, flush=True)',
    '    time.sleep(float(inputs.get("every", 1)))',
    'open(os.environ["TENSORIFY_OUTPUT"], "w").write(json.dumps({"lines": int(inputs.get("lines", 6))}))',
  ].join('\n');
  let executor: Executor;
  beforeAll(async () => {
    executor = await make();
  });

  /** What a server gives `resume`: the run's context and what its log holds already. */
  function resumeContext(jobId: string, before: ReturnType<typeof createTestContext>, wasStarted: boolean) {
    const context = createTestContext();
    const count = (stream: 'stdout' | 'stderr' | 'system') => before.of(stream).length;
    return Object.assign(context, { externalId: jobId, wasStarted, logged: { stdout: count('stdout'), stderr: count('stderr'), system: count('system') } });
  }

  it('reports the start only once Slurm runs a held job (PENDING, Reason=JobHeldUser, until released)', async () => {
    const held = await make({ sbatchArgs: ['--hold'] });
    const context = createTestContext();
    const running = held.run(testJob({ 'main.py': 'print("ran")' }), context);
    await until('the pending reason', () => context.of('system').some((line) => line.includes('PENDING Reason=JobHeldUser')));
    expect(held.reportsStart).toBe(true);
    expect(context.starts).toBe(0);
    execFileSync('scontrol', ['release', context.externalIds[0]]);
    const result = await running;
    expect(result.exitCode).toBe(0);
    expect(context.starts).toBe(1);
    expect(context.of('stdout')).toEqual(['ran']);
  }, 120_000);

  it('detaches from a running job at shutdown (the job goes on), and resume follows it to its end with each line once', async () => {
    const job = testJob({ 'main.py': COUNTER }, { inputs: { lines: 6, every: 1 } });
    const first = createTestContext();
    const running = executor.run(job, first);
    await until('two lines', () => first.of('stdout').includes('line 2'));
    first.abort('shutdown');
    const detached = await running;
    const jobId = first.externalIds[0];
    expect(detached).toMatchObject({ exitCode: null, detached: true, externalId: jobId });
    expect(showJob(jobId).JobState).toBe('RUNNING');
    expect(readdirSync(workDir).filter((name) => name.startsWith(job.executionId))).toHaveLength(1);

    const second = resumeContext(jobId, first, true);
    const result = await executor.resume!(job, second);
    expect(result).toMatchObject({ exitCode: 0, output: { lines: 6 }, externalId: jobId });
    const lines = Array.from({ length: 6 }, (_, i) => i + 1);
    expect([...first.of('stdout'), ...second.of('stdout')]).toEqual([expect.stringMatching(/^pid \d+$/), ...lines.map((i) => `line ${i}`)]);
    expect([...first.of('stderr'), ...second.of('stderr')]).toEqual(lines.map((i) => `err ${i}`));
    expect(showJob(jobId).JobState).toBe('COMPLETED');
    expect(readdirSync(workDir).filter((name) => name.startsWith(job.executionId))).toEqual([]);
  }, 120_000);

  it('resumes a job that ended while no server followed it: its outcome (a failure with its exit code) and the rest of its output', async () => {
    const job = testJob({ 'main.py': 'import sys, time\nprint("one", flush=True)\ntime.sleep(2)\nprint("two")\nsys.exit(3)' });
    const first = createTestContext();
    const running = executor.run(job, first);
    await until('the first line', () => first.of('stdout').includes('one'));
    first.abort('shutdown');
    const jobId = (await running).externalId!;
    await until('the job to end', () => showJob(jobId).JobState === 'FAILED');
    const second = resumeContext(jobId, first, true);
    const result = await executor.resume!(job, second);
    expect(result.exitCode).toBe(3);
    expect(second.of('stdout')).toEqual(['two']);
    expect(second.of('system')).toContain('Slurm: the job FAILED with ExitCode=3:0 (Reason=NonZeroExitCode)');
  }, 120_000);

  it('cancels a resumed job, confirmed by Slurm; resuming a pending job reports its start when it runs', async () => {
    const held = await make({ sbatchArgs: ['--hold'] });
    const job = testJob({ 'main.py': SLEEPER }, { inputs: { seconds: 120 } });
    const first = createTestContext();
    const running = held.run(job, first);
    await until('the pending reason', () => first.of('system').some((line) => line.includes('Reason=JobHeldUser')));
    first.abort('shutdown');
    const jobId = (await running).externalId!;
    expect(showJob(jobId).JobState).toBe('PENDING');

    const second = resumeContext(jobId, first, false);
    const resumed = held.resume!(job, second);
    execFileSync('scontrol', ['release', jobId]);
    await until('the program to start', () => second.of('stdout').some((line) => line.startsWith('pid ')), 60_000);
    expect(second.starts).toBe(1);
    const pid = Number(second.of('stdout')[0].split(' ')[1]);
    second.abort('cancelled');
    const result = await resumed;
    expect(result.exitCode).toBeNull();
    expect(processAlive(pid)).toBe(false);
    expect(showJob(jobId).JobState).toBe('CANCELLED');
    expect(second.of('system')).toContain(`Slurm job ${jobId} ended (CANCELLED); its processes are gone`);
  }, 120_000);

  it('fails resume with a clear message when Slurm no longer knows the job', async () => {
    const context = Object.assign(createTestContext(), { externalId: '999999', wasStarted: true, logged: { stdout: 0, stderr: 0, system: 0 } });
    await expect(executor.resume!(testJob({ 'main.py': 'pass' }), context)).rejects.toThrow(
      'Slurm job 999999 can no longer be followed: the job is no longer known to slurmctld (MinJobAge passed); its outcome is unknown',
    );
  });
});
