/**
 * The `docker` executor of Tensorify Server: runs a workflow's `python main.py` in a fresh
 * container through the Docker Engine API (a local socket or DOCKER_HOST), with the
 * requirements installed once into a cached derived image. See the README for its configuration.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { defineExecutor } from '@tensorify/executor-sdk';
import { configSchema, resolveConfig, type DockerExecutorConfig } from './config';
import { DockerExecutor } from './executor';

export type { DockerExecutorConfig } from './config';
export { DockerExecutor } from './executor';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export default defineExecutor<DockerExecutorConfig>({
  id: 'docker',
  displayName: 'Docker (a container per run)',
  version: packageVersion(),
  configSchema,
  create: (config, host) => new DockerExecutor(resolveConfig(config), host),
});
