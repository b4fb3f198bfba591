/**
 * The slurm executor through slurmrestd with a JWT, against the one-node cluster of
 * scripts/ci/slurm/start-slurm.sh (slurmrestd on 127.0.0.1:6820, as the slurm user): the SDK's
 * conformance suite, a failure's exit code, a pending reason and a confirmed cancel, and the errors
 * of a bad token and an unreachable slurmrestd.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestContext, type Executor, silentLogger, testJob } from '@tensorify/executor-sdk';
import slurm, { type SlurmExecutorConfig } from '../src/index';
import { clusterWorkDir, describeClusterConformance, showJob, until } from './cluster';

const REST_URL = `http://127.0.0.1:${process.env.TENSORIFY_SLURMRESTD_PORT ?? 6820}`;
const USER = os.userInfo().username;
const { workDir } = clusterWorkDir('rest-test-');
const tokenFile = path.join(workDir, 'jwt');
// `scontrol token` prints SLURM_JWT=…; the executor reads the file at each request.
writeFileSync(tokenFile, execFileSync('scontrol', ['token', `username=${USER}`, 'lifespan=7200'], { encoding: 'utf8' }), { mode: 0o600 });

const make = (config: SlurmExecutorConfig = {}): Promise<Executor> =>
  Promise.resolve(
    slurm.create(
      { transport: 'slurmrestd', restUrl: REST_URL, restUser: USER, restTokenFile: tokenFile, workDir, pollSeconds: 0.3, ...config },
      { dataDir: workDir, logger: silentLogger },
    ),
  );

describeClusterConformance('slurm executor over slurmrestd: conformance', () => make());

describe('slurm executor over slurmrestd', () => {
  it('reports the partitions from the REST API', async () => {
    const capabilities = await (await make()).capabilities();
    expect(capabilities).toMatchObject({ healthy: true, gpu: false, gpus: [] });
    expect(capabilities.detail).toContain(`slurmrestd at ${REST_URL}`);
    expect(capabilities.detail).toContain('partitions: debug*, closed');
  });

  it('gives a failure its exit code (from the raw wait status) and the job id as external id', async () => {
    const context = createTestContext();
    const result = await (await make()).run(testJob({ 'main.py': 'import sys\nsys.exit(5)' }), context);
    expect(result.exitCode).toBe(5);
    expect(showJob(context.externalIds[0])).toMatchObject({ JobState: 'FAILED', ExitCode: '5:0' });
    expect(context.of('system')).toContain('Slurm: the job FAILED with ExitCode=5:0 (Reason=NonZeroExitCode)');
  });

  it("shows a pending job's reason, and a cancel (DELETE) ends it, confirmed by Slurm", async () => {
    const context = createTestContext();
    const running = (await make({ partition: 'closed' })).run(testJob({ 'main.py': 'import time\ntime.sleep(120)' }), context);
    await until('the pending reason', () => context.of('system').some((line) => line.includes('PENDING Reason=PartitionDown')));
    context.abort('cancelled');
    expect((await running).exitCode).toBeNull();
    expect(showJob(context.externalIds[0]).JobState).toBe('CANCELLED');
  });

  it("refuses a bad partition with slurmrestd's own message, at once", async () => {
    const context = createTestContext();
    await expect((await make({ partition: 'nope' })).run(testJob({ 'main.py': 'print(1)' }), context)).rejects.toThrow(
      /slurmrestd refused the job: .*[Pp]artition/,
    );
    expect(context.externalIds).toEqual([]);
  });

  it('a bad token (slurmrestd answers 500, not 401) is a clear ExecutorUnavailableError; the executor is unhealthy', async () => {
    const bad = path.join(workDir, 'bad-jwt');
    writeFileSync(bad, 'SLURM_JWT=not-a-token\n');
    const executor = await make({ restTokenFile: bad });
    const error = await executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext()).catch((caught: Error) => caught);
    expect(error).toMatchObject({ name: 'ExecutorUnavailableError', message: expect.stringContaining(`slurmrestd refused the token of user "${USER}"`) });
    expect(await executor.capabilities()).toMatchObject({ healthy: false, detail: expect.stringContaining(`a bad or expired token of user "${USER}"`) });
  });

  it('an unreachable slurmrestd is an ExecutorUnavailableError naming it', async () => {
    const executor = await make({ restUrl: 'http://127.0.0.1:6899' });
    await expect(executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toMatchObject({
      name: 'ExecutorUnavailableError',
      message: expect.stringContaining('slurmrestd at http://127.0.0.1:6899 cannot be reached: ECONNREFUSED'),
    });
  });
});
