import { execFile } from 'node:child_process';

/** What the configured interpreter turned out to be. */
export interface Interpreter {
  /** As configured (`python3`, `/usr/bin/python3`…). */
  configured: string;
  /** Its real executable (`sys.executable`): a name looked up on PATH or a pyenv shim resolved once. */
  executable: string;
  /** `3.11.7`. */
  version: string;
  /** Whether it has the `venv` and `ensurepip` modules, needed for programs with requirements. */
  canCreateVenvs: boolean;
}

const PROBE_TIMEOUT_MS = 30_000;

// Works on Python 2 as well, so that an old interpreter is named rather than failing obscurely.
const PROBE = [
  'import sys',
  'try:',
  '    import venv, ensurepip',
  '    v = 1',
  'except Exception:',
  '    v = 0',
  'sys.stdout.write("%s\\n%d.%d.%d\\n%d\\n" % ((sys.executable,) + tuple(sys.version_info[:3]) + (v,)))',
].join('\n');

/**
 * Runs `<python> -c …` once to learn its real executable and version. The probe runs with the
 * server's environment: a bare name is looked up on the server's PATH and pyenv-style shims need
 * their variables; the programs themselves then run the resolved executable with a clean one.
 */
export function probeInterpreter(python: string): Promise<Interpreter> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-c', PROBE], { timeout: PROBE_TIMEOUT_MS, env: process.env, windowsHide: true }, (error, stdout, stderr) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not executable' : `${String(stderr).trim().split('\n').pop() || error.message}`;
        reject(new Error(`the Python interpreter ${JSON.stringify(python)} cannot run: ${why}`));
        return;
      }
      const [executable, version, venv] = String(stdout).split('\n');
      if (!/^\d+\.\d+\.\d+$/.test(version ?? '')) {
        reject(
          new Error(
            `the Python interpreter ${JSON.stringify(python)} printed an unexpected answer to its probe: ${JSON.stringify(String(stdout).slice(0, 200))}`,
          ),
        );
        return;
      }
      if (!version.startsWith('3.')) {
        reject(new Error(`the Python interpreter ${JSON.stringify(python)} is Python ${version}; Python 3 is needed`));
        return;
      }
      resolve({ configured: python, executable: executable || python, version, canCreateVenvs: venv === '1' });
    });
  });
}

/** `probeInterpreter`, remembered once it succeeds; a failure is not remembered, so a fixed install is seen at the next call. */
export class InterpreterCache {
  private pending?: Promise<Interpreter>;

  constructor(private readonly python: string) {}

  get(): Promise<Interpreter> {
    if (!this.pending) {
      const attempt = probeInterpreter(this.python);
      this.pending = attempt;
      attempt.catch(() => {
        if (this.pending === attempt) this.pending = undefined;
      });
    }
    return this.pending;
  }

  /** Probes again at the next call (the interpreter vanished since). */
  forget(): void {
    this.pending = undefined;
  }
}
