/**
 * The SDK's `./ssh` subpath, as a plugin loads it (the built package, resolved through its
 * `exports` from a fresh Node process): the main entry does not load ssh2, the subpath does.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');

/** What a fresh Node process in the repository root sees after running `code`. */
function inFreshNode(code: string): { loadsSsh2: boolean; exported: string[] } {
  const report = `${code}; console.log(JSON.stringify({ loadsSsh2: Object.keys(require.cache).some((file) => file.includes('/node_modules/ssh2/')), exported: Object.keys(loaded).sort() }))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', report], { cwd: ROOT, encoding: 'utf8' })) as { loadsSsh2: boolean; exported: string[] };
}

describe("the SDK's ssh subpath", () => {
  it('the main entry does not load ssh2', () => {
    const main = inFreshNode("const loaded = require('@tensorify/executor-sdk')");
    expect(main.loadsSsh2).toBe(false);
    expect(main.exported).toContain('defineExecutor');
    expect(main.exported).not.toContain('connect');
  });

  it('@tensorify/executor-sdk/ssh gives the connection, host key and config code, and loads ssh2', () => {
    const ssh = inFreshNode("const loaded = require('@tensorify/executor-sdk/ssh')");
    expect(ssh.loadsSsh2).toBe(true);
    expect(ssh.exported).toEqual(
      expect.arrayContaining(['connect', 'Connection', 'shellQuote', 'sshConfigSchemaParts', 'resolveSshTarget', 'verifyHostKey', 'fingerprint']),
    );
  });

  it('exports nothing else than the main entry, ./ssh and ./package.json', () => {
    expect(inFreshNode("const loaded = require('@tensorify/executor-sdk/package.json')").exported).toContain('version');
    expect(() => execFileSync(process.execPath, ['-e', "require('@tensorify/executor-sdk/dist/ssh/connection')"], { cwd: ROOT, stdio: 'pipe' })).toThrow(
      /ERR_PACKAGE_PATH_NOT_EXPORTED/,
    );
  });
});
