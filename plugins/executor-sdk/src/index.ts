/**
 * The contract between Tensorify Server and its executor plugins.
 *
 * An executor plugin is an npm package whose `package.json` carries the manifest field
 * {@link MANIFEST_FIELD} and whose entry module exports an {@link ExecutorDefinition} (as its
 * default export or as `executor`), usually made with {@link defineExecutor}. The server reads the
 * manifest, refuses an `executorApiVersion` it does not speak before loading any code, checks the
 * shape of what the entry exports, validates the plugin's configuration against its
 * `configSchema`, then calls `create(config, host)` once at boot and `run(job, context)` for every
 * execution routed to it.
 *
 * Plugins run inside the server process, with the server's rights: install only plugins you trust.
 *
 * @example
 * ```ts
 * import { defineExecutor } from '@tensorify/executor-sdk';
 *
 * export default defineExecutor({
 *   id: 'echo',
 *   displayName: 'Echo (prints the inputs)',
 *   version: '1.0.0',
 *   configSchema: { type: 'object', properties: {}, additionalProperties: false },
 *   create: () => ({
 *     capabilities: async () => ({ gpu: false, healthy: true }),
 *     run: async (job, context) => {
 *       context.log('stdout', JSON.stringify(job.inputs));
 *       return { exitCode: 0, output: job.inputs };
 *     },
 *   }),
 * });
 * ```
 *
 * @packageDocumentation
 */

export * from './contract';
export { AbortedError, untilAborted } from './abort';
export {
  CachePruner,
  CachePruneSchedule,
  cacheConfigSchema,
  cacheEntriesToPrune,
  describeCachePruning,
  resolveCacheLimits,
  type CacheConfig,
  type CacheEntry,
  type CacheLimits,
  type CachePruning,
  type CachePrunerOptions,
} from './cache-pruning';
export { configSchemaParts } from './config-schema';
export { describeExecutorConformance, type ConformanceOptions, type TestFramework } from './conformance';
export { dropUnusableVariables, INPUTS_FILE, MAX_INPUTS_ENV_BYTES, programInputs, programVariables, type ProgramInputs } from './environment';
export { cutMarker, LineSplitter } from './lines';
export { packageVersion } from './package-version';
export { parsePythonProbe, PYTHON_PROBE, type PythonProbe } from './python-probe';
export { normaliseRequirements } from './requirements';
export { SharedBuilds, type BuildLog, type SharedBuild } from './shared-builds';
export { createTestContext, readProgram, silentLogger, testJob, type TestContext } from './testing';
