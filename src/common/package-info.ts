import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The package root: the same from `src/common` (ts-jest) and `dist/common` (build). */
export const PACKAGE_ROOT = resolve(__dirname, '..', '..');

export const PACKAGE_VERSION = (JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
