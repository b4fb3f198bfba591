import { programVariables, type ExecutionJob, type ProgramInputs } from '@tensorify/executor-sdk';

/** The PATH of a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ProgramEnvironment {
  job: ExecutionJob;
  inputs: ProgramInputs;
  /** The work dir in the container (also HOME). */
  workDir: string;
  /** A directory going first on the image's PATH (the virtualenv's bin), if any. */
  binDir?: string;
  /** The image's own environment (`NAME=value`), for its PATH. */
  imageEnv: readonly string[];
  outputFile: string;
  configEnv: Record<string, string>;
}

/**
 * The variables a program's container gets on top of its image's own (the image is the
 * operator's choice; the server's environment never reaches the container). Later sources win:
 * PATH (only with a virtualenv) and HOME, the SDK's standard variables (`programVariables`), then
 * the configured `env`, then the job's `env`; TENSORIFY_OUTPUT is set last, since the executor
 * reads the output from that file.
 */
export function programEnvironment(options: ProgramEnvironment): Record<string, string> {
  const env: Record<string, string> = {};
  if (options.binDir !== undefined) env.PATH = `${options.binDir}:${imageVariable(options.imageEnv, 'PATH') ?? DEFAULT_PATH}`;
  Object.assign(env, { HOME: options.workDir, ...programVariables(options.job, options.inputs) });
  Object.assign(env, options.configEnv, options.job.env ?? {});
  env.TENSORIFY_OUTPUT = options.outputFile;
  return env;
}

/** A variable of an image's `Config.Env`. */
export function imageVariable(imageEnv: readonly string[], name: string): string | undefined {
  const entry = imageEnv.find((item) => item.startsWith(`${name}=`));
  return entry === undefined ? undefined : entry.slice(name.length + 1);
}

/** `NAME=value` lines, as the Engine API wants them. */
export function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}
