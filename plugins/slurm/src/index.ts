/**
 * The `slurm` executor of Tensorify Server: each execution is a Slurm batch job (sbatch), staged in
 * a run directory on the cluster's shared filesystem and followed with scontrol until it ended.
 * See the README for its configuration.
 *
 * @packageDocumentation
 */
import { defineExecutor, packageVersion } from '@tensorify/executor-sdk';
import { configSchema, resolveConfig, resolveLoginNode, type SlurmExecutorConfig } from './config';
import { SlurmExecutor } from './executor';
import { RestSlurmClient } from './rest-client';
import { CommandSlurmClient } from './slurm-client';
import { SshTransport } from './ssh-transport';
import { LocalTransport } from './transport';

export type { SlurmExecutorConfig, SlurmLoginNodeConfig } from './config';
export { SlurmExecutor } from './executor';
export { LocalTransport, type CommandResult, type CommandRunner, type SharedFiles, type SlurmTransport } from './transport';
export { CommandSlurmClient, type JobSpec, type SlurmClient } from './slurm-client';
export { SshTransport, type SshTransportOptions } from './ssh-transport';
export { RestSlurmClient, type RestOptions } from './rest-client';

export default defineExecutor<SlurmExecutorConfig>({
  id: 'slurm',
  displayName: 'Slurm (batch jobs on a cluster)',
  version: packageVersion(__dirname),
  configSchema,
  create: (config, host) => {
    const resolved = resolveConfig(config);
    if (resolved.transport === 'ssh' && resolved.loginNode) {
      const transport = new SshTransport({ ...resolveLoginNode(resolved.loginNode), binDir: resolved.binDir, logger: host.logger });
      return new SlurmExecutor(resolved, new CommandSlurmClient(transport), transport, host, () => transport.close());
    }
    const transport = new LocalTransport(resolved.binDir);
    if (resolved.transport === 'slurmrestd') {
      const { restUrl, restApiVersion, restUser, restToken, restTokenFile, sbatchArgs } = resolved;
      if (!restUrl || !restUser || (!restToken && !restTokenFile))
        throw new Error('slurm executor: transport "slurmrestd" needs restUrl, restUser and restToken or restTokenFile');
      if (sbatchArgs.length > 0) throw new Error('slurm executor: sbatchArgs cannot be passed through slurmrestd (use the "local" transport)');
      const client = new RestSlurmClient({ url: restUrl, apiVersion: restApiVersion, user: restUser, token: restToken, tokenFile: restTokenFile });
      return new SlurmExecutor(resolved, client, transport, host);
    }
    return new SlurmExecutor(resolved, new CommandSlurmClient(transport), transport, host);
  },
});
