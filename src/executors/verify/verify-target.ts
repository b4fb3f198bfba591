import { mkdir, mkdtemp, readdir, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorMessage, findConfigured } from '../plugin-loader';
import { extractTgz } from './tarball';
import type { VerifyReport } from './verify-report';
import { VerifyUsageError } from './verify-options';

/** What `plugins verify` checks: the package directory its argument names, found or unpacked. */
export interface Target {
  kind: VerifyReport['kind'];
  /** The package directory whose executors are checked: for a tarball, replaced by the installed folder once npm installed it. */
  packagePath: string;
  /** A tarball's file and the temporary directory it was extracted to (and its dependencies installed in). */
  tarball?: { file: string; dir: string };
  /** For a tarball: what `dependencies` found, for the hint of an entry that cannot find a module. */
  dependencies?: { declared: string[]; skippedScripts: string[] };
  /** Removes what reading the target made (an extracted tarball). */
  cleanup(): Promise<void>;
}

export const NPM_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

/**
 * The package `target` names, from `cwd`: a directory (or its package.json), a packed tarball
 * (extracted to a temporary directory), or the name of a package installed in a `node_modules` of
 * `cwd` or a parent. Throws {@link VerifyUsageError} when it names none of these.
 */
export async function resolveTarget(target: string, cwd: string): Promise<Target> {
  const resolved = path.resolve(cwd, target);
  const stats = await stat(resolved).catch(() => undefined);
  const noCleanup = () => Promise.resolve();
  if (stats?.isDirectory()) return { kind: 'directory', packagePath: resolved, cleanup: noCleanup };
  if (stats?.isFile()) {
    if (path.basename(resolved) === 'package.json') return { kind: 'directory', packagePath: path.dirname(resolved), cleanup: noCleanup };
    if (/\.(tgz|tar\.gz)$/.test(resolved)) return extractTarball(resolved);
    throw new VerifyUsageError(`${target} is a file, but neither a packed plugin (.tgz, made by npm pack) nor a package.json`);
  }
  if (NPM_NAME.test(target) && !target.startsWith('.')) {
    const places = nodeModulesUpFrom(cwd);
    const found = await findConfigured(target, places);
    if (found.packagePath !== null) return { kind: 'package', packagePath: found.packagePath, cleanup: noCleanup };
    throw new VerifyUsageError(`"${target}" is neither a directory, a .tgz file, nor a package installed in ${places.join(', ')}`);
  }
  throw new VerifyUsageError(`${resolved} does not exist: give a plugin directory, a .tgz made by npm pack, or an installed package's name`);
}

/** Runs `check` on the package `target` names (see {@link resolveTarget}), then removes what reading it made (an extracted tarball). */
export async function withTarget<T>(target: string, cwd: string, check: (resolved: Target) => Promise<T>): Promise<T> {
  const resolved = await resolveTarget(target, cwd);
  try {
    return await check(resolved);
  } finally {
    await resolved.cleanup().catch(() => undefined);
  }
}

/** The `node_modules` folders of `dir` and its ancestors, nearest first: where Node resolves a package name. */
function nodeModulesUpFrom(dir: string): string[] {
  const dirs: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (path.basename(at) !== 'node_modules') dirs.push(path.join(at, 'node_modules'));
    if (path.dirname(at) === at) return dirs;
  }
}

/**
 * Extracts a tarball into `<tmp>/tarball/`. Its package's rules are checked there; its
 * dependencies, when it has some to install, are installed by the `dependencies` rule.
 */
async function extractTarball(file: string): Promise<Target> {
  // Its real path: Node names required files by theirs, and the hint of a missing module compares them.
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'tensorify-verify-pkg-')));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const extracted = path.join(dir, 'tarball');
  try {
    await mkdir(extracted);
    await extractTgz(file, extracted);
  } catch (error) {
    await cleanup();
    throw new VerifyUsageError(`cannot extract ${file} with tar: ${errorMessage(error).split('\n')[0]}`);
  }
  // npm pack puts everything under package/; another packer may use another single folder.
  const top = (await readdir(extracted, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.'));
  const packagePath = top.length === 1 && top[0].isDirectory() ? path.join(extracted, top[0].name) : extracted;
  return { kind: 'tarball', packagePath, tarball: { file, dir }, cleanup };
}
