/**
 * The Python the ssh executor sends to its hosts, from the package's `python/` folder (next to
 * `src/` and `dist/`; the hosts never get files of ours): the supervisor of the runs, the bootstrap
 * that loads it, the check confirming a stopped run is gone, and protocol.json, which names the
 * frame kinds and commands for both sides. Python 3.6 or newer, standard library only.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The folder of the Python files, shipped with the package. */
export const PYTHON_DIR = path.join(__dirname, '..', 'python');

function read(name: string): string {
  return readFileSync(path.join(PYTHON_DIR, name), 'utf8');
}

/** protocol.json: the kind byte of each frame the supervisor sends, and the commands it reads. */
export interface Protocol {
  frames: Record<'hello' | 'group' | 'stdout' | 'stderr' | 'pip' | 'system' | 'output' | 'end', string>;
  commands: Record<'run' | 'term', string>;
}

/** The protocol as the supervisor gets it (its argv[1]). */
export const PROTOCOL_JSON = JSON.stringify(JSON.parse(read('protocol.json')));
export const PROTOCOL = JSON.parse(PROTOCOL_JSON) as Protocol;
/** The frame kinds by name (see supervisor.ts). */
export const FRAME = PROTOCOL.frames;
/** The commands by name: `RUN <json>`, `TERM <dir>`. */
export const COMMAND = PROTOCOL.commands;

/**
 * One program of `main` (a file of python/) and the modules it imports, in an order where each
 * comes after those it imports: bundle.py's `install` makes them importable, then `main` runs.
 * A JSON object of strings is also a Python dict literal.
 */
function program(main: string, modules: string[]): string {
  const sources = Object.fromEntries(modules.map((name) => [name, read(`${name}.py`)]));
  return `${read('bundle.py')}\ninstall(${JSON.stringify(sources)})\n\n${read(main)}`;
}

/** The supervisor: run by the bootstrap, which reads it from stdin. */
export const SUPERVISOR_PROGRAM = program('supervisor.py', ['process_group', 'channel', 'group_runner', 'venvs']);

/** Run with `python -c`: reads a decimal length, a newline and that many bytes of code from stdin (no further), and runs it. */
export const BOOTSTRAP_PROGRAM = read('bootstrap.py');

/** Run with `python -c … REQUEST_JSON` after a run was stopped or lost its connection. */
export const CHECK_PROGRAM = program('check.py', ['process_group']);

/** Run with `python -c … REQUEST_JSON` to prune a host's venvs: lists them, reads which to delete, deletes them. */
export const PRUNE_PROGRAM = program('prune.py', ['process_group', 'channel', 'group_runner', 'venvs']);
