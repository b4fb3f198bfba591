/** What the slurm executor reads from Slurm and writes for it, without a cluster. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jobScript } from '../src/job-script';
import { jobInfo, outcomeOf, parseScontrolLine, parseSinfoGres } from '../src/scontrol';

describe('slurm executor: reading scontrol and sinfo', () => {
  const line = (state: string, reason: string, exit: string) =>
    `JobId=9 JobName=x UserId=ml(1000) JobState=${state} Reason=${reason} Dependency=(null) ExitCode=${exit} NodeList=n[1-2] Command=/shared/run dir/job.sh`;

  it('parses the fields of scontrol show job -o, a value with a space included', () => {
    const fields = parseScontrolLine(line('RUNNING', 'None', '0:0'));
    expect(fields.get('JobState')).toBe('RUNNING');
    expect(fields.get('NodeList')).toBe('n[1-2]');
    expect(fields.get('Command')).toBe('/shared/run dir/job.sh');
    expect(jobInfo(line('PENDING', 'Priority', '0:0'))).toEqual({ state: 'PENDING', reason: 'Priority', exitCode: 0, exitSignal: 0, nodes: 'n[1-2]' });
  });

  it('maps the ended states to exit codes, quoting the reason', () => {
    expect(outcomeOf(jobInfo(line('COMPLETED', 'None', '0:0')))).toEqual({ exitCode: 0 });
    expect(outcomeOf(jobInfo(line('FAILED', 'NonZeroExitCode', '3:0')))).toEqual({
      exitCode: 3,
      notice: 'Slurm: the job FAILED with ExitCode=3:0 (Reason=NonZeroExitCode)',
    });
    expect(outcomeOf(jobInfo(line('FAILED', 'RaisedSignal:9_Killed', '0:9')))).toMatchObject({ exitCode: null, notice: expect.stringContaining('signal 9') });
    expect(outcomeOf(jobInfo(line('TIMEOUT', 'TimeLimit', '0:15')))).toMatchObject({
      exitCode: null,
      notice: expect.stringContaining('JobState=TIMEOUT, Reason=TimeLimit'),
    });
    expect(outcomeOf(jobInfo(line('NODE_FAIL', 'NodeDown', '0:0')))).toMatchObject({
      exitCode: null,
      notice: expect.stringContaining('NODE_FAIL (Reason=NodeDown'),
    });
    expect(outcomeOf(jobInfo(line('PREEMPTED', 'None', '0:0')))).toMatchObject({ exitCode: null, notice: expect.stringContaining('PREEMPTED') });
  });

  it("reads the partitions' GPUs from sinfo's Gres (typed, untyped, with sockets), the default partition marked", () => {
    const partitions = parseSinfoGres(['cpu*|(null)', 'a100|gpu:a100:4(S:0-1)', 'mixed|gpu:2,shard:8', 'mixed|gpu:v100:1', ''].join('\n'));
    expect(partitions).toEqual([
      { partition: 'cpu', isDefault: true, gpus: [] },
      { partition: 'a100', isDefault: false, gpus: [{ model: 'a100', count: 4 }] },
      {
        partition: 'mixed',
        isDefault: false,
        gpus: [
          { model: 'gpu', count: 2 },
          { model: 'v100', count: 1 },
        ],
      },
    ]);
  });
});

describe('slurm executor: the job script', () => {
  it('passes variables with quotes, spaces and newlines whole, and nothing of the submitting environment', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tensorify-slurm-script-'));
    try {
      writeFileSync(path.join(dir, 'main.py'), 'import json, os\nprint(json.dumps(dict(os.environ), sort_keys=True))\n');
      const env = { TRICKY: `it's "quoted" $HOME \`x\`\nsecond line`, TENSORIFY_DEVICE: 'cpu' };
      writeFileSync(path.join(dir, 'job.sh'), jobScript({ runDir: dir, python: 'python3', env, args: ['main.py'] }));
      const out = execFileSync('bash', [path.join(dir, 'job.sh')], { encoding: 'utf8', env: { ...process.env, SLURM_JOB_ID: '42', SECRET: 'server' } });
      const seen = JSON.parse(out) as Record<string, string>;
      expect(seen).toMatchObject({ ...env, SLURM_JOB_ID: '42', PATH: '/usr/local/bin:/usr/bin:/bin' });
      expect(seen.SECRET).toBeUndefined();
      expect(readFileSync(path.join(dir, 'setup.log'), 'utf8')).toMatch(/^job 42 running on /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
