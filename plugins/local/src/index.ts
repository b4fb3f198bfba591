/**
 * The `local` executor of Tensorify Server: runs a workflow's `python main.py` as a process group
 * on the server's own machine, in a fresh work dir, with a clean environment and a cached
 * virtualenv per requirements.txt. See the README for its configuration.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { defineExecutor } from '@tensorify/executor-sdk';
import { configSchema, resolveConfig, type LocalExecutorConfig } from './config';
import { LocalExecutor } from './executor';

export type { LocalExecutorConfig } from './config';
export { LocalExecutor } from './executor';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export default defineExecutor<LocalExecutorConfig>({
  id: 'local',
  displayName: 'Local (processes on the server machine)',
  version: packageVersion(),
  configSchema,
  create: (config, host) => new LocalExecutor(resolveConfig(config, host.dataDir), host),
});
