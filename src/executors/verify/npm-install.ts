import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatDuration } from '../plugin-loader';
import { npmError, runNpm } from './npm-process';
import { SDK_PACKAGE } from './server-sdk';

/** What `npm install` of a tarball put in place: the installed package folder and what its lockfile lists. */
export interface NpmInstalled {
  installedPath: string;
  /** `name@version` of each package installed besides the plugin (links left out). */
  installed: string[];
  /** The packages that have install scripts (which were not run). */
  scripts: string[];
  /** Whether npm linked the server's SDK folder in. */
  sdkLinked: boolean;
}

export interface NpmInstallRequest {
  /** The tarball, installed as a dependency of a throwaway project in `prefix`. */
  tarball: string;
  /** The package's name: where npm puts it under `prefix/node_modules`. */
  packageName: string;
  /** An empty directory that does not exist yet. */
  prefix: string;
  /** The server's SDK folder, which every dependency on the SDK resolves to. */
  sdkDir: string;
  timeoutMs: number;
}

/**
 * `npm install` of a tarball into a throwaway project, as a user installs the plugin beside the
 * server: install scripts not run, the SDK the server's own folder. Gives `{ problem }` when npm
 * cannot be started, fails, or outlives `timeoutMs`.
 */
export async function npmInstallTarball(request: NpmInstallRequest): Promise<NpmInstalled | { problem: string }> {
  const { prefix, packageName } = request;
  await mkdir(prefix);
  // The tarball as a dependency of a throwaway project; `overrides` makes every dependency on the SDK
  // (direct, peer or of a dependency; any range) the server's SDK folder, which npm links, so it is
  // never fetched. The project itself does not depend on the SDK: a plugin that requires it without
  // declaring it fails here as it would once installed. (A linked SDK as the project's own dependency
  // would also crash npm 11 on a plugin that has it as a peer: "Cannot read properties of null".)
  const project = {
    name: 'tensorify-verify',
    version: '0.0.0',
    private: true,
    dependencies: { [packageName]: `file:${request.tarball}` },
    overrides: { [SDK_PACKAGE]: `file:${request.sdkDir}` },
  };
  await writeFile(path.join(prefix, 'package.json'), JSON.stringify(project, null, 2));
  const npm = await runNpm(
    [
      'install',
      '--prefix',
      prefix,
      '--omit=dev', // the throwaway project has no dev dependencies; a dependency's are never installed anyway
      // No install scripts: the server never runs them, and verify runs only what the server runs (the
      // entries and the executor's methods), not the build steps of a whole dependency tree, which
      // also need compilers and minutes. A dependency that needs its script to work shows as a warning
      // here, and as an entry that does not load.
      '--ignore-scripts',
      // Cached packages without asking the registry whether they changed: fast, and works offline for
      // what was installed before; a fresh install may pick a newer release in the same range.
      '--prefer-offline',
      // A link to the SDK folder, whatever the user's npmrc says (npm 11 mishandles a tarball dependency with install-links).
      '--install-links=false',
      // One retry, soon: npm's own defaults retry an unreachable registry for minutes.
      '--fetch-retries=1',
      '--fetch-retry-mintimeout=2000',
      '--fetch-retry-maxtimeout=10000',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      '--loglevel=error',
    ],
    prefix,
    request.timeoutMs,
  );
  if (npm.spawnError !== undefined) return { problem: `${npm.spawnError}${/ENOENT/.test(npm.spawnError) ? ' (is npm on the PATH?)' : ''}` };
  if (npm.timedOut) return { problem: `npm install did not finish within ${formatDuration(request.timeoutMs)} (is the registry slow or unreachable?)` };
  if (npm.code !== 0) return { problem: npmError(npm.stderr) ?? `npm install exited with ${npm.code ?? npm.signal}` };

  const installedPath = path.join(prefix, 'node_modules', ...packageName.split('/'));
  return { installedPath, ...(await installedPackages(prefix, packageName)) };
}

/** What npm installed, from its hidden lockfile (`node_modules/.package-lock.json`): `name@version` of each package but the plugin, and those with install scripts. */
async function installedPackages(prefix: string, pluginName: string): Promise<Omit<NpmInstalled, 'installedPath'>> {
  let packages: Record<string, { version?: string; link?: boolean; hasInstallScript?: boolean }> = {};
  try {
    packages = (JSON.parse(await readFile(path.join(prefix, 'node_modules', '.package-lock.json'), 'utf8')) as { packages?: typeof packages }).packages ?? {};
  } catch {
    // No lockfile (an npm that writes none): nothing to list.
  }
  const installed: string[] = [];
  const scripts: string[] = [];
  let sdkLinked = false;
  for (const [key, entry] of Object.entries(packages)) {
    const at = key.lastIndexOf('node_modules/');
    if (at === -1) continue;
    const name = key.slice(at + 'node_modules/'.length);
    if (name === SDK_PACKAGE && entry.link) sdkLinked = true;
    if (entry.hasInstallScript) scripts.push(name);
    if (entry.link || key === `node_modules/${pluginName}`) continue;
    installed.push(entry.version ? `${name}@${entry.version}` : name);
  }
  return { installed: installed.sort(), scripts: [...new Set(scripts)].sort(), sdkLinked };
}
