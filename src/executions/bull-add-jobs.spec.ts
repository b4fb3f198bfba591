import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MIRRORED_ADD_JOB_SHA256, MIRRORED_BULL_VERSION } from './bull-add-jobs';

const BULL_ROOT = path.dirname(require.resolve('bull/package.json'));
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

/** Bull's addJob script with the includes it names, in the order it names them (`--- @include "includes/x"`). */
function bullAddJobScript(): string {
  const commands = path.join(BULL_ROOT, 'lib', 'commands');
  const script = readFileSync(path.join(commands, 'addJob-6.lua'), 'utf8');
  const includes = [...script.matchAll(/^--- @include "([^"]+)"/gm)].map((match) => readFileSync(path.join(commands, `${match[1]}.lua`), 'utf8'));
  return script + includes.join('');
}

describe('BullJobAdder mirror of Bull', () => {
  it('is of the Bull installed: upgrading Bull means reading its addJob again (see bull-add-jobs.ts)', () => {
    expect((JSON.parse(readFileSync(path.join(BULL_ROOT, 'package.json'), 'utf8')) as { version: string }).version).toBe(MIRRORED_BULL_VERSION);
    expect(createHash('sha256').update(bullAddJobScript()).digest('hex')).toBe(MIRRORED_ADD_JOB_SHA256);
  });

  it('pins that Bull exactly in package.json', () => {
    const manifest = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest.dependencies.bull).toBe(MIRRORED_BULL_VERSION);
  });
});
