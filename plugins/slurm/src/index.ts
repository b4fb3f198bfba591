/**
 * The `slurm` executor of Tensorify Server: each execution is a Slurm batch job (sbatch), staged in
 * a run directory on the cluster's shared filesystem and followed with scontrol until it ended.
 * See the README for its configuration.
 *
 * @packageDocumentation
 */
import { defineExecutor, packageVersion } from '@tensorify/executor-sdk';
import { configSchema, resolveConfig, type SlurmExecutorConfig } from './config';
import { SlurmExecutor } from './executor';
import { LocalTransport } from './transport';

export type { SlurmExecutorConfig } from './config';
export { SlurmExecutor } from './executor';
export { LocalTransport, type SlurmTransport, type CommandResult } from './transport';

export default defineExecutor<SlurmExecutorConfig>({
  id: 'slurm',
  displayName: 'Slurm (batch jobs on a cluster)',
  version: packageVersion(__dirname),
  configSchema,
  create: (config, host) => {
    const resolved = resolveConfig(config);
    return new SlurmExecutor(resolved, new LocalTransport(resolved.binDir), host);
  },
});
