/**
 * The `ssh` executor of Tensorify Server: runs a workflow's `python main.py` on one of the hosts
 * it is configured with, over SSH: host keys verified, the program uploaded by SFTP, a virtualenv
 * per requirements.txt on the host, output streamed live, the run's process group killed on
 * cancel, timeout or a lost connection. See the README for its configuration.
 *
 * @packageDocumentation
 */
import { defineExecutor, packageVersion } from '@tensorify/executor-sdk';
import { configSchema, resolveConfig, type SshExecutorConfig } from './config';
import { SshExecutor } from './executor';

export type { SshExecutorConfig, SshHostConfig, SshJumpConfig } from './config';
export { SshExecutor } from './executor';
export { fingerprint } from '@tensorify/executor-sdk/ssh';

export default defineExecutor<SshExecutorConfig>({
  id: 'ssh',
  displayName: 'SSH (processes on remote hosts)',
  version: packageVersion(__dirname),
  configSchema,
  create: (config, host) => new SshExecutor(resolveConfig(config), host),
});
