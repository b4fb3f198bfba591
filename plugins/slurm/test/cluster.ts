/**
 * The one-node Slurm cluster of the slurm executor's integration tests (scripts/ci/slurm/start-slurm.sh):
 * started here when not running, a work dir on it for a test file, the SDK's conformance suite
 * against it, and ways to look at it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { describeExecutorConformance, type Executor, readProgram } from '@tensorify/executor-sdk';

export const ROOT = path.join(__dirname, '..', '..', '..');
export const SLURM_DIR = process.env.TENSORIFY_SLURM_DIR ?? '/tmp/tensorify-slurm';
/** The shared work dir of the test cluster (the node is this machine). */
export const SHARED_DIR = path.join(SLURM_DIR, 'work');

/** Starts munged, slurmctld and slurmd unless they run (idempotent; installs Slurm with apt-get the first time). */
export function startSlurm(): void {
  execFileSync(path.join(ROOT, 'scripts', 'ci', 'slurm', 'start-slurm.sh'), { stdio: 'pipe', timeout: 300_000 });
}

/** A test file's work dir on the cluster, and the executors to close after the file. */
export interface ClusterWorkDir {
  workDir: string;
  /** Closes `executor` after the test file, before the work dir is removed; returns it. */
  track: <E extends Executor>(executor: E) => E;
}

/**
 * Starts the cluster (when not running) and makes this test file's work dir in the shared dir
 * (the node sees it), named `<prefix><random>`; after the file the executors tracked are closed
 * and the dir removed.
 */
export function clusterWorkDir(prefix: string): ClusterWorkDir {
  startSlurm();
  mkdirSync(SHARED_DIR, { recursive: true });
  const workDir = mkdtempSync(path.join(SHARED_DIR, prefix));
  const executors: Executor[] = [];
  afterAll(async () => {
    for (const executor of executors) await executor.close?.();
    rmSync(workDir, { recursive: true, force: true });
  });
  return {
    workDir,
    track: (executor) => {
      executors.push(executor);
      return executor;
    },
  };
}

/** The SDK's conformance suite on the executors `make` gives, which reach the cluster by some transport. */
export function describeClusterConformance(name: string, make: () => Executor | Promise<Executor>): void {
  describeExecutorConformance(make, {
    name,
    hello: readProgram(path.join(ROOT, 'test', 'fixtures', 'golden', 'hello')),
    // scancel: SIGTERM, then SIGKILL after the cluster's KillWait (5 s), then the node reports the job gone.
    stopWithinMs: 20_000,
  });
}

/** Resolves once `check()` holds, polling every 50 ms; rejects after `timeoutMs` naming `what`. */
export async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
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
