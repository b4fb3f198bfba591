/**
 * The `docker` executor of Tensorify Server: runs a workflow's `python main.py` in a fresh
 * container through the Docker Engine API (a local socket or DOCKER_HOST), with the
 * requirements installed once into a cached derived image. See the README for its configuration.
 *
 * @packageDocumentation
 */
import { defineExecutor, packageVersion } from '@tensorify/executor-sdk';
import { configSchema, resolveConfig, type DockerExecutorConfig } from './config';
import { DockerExecutor } from './executor';

export type { DockerExecutorConfig } from './config';
export { DockerExecutor } from './executor';

export default defineExecutor<DockerExecutorConfig>({
  id: 'docker',
  displayName: 'Docker (a container per run)',
  version: packageVersion(__dirname),
  configSchema,
  create: (config, host) => new DockerExecutor(resolveConfig(config), host),
});
