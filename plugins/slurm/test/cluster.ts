/**
 * The one-node Slurm cluster of the slurm executor's integration tests (scripts/ci/slurm/start-slurm.sh):
 * started here when not running, and ways to look at it.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..', '..');
export const SLURM_DIR = process.env.TENSORIFY_SLURM_DIR ?? '/tmp/tensorify-slurm';
/** The shared work dir of the test cluster (the node is this machine). */
export const SHARED_DIR = path.join(SLURM_DIR, 'work');

/** Starts munged, slurmctld and slurmd unless they run (idempotent; installs Slurm with apt-get the first time). */
export function startSlurm(): void {
  execFileSync(path.join(ROOT, 'scripts', 'ci', 'slurm', 'start-slurm.sh'), { stdio: 'pipe', timeout: 300_000 });
}

/** `scontrol show job -o <id>` as fields (JobState, Reason, ExitCode…). */
export function showJob(jobId: string): Record<string, string> {
  const line = execFileSync('scontrol', ['show', 'job', '-o', jobId], { encoding: 'utf8' });
  return Object.fromEntries(
    line
      .trim()
      .split(/\s+/)
      .filter((word) => word.includes('='))
      .map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]),
  );
}

/** The ids of the cluster's jobs named `name` that are pending or running. */
export function liveJobs(name: string): string[] {
  const out = execFileSync('squeue', ['-h', '-n', name, '-t', 'PENDING,RUNNING,COMPLETING', '-o', '%i'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}
