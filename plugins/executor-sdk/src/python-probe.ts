/**
 * A Python program that prints one line describing the interpreter running it:
 * `tensorify-probe <version> <venv> <executable>`, where `<venv>` is 1 when it has the `venv` and
 * `ensurepip` modules (needed for programs with requirements). Run it with `<python> -c
 * PYTHON_PROBE` (locally, over SSH, in a container) and read the answer with
 * {@link parsePythonProbe}. It runs on Python 2 as well, so that an old interpreter is named
 * rather than failing obscurely.
 */
export const PYTHON_PROBE = [
  'import sys',
  'try:',
  '    import venv, ensurepip',
  '    v = 1',
  'except Exception:',
  '    v = 0',
  'sys.stdout.write("tensorify-probe %d.%d.%d %d %s\\n" % (tuple(sys.version_info[:3]) + (v, sys.executable)))',
].join('\n');

/** What {@link PYTHON_PROBE} found out about an interpreter. */
export interface PythonProbe {
  /** `3.11.7`. */
  version: string;
  /** Its real executable (`sys.executable`); empty when Python could not tell. */
  executable: string;
  /** Whether it has the `venv` and `ensurepip` modules. */
  canCreateVenvs: boolean;
}

/**
 * Finds the answer of {@link PYTHON_PROBE} in `output` (other lines, such as a login shell's, are
 * skipped); undefined when there is none. Check `version` yourself: Python 2 answers too.
 */
export function parsePythonProbe(output: string): PythonProbe | undefined {
  for (const line of output.split('\n')) {
    const match = /^tensorify-probe (\d+\.\d+\.\d+) ([01]) ?(.*)$/.exec(line.trim());
    if (match) return { version: match[1], canCreateVenvs: match[2] === '1', executable: match[3] };
  }
  return undefined;
}
