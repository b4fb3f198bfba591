/** How `plugins verify` checks a plugin: the configuration it is given, `--run`, and the time limits of each step. */
export interface VerifyOptions {
  /**
   * The configuration, as `TENSORIFY_EXECUTORS` would give it (default `{}`): for a package with
   * one executor, that executor's configuration; for a package with several, an object keyed by
   * executor id.
   */
  config?: unknown;
  /** Also run the hello program through each executor that was created. */
  run?: boolean;
  /** Where a relative path and a package name are resolved from (default: the working directory). */
  cwd?: string;
  createTimeoutMs?: number;
  capabilitiesTimeoutMs?: number;
  /** The hello run's time limit: the signal aborts with `timed_out` then, and `run()` gets as long again to return. */
  runTimeoutMs?: number;
  closeTimeoutMs?: number;
  /** How long `npm install` of a tarball's dependencies may take. */
  installTimeoutMs?: number;
}

/** The argument names nothing that can be checked (exit code 2 in the CLI). */
export class VerifyUsageError extends Error {
  override readonly name = 'VerifyUsageError';
}

/** As the server's registry: `capabilities()` is reported unhealthy when it takes longer. */
export const CAPABILITIES_TIMEOUT_MS = 3_000;
export const RUN_TIMEOUT_MS = 60_000;
export const CLOSE_TIMEOUT_MS = 10_000;
/** `npm install` of a tarball's dependencies: long enough for a cold cache, short enough that an unreachable registry fails the rule rather than hangs. */
export const INSTALL_TIMEOUT_MS = 120_000;
