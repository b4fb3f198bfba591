import { createHash } from 'node:crypto';

/** Files of a run directory. */
export const RUN_FILES = {
  script: 'job.sh',
  stdout: 'stdout.log',
  stderr: 'stderr.log',
  /** The job's own lines (virtualenv, pip): the execution's 'system' log. */
  setup: 'setup.log',
  /** Present when installing the requirements failed: the program did not start. */
  setupFailed: '.tensorify-setup-failed',
  requirements: '.tensorify-requirements.txt',
  output: '.tensorify-output.json',
} as const;

/** The venv's name: a hash of the normalised requirements and of the interpreter they are installed for. */
export function requirementsHash(requirements: readonly string[], python: string): string {
  return createHash('sha256')
    .update([`python ${python}`, ...requirements].join('\n'))
    .digest('hex')
    .slice(0, 32);
}

/** Quotes a word for bash: single quotes, each `'` as `'\''`. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface JobScriptOptions {
  runDir: string;
  python: string;
  /** The venv directory and hash, when the program has requirements. */
  venv?: { dir: string; hash: string; pipArgs: readonly string[] };
  /** The program's whole environment (PATH is put first by the script). */
  env: Record<string, string>;
  /** The interpreter's arguments: `main.py` and maybe `--inputs FILE`. */
  args: readonly string[];
}

/**
 * The batch script sbatch runs on the compute node. The virtualenv is built here, by the first job
 * that needs it, on the shared filesystem: behind `flock` on `<venvDir>/<hash>.lock`, built in
 * `<hash>-<jobid>` and published by renaming a symlink onto `<hash>` (a venv cannot be moved), so
 * `<hash>` is either absent or complete. The program then runs under `env -i` with only the
 * variables given (and Slurm's CUDA_VISIBLE_DEVICES when it set one), as the batch script's own
 * process (`exec`), so that scancel's signals reach it.
 */
export function jobScript(options: JobScriptOptions): string {
  const q = shellQuote;
  const lines = [
    '#!/bin/bash',
    '# Written by the Tensorify slurm executor.',
    'set -u',
    `cd ${q(options.runDir)} || exit 1`,
    `exec 3>>${q(RUN_FILES.setup)}`,
    `PY=${q(options.python)}`,
    'echo "job $SLURM_JOB_ID running on $(hostname)" >&3',
  ];
  if (options.venv) {
    const { dir, hash, pipArgs } = options.venv;
    lines.push(
      `VENVS=${q(dir)}`,
      `HASH=${q(hash)}`,
      'if [ ! -x "$VENVS/$HASH/bin/python" ]; then',
      '  mkdir -p "$VENVS" || { echo "cannot create the virtualenv directory $VENVS" >&3; touch ' + q(RUN_FILES.setupFailed) + '; exit 1; }',
      '  (',
      '    flock 9',
      '    if [ ! -x "$VENVS/$HASH/bin/python" ]; then',
      '      T="$VENVS/$HASH-$SLURM_JOB_ID"',
      '      rm -rf "$T"',
      "      echo \"creating the virtualenv $HASH: $(tr '\\n' ' ' <" + q(RUN_FILES.requirements) + ')" >&3',
      '      if "$PY" -m venv "$T" >&3 2>&1 && "$T/bin/python" -m pip install --disable-pip-version-check -r ' +
        q(RUN_FILES.requirements) +
        pipArgs.map((arg) => ` ${q(arg)}`).join('') +
        ' >&3 2>&1; then',
      '        ln -sfn "$(basename "$T")" "$VENVS/.$HASH.link" && mv -T "$VENVS/.$HASH.link" "$VENVS/$HASH" && echo "virtualenv $HASH ready" >&3',
      '      else',
      '        rm -rf "$T"',
      '        exit 1',
      '      fi',
      '    else',
      '      echo "virtualenv $HASH built by another job meanwhile" >&3',
      '    fi',
      '  ) 9>"$VENVS/$HASH.lock" || { echo "installing the requirements failed: the program did not start" >&3; touch ' +
        q(RUN_FILES.setupFailed) +
        '; exit 1; }',
      'fi',
      'PY="$VENVS/$HASH/bin/python"',
      'BIN="$VENVS/$HASH/bin:"',
    );
  } else {
    lines.push('BIN=""');
  }
  const vars = Object.entries(options.env)
    .filter(([name]) => name !== 'PATH')
    .map(([name, value]) => `  ${q(`${name}=${value}`)} \\`);
  lines.push(
    'exec 3>&-',
    'exec env -i "PATH=${BIN}/usr/local/bin:/usr/bin:/bin" \\',
    '  ${CUDA_VISIBLE_DEVICES:+"CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"} \\',
    '  "SLURM_JOB_ID=$SLURM_JOB_ID" \\',
    ...vars,
    `  "$PY" ${options.args.map(q).join(' ')}`,
    '',
  );
  return lines.join('\n');
}
