/** What the local executor's suites share: pip's arguments, temporary dirs removed after the file, an executor on one. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Executor, silentLogger } from '@tensorify/executor-sdk';
import local, { type LocalExecutorConfig } from '../src/index';

/**
 * pip's extra arguments: TENSORIFY_TEST_PIP_ARGS (a JSON array), by default
 * `--index-url file:///opt/pypi/simple` when that local mirror exists.
 */
export const PIP_ARGS: string[] = process.env.TENSORIFY_TEST_PIP_ARGS
  ? (JSON.parse(process.env.TENSORIFY_TEST_PIP_ARGS) as string[])
  : existsSync('/opt/pypi/simple')
    ? ['--index-url', 'file:///opt/pypi/simple']
    : [];

const tempDirs: string[] = [];
// Jest loads this module once per test file, so the dirs are that file's and go when it ends.
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A new temporary directory, removed after the test file. */
export function tempDir(prefix = 'tensorify-local-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** A local executor with this config on a data dir of its own (a new temporary one unless given). */
export async function makeExecutor(config: LocalExecutorConfig = {}, dataDir = tempDir()): Promise<{ executor: Executor; dataDir: string }> {
  return { executor: await local.create(config, { dataDir, logger: silentLogger }), dataDir };
}
