/** The PATH of a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ProgramEnvironment {
  executionId: string;
  workflowId: string;
  /** The work dir in the container (also HOME). */
  workDir: string;
  /** A directory going first on the image's PATH (the virtualenv's bin), if any. */
  binDir?: string;
  /** The image's own environment (`NAME=value`), for its PATH. */
  imageEnv: readonly string[];
  /** TENSORIFY_INPUTS; omitted when the inputs are passed as a file. */
  inputsJson?: string;
  outputFile: string;
  gpu: boolean;
  configEnv: Record<string, string>;
  jobEnv: Record<string, string>;
}

/**
 * The variables a program's container gets on top of its image's own (the image is the
 * operator's choice; the server's environment never reaches the container). Later sources win:
 * the executor's variables, then the configured `env`, then the job's `env`; TENSORIFY_OUTPUT is
 * set last, since the executor reads the output from that file.
 */
export function programEnvironment(options: ProgramEnvironment): Record<string, string> {
  const env: Record<string, string> = {};
  if (options.binDir !== undefined) env.PATH = `${options.binDir}:${imageVariable(options.imageEnv, 'PATH') ?? DEFAULT_PATH}`;
  Object.assign(env, {
    HOME: options.workDir,
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    TENSORIFY_EXECUTION_ID: options.executionId,
    TENSORIFY_WORKFLOW_ID: options.workflowId,
    TENSORIFY_DEVICE: options.gpu ? 'cuda' : 'cpu',
  });
  if (options.inputsJson !== undefined) env.TENSORIFY_INPUTS = options.inputsJson;
  Object.assign(env, options.configEnv, options.jobEnv);
  env.TENSORIFY_OUTPUT = options.outputFile;
  return env;
}

/** A variable of an image's `Config.Env`. */
export function imageVariable(imageEnv: readonly string[], name: string): string | undefined {
  const entry = imageEnv.find((item) => item.startsWith(`${name}=`));
  return entry === undefined ? undefined : entry.slice(name.length + 1);
}

/** Drops what the engine cannot pass (a name empty or with `=` or NUL, a value with NUL); returns the names dropped. */
export function dropUnusable(env: Record<string, string>): string[] {
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (name === '' || name.includes('=') || name.includes('\0') || typeof value !== 'string' || value.includes('\0')) {
      delete env[name];
      dropped.push(name);
    }
  }
  return dropped;
}

/** `NAME=value` lines, as the Engine API wants them. */
export function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}
