/**
 * The SDK's `./ssh` subpath, as a plugin loads it (the built package, resolved through its
 * `exports` from a fresh Node process): the main entry does not load ssh2, the subpath resolves it
 * (a plugin without it fails as it loads) and loads it on its first connection.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');

/** What a fresh Node process in the repository root sees after running `code`. */
function inFreshNode(code: string): { loadsSsh2: boolean; exported: string[] } {
  const report = `(async () => { ${code}; console.log(JSON.stringify({ loadsSsh2: Object.keys(require.cache).some((file) => file.includes('/node_modules/ssh2/')), exported: Object.keys(loaded).sort() })) })()`;
  return JSON.parse(execFileSync(process.execPath, ['-e', report], { cwd: ROOT, encoding: 'utf8' })) as { loadsSsh2: boolean; exported: string[] };
}

describe("the SDK's ssh subpath", () => {
  it('the main entry does not load ssh2', () => {
    const main = inFreshNode("const loaded = require('@tensorify/executor-sdk')");
    expect(main.loadsSsh2).toBe(false);
    expect(main.exported).toContain('defineExecutor');
    expect(main.exported).not.toContain('connect');
  });

  it('@tensorify/executor-sdk/ssh gives the connection, host key and config code, without loading ssh2 before a connection', () => {
    const ssh = inFreshNode("const loaded = require('@tensorify/executor-sdk/ssh')");
    expect(ssh.loadsSsh2).toBe(false);
    expect(ssh.exported).toEqual(
      expect.arrayContaining(['connect', 'Connection', 'shellQuote', 'sshConfigSchemaParts', 'resolveSshTarget', 'verifyHostKey', 'fingerprint']),
    );
  });

  it('loads ssh2 on the first connection (here one refused by a closed port)', () => {
    const target = "{ label: 'test', host: '127.0.0.1', port: 1, user: 'nobody', agent: '/nonexistent/agent.sock', agentMissing: false, fingerprints: [] }";
    const settings = "{ knownHostsPath: '/nonexistent/known_hosts', acceptUnknownHostKeys: true, connectTimeoutMs: 5000, onUnknownKeyAccepted() {} }";
    const ssh = inFreshNode(`const loaded = require('@tensorify/executor-sdk/ssh'); await loaded.connect(${target}, ${settings}).catch(() => undefined)`);
    expect(ssh.loadsSsh2).toBe(true);
  });

  it('fails as it loads when ssh2 cannot be found, as a plugin without it always has', () => {
    const hideSsh2 =
      "const Module = require('node:module'); const resolve = Module._resolveFilename; Module._resolveFilename = function (request, ...rest) { if (request === 'ssh2') throw Object.assign(new Error(\"Cannot find module 'ssh2'\"), { code: 'MODULE_NOT_FOUND' }); return resolve.call(this, request, ...rest); }";
    expect(() => execFileSync(process.execPath, ['-e', `${hideSsh2}; require('@tensorify/executor-sdk/ssh')`], { cwd: ROOT, stdio: 'pipe' })).toThrow(
      /Cannot find module 'ssh2'/,
    );
  });

  it('exports nothing else than the main entry, ./ssh and ./package.json', () => {
    expect(inFreshNode("const loaded = require('@tensorify/executor-sdk/package.json')").exported).toContain('version');
    expect(() => execFileSync(process.execPath, ['-e', "require('@tensorify/executor-sdk/dist/ssh/connection')"], { cwd: ROOT, stdio: 'pipe' })).toThrow(
      /ERR_PACKAGE_PATH_NOT_EXPORTED/,
    );
  });
});
