import { mkdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../../plugin-loader';
import { adder, type Check } from '../checks';
import { npmInstallTarball } from '../npm-install';
import { SDK_PACKAGE, serverSdk } from '../server-sdk';
import { INSTALL_TIMEOUT_MS, type VerifyOptions } from '../verify-options';
import type { Target } from '../verify-target';

/**
 * The packages npm installs with the package: its `dependencies`, `optionalDependencies` and
 * `peerDependencies` (npm 7 and later install peers, except those `peerDependenciesMeta` marks optional).
 */
export function runtimeDependencies(packageJson: Record<string, unknown>): string[] {
  const names = (field: string): string[] => {
    const value = packageJson[field];
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  };
  const meta = packageJson.peerDependenciesMeta as Record<string, { optional?: unknown } | undefined> | undefined;
  const peers = names('peerDependencies').filter((name) => meta?.[name]?.optional !== true);
  return [...new Set([...names('dependencies'), ...names('optionalDependencies'), ...peers])].sort();
}

/**
 * Rule `dependencies`, for a tarball only: its declared dependencies made resolvable as installing
 * it would. Returns the reason to skip its executors when they could not be.
 */
export async function checkDependencies(
  target: Target,
  packageJson: Record<string, unknown>,
  options: VerifyOptions,
  checks: Check[],
): Promise<string | undefined> {
  const add = adder(checks);
  const installed = await installDependencies(target, packageJson, options).catch((error: unknown): Installed => ({
    problem: `cannot install its dependencies: ${errorMessage(error)}`,
  }));
  if ('problem' in installed) {
    add('dependencies', 'fail', installed.problem);
    return 'its dependencies could not be installed';
  }
  add('dependencies', installed.status, installed.message, installed.details);
  return undefined;
}

type Installed = { status: 'pass' | 'warn'; message: string; details: Record<string, unknown> } | { problem: string };

/**
 * Nothing to do for a package without dependencies (or with all of them bundled); the server's own
 * SDK linked beside the package when that is the only one (no npm needed); else `npm install` of
 * the tarball into `<tmp>/npm/`, after which `target.packagePath` is the installed folder.
 */
async function installDependencies(target: Target, packageJson: Record<string, unknown>, options: VerifyOptions): Promise<Installed> {
  const declared = runtimeDependencies(packageJson);
  target.dependencies = { declared, skippedScripts: [] };
  const bundled = await Promise.all(declared.map((name) => isDirectory(path.join(target.packagePath, 'node_modules', name))));
  const missing = declared.filter((_, index) => !bundled[index]);
  const bundledNote = missing.length < declared.length ? `bundled in the tarball: ${declared.filter((_, index) => bundled[index]).join(', ')}` : '';
  if (missing.length === 0) {
    return {
      status: 'pass',
      message: declared.length === 0 ? 'none declared: checked as extracted, without npm' : bundledNote,
      details: { installer: 'none', declared },
    };
  }

  // The SDK is not on the registry: it is always the server's own copy, whatever range the plugin declares.
  const sdk = await serverSdk();
  const sdkNote = `${SDK_PACKAGE} is the server's own copy (${sdk.version})`;
  if (missing.length === 1 && missing[0] === SDK_PACKAGE) {
    // Beside the package folder, not in it: the package stays as packed, and Node finds it walking up from the entry.
    const link = path.join(path.dirname(target.packagePath), 'node_modules', ...SDK_PACKAGE.split('/'));
    await mkdir(path.dirname(link), { recursive: true });
    await symlink(sdk.dir, link, 'dir');
    return {
      status: 'pass',
      message: [`${sdkNote}, linked without npm`, bundledNote].filter(Boolean).join('; '),
      details: { installer: 'none', declared, sdk },
    };
  }

  const name = packageJson.name;
  if (typeof name !== 'string' || name === '')
    return { problem: `cannot install its dependencies (${missing.join(', ')}): package.json has no "name", which npm needs` };
  const what = `cannot install its dependencies (${missing.join(', ')}) with npm`;
  const npm = await npmInstallTarball({
    tarball: target.tarball!.file,
    packageName: name,
    prefix: path.join(target.tarball!.dir, 'npm'),
    sdkDir: sdk.dir,
    timeoutMs: options.installTimeoutMs ?? INSTALL_TIMEOUT_MS,
  });
  if ('problem' in npm) return { problem: `${what}: ${npm.problem}` };
  if (!(await isDirectory(npm.installedPath))) return { problem: `${what}: npm install succeeded, but ${npm.installedPath} does not exist` };

  target.packagePath = npm.installedPath;
  target.dependencies.skippedScripts = npm.scripts;
  const listed = npm.installed.length > 8 ? [...npm.installed.slice(0, 8), `and ${npm.installed.length - 8} more`] : npm.installed;
  const parts = [`installed with npm: ${listed.join(', ') || 'nothing'}`, ...(npm.sdkLinked ? [sdkNote] : [])];
  if (npm.scripts.length > 0) parts.push(`install scripts not run (verify runs none): ${npm.scripts.join(', ')}`);
  return {
    status: npm.scripts.length > 0 ? 'warn' : 'pass',
    message: parts.join('; '),
    details: { installer: 'npm', declared, installed: npm.installed, skippedScripts: npm.scripts, ...(npm.sdkLinked ? { sdk } : {}) },
  };
}

const isDirectory = (dir: string) =>
  stat(dir).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
