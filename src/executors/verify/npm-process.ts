import { spawn } from 'node:child_process';
import { errorMessage } from '../plugin-loader';

export interface NpmRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  timedOut: boolean;
  /** Why npm could not be started (ENOENT: not on the PATH). */
  spawnError?: string;
}

/** npm's stderr is kept up to this size: enough for its error, bounded for a runaway log. */
const MAX_STDERR_CHARS = 1_000_000;

/**
 * Runs npm as the leader of its own process group, killed whole at the time limit (npm may start
 * git and other helpers, which a kill of npm alone would leave running).
 *
 * Why not the local executor's `runInProcessGroup` (plugins/local/src/process-group.ts): it is
 * that plugin's own module, exported neither by its package nor by the SDK, and the server loads
 * plugin code only through the loader. It is also made for workflow programs (a lifeline shell,
 * output split into lines, SIGTERM with a grace period, waiting for the group to vanish); npm here
 * needs only its stderr and a SIGKILL of its group at the limit, and must report a missing npm
 * binary as a spawn error ("is npm on the PATH?"), not as the exit code of a shell.
 */
export function runNpm(args: string[], cwd: string, timeoutMs: number): Promise<NpmRun> {
  return new Promise((resolve) => {
    let stderr = '';
    let timedOut = false;
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, {
      cwd,
      env: process.env, // the user's npm settings (registry, proxy, cache) apply
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'ignore', 'pipe'],
      shell: process.platform === 'win32',
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < MAX_STDERR_CHARS) stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stderr, timedOut, spawnError: errorMessage(error) });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, timedOut });
    });
  });
}

/**
 * npm's first meaningful error line, with its error code: `npm error enoent ENOENT: no such file
 * or directory, open '…'` gives `ENOENT: no such file or directory, open '…'`. Skips the fields
 * npm prints first (`code`, `syscall`, `path`, `errno`), bare words and paths, and the pointer to its log.
 */
export function npmError(stderr: string): string | undefined {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => /^npm (?:error|ERR!)(?: (.*))?$/.exec(line.trim())?.[1]?.trim())
    .filter((line): line is string => line !== undefined && line !== '');
  const code = lines.map((line) => /^code (\S+)$/.exec(line)?.[1]).find((found) => found !== undefined);
  const meaningful = lines.find(
    (line) =>
      !/^(code|syscall|errno|path|dest|type|signal|command|cwd|workspace|location)\s/.test(line) &&
      !/^(A complete log of this run|Log files were not written|For a full report see)/.test(line) &&
      /\s/.test(line),
  );
  if (meaningful === undefined) return code === undefined ? undefined : `npm error ${code}`;
  // `enoent ENOENT: …`, `network request to … failed`: npm's category word before the message.
  const category = /^(\S+) (.+)$/.exec(meaningful);
  const message = category && (category[1] === code?.toLowerCase() || category[1] === 'network') ? category[2] : meaningful;
  return code === undefined || message.includes(code) ? message : `${message} (${code})`;
}
