import * as path from 'node:path';
import { programVariables, type ExecutionJob, type ProgramInputs } from '@tensorify/executor-sdk';

/** The PATH every child starts from; a venv's bin (or the interpreter's directory) goes first. */
export const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Variables of the server's environment that configure pip (index, proxy, certificates); they reach pip, never the programs. */
const PIP_VARIABLE = /^(PIP_.+|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|all_proxy|ALL_PROXY|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE)$/;

export interface ProgramEnvironment {
  job: ExecutionJob;
  inputs: ProgramInputs;
  workDir: string;
  /** The interpreter's bin directory: the venv's, or the configured interpreter's. */
  binDir: string;
  outputFile: string;
  configEnv: Record<string, string>;
  passEnv: readonly string[];
  /** The server's environment, the only source of `passEnv`. */
  serverEnv?: NodeJS.ProcessEnv;
}

/**
 * The whole environment of a program: built from nothing, never copied from the server's (which
 * holds its API keys and database URL). Later sources win: PATH and HOME, the SDK's standard
 * variables (`programVariables`), then the configured `env`, then the `passEnv` names copied from
 * the server, then the job's `env`; TENSORIFY_OUTPUT is set last, since the executor reads the
 * output from that file.
 */
export function programEnvironment(options: ProgramEnvironment): Record<string, string> {
  const env: Record<string, string> = {
    PATH: withFirst(options.binDir, SAFE_PATH),
    HOME: options.workDir,
    ...programVariables(options.job, options.inputs),
  };
  Object.assign(env, options.configEnv);
  copyNames(env, options.passEnv, options.serverEnv ?? process.env);
  Object.assign(env, options.job.env ?? {});
  env.TENSORIFY_OUTPUT = options.outputFile;
  return env;
}

/**
 * The environment of `python -m venv` and `pip install`: the clean base, the server's pip
 * settings (PIP_*, proxies, CA bundles) and HOME (pip's cache and user config), then the
 * configured `env` and `passEnv`.
 */
export function pipEnvironment(
  binDir: string,
  configEnv: Record<string, string>,
  passEnv: readonly string[],
  serverEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: withFirst(binDir, SAFE_PATH),
    HOME: serverEnv.HOME || path.dirname(binDir),
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
  };
  copyNames(
    env,
    Object.keys(serverEnv).filter((name) => PIP_VARIABLE.test(name)),
    serverEnv,
  );
  Object.assign(env, configEnv);
  copyNames(env, passEnv, serverEnv);
  return env;
}

function copyNames(env: Record<string, string>, names: readonly string[], from: NodeJS.ProcessEnv): void {
  for (const name of names) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
}

function withFirst(dir: string, list: string): string {
  return list.split(':').includes(dir) ? list : `${dir}:${list}`;
}

/**
 * The environment a warm zygote starts with: a program's, less what belongs to one run (the work
 * dir, the execution's variables and the job's `env`). The variables Python reads at startup
 * (`LANG`, `PYTHONUNBUFFERED`, `PYTHONDONTWRITEBYTECODE`) are a cold run's, so a fork behaves
 * alike; each fork then replaces the whole environment with its run's.
 */
export function zygoteEnvironment(options: {
  binDir: string;
  homeDir: string;
  configEnv: Record<string, string>;
  passEnv: readonly string[];
}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: withFirst(options.binDir, SAFE_PATH),
    HOME: options.homeDir,
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
  Object.assign(env, options.configEnv);
  copyNames(env, options.passEnv, process.env);
  return env;
}
