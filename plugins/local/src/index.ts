/**
 * The `local` executor of Tensorify Server: runs a workflow's `python main.py` as a process group
 * on the server's own machine, in a fresh work dir, with a clean environment and a cached
 * virtualenv per requirements.txt. See the README for its configuration.
 *
 * @packageDocumentation
 */
import { defineExecutor, packageVersion } from '@tensorify/executor-sdk';
import { configSchema, resolveConfig, type LocalExecutorConfig } from './config';
import { LocalExecutor } from './executor';

export type { LocalExecutorConfig } from './config';
export { LocalExecutor } from './executor';

export default defineExecutor<LocalExecutorConfig>({
  id: 'local',
  displayName: 'Local (processes on the server machine)',
  version: packageVersion(__dirname),
  configSchema,
  create: (config, host) => new LocalExecutor(resolveConfig(config, host.dataDir), host),
});
