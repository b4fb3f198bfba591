import { type Dirent, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** A package folder and its package.json, parsed. */
export interface ScannedPackage {
  folder: string;
  packageJson: Record<string, unknown>;
}

/** A package's package.json, parsed; throws when it cannot be read or is not a JSON object. */
export async function readPackageJson(dir: string): Promise<Record<string, unknown>> {
  return parsePackageJson(await readFile(path.join(dir, 'package.json'), 'utf8'));
}

function parsePackageJson(text: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('package.json is not a JSON object');
  return parsed as Record<string, unknown>;
}

/** The child folders of `dir` (folders and links to them, not dot-folders), sorted; none when `dir` cannot be read. */
export async function childFolders(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => (entry.isDirectory() || entry.isSymbolicLink()) && !entry.name.startsWith('.'))
    .map((entry) => path.join(dir, entry.name))
    .sort();
}

/** The text of `file`, or undefined when it cannot be read. */
function readIfReadable(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The packages among the child folders of `dir` whose package.json reads, is a JSON object and has
 * the top-level key `field` (a folder whose package.json does not read is left out), sorted by folder.
 *
 * A node_modules folder holds a thousand packages, and both the executor-plugin loader and the
 * node-pack loader look for the same field at boot: parsing every package.json twice cost some
 * 100 ms of CPU per loader. So a package.json whose text cannot hold the key (neither the quoted
 * key nor any `\u` escape that could spell it) is never parsed.
 *
 * The files are read synchronously, one after the other: only the boot and the CLI scan, and for
 * a thousand small files the thread pool's round trips (open, stat, read, close, each handed to a
 * worker and back) cost three times the CPU of the reads themselves (some 90 ms against 30 ms).
 */
export async function packagesWithField(dir: string, field: string): Promise<ScannedPackage[]> {
  const quotedKey = JSON.stringify(field);
  return (await childFolders(dir)).flatMap((folder): ScannedPackage[] => {
    const text = readIfReadable(path.join(folder, 'package.json'));
    if (text === undefined || (!text.includes(quotedKey) && !text.includes('\\u'))) return [];
    try {
      const packageJson = parsePackageJson(text);
      return field in packageJson ? [{ folder, packageJson }] : [];
    } catch {
      return [];
    }
  });
}

/** {@link packagesWithField} for a node_modules folder: its packages, then those of its `@scope` folders. */
export async function installedPackagesWithField(nodeModulesDir: string, field: string): Promise<ScannedPackage[]> {
  const scopes = (await childFolders(nodeModulesDir)).filter((dir) => path.basename(dir).startsWith('@'));
  const [top, ...scoped] = await Promise.all([nodeModulesDir, ...scopes].map((dir) => packagesWithField(dir, field)));
  return [...top, ...scoped.flat()];
}
