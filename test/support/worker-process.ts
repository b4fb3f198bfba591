import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, childEnv } from './server-process';

export interface WorkerProcess {
  child: ChildProcess;
  /** `GET /health` of the worker's health port. */
  healthUrl: string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `bin/tensorify-server.js worker --health-port 0` (built `dist/`) and waits until it processes. */
export async function startWorkerProcess(env: Record<string, string>, timeoutMs = 20_000): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--health-port', '0'], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout.resume();
  child.stderr.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const healthUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within ${timeoutMs} ms:\n${err}`)), timeoutMs);
    child.stderr.on('data', () => {
      const match = /Health\s+(http:\/\/127\.0\.0\.1:\d+\/health)/.exec(err);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} before processing:\n${err}`));
    });
  });
  return {
    child,
    healthUrl,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
