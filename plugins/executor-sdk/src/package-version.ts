import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The `version` of the package a compiled module belongs to: read from `package.json` one
 * directory above `moduleDir` (pass `__dirname` from `dist/index.js`), or `0.0.0` when it cannot
 * be read. Keeps an executor's `version` in step with its package.
 *
 * @example
 * ```ts
 * export default defineExecutor({ id: 'pypy', version: packageVersion(__dirname), … });
 * ```
 */
export function packageVersion(moduleDir: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(moduleDir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
